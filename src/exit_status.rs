//! How the command's end becomes vigil's exit status, and vigil's own codes.
//!
//! | code | meaning |
//! |---|---|
//! | 0-255 | the command's exit code (after `-e` remapping) |
//! | 128+N | the command was killed by signal N |
//! | 126 | the command was found but could not be executed |
//! | 127 | the command was not found |
//! | 1 | usage error, or vigil itself failed (fork, event loop) |
//! | 2 | the configuration is wrong (nothing was started) |
//! | 3 | a startup or liveness probe failed and vigil stopped the command |

use crate::signal_name;

/// vigil's own exit codes, for the cases where there is no command status.
pub(crate) mod code {
    pub(crate) const USAGE: u8 = 1;
    pub(crate) const INTERNAL: u8 = 1;
    pub(crate) const CONFIG: u8 = 2;
    /// A startup or liveness probe failed and vigil stopped the command
    /// (whatever status the command then exited with, even 0).
    pub(crate) const PROBE_FAILED: u8 = 3;
    pub(crate) const NOT_EXECUTABLE: u8 = 126;
    pub(crate) const NOT_FOUND: u8 = 127;
}

/// The exit codes `-e` turns into 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedCodes([u64; 4]);

impl ExpectedCodes {
    pub fn add(&mut self, code: u8) {
        self.0[usize::from(code / 64)] |= 1 << (code % 64);
    }

    pub fn contains(&self, code: u8) -> bool {
        self.0[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }
}

/// How a child ended, decoded from the raw `waitpid` status so that any
/// signal number, real-time ones included, is understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildStatus {
    Exited(u8),
    Signaled { signal: i32, core: bool },
}

impl ChildStatus {
    /// Decodes a raw wait status; `None` for one that is not an end
    /// (stopped, continued).
    pub(crate) fn from_raw(status: i32) -> Option<ChildStatus> {
        if libc::WIFEXITED(status) {
            Some(ChildStatus::Exited(libc::WEXITSTATUS(status) as u8))
        } else if libc::WIFSIGNALED(status) {
            Some(ChildStatus::Signaled {
                signal: libc::WTERMSIG(status),
                core: libc::WCOREDUMP(status),
            })
        } else {
            None
        }
    }

    /// The shell convention tini follows: the exit code, or 128+N for signal N.
    pub(crate) fn code(self) -> u8 {
        match self {
            ChildStatus::Exited(code) => code,
            ChildStatus::Signaled { signal, .. } => 128u8.wrapping_add(signal as u8),
        }
    }

    pub(crate) fn signal(self) -> Option<i32> {
        match self {
            ChildStatus::Signaled { signal, .. } => Some(signal),
            ChildStatus::Exited(_) => None,
        }
    }
}

/// "exited with status 3", "killed by SIGRTMIN+3 (core dumped)".
impl std::fmt::Display for ChildStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ChildStatus::Exited(code) => write!(f, "exited with status {code}"),
            ChildStatus::Signaled { signal, core } => write!(
                f,
                "killed by {}{}",
                signal_name::name(signal),
                if core { " (core dumped)" } else { "" }
            ),
        }
    }
}

/// Applies `-e`: an expected code becomes 0.
pub(crate) fn remap(code: u8, expected: &ExpectedCodes) -> u8 {
    if expected.contains(code) {
        0
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_status_to_code() {
        // Raw statuses as the kernel encodes them: code << 8, or the signal
        // number with 0x80 for a core dump; 0x7f in the low byte is "stopped".
        let table = [
            (0, Some(ChildStatus::Exited(0)), 0, "exited with status 0"),
            (
                3 << 8,
                Some(ChildStatus::Exited(3)),
                3,
                "exited with status 3",
            ),
            (
                255 << 8,
                Some(ChildStatus::Exited(255)),
                255,
                "exited with status 255",
            ),
            (
                15,
                Some(ChildStatus::Signaled {
                    signal: 15,
                    core: false,
                }),
                143,
                "killed by SIGTERM",
            ),
            (
                9 | 0x80,
                Some(ChildStatus::Signaled {
                    signal: 9,
                    core: true,
                }),
                137,
                "killed by SIGKILL (core dumped)",
            ),
            // Real-time signals, which nix cannot decode: SIGRTMIN+4, SIGRTMAX, 33.
            (
                38,
                Some(ChildStatus::Signaled {
                    signal: 38,
                    core: false,
                }),
                166,
                "killed by SIGRTMIN+4",
            ),
            (
                64,
                Some(ChildStatus::Signaled {
                    signal: 64,
                    core: false,
                }),
                192,
                "killed by SIGRTMAX",
            ),
            (
                33,
                Some(ChildStatus::Signaled {
                    signal: 33,
                    core: false,
                }),
                161,
                "killed by signal 33",
            ),
        ];
        for (raw, want, code, text) in table {
            let got = ChildStatus::from_raw(raw);
            assert_eq!(got, want, "{raw:#x}");
            assert_eq!(got.unwrap().code(), code, "{raw:#x}");
            assert_eq!(got.unwrap().to_string(), text, "{raw:#x}");
        }
        assert_eq!(ChildStatus::from_raw((19 << 8) | 0x7f), None); // stopped by SIGSTOP
        assert_eq!(ChildStatus::from_raw(0xffff), None); // continued
    }

    #[test]
    fn expected_codes_remap() {
        let mut e = ExpectedCodes::default();
        e.add(143);
        e.add(0);
        e.add(255);
        e.add(63);
        e.add(64);
        assert_eq!(remap(143, &e), 0);
        assert_eq!(remap(255, &e), 0);
        assert_eq!(remap(63, &e), 0);
        assert_eq!(remap(64, &e), 0);
        assert_eq!(remap(1, &e), 1);
        assert_eq!(remap(142, &e), 142);
    }
}
