//! How durations and sizes are written for people, by every part of the crate (the
//! plan, the progress display, the reports, errors), so they are spelled alike.

use indicatif::HumanBytes;
use std::time::Duration;

/// A duration for people: `350ms` under a second (a step overhead is often that short),
/// then `45s`, `12m03s`, `2h05m`. Cut, not rounded, like a clock: a run of 59.9 s reads
/// `59s`, never a minute it did not take.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 if d.as_millis() == 0 => "0s".to_owned(),
        0 => format!("{}ms", d.as_millis()),
        1..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// A size for people, in binary units with two decimals: `0 B`, `293.00 KiB`,
/// `1.21 GiB`; indicatif's spelling, so text and progress bars agree.
pub fn bytes(n: u64) -> String {
    HumanBytes(n).to_string()
}
/// A positive, finite number (`--speed`, `--time-scale`).
pub fn positive(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
}
