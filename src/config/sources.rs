//! Where the configuration comes from and which source wins:
//! defaults < file < environment < flags.
//!
//! - The file is `--config FILE`, else `VIGIL_CONFIG`; `containers[N]` is
//!   used, N from `--container` (default 0).
//! - Each probe is taken whole from the first of: its flag (`--liveness
//!   JSON`), its variable (`VIGIL_LIVENESS_CHECK`), the file. Probes are not
//!   merged field by field: the winner replaces the others, which are not read.
//! - The command after `--` replaces the file's `command` or `script`.
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
        warnings: diags,
        locations,
    })
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
        let message = format!("expected a program the probe can run, found {name:?}: {searched}");
        (join(&command_path, "[0]"), message)
    };
    Err(Diagnostic::error(
        locations.locate(&probe.at.source, &path),
        message,
    ))
}
