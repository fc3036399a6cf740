//! Where the configuration comes from and which source wins:
//! defaults < file < environment < flags.
//!
//! - The file is `--config FILE`, else `VIGIL_CONFIG`; `containers[N]` is
//!   used, N from `--container` (default 0).
//! - Each probe is taken whole from the first of: its flag (`--liveness
//!   JSON`), its variable (`VIGIL_LIVENESS_CHECK`), the file. Probes are not
//!   merged field by field: the winner replaces the others, which are not read.
//! - The command after `--` replaces the file's `command` or `script`.
//! - With a port and no readiness probe from any source, readiness is the
//!   platform's default, a `tcp_socket` probe on the port (EAS does the
//!   same), unless `--no-default-readiness` says not to.
//! - The port and `env` come from the file only; the command's environment is
//!   the inherited one with the file's `env` laid over it, plus
//!   `LISTENING_PORT` when a port is known and `env` does not set it.

use super::diagnostic::{Diagnostic, Location, Locations};
use super::expand::{self, MAX_EXEC_TOTAL};
use super::json::{self, Value};
use super::model::{Command, EnvIndex, Handler, NameValue, Probe, ProbeKind, Resolved};
use super::parse::{self, join, Ctx};
use super::program;
use std::cell::Cell;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A `service.json` is a few KiB; anything over this is refused unread.
pub const MAX_FILE_SIZE: u64 = 1 << 20;

/// The source named in messages about vigil's own command line.
const COMMAND_LINE: &str = "command line";

/// Everything configuration can come from, as given by `cli` (flags) and the
/// process (environment).
pub struct Inputs<'a> {
    /// `--config FILE`; when `None`, `VIGIL_CONFIG` is used.
    pub file: Option<PathBuf>,
    /// `--container N`; default 0.
    pub container: Option<usize>,
    /// `--startup`, `--liveness`, `--readiness`: probe objects as JSON text.
    pub startup: Option<String>,
    pub liveness: Option<String>,
    pub readiness: Option<String>,
    /// The command after `--` (or positional); empty when none was given.
    pub command: Vec<OsString>,
    /// `--no-default-readiness`: no readiness probe unless one is given.
    pub no_default_readiness: bool,
    pub env: &'a dyn Fn(&str) -> Option<OsString>,
}

impl Inputs<'_> {
    fn flag(&self, kind: ProbeKind) -> Option<&str> {
        match kind {
            ProbeKind::Startup => self.startup.as_deref(),
            ProbeKind::Liveness => self.liveness.as_deref(),
            ProbeKind::Readiness => self.readiness.as_deref(),
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .map(|v| v.to_string_lossy().into_owned())
            .filter(|v| !v.is_empty())
    }

    /// The file to read: the flag, else the variable.
    pub fn config_file(&self) -> Option<PathBuf> {
        let var = (self.env)("VIGIL_CONFIG").filter(|v| !v.is_empty());
        self.file.clone().or_else(|| var.map(PathBuf::from))
    }
}

