//! Lints: a valid configuration that is still likely to fail on EAS or
//! Kubernetes. Each returns warnings only (`vigil check --strict` makes them
//! errors); what cannot work at all is an error in `parse` or `sources`.

use super::diagnostic::{Diagnostic, Location};
use super::model::{Command, Probe, ProbeKind, Resolved};
use super::parse::join;
use super::shell_words;
use crate::duration;
use std::time::Duration;

/// Ports the EAS engine uses itself inside the instance.
pub const RESERVED_PORTS: [u16; 2] = [8080, 9090];

/// Under this, a liveness check without a startup check can kill an app that
/// is still loading its model.
pub const MODEL_LOAD_BUDGET: Duration = Duration::from_secs(30);

/// Words in a command that suggest it loads a model first (a heuristic: a
/// Python app or an inference server is assumed to take a while to start).
pub const MODEL_HINTS: &[&str] = &[
    "python",
    ".py",
    "torch",
    "vllm",
    "sglang",
    "transformers",
    "diffusers",
    "tensorflow",
    "triton",
    "llama",
    "ollama",
    "text-generation",
    "model",
];

pub fn lint(r: &Resolved) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    reserved_port(r, &mut out);
    shell_syntax(r, &mut out);
    for kind in ProbeKind::ALL {
        if let Some(p) = r.probe(kind) {
            probe_port(r, p, &mut out);
            timeout_vs_period(r, p, &mut out);
            fractional_seconds(r, p, &mut out);
        }
    }
    short_liveness_budget(r, &mut out);
    out
}

/// Where a container field was read (the file), by its key.
fn container_field(r: &Resolved, key: &str) -> Location {
    let source = r.file.as_deref().unwrap_or_default();
    let path = join(&format!("containers[{}]", r.container.unwrap_or(0)), key);
    r.locations.locate(source, &path)
}

fn probe_field(r: &Resolved, p: &Probe, key: &str) -> Location {
    r.locations.locate(&p.at.source, &join(&p.at.path, key))
}

fn reserved_port(r: &Resolved, out: &mut Vec<Diagnostic>) {
    if let Some(port) = r.port.filter(|p| RESERVED_PORTS.contains(p)) {
        out.push(Diagnostic::warning(
            container_field(r, "port"),
            format!("port {port} is reserved by the EAS engine (8080 and 9090 are); the service will not start there, use another port"),
        ));
    }
}

fn shell_syntax(r: &Resolved, out: &mut Vec<Diagnostic>) {
    let Command::Line { line, .. } = &r.command else {
        return;
    };
    let Ok(split) = shell_words::split(line) else {
        return;
    };
    if split.shell_syntax.is_empty() {
        return;
    }
    let mut found: Vec<String> = split
        .shell_syntax
        .iter()
        .map(|t| format!("`{t}`"))
        .collect();
    if split.more_shell_syntax {
        found.push("...".into());
    }
    out.push(Diagnostic::warning(
        container_field(r, "command"),
        format!(
            "shell syntax ({}) in \"command\" is passed to the program as it is: no shell runs \
             \"command\"; use \"script\" to run it with /bin/sh -c",
            found.join(", ")
        ),
    ));
}

fn probe_port(r: &Resolved, p: &Probe, out: &mut Vec<Diagnostic>) {
    let (Some(probe_port), Some(port)) = (p.handler.port(), r.port) else {
        return;
    };
    if probe_port != port {
        out.push(Diagnostic::warning(
            probe_field(r, p, &format!("{}.port", p.handler.key())),
            format!(
                "the probe checks port {probe_port} but the container's port is {port}: \
                 EAS sends traffic to {port}, so the probe does not check what is served"
            ),
        ));
    }
}

fn timeout_vs_period(r: &Resolved, p: &Probe, out: &mut Vec<Diagnostic>) {
    if p.timeout >= p.period {
        out.push(Diagnostic::warning(
            probe_field(r, p, "timeout_seconds"),
            format!(
                "timeout_seconds ({}) is not shorter than period_seconds ({}): a slow attempt \
                 makes the next ones be skipped",
                duration::seconds(p.timeout),
                duration::seconds(p.period)
            ),
        ));
    }
}

/// Decimals in `*_seconds` are a vigil extension (handy for fast local tests);
/// EAS and Kubernetes read the fields as whole numbers and reject `0.5`.
fn fractional_seconds(r: &Resolved, p: &Probe, out: &mut Vec<Diagnostic>) {
    let fields = [
        ("initial_delay_seconds", p.initial_delay),
        ("period_seconds", p.period),
        ("timeout_seconds", p.timeout),
    ];
    for (key, d) in fields {
        if d.subsec_nanos() != 0 {
            out.push(Diagnostic::warning(
                probe_field(r, p, key),
                format!(
                    "{key} is {}: vigil accepts decimals, but EAS and Kubernetes take whole \
                     seconds and will reject this configuration",
                    duration::seconds(d)
                ),
            ));
        }
    }
}

/// The first `MODEL_HINTS` word the command mentions.
fn model_hint(command: &Command) -> Option<&'static str> {
    let text = match command {
        Command::Line { line, .. } => line.to_ascii_lowercase(),
        Command::Script(s) => s.to_ascii_lowercase(),
        Command::Argv(argv) => argv
            .iter()
            .map(|a| a.to_string_lossy().to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(" "),
    };
    MODEL_HINTS.iter().copied().find(|h| text.contains(h))
}

fn short_liveness_budget(r: &Resolved, out: &mut Vec<Diagnostic>) {
    let (Some(live), None) = (&r.liveness_check, &r.startup_check) else {
        return;
    };
    let budget = live
        .period
        .checked_mul(live.failure_threshold)
        .map_or(Duration::MAX, |d| d.saturating_add(live.initial_delay));
    if budget >= MODEL_LOAD_BUDGET {
        return;
    }
    let Some(hint) = model_hint(&r.command) else {
        return;
    };
    out.push(Diagnostic::warning(
        live.at.clone(),
        format!(
            "the liveness check gives the app {}s to start (initial_delay_seconds {} + \
             failure_threshold {} x period_seconds {}) and there is no startup_check, but the \
             command mentions {hint:?}, so it may load a model, which often takes longer: the \
             app would be killed while loading; add a startup_check with a generous budget \
             (a guess from the command's words; ignore it if the app starts fast)",
            duration::seconds(budget),
            duration::seconds(live.initial_delay),
            live.failure_threshold,
            duration::seconds(live.period)
        ),
    ));
}
