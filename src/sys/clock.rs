//! The event loop's alarm clock: a timerfd on CLOCK_MONOTONIC (the clock of
//! `Instant`), armed for the nearest deadline. `epoll_wait` takes its timeout
//! in whole milliseconds, which made probe attempts start up to 1 ms late; a
//! timerfd has nanosecond resolution.

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Instant;

pub(crate) struct Clock {
    fd: TimerFd,
    /// The deadline the timer is armed for, to skip re-arming it each turn.
    armed: Option<Instant>,
}

impl Clock {
    pub(crate) fn new() -> io::Result<Clock> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        Ok(Clock { fd, armed: None })
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_fd().as_raw_fd()
    }

    /// Arms the clock to ring at `at` (measured from `now`), or disarms it.
    /// Returns false when `at` is already due: the caller must not block.
    pub(crate) fn set(&mut self, at: Option<Instant>, now: Instant) -> io::Result<bool> {
        let Some(at) = at else {
            if self.armed.take().is_some() {
                self.fd.unset()?;
            }
            return Ok(true);
        };
        let wait = at.saturating_duration_since(now);
        if wait.is_zero() {
            return Ok(false); // (a zero expiration would disarm a timerfd)
        }
        if self.armed != Some(at) {
            self.fd.set(
                Expiration::OneShot(TimeSpec::from_duration(wait)),
                TimerSetTimeFlags::empty(),
            )?;
            self.armed = Some(at);
        }
        Ok(true)
    }

    /// Takes note of a ring. The expiration count is not read (one system
    /// call less per ring): the next `set` arms the timer again, which resets
    /// it, and the loop's registration is edge-triggered, so an unread count
    /// wakes no later poll; only a new expiration does.
    pub(crate) fn acknowledge(&mut self) {
        self.armed = None;
    }
}
