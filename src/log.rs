//! vigil's log: one line per event on stderr, with a UTC timestamp, the level
//! and vigil's pid, filtered by the verbosity tini users know
//! (0 fatal, 1 warnings, 2 info, 3 debug, 4 trace; default 1). Notices are
//! the events an operator needs without asking (probe transitions, restarts):
//! shown from verbosity 1, like warnings.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Fatal,
    Warn,
    Notice,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// The verbosity from which this level is shown.
    fn verbosity(self) -> u8 {
        match self {
            Level::Fatal => 0,
            Level::Warn | Level::Notice => 1,
            Level::Info => 2,
            Level::Debug => 3,
            Level::Trace => 4,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Level::Fatal => "FATAL",
            Level::Warn => "WARN ",
            Level::Notice => "NOTE ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

static VERBOSITY: AtomicU8 = AtomicU8::new(1);

pub fn set_verbosity(v: u8) {
    VERBOSITY.store(v, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level.verbosity() <= VERBOSITY.load(Ordering::Relaxed)
}

pub fn write(level: Level, args: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let line = format!(
        "[{} {} vigil ({})] {}\n",
        timestamp(SystemTime::now()),
        level.label(),
        std::process::id(),
        args
    );
    // One write per line, so lines from vigil and its command do not interleave mid-line.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// RFC 3339 UTC with milliseconds, computed without a time-zone database.
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

// Each macro checks the level first, so a disabled line costs no formatting
// (its arguments, such as `describe(status)` per reaped zombie, are not even
// evaluated).
#[macro_export]
macro_rules! fatal { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Fatal) { $crate::log::write($crate::log::Level::Fatal, format_args!($($t)*)) } } }
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Warn) { $crate::log::write($crate::log::Level::Warn, format_args!($($t)*)) } } }
#[macro_export]
macro_rules! notice { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Notice) { $crate::log::write($crate::log::Level::Notice, format_args!($($t)*)) } } }
#[macro_export]
macro_rules! info { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Info) { $crate::log::write($crate::log::Level::Info, format_args!($($t)*)) } } }
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Debug) { $crate::log::write($crate::log::Level::Debug, format_args!($($t)*)) } } }
#[macro_export]
macro_rules! trace { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Trace) { $crate::log::write($crate::log::Level::Trace, format_args!($($t)*)) } } }

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        let table = [
            (0u64, "1970-01-01T00:00:00.000Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (1_795_564_800, "2026-11-25T00:00:00.000Z"),
            (4_107_542_399, "2100-02-28T23:59:59.000Z"),
        ];
        for (secs, want) in table {
            assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(secs)), want);
        }
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_millis(1_500)),
            "1970-01-01T00:00:01.500Z"
        );
    }
}
