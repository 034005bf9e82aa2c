//! Hit ratios of the cache's policies on the benchmark traces, next to Bélády's optimal and the
//! figures published by Caffeine's simulator.
//!
//! ```text
//! cargo run --release -p cacheme-core --example replay -- [--traces DIR] [--zipf] [--recency]
//!     [--requests N] [--json FILE] [--streams DIR]
//! ```
//!
//! `DIR` (default: `benchmark/traces` at the workspace root) must hold `oltp.arc.gz`, `gli.lirs.gz`
//! and `loop.lirs.gz`. `--zipf` adds Zipf workloads (s = 0.8, 1.0001, 1.2; 100k keys, `N` requests,
//! default 1M). `--recency` adds synthetic recency-biased streams of `N` requests (a drifting Zipf
//! hot set, re-reads biased to the newest keys, and phases alternating the two; see `replay.rs`),
//! the workloads where a fixed window trails LRU. `--json FILE` also writes every figure as JSON (for `benchmark/hit-ratio.ts`, which
//! draws the plot). `--streams DIR` writes each workload's request stream to `DIR/<id>.u32`, so a
//! JavaScript cache can be replayed on exactly the same requests: keys renumbered densely in order of
//! first appearance (an equality-preserving map, so any policy sees the same stream), as
//! little-endian `u32`.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cacheme_core::replay::{
    drifting_zipf_keys, hit_ratio, optimal_hit_ratio, parse_arc, parse_lirs, phased_keys,
    recency_keys, zipf_keys, Published, GLIMPSE_PUBLISHED, OLTP_PUBLISHED, PUBLISHED_SIZES,
};
use cacheme_core::PolicyKind;
use flate2::read::GzDecoder;

fn open_gz(path: &Path) -> io::Result<impl BufRead> {
    let file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(BufReader::new(GzDecoder::new(BufReader::new(file))))
}

fn percent(ratio: f64) -> String {
    format!("{:.2}", 100.0 * ratio)
}

/// Hit ratios (0–1) of one cache size.
struct Row {
    size: u32,
    tlfu: f64,
    tlfu_fixed: f64,
    lru: f64,
    optimal: f64,
    /// Caffeine's published W-TinyLFU (1% window), LRU and optimal, in %, where known.
    published: Option<(f64, f64, f64)>,
}

/// One workload's measurements.
struct Workload {
    id: String,
    title: String,
    requests: usize,
    distinct: usize,
    rows: Vec<Row>,
}

/// Measures every policy at every size on `keys`.
fn measure(
    id: &str,
    title: &str,
    keys: &[u64],
    sizes: &[u32],
    published: Option<&Published>,
) -> Workload {
    let rows = sizes
        .iter()
        .map(|&size| {
            let column = PUBLISHED_SIZES.iter().position(|&s| s == size);
            Row {
                size,
                tlfu: hit_ratio(PolicyKind::TinyLfu, size, keys),
                tlfu_fixed: hit_ratio(PolicyKind::TinyLfuFixed, size, keys),
                lru: hit_ratio(PolicyKind::Lru, size, keys),
                optimal: optimal_hit_ratio(size as usize, keys),
                published: published
                    .zip(column)
                    .map(|(p, i)| (p.tinylfu[i], p.lru[i], p.optimal[i])),
            }
        })
        .collect();
    Workload {
        id: id.to_owned(),
        title: title.to_owned(),
        requests: keys.len(),
        distinct: dense(keys).1,
        rows,
    }
}

/// Prints one markdown table: measured hit ratios per size, with the published ones if known.
fn report(workload: &Workload) {
    println!("### {} ({} requests)\n", workload.title, workload.requests);
    println!(
        "| size | tlfu (adaptive) | tlfu-fixed (1% window) | lru | optimal \
         | published W-TinyLFU | published LRU | published optimal |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &workload.rows {
        let (tinylfu, lru, optimal) = match row.published {
            Some((t, l, o)) => (format!("{t:.2}"), format!("{l:.2}"), format!("{o:.2}")),
            None => Default::default(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {tinylfu} | {lru} | {optimal} |",
            row.size,
            percent(row.tlfu),
            percent(row.tlfu_fixed),
            percent(row.lru),
            percent(row.optimal),
        );
    }
    println!();
}

/// The keys renumbered 0, 1, 2 … in order of first appearance, and the number of distinct keys.
fn dense(keys: &[u64]) -> (Vec<u32>, usize) {
    let mut ids = std::collections::HashMap::with_capacity(keys.len() / 4);
    let stream = keys
        .iter()
        .map(|&key| {
            let next = ids.len() as u32;
            *ids.entry(key).or_insert(next)
        })
        .collect();
    (stream, ids.len())
}

/// Writes the dense stream of `keys` to `dir/<id>.u32` (little-endian u32 per request).
fn write_stream(dir: &Path, id: &str, keys: &[u64]) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(dir.join(format!("{id}.u32")))?);
    for key in dense(keys).0 {
        out.write_all(&key.to_le_bytes())?;
    }
    out.flush()
}

