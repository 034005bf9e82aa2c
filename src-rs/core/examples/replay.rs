//! Hit ratios of the cache's policies on the benchmark traces, next to Bélády's optimal and the
//! figures published by Caffeine's simulator.
//!
//! ```text
//! cargo run --release -p cacheme-core --example replay -- [--traces DIR] [--zipf]
//! ```
//!
//! `DIR` (default: `benchmark/traces` at the workspace root) must hold `oltp.arc.gz`, `gli.lirs.gz`
//! and `loop.lirs.gz`. `--zipf` adds Zipf workloads (s = 0.8, 1.0001, 1.2; 100k keys, 1M requests).

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cacheme_core::replay::{
    hit_ratio, optimal_hit_ratio, parse_arc, parse_lirs, zipf_keys, Published, GLIMPSE_PUBLISHED,
    OLTP_PUBLISHED, PUBLISHED_SIZES,
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

/// Prints one markdown table: measured hit ratios per size, with the published ones if known.
fn report(title: &str, keys: &[u64], sizes: &[u32], published: Option<&Published>) {
    println!("### {title} ({} requests)\n", keys.len());
    println!(
        "| size | tlfu (adaptive) | tlfu-fixed (1% window) | lru | optimal \
         | published W-TinyLFU | published LRU | published optimal |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &size in sizes {
        let tlfu = hit_ratio(PolicyKind::TinyLfu, size, keys);
        let fixed = hit_ratio(PolicyKind::TinyLfuFixed, size, keys);
        let lru = hit_ratio(PolicyKind::Lru, size, keys);
        let optimal = optimal_hit_ratio(size as usize, keys);
        let column = PUBLISHED_SIZES.iter().position(|&s| s == size);
        let published_value = |pick: fn(&Published) -> &[f64; 8]| match (published, column) {
            (Some(published), Some(i)) => format!("{:.2}", pick(published)[i]),
            _ => String::new(),
        };
        println!(
            "| {size} | {} | {} | {} | {} | {} | {} | {} |",
            percent(tlfu),
            percent(fixed),
            percent(lru),
            percent(optimal),
            published_value(|p| &p.tinylfu),
            published_value(|p| &p.lru),
            published_value(|p| &p.optimal),
        );
    }
    println!();
}

struct Args {
    traces: PathBuf,
    zipf: bool,
}

const USAGE: &str = "usage: replay [--traces DIR] [--zipf]";

/// The command line, or `None` if help was asked for.
fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        traces: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmark/traces"),
        zipf: false,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--traces" => {
                args.traces = iter.next().ok_or("--traces needs a directory")?.into();
            }
            "--zipf" => args.zipf = true,
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Some(args))
}

fn run(args: &Args) -> io::Result<()> {
    let oltp = parse_arc(open_gz(&args.traces.join("oltp.arc.gz"))?)?;
    report("OLTP (ARC)", &oltp, &PUBLISHED_SIZES, Some(&OLTP_PUBLISHED));
    drop(oltp);
    let glimpse = parse_lirs(open_gz(&args.traces.join("gli.lirs.gz"))?)?;
    report(
        "Glimpse (LIRS)",
        &glimpse,
        &PUBLISHED_SIZES,
        Some(&GLIMPSE_PUBLISHED),
    );
    let looping = parse_lirs(open_gz(&args.traces.join("loop.lirs.gz"))?)?;
    report("Loop (LIRS)", &looping, &PUBLISHED_SIZES, None);
    if args.zipf {
        const KEYS: u64 = 100_000;
        const REQUESTS: usize = 1_000_000;
        // 0.5%, 1%, 2%, 5%, 10%, 20% of the keys.
        let sizes: Vec<u32> = [5, 10, 20, 50, 100, 200]
            .iter()
            .map(|per_mille| (KEYS * per_mille / 1000) as u32)
            .collect();
        for s in [0.8, 1.0001, 1.2] {
            let keys = zipf_keys(KEYS, s, REQUESTS, 1);
            report(&format!("Zipf s = {s}, {KEYS} keys"), &keys, &sizes, None);
        }
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
