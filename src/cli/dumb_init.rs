//! The dumb-init personality: started as `dumb-init` (the basename of
//! argv[0], so a symlink or a copy of that name), vigil takes dumb-init
//! 1.2's flags, variables and messages. What it changes at run time is in
//! `DumbInit` (a new session for the command, signals to its whole group,
//! job control, exit as soon as the command exits); vigil's own long
//! options (probes, restart, socket) stay available.
//!
//! Messages a script could read are worded as dumb-init words them: its
//! usage line, `-V`, the rewrite error, getopt's option errors.

use super::{finish, from_env, long_option, DumbInit, Invocation, UsageError};
use crate::signal_name;
use std::ffi::{OsStr, OsString};
use std::path::Path;

/// The dumb-init release whose interface this follows.
pub(super) const VERSION: &str = "1.2.5";

/// The highest signal dumb-init rewrites (it leaves real-time ones alone).
const MAX_REWRITE: i32 = 31;

/// Whether vigil was started by the name `dumb-init`.
pub fn is_dumb_init(argv0: &OsStr) -> bool {
    Path::new(argv0).file_name() == Some(OsStr::new("dumb-init"))
}

fn say(text: String) -> Invocation {
    Invocation::Say { text, code: 1 }
}

fn help(argv0: &str) -> String {
    format!(
        "dumb-init v{VERSION} (vigil {vigil})\n\
         Usage: {argv0} [option] command [[arg] ...]\n\
         \n\
         Runs COMMAND as its child: forwards signals to it, reaps zombies, exits\n\
         with its status. This is vigil, taking dumb-init's interface.\n\
         \n\
         Optional arguments:\n\
         \x20  -c, --single-child   Run in single-child mode: no new session, signals\n\
         \x20                       go to the direct child only, not its descendants.\n\
         \x20  -r, --rewrite s:r    Rewrite received signal s to new signal r before\n\
         \x20                       proxying; r = 0 drops s. Repeatable.\n\
         \x20  -v, --verbose        Print debugging information to stderr.\n\
         \x20  -h, --help           Print this help message and exit.\n\
         \x20  -V, --version        Print the current version and exit.\n\
         \n\
         Environment: DUMB_INIT_SETSID=0 as -c, DUMB_INIT_DEBUG=1 as -v.\n\
         vigil's own long options (--config, --readiness, --restart, --socket, ...)\n\
         work here too: see `vigil --help`.\n",
        vigil = env!("CARGO_PKG_VERSION"),
    )
}

fn rewrite_help() -> String {
    format!(
        "Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and {MAX_REWRITE}.\n\
         This option can be specified multiple times.\n\
         Use --help for full usage.\n"
    )
}

/// A leading integer as `sscanf("%d")` reads it: spaces, a sign, digits;
/// what follows is returned.
fn scan_int(s: &str) -> Option<(i64, &str)> {
    let s = s.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let n: i64 = rest[..digits].parse().ok()?;
    Some((if neg { -n } else { n }, &rest[digits..]))
}

/// `-r s:r`: numbers as dumb-init reads them (`%d:%d`, s 1-31, r 0-31), or
/// signal names as vigil's `--rewrite` takes them (TERM:QUIT; numbers stay
/// in dumb-init's range).
fn rewrite(arg: &str) -> Option<(i32, i32)> {
    let numbers = scan_int(arg).and_then(|(from, rest)| {
        let (to, _) = scan_int(rest.strip_prefix(':')?)?;
        let ok = (1..=i64::from(MAX_REWRITE)).contains(&from)
            && (0..=i64::from(MAX_REWRITE)).contains(&to);
        ok.then_some((from as i32, to as i32))
    });
    let names = arg.bytes().any(|b| b.is_ascii_alphabetic());
    numbers.or_else(|| {
        if !names {
            return None;
        }
        let (from, to) = arg.split_once(':')?;
        let from = signal_name::parse(from, false).ok()?;
        let to = signal_name::parse(to, true).ok()?;
        Some((from, to))
    })
}