/// Reads every source, applies precedence and defaults, and checks it all.
/// On any error, returns every diagnostic found (warnings included).
pub fn resolve(inputs: &Inputs) -> Result<Resolved, Vec<Diagnostic>> {
    let file = inputs.config_file();
    let source = file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let index = inputs.container.unwrap_or(0);
    let mut fctx = Ctx::new(&source);
    let root = match &file {
        Some(path) => Some(load(path, &mut fctx).ok_or_else(|| fctx.diags.clone())?),
        None => None,
    };
    let container = match &root {
        Some(root) => {
            Some(parse::container(&mut fctx, root, index).ok_or_else(|| fctx.diags.clone())?)
        }
        None => None,
    };
    let port = container.as_ref().and_then(|c| c.port);

    let mut ctxs = Vec::new();
    let mut probes: [Option<Probe>; 3] = [None, None, None];
    for (slot, kind) in probes.iter_mut().zip(ProbeKind::ALL) {
        let inline = inputs
            .flag(kind)
            .map(|text| (kind.flag(), text.to_string()))
            .or_else(|| {
                inputs
                    .var(kind.env_var())
                    .map(|text| (kind.env_var(), text))
            });
        *slot = match inline {
            Some((name, text)) => {
                let mut ctx = Ctx::new(name);
                let probe = match json::parse(&text) {
                    Ok(v) => parse::probe(&mut ctx, &v, kind.key(), kind, port),
                    Err(e) => {
                        ctx.syntax_error(kind.key(), &e);
                        None
                    }
                };
                ctxs.push(ctx);
                probe
            }
            None => container.as_ref().and_then(|c| {
                let (_, v) = c.probes.iter().find(|(k, _)| *k == kind)?;
                parse::probe(&mut fctx, v, &join(&c.path, kind.key()), kind, port)
            }),
        };
    }

    // A readiness_check given but wrong is an error, which no default hides.
    let default_readiness = match (&container, port, &probes[2]) {
        (Some(c), Some(port), None) if !inputs.no_default_readiness => {
            let at = fctx.locations.locate(&source, &join(&c.path, "port"));
            probes[2] = Some(platform_readiness(port, at));
            true
        }
        _ => false,
    };

    let command = if !inputs.command.is_empty() {
        Some(Command::Argv(inputs.command.clone()))
    } else {
        container.as_ref().and_then(|c| c.command.clone())
    };
    let command_missing = command.is_none() && !container.as_ref().is_some_and(|c| c.command_given);
    if command_missing {
        let at = match &container {
            Some(c) => Location::new(&source, &join(&c.path, "command"), Some(c.pos)),
            None => Location::new(COMMAND_LINE, "command", None),
        };
        let message =
            "expected a command to run, found none: give \"command\" or \"script\" in the \
                       container, or a command after `--`";
        fctx.diags.push(Diagnostic::error(at, message));
    }

    let mut env: Vec<NameValue> = container
        .as_ref()
        .map(|c| c.env.clone())
        .unwrap_or_default();
    if let Some(port) = port {
        if !env.iter().any(|v| v.name == "LISTENING_PORT") {
            env.push(NameValue {
                name: "LISTENING_PORT".into(),
                value: port.to_string(),
            });
        }
    }

    // The file's problems in reading order (they were found field by field).
    super::diagnostic::sort_by(&mut fctx.diags, |d| (d.at.line, d.at.column));
    let mut diags = fctx.diags;
    let mut locations = fctx.locations;
    for ctx in ctxs {
        diags.extend(ctx.diags);
        locations.extend(ctx.locations);
    }
    let env_index = EnvIndex::new(&env);
    for probe in probes.iter_mut().flatten() {
        if let Err(d) = prepare_exec(probe, &env, &env_index, inputs.env, &locations) {
            diags.push(d);
        }
    }
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    let [startup_check, liveness_check, readiness_check] = probes;
    Ok(Resolved {
        file: file.map(|_| source),
        container: root.map(|_| index),
        command: command.expect("a missing command is an error above"),
        env,
        port,
        startup_check,
        liveness_check,
        readiness_check,
        default_readiness,
        warnings: diags,
        locations,
    })
}

/// The readiness probe EAS gives a service that names a port and no
/// readiness_check: a TCP connect to the port. Read as a user's
/// `{"tcp_socket": {}}` is, so every number is the parser's own default.
/// `at` is the port it comes from.
fn platform_readiness(port: u16, at: Location) -> Probe {
    const PROBE: &str = r#"{"tcp_socket": {}}"#;
    let kind = ProbeKind::Readiness;
    let v = json::parse(PROBE).expect("the default probe is valid JSON");
    let mut ctx = Ctx::new(&at.source);
    let probe = parse::probe(&mut ctx, &v, kind.key(), kind, Some(port));
    let mut probe = probe.expect("the default probe is valid with a port");
    probe.at = at;
    probe
}

/// Reads and parses the file, refusing directories and anything over
/// `MAX_FILE_SIZE` without reading it whole.
fn load(path: &Path, ctx: &mut Ctx) -> Option<Value> {
    let whole = Location::new(&ctx.source, "", None);
    let fail = |ctx: &mut Ctx, message: String| {
        ctx.diags.push(Diagnostic::error(whole.clone(), message));
        None
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return fail(ctx, format!("cannot open the configuration file: {e}")),
    };
    match file.metadata() {
        Err(e) => return fail(ctx, format!("cannot read the configuration file: {e}")),
        Ok(m) if m.is_dir() => return fail(ctx, "expected a JSON file, found a directory".into()),
        Ok(m) if m.len() > MAX_FILE_SIZE => {
            return fail(ctx, too_large(&format!("{} bytes", m.len())));
        }
        Ok(_) => {}
    }
    // Sizes can lie (pipes, /proc): never read more than one byte past the limit.
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes) {
        return fail(ctx, format!("cannot read the configuration file: {e}"));
    }
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return fail(ctx, too_large("more"));
    }
    match json::parse_bytes(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            ctx.syntax_error("", &e);
            None
        }
    }
}

