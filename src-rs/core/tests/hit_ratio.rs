//! Hit ratios on real traces, checked against the figures published by Caffeine's simulator
//! (`benchmark/traces/README.md`) and against Bélády's optimal.
//!
//! Each trace is replayed once per policy and size (see [`measure`]); the tests then check
//! one property each over every trace that has it.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cacheme_core::replay::{
    hit_ratio, optimal_hit_ratio, parse_arc, parse_lirs, Published, GLIMPSE_PUBLISHED,
    OLTP_PUBLISHED, PUBLISHED_SIZES,
};
use cacheme_core::PolicyKind;
use flate2::read::GzDecoder;

/// LRU is deterministic: the replay must reproduce Caffeine's figures to the printed precision.
const LRU_TOLERANCE: f64 = 0.01;
/// W-TinyLFU may differ from Caffeine's in sketch hashing and tie-breaks, not by more than this.
/// (`hit_ratio` averages short traces over several fixed hash seeds, so the figures are
/// deterministic; a single seed on Glimpse can land about a point either side of the mean.)
const TINYLFU_TOLERANCE: f64 = 0.5;

/// OLTP is long (914k requests); in debug builds a subset of sizes keeps the test fast.
const OLTP_SIZES: [u32; 3] = [250, 1000, 2000];

/// Hit ratios (%) measured at one size.
#[derive(Debug, Clone, Copy)]
struct Row {
    size: u32,
    tlfu: f64,
    fixed: f64,
    lru: f64,
    optimal: f64,
}

struct Trace {
    name: &'static str,
    rows: Vec<Row>,
    published: Option<Published>,
}

impl Trace {
    fn published_at(&self, size: u32) -> Option<(usize, &Published)> {
        let column = PUBLISHED_SIZES.iter().position(|&s| s == size)?;
        Some((column, self.published.as_ref()?))
    }

    /// The measured and published figures as a markdown table, for failure messages.
    fn table(&self) -> String {
        let mut out = format!(
            "{}:\n| size | tlfu | tlfu-fixed | lru | optimal | pub W-TinyLFU | pub LRU | pub optimal |\n",
            self.name
        );
        for row in &self.rows {
            let published = |pick: fn(&Published) -> &[f64; 8]| {
                self.published_at(row.size)
                    .map(|(i, p)| format!("{:.2}", pick(p)[i]))
                    .unwrap_or_default()
            };
            writeln!(
                out,
                "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
                row.size,
                row.tlfu,
                row.fixed,
                row.lru,
                row.optimal,
                published(|p| &p.tinylfu),
                published(|p| &p.lru),
                published(|p| &p.optimal),
            )
            .unwrap();
        }
        out
    }
}

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmark/traces")
}

fn open_gz(name: &str) -> impl BufRead {
    let path = traces_dir().join(name);
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BufReader::new(GzDecoder::new(BufReader::new(file)))
}

fn measure(name: &'static str, keys: &[u64], sizes: &[u32], published: Option<Published>) -> Trace {
    let rows = sizes
        .iter()
        .map(|&size| Row {
            size,
            tlfu: 100.0 * hit_ratio(PolicyKind::TinyLfu, size, keys),
            fixed: 100.0 * hit_ratio(PolicyKind::TinyLfuFixed, size, keys),
            lru: 100.0 * hit_ratio(PolicyKind::Lru, size, keys),
            optimal: 100.0 * optimal_hit_ratio(size as usize, keys),
        })
        .collect();
    Trace {
        name,
        rows,
        published,
    }
}

fn oltp() -> &'static Trace {
    static TRACE: OnceLock<Trace> = OnceLock::new();
    TRACE.get_or_init(|| {
        let keys = parse_arc(open_gz("oltp.arc.gz")).unwrap();
        assert_eq!(keys.len(), 914_145);
        measure("OLTP", &keys, &OLTP_SIZES, Some(OLTP_PUBLISHED))
    })
}

fn glimpse() -> &'static Trace {
    static TRACE: OnceLock<Trace> = OnceLock::new();
    TRACE.get_or_init(|| {
        let keys = parse_lirs(open_gz("gli.lirs.gz")).unwrap();
        assert_eq!(keys.len(), 6_015);
        measure("Glimpse", &keys, &PUBLISHED_SIZES, Some(GLIMPSE_PUBLISHED))
    })
}

fn looping() -> &'static Trace {
    static TRACE: OnceLock<Trace> = OnceLock::new();
    TRACE.get_or_init(|| {
        let keys = parse_lirs(open_gz("loop.lirs.gz")).unwrap();
        assert_eq!(keys.len(), 505_500);
        measure("Loop", &keys, &PUBLISHED_SIZES, None)
    })
}

