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

use nix::sys::wait::WaitStatus;

/// vigil's own exit codes, for the cases where there is no command status.
pub mod code {
    pub const USAGE: u8 = 1;
    pub const INTERNAL: u8 = 1;
    pub const CONFIG: u8 = 2;
    /// A startup or liveness probe failed and vigil stopped the command
    /// (whatever status the command then exited with, even 0).
    pub const PROBE_FAILED: u8 = 3;
    pub const NOT_EXECUTABLE: u8 = 126;
    pub const NOT_FOUND: u8 = 127;
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

/// The shell convention tini follows: the exit code, or 128+N for signal N.
/// `None` for wait statuses that are not an end (stopped, continued).
pub fn from_wait(status: WaitStatus) -> Option<u8> {
    match status {
        WaitStatus::Exited(_, code) => Some(code as u8),
        WaitStatus::Signaled(_, sig, _) => Some(128u8.wrapping_add(sig as i32 as u8)),
        _ => None,
    }
}

/// Applies `-e`: an expected code becomes 0.
pub fn remap(code: u8, expected: &ExpectedCodes) -> u8 {
    if expected.contains(code) {
        0
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;
    use nix::unistd::Pid;

    #[test]
    fn wait_status_to_code() {
        let pid = Pid::from_raw(42);
        let table = [
            (WaitStatus::Exited(pid, 0), Some(0)),
            (WaitStatus::Exited(pid, 3), Some(3)),
            (WaitStatus::Exited(pid, 255), Some(255)),
            (WaitStatus::Signaled(pid, Signal::SIGTERM, false), Some(143)),
            (WaitStatus::Signaled(pid, Signal::SIGKILL, true), Some(137)),
            (WaitStatus::Signaled(pid, Signal::SIGHUP, false), Some(129)),
            (WaitStatus::Stopped(pid, Signal::SIGSTOP), None),
            (WaitStatus::Continued(pid), None),
        ];
        for (status, want) in table {
            assert_eq!(from_wait(status), want, "{status:?}");
        }
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