fn too_large(found: &str) -> String {
    format!("expected a configuration file of at most {MAX_FILE_SIZE} bytes (1 MiB), found {found}")
}

/// Expands `$(VAR)` in an exec probe's argv from the command's environment and
/// finds its program on the command's PATH, as the probe will run. Values
/// are given only while they come to less than `MAX_EXEC_TOTAL` together:
/// more could never be exec'd, and a small file of references to a long
/// value would otherwise ask for gigabytes. The argv is then an error.
fn prepare_exec(
    probe: &mut Probe,
    env: &[NameValue],
    index: &EnvIndex,
    inherited: &dyn Fn(&str) -> Option<OsString>,
    locations: &Locations,
) -> Result<(), Diagnostic> {
    let Handler::Exec(exec) = &mut probe.handler else {
        return Ok(());
    };
    // The bytes of values that may still be given; 0 once one did not fit,
    // when no more are looked up (an inherited value is copied to be read).
    let left = Cell::new(MAX_EXEC_TOTAL);
    // An index lookup per `$(VAR)`: searching `env` for each made a probe of
    // many references quadratic.
    let lookup = |name: &str| {
        if left.get() == 0 {
            return None;
        }
        let value = match index.last(name) {
            Some(i) => env[i].value.clone(),
            None => inherited(name)?.to_string_lossy().into_owned(),
        };
        // One as long as what is left does not fit (the argv's own bytes
        // come on top) and stops the lookups.
        let rest = left.get().saturating_sub(value.len());
        left.set(rest);
        (rest > 0).then_some(value)
    };
    for arg in &mut exec.command {
        *arg = expand::expand(arg, &lookup);
    }
    let command_path = join(&probe.at.path, "exec.command");
    let (path, message) = if left.get() == 0 {
        let message = "expands to more than the 2097152 bytes (2 MiB) the kernel takes for one \
                       program's argv and environment (ARG_MAX as applied under the usual \
                       8 MiB stack limit)";
        (command_path, message.to_string())
    } else {
        left.set(usize::MAX);
        let path = lookup("PATH");
        let name = &exec.command[0];
        if let Some(found) = program::find(name, path.as_deref()) {
            exec.program = found.display().to_string();
            return Ok(());
        }
        let searched = if name.contains('/') {
            "no executable file there".to_string()
        } else {
            format!(
                "not on the command's PATH ({})",
                path.as_deref().unwrap_or(program::DEFAULT_PATH)
            )
        };
        let hint = match program::http_tool_hint(name) {
            Some(h) => format!("; {h}"),
            None => String::new(),
        };
        let message =
            format!("expected a program the probe can run, found {name:?}: {searched}{hint}");
        (join(&command_path, "[0]"), message)
    };
    Err(Diagnostic::error(
        locations.locate(&probe.at.source, &path),
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::model::TcpSocket;
    use super::*;
    use std::time::Duration;

    /// Resolves `container` (one container's JSON) with `env` and the
    /// `--readiness` flag, from a file written for the call.
    fn resolve_container(
        container: &str,
        env: &[(&str, &str)],
        readiness: Option<&str>,
        no_default_readiness: bool,
    ) -> Result<Resolved, Vec<Diagnostic>> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("vigil-sources-{}-{n}.json", std::process::id()));
        std::fs::write(&path, format!(r#"{{"containers": [{container}]}}"#)).unwrap();
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        let r = resolve(&Inputs {
            file: Some(path.clone()),
            container: None,
            startup: None,
            liveness: None,
            readiness: readiness.map(String::from),
            command: Vec::new(),
            no_default_readiness,
            env: &lookup,
        });
        let _ = std::fs::remove_file(&path);
        r
    }

    #[test]
    fn the_platforms_default_readiness() {
        /// What readiness ends up as.
        #[derive(Debug, PartialEq)]
        enum Want {
            /// The platform's default on this port.
            Platform(u16),
            /// A given probe: its port and period.
            Given(u16, u64),
            None,
        }
        use Want::{Given, Platform};
        const PORT: &str = r#""command": "app", "port": 8000"#;
        const TCP4: &str = r#"{"tcp_socket": {}, "period_seconds": 4}"#;
        const HTTP5: &str = r#"{"http_get": {"path": "/ready"}, "period_seconds": 5}"#;
        // (the container's other keys, env, --readiness, --no-default-readiness, readiness)
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            bool,
            Want,
        );
        #[rustfmt::skip]
        let table: &[Case] = &[
            // A port and no readiness probe from anywhere.
            ("", &[], None, false, Platform(8000)),
            (r#", "readiness_check": null"#, &[], None, false, Platform(8000)),
            ("", &[("VIGIL_READINESS_CHECK", "")], None, false, Platform(8000)),
            // Other probes do not stand for readiness.
            (r#", "liveness_check": {"tcp_socket": {}}"#, &[], None, false, Platform(8000)),
            // Switched off.
            ("", &[], None, true, Want::None),
            // A readiness probe from any source wins.
            (r#", "readiness_check": {"tcp_socket": {"port": 9000}, "period_seconds": 3}"#, &[], None, false, Given(9000, 3)),
            ("", &[("VIGIL_READINESS_CHECK", TCP4)], None, false, Given(8000, 4)),
            ("", &[], Some(HTTP5), false, Given(8000, 5)),
        ];
        for (more, env, flag, off, want) in table {
            let container = format!("{{{PORT}{more}}}");
            let r = resolve_container(&container, env, *flag, *off)
                .unwrap_or_else(|d| panic!("{container}: {d:?}"));
            let got = match &r.readiness_check {
                None => Want::None,
                Some(p) if r.default_readiness => Platform(p.handler.port().unwrap()),
                Some(p) => Given(p.handler.port().unwrap(), p.period.as_secs()),
            };
            assert_eq!(got, *want, "{container} {env:?} {flag:?} {off}");
            assert_eq!(r.default_readiness_note().is_some(), r.default_readiness);
        }
        // No port: nothing to probe.
        let r = resolve_container(r#"{"command": "app"}"#, &[], None, false).unwrap();
        assert_eq!((r.readiness_check, r.default_readiness), (None, false));
    }

    #[test]
    fn the_default_is_what_an_empty_tcp_socket_probe_gives() {
        let r = resolve_container(r#"{"command": "app", "port": 8000}"#, &[], None, false).unwrap();
        let explicit = resolve_container(
            r#"{"command": "app", "port": 8000, "readiness_check": {"tcp_socket": {}}}"#,
            &[],
            None,
            false,
        )
        .unwrap();
        let (default, explicit) = (
            r.readiness_check.unwrap(),
            explicit.readiness_check.unwrap(),
        );
        // Kubernetes' numbers, on the probe host (no host of its own).
        assert_eq!(
            default.handler,
            Handler::TcpSocket(TcpSocket {
                host: None,
                port: 8000
            })
        );
        assert_eq!(
            (default.initial_delay, default.period, default.timeout),
            (
                Duration::ZERO,
                Duration::from_secs(10),
                Duration::from_secs(1)
            )
        );
        assert_eq!(
            (default.success_threshold, default.failure_threshold),
            (1, 3)
        );
        assert_eq!(
            Probe {
                at: explicit.at.clone(),
                ..default.clone()
            },
            explicit
        );
        // It is located at the port it comes from.
        assert_eq!(default.at.path, "containers[0].port");
        assert_eq!((default.at.line, default.at.column), (Some(1), Some(44)));
        assert_eq!(
            r.warnings,
            [],
            "the default probe itself is never warned about"
        );
    }

    #[test]
    fn a_wrong_readiness_check_is_an_error_not_a_default() {
        let errors = resolve_container(
            r#"{"command": "app", "port": 8000, "readiness_check": {"tcp_socket": {"port": 0}}}"#,
            &[],
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].at.path,
            "containers[0].readiness_check.tcp_socket.port"
        );
        let errors =
            resolve_container(r#"{"command": "app", "port": 8000}"#, &[], Some("{"), false)
                .unwrap_err();
        assert_eq!(errors[0].at.source, "--readiness");
    }

    #[test]
    fn the_default_readiness_note() {
        let r = resolve_container(r#"{"command": "app", "port": 8000}"#, &[], None, false).unwrap();
        assert_eq!(
            r.default_readiness_note().unwrap(),
            "readiness_check: tcp_socket port 8000 (the platform's default: the service names a \
             port and no readiness_check); --no-default-readiness or \
             VIGIL_NO_DEFAULT_READINESS=1 turns it off"
        );
    }
}
