//! Signal names and numbers as users write them (`SIGTERM`, `TERM`, `15`,
//! `SIGRTMIN+3`), and the `--rewrite FROM:TO` table.

use std::fmt;

const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// Highest signal number Linux has.
pub const MAX_SIGNAL: i32 = 64;

/// The real-time range as users and other programs number it: glibc's
/// SIGRTMIN (34), which Docker's `STOPSIGNAL SIGRTMIN+3` and systemd mean too.
/// musl's own SIGRTMIN is 35 (it keeps 32-34): a static vigil must still call
/// 37 SIGRTMIN+3.
fn rt_min() -> i32 {
    34
}

fn rt_max() -> i32 {
    MAX_SIGNAL
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSignal(pub String);

impl fmt::Display for BadSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown signal '{}' (expected a name like SIGTERM or TERM, SIGRTMIN+N, or a number 1-{MAX_SIGNAL})",
            self.0
        )
    }
}

/// Parses a signal name or number. `allow_zero` admits `0`, which `--rewrite`
/// uses to mean "drop the signal".
pub fn parse(input: &str, allow_zero: bool) -> Result<i32, BadSignal> {
    let bad = || BadSignal(input.to_string());
    let s = input.trim();
    if let Ok(n) = s.parse::<i32>() {
        return if (allow_zero && n == 0) || (1..=MAX_SIGNAL).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Ok(n);
    }
    let rt = |base: i32, rest: &str, sign: i32| -> Result<i32, BadSignal> {
        let off = if rest.is_empty() {
            0
        } else {
            rest.parse::<i32>().map_err(|_| bad())?
        };
        let n = base + sign * off;
        if (rt_min()..=rt_max()).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        }
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return match rest.strip_prefix('+') {
            Some(off) => rt(rt_min(), off, 1),
            None if rest.is_empty() => rt(rt_min(), "", 1),
            None => Err(bad()),
        };
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return match rest.strip_prefix('-') {
            Some(off) => rt(rt_max(), off, -1),
            None if rest.is_empty() => rt(rt_max(), "", 1),
            None => Err(bad()),
        };
    }
    Err(bad())
}

/// `SIGTERM`, `SIGRTMIN+2`, or the bare number for anything else.
pub fn name(sig: i32) -> String {
    if let Some((n, _)) = NAMES
        .iter()
        .find(|(k, n)| *n == sig && !matches!(*k, "IOT" | "POLL"))
    {
        return format!("SIG{n}");
    }
    if (rt_min()..=rt_max()).contains(&sig) {
        // As `kill -l` numbers them: the lower half from SIGRTMIN, the upper from SIGRTMAX.
        return match sig - rt_min() {
            0 => "SIGRTMIN".to_string(),
            n @ 1..=15 => format!("SIGRTMIN+{n}"),
            _ if sig == rt_max() => "SIGRTMAX".to_string(),
            _ => format!("SIGRTMAX-{}", rt_max() - sig),
        };
    }
    format!("signal {sig}")
}

/// `--rewrite FROM:TO` pairs: a signal vigil receives as FROM is sent to the
/// command as TO; TO = 0 drops it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrites {
    table: Vec<(i32, i32)>,
}

impl Rewrites {
    /// Parses one `FROM:TO` pair and adds it (a later pair for the same FROM wins).
    pub fn add(&mut self, pair: &str) -> Result<(), String> {
        let (from, to) = pair.split_once(':').ok_or_else(|| {
            format!("invalid --rewrite '{pair}': expected FROM:TO, e.g. TERM:QUIT or 15:3")
        })?;
        let from = parse(from, false).map_err(|e| format!("invalid --rewrite '{pair}': {e}"))?;
        let to = parse(to, true).map_err(|e| format!("invalid --rewrite '{pair}': {e}"))?;
        if from == libc::SIGKILL || from == libc::SIGSTOP || from == libc::SIGCHLD {
            return Err(format!(
                "invalid --rewrite '{pair}': {} never reaches vigil as a signal to forward",
                name(from)
            ));
        }
        self.set(from, to);
        Ok(())
    }

    /// Sets FROM -> TO (TO = 0 drops FROM), replacing an earlier pair.
    pub fn set(&mut self, from: i32, to: i32) {
        self.table.retain(|(f, _)| *f != from);
        self.table.push((from, to));
    }

    /// Whether a pair for FROM was given.
    pub fn has(&self, from: i32) -> bool {
        self.table.iter().any(|(f, _)| *f == from)
    }

    /// The signal to send for a received one; `None` when it is dropped.
    pub fn apply(&self, sig: i32) -> Option<i32> {
        let to = self
            .table
            .iter()
            .find(|(f, _)| *f == sig)
            .map_or(sig, |(_, t)| *t);
        (to != 0).then_some(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        let table: &[(&str, i32)] = &[
            ("SIGTERM", libc::SIGTERM),
            ("TERM", libc::SIGTERM),
            ("term", libc::SIGTERM),
            ("sigkill", libc::SIGKILL),
            ("15", 15),
            ("1", 1),
            ("64", 64),
            ("SIGRTMIN", libc::SIGRTMIN()),
            ("SIGRTMIN+3", libc::SIGRTMIN() + 3),
            ("RTMAX-1", libc::SIGRTMAX() - 1),
            ("SIGUSR2", libc::SIGUSR2),
        ];
        for (input, want) in table {
            assert_eq!(parse(input, false), Ok(*want), "{input}");
        }
    }

    #[test]
    fn rejects_bad_signals() {
        for input in [
            "", "0", "65", "-1", "SIGFOO", "RTMIN+99", "RTMINX", "TERM2", "1.5",
        ] {
            assert!(parse(input, false).is_err(), "{input} should be rejected");
        }
        assert_eq!(parse("0", true), Ok(0));
    }

    #[test]
    fn names_round_trip() {
        for sig in 1..=31 {
            let n = name(sig);
            assert_eq!(parse(&n, false), Ok(sig), "{n}");
        }
        assert_eq!(name(libc::SIGRTMIN() + 2), "SIGRTMIN+2");
        for sig in 34..=64 {
            let n = name(sig);
            assert_eq!(parse(&n, false), Ok(sig), "{n}");
        }
        assert_eq!(name(37), "SIGRTMIN+3"); // systemd's and Docker's, in any build
        assert_eq!(name(49), "SIGRTMIN+15");
        assert_eq!(name(50), "SIGRTMAX-14");
        assert_eq!(name(64), "SIGRTMAX");
        assert_eq!(name(33), "signal 33");
    }

    #[test]
    fn rewrite_table() {
        let mut r = Rewrites::default();
        r.add("TERM:QUIT").unwrap();
        r.add("USR1:0").unwrap();
        r.add("10:12").unwrap(); // a later pair for USR1 wins
        assert_eq!(r.apply(libc::SIGTERM), Some(libc::SIGQUIT));
        assert_eq!(r.apply(libc::SIGUSR1), Some(libc::SIGUSR2));
        assert_eq!(r.apply(libc::SIGHUP), Some(libc::SIGHUP));
        r.add("HUP:0").unwrap();
        assert_eq!(r.apply(libc::SIGHUP), None);
        for bad in [
            "TERM",
            "TERM:",
            ":QUIT",
            "FOO:TERM",
            "TERM:99",
            "KILL:TERM",
            "CHLD:TERM",
            "TERM:QUIT:1",
        ] {
            assert!(r.add(bad).is_err(), "{bad} should be rejected");
        }
    }
}
