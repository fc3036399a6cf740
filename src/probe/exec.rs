//! The `exec` attempt: the probe's argv run directly (no shell) in its own
//! process group with the command's environment; stdout and stderr captured
//! together through a non-blocking pipe, at most 10 KiB kept (the rest read
//! and dropped, so the probe never blocks on a full pipe). The attempt ends
//! when the process is reaped by vigil's one reaper, not when the pipe closes:
//! a grandchild that keeps the pipe open stalls nothing.

use crate::exit_status::ChildStatus;
use crate::sys::spawn::StartFailure;
use crate::sys::{process, spawn};
use mio::unix::pipe;
use mio::{Interest, Registry, Token};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;

pub(crate) const MAX_OUTPUT: usize = 10 * 1024;

/// The start of an attempt's message when its program could not run (the
/// errno's text follows; the errno itself goes with the outcome as data).
pub(crate) const CANNOT_RUN: &str = "cannot run the probe's program: ";

/// How an exec attempt ended: its verdict, message and output, and why its
/// program could not run, if it could not.
#[derive(Debug)]
pub(crate) struct Finished {
    pub ok: bool,
    pub message: String,
    pub output: String,
    pub cannot_run: Option<StartFailure>,
}

#[derive(Debug)]
pub(crate) struct ExecAttempt {
    pub pid: i32,
    child: spawn::Child,
    pipe: Option<pipe::Receiver>,
    pub output: Vec<u8>,
    /// `--user`'s uid and gid: an exec failure names them (vigil checked
    /// the program as root; the probe runs as the user).
    run_as: Option<(u32, u32)>,
}

impl ExecAttempt {
    pub(crate) fn start(
        registry: &Registry,
        token: Token,
        cmd: &spawn::Prepared,
    ) -> io::Result<ExecAttempt> {
        let (sender, mut receiver) = pipe::new()?;
        // The write end becomes the probe's stdout/stderr: it must block like
        // any ordinary pipe (O_NONBLOCK is shared by every fd of the pipe end).
        sender.set_nonblocking(false)?;
        let devnull = File::open("/dev/null")?;
        let redirect = spawn::Redirect {
            stdin: devnull.as_raw_fd(),
            output: sender.as_raw_fd(),
        };
        let child = spawn::spawn(cmd, Some(redirect))?;
        drop(sender);
        registry.register(&mut receiver, token, Interest::READABLE)?;
        Ok(ExecAttempt {
            pid: child.pid,
            child,
            pipe: Some(receiver),
            output: Vec::new(),
            run_as: cmd.run_as(),
        })
    }

    /// Reads what the pipe holds: the first `MAX_OUTPUT` bytes are kept.
    pub(crate) fn drain(&mut self, registry: &Registry) {
        let Some(pipe) = self.pipe.as_mut() else {
            return;
        };
        let mut buf = [0u8; 4096];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => {
                    self.close_pipe(registry);
                    return;
                }
                Ok(n) => {
                    let room = MAX_OUTPUT - self.output.len();
                    self.output.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return, // WouldBlock (or a broken pipe): wait for more or for the reap
            }
        }
    }

    fn close_pipe(&mut self, registry: &Registry) {
        if let Some(mut p) = self.pipe.take() {
            let _ = registry.deregister(&mut p);
        }
    }

    /// The process ended: what it said and how it ended.
    pub(crate) fn finish(mut self, registry: &Registry, status: ChildStatus) -> Finished {
        // Whatever the probe left in its process group (`sh -c 'daemon &'`)
        // goes with it, so nothing piles up one per period. The group's id
        // cannot have been reused: members keep it allocated, and with none
        // left this is ESRCH.
        let _ = crate::sys::process::send_signal(-self.pid, libc::SIGKILL);
        self.drain(registry);
        self.close_pipe(registry);
        let output = String::from_utf8_lossy(&self.output).into_owned();
        if let Some(err) = self.child.exec_error() {
            // Who it ran as, when not vigil's own identity (a program only
            // root may run fails for the user).
            let who = match self.run_as {
                Some((uid, gid)) => format!(" (as uid {uid} gid {gid}, --user)"),
                None => String::new(),
            };
            return Finished {
                ok: false,
                message: format!("{CANNOT_RUN}{err}{who}"),
                output,
                cannot_run: Some(err),
            };
        }
        let ok = status == ChildStatus::Exited(0);
        let how = match status {
            ChildStatus::Exited(code) => format!("exit status {code}"),
            other => other.to_string(),
        };
        let first = output
            .trim()
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        // The program's words go into one log line: its control characters
        // (a terminal's escapes, a carriage return) are escaped.
        let message = if first.is_empty() {
            how
        } else {
            format!("{how}: {}", crate::privileges::accounts::escaped(&first))
        };
        Finished {
            ok,
            message,
            output,
            cannot_run: None,
        }
    }

    /// Timeout: SIGKILL to the probe's whole process group (its pid is the
    /// group id); the reaper collects it later.
    pub(crate) fn kill(mut self, registry: &Registry) -> String {
        let _ = process::send_signal(-self.pid, libc::SIGKILL);
        self.drain(registry);
        self.close_pipe(registry);
        String::from_utf8_lossy(&self.output).into_owned()
    }
}
