//! Timing for bench binaries: run a step many times, report p50 and p95.

use std::time::{Duration, Instant};

/// p50 and p95 of the timings, in milliseconds.
pub fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    (at(0.50).as_secs_f64() * 1e3, at(0.95).as_secs_f64() * 1e3)
}

/// Run `f` once to warm up, then `runs` times (given the run's number,
/// from 1), timing each: p50 and p95 in milliseconds.
pub async fn measure<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(f64, f64)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    f(0).await?;
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        f(i + 1).await?;
        times.push(start.elapsed());
    }
    Ok(percentiles(times))
}
