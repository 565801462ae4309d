//! Helpers the benchmarks share.

use std::time::Duration;

use serde_json::Value;

/// Benchmarks write their figures as JSON into `BENCH_RESULTS_DIR` (set by
/// `make bench`) for `scripts/bench-report.py`; run alone, they only print.
/// With `BENCH_VARIANT` set (`release`: the profile the zips ship with), the
/// file is `<name>-<variant>.json`, beside the bench-profile one.
pub fn write_bench_result(name: &str, result: &Value) {
    let Ok(dir) = std::env::var("BENCH_RESULTS_DIR") else {
        return;
    };
    let name = match std::env::var("BENCH_VARIANT") {
        Ok(variant) if !variant.is_empty() => format!("{name}-{variant}"),
        _ => name.to_string(),
    };
    std::fs::create_dir_all(&dir).expect("create BENCH_RESULTS_DIR");
    let path = std::path::Path::new(&dir).join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(result).expect("JSON"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The `q` quantile (0..=1) of `samples`, nearest rank.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let rank = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}