/// Checks `ok` on every row of every trace; panics listing all failures and the full tables.
fn check(traces: &[&Trace], what: &str, ok: impl Fn(&Trace, &Row) -> Result<(), String>) {
    let mut failures = String::new();
    for trace in traces {
        for row in &trace.rows {
            if let Err(why) = ok(trace, row) {
                writeln!(failures, "  {} at {}: {why}", trace.name, row.size).unwrap();
            }
        }
    }
    if !failures.is_empty() {
        let tables: Vec<String> = traces.iter().map(|t| t.table()).collect();
        panic!("{what}:\n{failures}\nmeasured (%):\n{}", tables.join("\n"));
    }
}

#[test]
fn lru_reproduces_caffeines_published_hit_ratios_exactly() {
    check(
        &[oltp(), glimpse()],
        "LRU differs from the published figures",
        |trace, row| {
            let (i, published) = trace.published_at(row.size).unwrap();
            let expected = published.lru[i];
            if (row.lru - expected).abs() <= LRU_TOLERANCE {
                Ok(())
            } else {
                Err(format!("lru {:.2}, published {expected:.2}", row.lru))
            }
        },
    );
}

#[test]
fn fixed_window_tinylfu_is_within_half_a_point_of_published_w_tinylfu() {
    check(
        &[oltp(), glimpse()],
        "tlfu-fixed falls short of the published W-TinyLFU",
        |trace, row| {
            let (i, published) = trace.published_at(row.size).unwrap();
            let expected = published.tinylfu[i];
            if row.fixed >= expected - TINYLFU_TOLERANCE {
                Ok(())
            } else {
                Err(format!(
                    "tlfu-fixed {:.2}, published {expected:.2}",
                    row.fixed
                ))
            }
        },
    );
}

#[test]
fn adaptive_tinylfu_is_within_half_a_point_of_published_w_tinylfu_and_of_lru() {
    check(
        &[oltp(), glimpse(), looping()],
        "adaptive tlfu falls short of the published W-TinyLFU or of LRU",
        |trace, row| {
            let mut why = Vec::new();
            if let Some((i, published)) = trace.published_at(row.size) {
                let expected = published.tinylfu[i];
                if row.tlfu < expected - TINYLFU_TOLERANCE {
                    why.push(format!(
                        "tlfu {:.2} < published W-TinyLFU {expected:.2} − 0.5",
                        row.tlfu
                    ));
                }
            }
            if row.tlfu < row.lru - TINYLFU_TOLERANCE {
                why.push(format!("tlfu {:.2} < lru {:.2} − 0.5", row.tlfu, row.lru));
            }
            if why.is_empty() {
                Ok(())
            } else {
                Err(why.join("; "))
            }
        },
    );
}

#[test]
fn optimal_is_at_least_every_policy() {
    check(
        &[oltp(), glimpse(), looping()],
        "a policy beats Bélády's optimal",
        |_, row| {
            let best = row.tlfu.max(row.fixed).max(row.lru);
            // The tolerance only absorbs float rounding in the mean of several replays.
            if row.optimal >= best - 1e-9 {
                Ok(())
            } else {
                Err(format!("optimal {:.2} < {best:.2}", row.optimal))
            }
        },
    );
}

/// The recency-biased streams of `replay.rs` at the large sizes, where the fixed 1% window loses
/// most to LRU (about 30 points at 8,000 entries). The adaptive window must follow LRU there: within
/// one point of it (the measured worst is the phased stream at 8,000 entries, where a simulated
/// window can lead only because of what its history left in it: `benchmark/results/climber.md`),
/// and above the fixed window by at least 10 on the two streams where the fixed window trails.
#[test]
fn adaptive_window_follows_lru_on_recency_biased_streams() {
    use cacheme_core::replay::{drifting_zipf_keys, phased_keys, recency_keys};
    let streams = [
        ("recency", recency_keys(20_000, 0.8, 1_000_000, 1), 10.0),
        ("phased", phased_keys(20_000, 100_000, 10, 1), 10.0),
        (
            "drifting",
            drifting_zipf_keys(10_000, 0.9, 20, 1_000_000, 1),
            0.0,
        ),
    ];
    let mut failures = Vec::new();
    for (name, keys, over_fixed) in &streams {
        for size in [4_000, 8_000] {
            let tlfu = 100.0 * hit_ratio(PolicyKind::TinyLfu, size, keys);
            let fixed = 100.0 * hit_ratio(PolicyKind::TinyLfuFixed, size, keys);
            let lru = 100.0 * hit_ratio(PolicyKind::Lru, size, keys);
            if tlfu < lru - 1.0 || tlfu < fixed + over_fixed {
                failures.push(format!(
                    "{name}@{size}: tlfu {tlfu:.2}, fixed {fixed:.2}, lru {lru:.2}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
