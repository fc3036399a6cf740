//! Helpers of the probe tests: a vigil run whose log goes to a file the test
//! polls, the HTTP test app on a free port, and its control file.
#![allow(dead_code)]

use super::*;
use std::process::{Child, Command, Stdio};

/// A free TCP port on this machine (bound, then released for the app).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("0.0.0.0:0").expect("bind port 0");
    l.local_addr().unwrap().port()
}

pub struct Run {
    pub child: Child,
    pub dir: TempDir,
    pub port: u16,
}

impl Run {
    /// vigil ARGS -- testapp http --port PORT ... (APP_ARGS), log to a file.
    pub fn start(tag: &str, vigil_args: &[&str], app_args: &[&str]) -> Run {
        let dir = TempDir::new(tag);
        let port = free_port();
        Self::start_in(dir, port, vigil_args, app_args)
    }

    pub fn start_in(dir: TempDir, port: u16, vigil_args: &[&str], app_args: &[&str]) -> Run {
        let log = std::fs::File::create(dir.path("log")).unwrap();
        let control = dir.path("control");
        if !control.exists() {
            std::fs::write(&control, "").unwrap();
        }
        let mut cmd = Command::new(vigil());
        cmd.args(vigil_args)
            .arg("--")
            .arg(testapp())
            .args(["http", "--port", &port.to_string()])
            .arg("--control")
            .arg(&control)
            .arg("--requests")
            .arg(dir.path("requests"))
            .args(app_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        let child = cmd.spawn().expect("spawn vigil");
        Run { child, dir, port }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("log")).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (panics with the log at the deadline).
    pub fn wait_log(&self, needle: &str) {
        let deadline = std::time::Instant::now() + DEADLINE;
        while !self.log().contains(needle) {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {needle:?} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(POLL); // poll interval; the deadline bounds the wait
        }
    }

    /// Sets the app's behaviour (atomically, so it never reads half a file).
    pub fn control(&self, rules: &str) {
        let tmp = self.dir.path("control.tmp");
        std::fs::write(&tmp, rules).unwrap();
        std::fs::rename(&tmp, self.dir.path("control")).unwrap();
    }

    pub fn requests(&self) -> String {
        std::fs::read_to_string(self.dir.path("requests")).unwrap_or_default()
    }

    pub fn term(&self) {
        send("TERM", self.child.id());
    }

    /// Waits for vigil to exit; its exit code.
    pub fn exit_code(&mut self) -> i32 {
        let log = self.dir.path("log");
        let status = wait_exit_or_report(&mut self.child, || {
            format!(
                "vigil's log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        status
            .code()
            .unwrap_or_else(|| panic!("vigil killed by a signal: {status:?}\n{}", self.log()))
    }

    /// Index of the first log line containing `needle`.
    pub fn line_of(&self, needle: &str) -> Option<usize> {
        self.log().lines().position(|l| l.contains(needle))
    }
}

impl Drop for Run {
    /// A test that ends without stopping vigil: vigil and everything under
    /// it (the app) get SIGKILL, or the app would outlive the test.
    fn drop(&mut self) {
        kill_tree(&mut self.child);
    }
}

/// An http_get probe object on `port` at `path`, fast numbers for tests.
pub fn http_probe(port: u16, path: &str, extra: &str) -> String {
    format!(
        r#"{{"http_get": {{"path": "{path}", "port": {port}}}, "period_seconds": 0.1, "timeout_seconds": 0.5{extra}}}"#
    )
}