/// Parses dumb-init's command line (`args` after argv[0]).
#[inline(never)] // not in `main`'s frame, which stays live under the event loop
pub fn parse(
    argv0: &OsStr,
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Invocation, UsageError> {
    use lexopt::prelude::*;

    let name = argv0.to_string_lossy().into_owned();
    let (mut opts, mut given) = from_env(env, false)?;
    let mut setsid = true;
    let mut debug = false;
    let mut grace_given = env("VIGIL_GRACE").is_some_and(|v| !v.is_empty());
    let mut parser = lexopt::Parser::from_args(args);
    loop {
        let arg = match parser.next() {
            Ok(Some(arg)) => arg,
            Ok(None) => break,
            Err(lexopt::Error::UnexpectedValue { option, .. }) => {
                return Ok(say(format!(
                    "{name}: option '{option}' doesn't allow an argument\n"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        match arg {
            Short('h') | Long("help") => {
                return Ok(Invocation::Say {
                    text: help(&name),
                    code: 0,
                })
            }
            Short('V') | Long("version") => {
                return Ok(Invocation::Say {
                    text: format!(
                        "dumb-init v{VERSION} (vigil {})\n",
                        env!("CARGO_PKG_VERSION")
                    ),
                    code: 0,
                })
            }
            Short('c') | Long("single-child") => setsid = false,
            Short('v') | Long("verbose") => debug = true,
            Short('r') | Long("rewrite") => {
                let option = match arg {
                    Short(_) => "-r",
                    _ => "--rewrite",
                };
                let Ok(v) = parser.value() else {
                    return Ok(say(match option {
                        "-r" => format!("{name}: option requires an argument -- 'r'\n"),
                        _ => format!("{name}: option '--rewrite' requires an argument\n"),
                    }));
                };
                match rewrite(&v.to_string_lossy()) {
                    // SIGKILL, SIGSTOP and SIGCHLD never reach the table.
                    Some((libc::SIGKILL | libc::SIGSTOP | libc::SIGCHLD, _)) => {}
                    Some((from, to)) => opts.rewrites.set(from, to),
                    None => return Ok(say(rewrite_help())),
                }
            }
            Long(key) => {
                let key = key.to_owned();
                grace_given |= key == "grace";
                match long_option(&key, &mut parser, &mut opts, &mut given) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Ok(say(format!("{name}: unrecognized option '--{key}'\n")))
                    }
                    Err(e) => return Ok(say(format!("[dumb-init] {e}\n"))),
                }
            }
            Short(c) => return Ok(say(format!("{name}: invalid option -- '{c}'\n"))),
            Value(first) => {
                opts.command.push(first);
                opts.command.extend(parser.raw_args()?);
                break;
            }
        }
    }
    if env("DUMB_INIT_DEBUG").is_some_and(|v| v == "1") {
        debug = true;
    }
    if env("DUMB_INIT_SETSID").is_some_and(|v| v == "0") {
        setsid = false;
    }
    if debug {
        opts.verbosity = opts.verbosity.max(3);
    }
    if setsid {
        // In its own session the command's group has no terminal to stop
        // it: the job-control stops go as SIGSTOP unless rewritten.
        for sig in [libc::SIGTSTP, libc::SIGTTOU, libc::SIGTTIN] {
            if !opts.rewrites.has(sig) {
                opts.rewrites.set(sig, libc::SIGSTOP);
            }
        }
    }
    opts.process_group = opts.process_group || setsid;
    opts.dumb_init = Some(DumbInit {
        setsid,
        grace_given,
    });
    if opts.command.is_empty() && opts.config.file.is_none() && env("VIGIL_CONFIG").is_none() {
        return Ok(say(format!(
            "Usage: {name} [option] program [args]\nTry {name} --help for full usage.\n"
        )));
    }
    match finish(opts, given, env) {
        Ok(opts) => Ok(Invocation::Run(Box::new(opts))),
        Err(e) => Ok(say(format!("[dumb-init] {e}\n"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Invocation {
        let env: HashMap<String, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        let args = args.iter().map(OsString::from).collect();
        parse(OsStr::new("dumb-init"), args, &|k| env.get(k).cloned()).unwrap()
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> super::super::RunOptions {
        match parse_with(args, env) {
            Invocation::Run(o) => *o,
            other => panic!("{args:?}: expected a run, got {other:?}"),
        }
    }

    fn said(args: &[&str]) -> (String, u8) {
        match parse_with(args, &[]) {
            Invocation::Say { text, code } => (text, code),
            other => panic!("{args:?}: expected a message, got {other:?}"),
        }
    }

    #[test]
    fn the_name_decides() {
        assert!(is_dumb_init(OsStr::new("dumb-init")));
        assert!(is_dumb_init(OsStr::new("/usr/bin/dumb-init")));
        assert!(!is_dumb_init(OsStr::new("/usr/bin/vigil")));
        assert!(!is_dumb_init(OsStr::new("dumb-init2")));
    }

    #[test]
    fn defaults_are_a_new_session_and_the_group() {
        let o = run(&["app", "-c"], &[]);
        assert_eq!(
            o.dumb_init,
            Some(DumbInit {
                setsid: true,
                grace_given: false
            })
        );
        assert!(o.process_group);
        assert_eq!(o.command, ["app", "-c"].map(OsString::from));
        assert_eq!(o.verbosity, 1);
        for sig in [libc::SIGTSTP, libc::SIGTTOU, libc::SIGTTIN] {
            assert_eq!(o.rewrites.apply(sig), Some(libc::SIGSTOP));
        }
    }

    #[test]
    fn single_child_from_the_flag_or_the_variable() {
        for (args, env) in [
            (&["-c", "app"][..], &[][..]),
            (&["--single-child", "app"], &[]),
            (&["app"], &[("DUMB_INIT_SETSID", "0")]),
        ] {
            let o = run(args, env);
            assert_eq!(o.dumb_init.map(|d| d.setsid), Some(false), "{args:?}");
            assert!(!o.process_group);
            assert_eq!(o.rewrites.apply(libc::SIGTSTP), Some(libc::SIGTSTP));
        }
        // Only "0" turns it off, as in dumb-init.
        let o = run(&["app"], &[("DUMB_INIT_SETSID", "no")]);
        assert_eq!(o.dumb_init.map(|d| d.setsid), Some(true));
    }

    #[test]
    fn rewrites_as_dumb_init_reads_them() {
        let o = run(
            &[
                "-r",
                "15:3",
                "-r2:0",
                "--rewrite",
                "1:10",
                "--rewrite=20:18",
                "app",
            ],
            &[],
        );
        assert_eq!(o.rewrites.apply(15), Some(3));
        assert_eq!(o.rewrites.apply(2), None);
        assert_eq!(o.rewrites.apply(1), Some(10));
        // Given explicitly, not replaced by the setsid default.
        assert_eq!(o.rewrites.apply(20), Some(18));
        assert_eq!(o.rewrites.apply(21), Some(libc::SIGSTOP));
        // vigil's names work too.
        assert_eq!(
            run(&["-r", "TERM:QUIT", "app"], &[]).rewrites.apply(15),
            Some(3)
        );
        for bad in ["15", "0:1", "32:1", "15:32", "15:-1", "x:y", ""] {
            let (text, code) = said(&["-r", bad, "app"]);
            assert_eq!(code, 1, "{bad:?}");
            assert!(
                text.starts_with("Usage: -r option takes <signum>:<signum>"),
                "{bad:?}: {text}"
            );
        }
    }

    #[test]
    fn verbose_from_the_flag_or_the_variable() {
        assert_eq!(run(&["-v", "app"], &[]).verbosity, 3);
        assert_eq!(run(&["app"], &[("DUMB_INIT_DEBUG", "1")]).verbosity, 3);
        assert_eq!(run(&["app"], &[("DUMB_INIT_DEBUG", "yes")]).verbosity, 1);
    }

    #[test]
    fn messages_as_dumb_init_words_them() {
        let (text, code) = said(&[]);
        assert_eq!(
            (text.as_str(), code),
            (
                "Usage: dumb-init [option] program [args]\nTry dumb-init --help for full usage.\n",
                1
            )
        );
        let (text, code) = said(&["-V"]);
        assert!(text.starts_with(&format!("dumb-init v{VERSION}")), "{text}");
        assert_eq!(code, 0);
        let (text, code) = said(&["--help"]);
        assert!(text.contains("Usage: dumb-init [option] command [[arg] ...]"));
        assert_eq!(code, 0);
        assert_eq!(said(&["-x", "app"]).0, "dumb-init: invalid option -- 'x'\n");
        assert_eq!(
            said(&["--bogus", "app"]).0,
            "dumb-init: unrecognized option '--bogus'\n"
        );
        assert_eq!(
            said(&["-r"]).0,
            "dumb-init: option requires an argument -- 'r'\n"
        );
        // tini's flags are not dumb-init's.
        assert_eq!(said(&["-s", "app"]).0, "dumb-init: invalid option -- 's'\n");
    }

    #[test]
    fn vigils_long_options_stay_available() {
        let o = run(&["--restart", "always", "--grace", "2s", "--", "app"], &[]);
        assert_eq!(o.restart.mode, crate::restart::Mode::Always);
        assert_eq!(o.grace, std::time::Duration::from_secs(2));
        assert_eq!(o.dumb_init.map(|d| d.grace_given), Some(true));
        let o = run(&["app"], &[("VIGIL_GRACE", "5s")]);
        assert_eq!(o.dumb_init.map(|d| d.grace_given), Some(true));
        assert_eq!(
            run(&["app"], &[]).dumb_init.map(|d| d.grace_given),
            Some(false)
        );
        let (text, _) = said(&["--grace", "soon", "app"]);
        assert!(text.starts_with("[dumb-init] --grace: "), "{text}");
        // TINI_* variables are tini's, VIGIL_* vigil's.
        assert!(!run(&["-c", "app"], &[("TINI_KILL_PROCESS_GROUP", "1")]).process_group);
        assert!(run(&["-c", "app"], &[("VIGIL_KILL_PROCESS_GROUP", "1")]).process_group);
    }
}
