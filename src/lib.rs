//! vigil: a tiny PID-1 init for containers that serve models and web apps.
//!
//! Module map: `cli` (flags and env), `config` (service.json, `VIGIL_*` and
//! flags merged into one plain value), `check` (`vigil check`), `privileges`
//! (`--user` and the capability options, for the command and exec probes), `supervisor`
//! (the pure state machine that decides), `event_loop` (the one mio loop that
//! performs), `sys` (every raw OS call), plus small helpers (`duration`,
//! `signal_name`, `exit_status`, `timers`, `log`).

// The compiler keeps the rules: `unsafe` only under `sys`, each block with
// its SAFETY comment; nothing `pub` that nothing outside uses.
#![deny(unsafe_code)]
#![warn(unreachable_pub, clippy::undocumented_unsafe_blocks)]

pub(crate) mod check;
pub mod cli;
pub(crate) mod client;
pub mod config;
pub(crate) mod diagnose;
pub(crate) mod duration;
pub(crate) mod event_loop;
pub(crate) mod exit_status;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod log;
pub mod privileges;
pub mod probe;
pub(crate) mod ready_file;
pub(crate) mod report;
pub(crate) mod restart;
pub mod signal_name;
pub(crate) mod startup;
pub(crate) mod status;
pub(crate) mod supervisor;
#[allow(unsafe_code)]
pub(crate) mod sys;
pub(crate) mod timers;

use cli::Invocation;
use exit_status::code;
use log::fatal;
use std::ffi::OsString;
use std::io::Write;

pub const LICENSE: &str = include_str!("../LICENSE");

/// The whole program, given argv[0] (the name it was started by decides the
/// personality: `dumb-init` or vigil) and the arguments after it; returns the
/// exit status.
pub fn main(argv0: OsString, args: Vec<OsString>) -> i32 {
    // First of all, before anything can arrive unnoticed: block every signal.
    let inherited = match sys::signals::take_over() {
        Ok(i) => i,
        Err(e) => {
            fatal!("cannot take over signal handling: {e}");
            return i32::from(code::INTERNAL);
        }
    };
    // Until the command exists, SIGINT and SIGTERM end vigil at once: reading
    // a configuration from a FIFO or a hung file system must not hold them.
    let startup = match sys::signals::StartupStop::begin() {
        Ok(s) => s,
        Err(e) => {
            fatal!("cannot take over signal handling: {e}");
            return i32::from(code::INTERNAL);
        }
    };
    let env = |name: &str| std::env::var_os(name);
    let dumb_init = cli::is_dumb_init(&argv0);
    let parsed = match dumb_init {
        true => cli::parse_dumb_init(&argv0, args, &env),
        false => cli::parse(args, &env),
    };
    let status = match parsed {
        Ok(Invocation::Run(opts)) => startup::run(*opts, inherited, startup),
        Ok(Invocation::Check(opts)) => check::run(
            &opts,
            &|name| std::env::var_os(name),
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
        Ok(Invocation::Ready(args)) => client::ready(args, &|name| std::env::var_os(name)),
        Ok(Invocation::Status(args)) => client::status(args, &|name| std::env::var_os(name)),
        Ok(Invocation::Help) => print(&format!("{}\n\n{}", cli::USAGE, cli::HELP)),
        Ok(Invocation::Version) => print(&format!("vigil version {}\n", env!("CARGO_PKG_VERSION"))),
        Ok(Invocation::License) => print(LICENSE),
        Ok(Invocation::Say { text, code }) => {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
            code
        }
        Err(e) if dumb_init => {
            eprintln!("[dumb-init] {e}");
            code::USAGE
        }
        Err(e) => {
            eprintln!("vigil: {e}\n{}", cli::USAGE);
            code::USAGE
        }
    };
    i32::from(status)
}

fn print(text: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    // No Rust runtime start-up means no flush at exit either: flush here.
    let ok = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if ok.is_ok() {
        0
    } else {
        code::INTERNAL
    }
}
