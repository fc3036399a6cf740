//! vigil's log: one line per event on stderr, with a UTC timestamp, the level
//! and vigil's pid, filtered by the verbosity tini users know
//! (0 fatal, 1 warnings, 2 info, 3 debug, 4 trace; default 1). Notices are
//! the events an operator needs without asking (probe transitions, restarts):
//! shown from verbosity 1, like warnings.

use crate::sys::stderr::Stderr;
use std::fmt;
use std::io::{self, Write};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
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

/// Lines as dumb-init prints them (`[dumb-init] message`), for vigil started
/// by that name.
static DUMB_INIT_STYLE: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_dumb_init_style() {
    DUMB_INIT_STYLE.store(true, Ordering::Relaxed);
}

/// The OS's words for an error (strerror's, as tini and the shell print
/// them), without Rust's " (os error N)".
pub(crate) fn reason(e: &io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

pub(crate) fn set_verbosity(v: u8) {
    VERBOSITY.store(v, Ordering::Relaxed);
}

pub(crate) fn enabled(level: Level) -> bool {
    level.verbosity() <= VERBOSITY.load(Ordering::Relaxed)
}

pub(crate) fn write(level: Level, args: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let line = match DUMB_INIT_STYLE.load(Ordering::Relaxed) {
        true => format!("[dumb-init] {args}\n"),
        false => format!(
            "[{} {} vigil ({})] {}\n",
            timestamp(SystemTime::now()),
            level.label(),
            std::process::id(),
            args
        ),
    };
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    match sink.as_mut() {
        Some((stderr, outbox)) => outbox.push(line.as_bytes(), &mut |b| stderr.write(b)),
        // Before `init` (start-up, `vigil check`): plainly, as nothing runs yet.
        // One write per line, so lines from vigil and its command do not interleave mid-line.
        None => {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

/// Lines kept while stderr is not read, at most; more are dropped and counted.
const MAX_PENDING: usize = 64 * 1024;

static SINK: Mutex<Option<(Stderr, Outbox)>> = Mutex::new(None);

/// From now on the log never blocks: see `sys::stderr` and `Outbox`.
pub(crate) fn init() {
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    *sink = Some((Stderr::open(), Outbox::default()));
}

/// The fd to wait on for writability while lines are pending, if any.
pub(crate) fn blocked_fd() -> Option<RawFd> {
    let sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    sink.as_ref()
        .filter(|(_, o)| !o.is_empty())
        .map(|(s, _)| s.pollable())
}

/// Writes what is pending, as far as the reader takes it (the loop calls
/// this when stderr is writable again, and before vigil exits).
pub(crate) fn flush() {
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((stderr, outbox)) = sink.as_mut() {
        outbox.flush(&mut |b| stderr.write(b));
    }
}

/// Log bytes not yet taken by stderr's reader: each new line goes after
/// them, never blocking; past `MAX_PENDING` lines are dropped and counted,
/// and once everything is out one line says how many were lost.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pending: Vec<u8>,
    dropped: u64,
}

type WriteFn<'a> = dyn FnMut(&[u8]) -> io::Result<usize> + 'a;

impl Outbox {
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub(crate) fn push(&mut self, line: &[u8], write: &mut WriteFn<'_>) {
        self.flush(write);
        if self.pending.is_empty() && self.dropped == 0 {
            let n = write_some(line, write);
            self.pending.extend_from_slice(&line[n..]);
        } else if self.pending.len() + line.len() <= MAX_PENDING {
            self.pending.extend_from_slice(line);
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn flush(&mut self, write: &mut WriteFn<'_>) {
        loop {
            let n = write_some(&self.pending, write);
            self.pending.drain(..n);
            if !self.pending.is_empty() {
                return;
            }
            if self.dropped == 0 {
                // The reader caught up: the memory a stall took is given back.
                self.pending = Vec::new();
                return;
            }
            let note = format!(
                "[{} {} vigil ({})] {} log line{} dropped: vigil's stderr was not being read\n",
                timestamp(SystemTime::now()),
                Level::Warn.label(),
                std::process::id(),
                self.dropped,
                if self.dropped == 1 { " was" } else { "s were" }
            );
            self.dropped = 0;
            self.pending.extend_from_slice(note.as_bytes());
        }
    }
}

/// Writes as much of `buf` as goes without blocking; an error (the reader
/// left: EPIPE; a size limit: EFBIG) drops the rest, as a log write is never fatal.
fn write_some(buf: &[u8], write: &mut WriteFn<'_>) -> usize {
    let mut done = 0;
    while done < buf.len() {
        match write(&buf[done..]) {
            Ok(0) => return buf.len(),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return done,
            Err(_) => return buf.len(),
        }
    }
    done
}

/// RFC 3339 UTC with milliseconds, computed without a time-zone database.
pub(crate) fn timestamp(t: SystemTime) -> String {
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
macro_rules! fatal { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Fatal) { $crate::log::write($crate::log::Level::Fatal, format_args!($($t)*)) } } }
macro_rules! log_warn { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Warn) { $crate::log::write($crate::log::Level::Warn, format_args!($($t)*)) } } }
macro_rules! notice { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Notice) { $crate::log::write($crate::log::Level::Notice, format_args!($($t)*)) } } }
macro_rules! info { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Info) { $crate::log::write($crate::log::Level::Info, format_args!($($t)*)) } } }
macro_rules! debug { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Debug) { $crate::log::write($crate::log::Level::Debug, format_args!($($t)*)) } } }
macro_rules! trace { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Trace) { $crate::log::write($crate::log::Level::Trace, format_args!($($t)*)) } } }
// Used by path (`use crate::log::{warn, info}`), not from the crate root.
// (`warn` is also a built-in attribute: defined as `log_warn`, exported as `warn`.)
pub(crate) use {debug, fatal, info, log_warn as warn, notice, trace};

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A reader that takes `room` bytes, then would block.
    fn reader<'a>(
        got: &'a mut Vec<u8>,
        room: &'a mut usize,
    ) -> impl FnMut(&[u8]) -> io::Result<usize> + 'a {
        move |b: &[u8]| {
            if *room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = b.len().min(*room);
            got.extend_from_slice(&b[..n]);
            *room -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_stalled_reader_never_blocks_and_drops_are_counted() {
        let mut o = Outbox::default();
        let (mut got, mut room) = (Vec::new(), 10);
        let line = [b'x'; 1000];
        // 10 bytes go out, the rest of the line waits.
        o.push(&line, &mut reader(&mut got, &mut room));
        assert_eq!((got.len(), o.pending.len()), (10, 990));
        // The reader is stalled: lines pile up to MAX_PENDING, then are dropped.
        for _ in 0..100 {
            o.push(&line, &mut reader(&mut got, &mut room));
        }
        assert_eq!(o.pending.len(), 990 + 64 * 1000);
        assert_eq!(o.dropped, 100 - 64);
        // The reader is back: everything kept, then one line with the count.
        let mut room = usize::MAX;
        o.flush(&mut reader(&mut got, &mut room));
        assert!(o.is_empty());
        assert_eq!(o.pending.capacity(), 0, "the stall's memory is given back");
        let text = String::from_utf8_lossy(&got[65_000..]).into_owned();
        assert!(
            text.ends_with("36 log lines were dropped: vigil's stderr was not being read\n"),
            "{text}"
        );
        assert_eq!(got.len(), 65_000 + text.len());
    }

    #[test]
    fn a_broken_reader_drops_the_line_and_is_not_fatal() {
        let mut o = Outbox::default();
        let mut gone = |_: &[u8]| -> io::Result<usize> { Err(io::ErrorKind::BrokenPipe.into()) };
        o.push(b"line\n", &mut gone);
        assert!(o.is_empty() && o.dropped == 0);
    }

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