/// The measurements as JSON (hand-written: the example has no serde dependency).
fn to_json(workloads: &[Workload]) -> String {
    let number = |x: f64| format!("{x:.6}");
    let items: Vec<String> = workloads
        .iter()
        .map(|w| {
            let rows: Vec<String> = w
                .rows
                .iter()
                .map(|r| {
                    let published = match r.published {
                        Some((t, l, o)) => format!(
                            r#", "publishedTinyLfu": {}, "publishedLru": {}, "publishedOptimal": {}"#,
                            number(t / 100.0),
                            number(l / 100.0),
                            number(o / 100.0)
                        ),
                        None => String::new(),
                    };
                    format!(
                        r#"{{"size": {}, "tlfu": {}, "tlfuFixed": {}, "lru": {}, "optimal": {}{published}}}"#,
                        r.size,
                        number(r.tlfu),
                        number(r.tlfu_fixed),
                        number(r.lru),
                        number(r.optimal),
                    )
                })
                .collect();
            format!(
                "{{\"id\": \"{}\", \"title\": \"{}\", \"requests\": {}, \"distinctKeys\": {}, \"rows\": [\n    {}\n  ]}}",
                w.id,
                w.title,
                w.requests,
                w.distinct,
                rows.join(",\n    ")
            )
        })
        .collect();
    format!("{{\"workloads\": [\n  {}\n]}}\n", items.join(",\n  "))
}

struct Args {
    traces: PathBuf,
    zipf: bool,
    recency: bool,
    requests: usize,
    json: Option<PathBuf>,
    streams: Option<PathBuf>,
}

const USAGE: &str =
    "usage: replay [--traces DIR] [--zipf] [--recency] [--requests N] [--json FILE] [--streams DIR]";

/// The command line, or `None` if help was asked for.
fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        traces: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmark/traces"),
        zipf: false,
        recency: false,
        requests: 1_000_000,
        json: None,
        streams: None,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--traces" => {
                args.traces = iter.next().ok_or("--traces needs a directory")?.into();
            }
            "--zipf" => args.zipf = true,
            "--recency" => args.recency = true,
            "--requests" => {
                args.requests = iter
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--requests needs a positive integer")?;
            }
            "--json" => args.json = Some(iter.next().ok_or("--json needs a file")?.into()),
            "--streams" => {
                args.streams = Some(iter.next().ok_or("--streams needs a directory")?.into());
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Some(args))
}

fn run(args: &Args) -> io::Result<()> {
    if let Some(dir) = &args.streams {
        fs::create_dir_all(dir)?;
    }
    let mut workloads = Vec::new();
    let mut add = |id: &str, title: &str, keys: &[u64], sizes: &[u32], published| {
        let workload = measure(id, title, keys, sizes, published);
        report(&workload);
        workloads.push(workload);
        match &args.streams {
            Some(dir) => write_stream(dir, id, keys),
            None => Ok(()),
        }
    };
    let oltp = parse_arc(open_gz(&args.traces.join("oltp.arc.gz"))?)?;
    add(
        "oltp",
        "OLTP (ARC)",
        &oltp,
        &PUBLISHED_SIZES,
        Some(&OLTP_PUBLISHED),
    )?;
    drop(oltp);
    let glimpse = parse_lirs(open_gz(&args.traces.join("gli.lirs.gz"))?)?;
    add(
        "glimpse",
        "Glimpse (LIRS)",
        &glimpse,
        &PUBLISHED_SIZES,
        Some(&GLIMPSE_PUBLISHED),
    )?;
    let looping = parse_lirs(open_gz(&args.traces.join("loop.lirs.gz"))?)?;
    add("loop", "Loop (LIRS)", &looping, &PUBLISHED_SIZES, None)?;
    if args.zipf {
        const KEYS: u64 = 100_000;
        // 0.5%, 1%, 2%, 5%, 10%, 20% of the keys.
        let sizes: Vec<u32> = [5, 10, 20, 50, 100, 200]
            .iter()
            .map(|per_mille| (KEYS * per_mille / 1000) as u32)
            .collect();
        for (id, s) in [
            ("zipf-0.8", 0.8),
            ("zipf-1.0001", 1.0001),
            ("zipf-1.2", 1.2),
        ] {
            let keys = zipf_keys(KEYS, s, args.requests, 1);
            add(
                id,
                &format!("Zipf s = {s}, {KEYS} keys"),
                &keys,
                &sizes,
                None,
            )?;
        }
    }
    if args.recency {
        // Synthetic recency-biased streams (replay.rs), where a fixed small window trails LRU.
        let sizes = [250, 500, 1000, 2000, 4000, 8000];
        let n = args.requests;
        add(
            "drift",
            "Drifting Zipf: s = 0.9 over 10,000 keys sliding by one every 20 requests",
            &drifting_zipf_keys(10_000, 0.9, 20, n, 1),
            &sizes,
            None,
        )?;
        add(
            "recency",
            "Recency: 80% re-reads of the last 20,000 new keys, biased to the newest",
            &recency_keys(20_000, 0.8, n, 1),
            &sizes,
            None,
        )?;
        add(
            "phased",
            "Phases of 100,000 requests: Zipf(1.0) over 20,000 keys, then recency, in turn",
            &phased_keys(20_000, 100_000, n.div_ceil(100_000).max(2), 1),
            &sizes,
            None,
        )?;
    }
    if let Some(path) = &args.json {
        fs::write(path, to_json(&workloads))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("replay: {error}");
            ExitCode::FAILURE
        }
    }
}
