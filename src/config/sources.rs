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
use super::expand::{self, Lookup, TooLarge};
use super::json::{self, Value};
use super::model::{Command, EnvIndex, Handler, NameValue, Probe, ProbeKind, Resolved};
use super::parse::{self, join, Ctx};
use super::{limits, program};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
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
    let env_cost = limits::env_cost(&env, &env_index);
    if let Some(command) = &command {
        if let Some(d) =
            command_too_large(command, env_cost, container.as_ref(), &source, &locations)
        {
            diags.push(d);
        }
    }
    let vars = Vars {
        env: &env,
        index: &env_index,
        inherited: inputs.env,
        inherited_lens: RefCell::default(),
    };
    for probe in probes.iter_mut().flatten() {
        if let Err(d) = prepare_exec(probe, &vars, env_cost, &locations) {
            diags.extend(d);
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

/// The command's argv and the file's `env` together, if more than the kernel
/// takes for one exec (`limits`). Each word, the script and each variable was
/// checked on its own where it was read (`parse`).
fn command_too_large(
    command: &Command,
    env_cost: usize,
    container: Option<&parse::FileContainer>,
    source: &str,
    locations: &Locations,
) -> Option<Diagnostic> {
    let argv = command.argv();
    let total = argv
        .iter()
        .map(|word| limits::exec_cost(word.len()))
        .fold(env_cost, usize::saturating_add);
    let message = limits::too_large(total)?;
    let at = match (command, container) {
        (Command::Line { .. }, Some(c)) => locations.locate(source, &join(&c.path, "command")),
        (Command::Script(_), Some(c)) => locations.locate(source, &join(&c.path, "script")),
        _ => Location::new(COMMAND_LINE, "command", None),
    };
    let with = if env_cost > 0 {
        " with the file's env"
    } else {
        ""
    };
    Some(Diagnostic::error(
        at,
        format!("the command{with} comes to {message}"),
    ))
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

/// `$(VAR)`'s values, as the command's environment will have them: the file's
/// `env` (its last entry of a name), else the inherited environment.
struct Vars<'a> {
    env: &'a [NameValue],
    index: &'a EnvIndex<'a>,
    inherited: &'a dyn Fn(&str) -> Option<OsString>,
    /// The lengths of inherited values, each read once: a reference is sized
    /// for each of its occurrences, and reading copies the value.
    inherited_lens: RefCell<HashMap<String, Option<usize>>>,
}

impl Lookup for Vars<'_> {
    fn value(&self, name: &str) -> Option<Cow<'_, str>> {
        // An index lookup per `$(VAR)`: searching `env` for each made a probe
        // of many references quadratic.
        match self.index.last(name) {
            Some(i) => Some(Cow::Borrowed(&self.env[i].value)),
            None => (self.inherited)(name).map(|v| Cow::Owned(v.to_string_lossy().into_owned())),
        }
    }

    fn value_len(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.index.last(name) {
            return Some(self.env[i].value.len());
        }
        let mut lens = self.inherited_lens.borrow_mut();
        if let Some(len) = lens.get(name) {
            return *len;
        }
        let len = self.value(name).map(|v| v.len());
        lens.insert(name.to_string(), len);
        len
    }
}

/// Expands `$(VAR)` in an exec probe's argv from the command's environment and
/// finds its program on the command's PATH, as the probe will run. An argv
/// the kernel would refuse (`limits`) is an error, found from the sizes
/// before any of it is built.
fn prepare_exec(
    probe: &mut Probe,
    vars: &Vars,
    env_cost: usize,
    locations: &Locations,
) -> Result<(), Vec<Diagnostic>> {
    let Handler::Exec(exec) = &mut probe.handler else {
        return Ok(());
    };
    let command_path = join(&probe.at.path, "exec.command");
    let locate = |path: &str| locations.locate(&probe.at.source, path);
    exec.command = expand::expand_argv(&exec.command, env_cost, vars).map_err(|problems| {
        let diagnostic = |problem: TooLarge| {
            let path = match problem {
                TooLarge::Argument { index, .. } => join(&command_path, &format!("[{index}]")),
                TooLarge::Total(_) => command_path.clone(),
            };
            Diagnostic::error(locate(&path), problem.message())
        };
        problems.into_iter().map(diagnostic).collect::<Vec<_>>()
    })?;
    let path = vars.value("PATH");
    let name = &exec.command[0];
    match program::find(name, path.as_deref()) {
        Some(found) => {
            exec.program = found.display().to_string();
            Ok(())
        }
        None => {
            let at = locate(&join(&command_path, "[0]"));
            let searched = if name.contains('/') {
                "no executable file there".to_string()
            } else {
                format!(
                    "not on the command's PATH ({})",
                    path.as_deref().unwrap_or(program::DEFAULT_PATH)
                )
            };
            Err(vec![Diagnostic::error(
                at,
                format!("expected a program the probe can run, found {name:?}: {searched}"),
            )])
        }
    }
}
