//! `vigil check [--json] [--strict] [--container N] [--no-default-readiness]
//! [FILE]`: validate a configuration, print what would take effect (the
//! platform's default readiness probe included, marked as such), and lint it.
//!
//! The table (or `--json` document) goes to stdout; in table mode the
//! diagnostics and a summary go to stderr, one per line. Exit status: 0 when
//! valid (warnings or not), 2 on any error, and with `--strict` on any warning.

use crate::cli::CheckOptions;
use crate::config::{
    self, lint, Command, Diagnostic, Handler, Inputs, Location, Probe, ProbeKind, Resolved,
    Severity,
};
use crate::duration;
use crate::exit_status::code;
use crate::privileges::{self, Privileges};
use serde::Serialize;
use std::ffi::OsString;
use std::io::{self, Write};

#[derive(Serialize)]
struct Report<'a> {
    valid: bool,
    config: Option<&'a Resolved>,
    /// What the command runs as: identity and capability sets after exec.
    privileges: Option<privileges::Shown>,
    diagnostics: &'a [Diagnostic],
}

/// Runs the check; `env` is the process environment (`VIGIL_CONFIG` and the
/// probe variables take part, as they would at start-up).
#[inline(never)] // not in `main`'s frame, which stays live under the event loop
pub(crate) fn run(
    opts: &CheckOptions,
    env: &dyn Fn(&str) -> Option<OsString>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    match check(opts, env, out, err) {
        Ok(status) => status,
        // Nothing sensible is left to say when stdout or stderr are gone.
        Err(_) => code::INTERNAL,
    }
}

fn check(
    opts: &CheckOptions,
    env: &dyn Fn(&str) -> Option<OsString>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let inputs = Inputs {
        file: opts.file.clone(),
        container: opts.container,
        startup: None,
        liveness: None,
        readiness: None,
        command: Vec::new(),
        no_default_readiness: opts.no_default_readiness,
        env,
    };
    if inputs.config_file().is_none() {
        writeln!(
            err,
            "vigil check: no configuration file: give FILE or set VIGIL_CONFIG"
        )?;
        return Ok(code::CONFIG);
    }
    let (resolved, mut diags) = match config::resolve(&inputs) {
        Ok(r) => {
            let mut diags = r.warnings.clone();
            diags.extend(lint::lint(&r));
            (Some(r), diags)
        }
        Err(diags) => (None, diags),
    };
    // `--user` and the capability options, shown as the command would get
    // them here; what only a run refuses (vigil not root) is a warning.
    let privileges = privileges::resolve(&opts.privileges, privileges::Own::read(), false);
    for (problems, error) in [(&privileges.errors, true), (&privileges.warnings, false)] {
        for p in problems {
            let at = Location::new(&p.source, "", None);
            diags.push(match error {
                true => Diagnostic::error(at, p.message.clone()),
                false => Diagnostic::warning(at, p.message.clone()),
            });
        }
    }
    let privileges = privileges.privileges;
    sort_by_position(&mut diags);
    if opts.strict {
        for d in &mut diags {
            d.severity = Severity::Error;
        }
    }
    let valid = !diags.iter().any(Diagnostic::is_error);
    if opts.json {
        let report = Report {
            valid,
            config: resolved.as_ref(),
            privileges: privileges.as_ref().map(Privileges::json),
            diagnostics: &diags,
        };
        // One write: stdout is line-buffered, and the document has a line
        // per field of every diagnostic.
        let mut text = serde_json::to_vec_pretty(&report)?;
        text.push(b'\n');
        out.write_all(&text)?;
    } else {
        if let Some(r) = &resolved {
            out.write_all(table(r).as_bytes())?;
        }
        if let (Some(_), Some(p)) = (&resolved, &privileges) {
            let groups = privileges::read_accounts_file("/etc/group").ok().flatten();
            let rows = p.rows(groups.as_deref());
            out.write_all(format!("\n{}", columns(&rows)).as_bytes())?;
        }
        // One write: stderr is unbuffered, and a large file can have
        // thousands of diagnostics.
        let mut text = String::new();
        for d in &diags {
            let label = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            text.push_str(&format!("{label}: {d}\n"));
        }
        let errors = diags.iter().filter(|d| d.is_error()).count();
        let warnings = diags.len() - errors;
        let verdict = if valid { "valid" } else { "invalid" };
        text.push_str(&format!(
            "{verdict}: {errors} error(s), {warnings} warning(s)\n"
        ));
        err.write_all(text.as_bytes())?;
    }
    out.flush()?;
    err.flush()?;
    Ok(if valid { 0 } else { code::CONFIG })
}

/// Pads each column to its widest cell (in characters), by hand: a `format!`
/// width is a `u16` and aborts past 65,535, and a cell (a command, an env
/// value, an exec argv) can be longer.
fn columns(rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .map(|c| c.chars().count())
            .max()
    };
    let widths: Vec<usize> = (0..rows.iter().map(Vec::len).max().unwrap_or(0))
        .map_while(width)
        .collect();
    let mut text = String::new();
    let mut line = String::new();
    for row in rows {
        line.clear();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        text.push_str("  ");
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn table(r: &Resolved) -> String {
    let mut text = String::new();
    if let (Some(file), Some(index)) = (&r.file, r.container) {
        text.push_str(&format!("{file}, containers[{index}]\n"));
    }
    let mut rows = vec![];
    let (label, command) = match &r.command {
        Command::Line { argv, .. } => ("command", json_words(argv.iter().map(String::as_str))),
        Command::Script(s) => ("script", format!("/bin/sh -c {s:?}")),
        Command::Argv(argv) => (
            "command",
            json_words(argv.iter().map(|a| a.to_str().unwrap_or("?"))),
        ),
    };
    rows.push(vec![label.to_string(), command]);
    rows.push(vec![
        "port".into(),
        r.port.map_or("-".into(), |p| p.to_string()),
    ]);
    let mut env_label = "env".to_string();
    for var in &r.env {
        rows.push(vec![
            std::mem::take(&mut env_label),
            format!("{}={}", var.name, var.value),
        ]);
    }
    if r.env.is_empty() {
        rows.push(vec![env_label, "-".into()]);
    }
    text.push_str(&columns(&rows));
    text.push('\n');
    let mut rows = vec![[
        "probe", "handler", "delay", "period", "timeout", "success", "failure",
    ]
    .map(String::from)
    .to_vec()];
    for kind in ProbeKind::ALL {
        let mut row = vec![kind.name().to_string()];
        match r.probe(kind) {
            Some(p) => row.extend(probe_cells(p)),
            None => row.push("-".into()),
        }
        rows.push(row);
    }
    text.push_str(&columns(&rows));
    if let Some(note) = r.default_readiness_note() {
        text.push_str(&format!("\n  {note}\n"));
    }
    text
}

fn json_words<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = words.map(|w| format!("{w:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

fn probe_cells(p: &Probe) -> Vec<String> {
    let host = |h: &Option<String>| h.clone().unwrap_or_else(|| "<pod-ip>".into());
    let handler = match &p.handler {
        Handler::HttpGet(h) => {
            let headers = match h.http_headers.len() {
                0 => String::new(),
                n => format!(" (+{n} header{})", if n == 1 { "" } else { "s" }),
            };
            format!(
                "http_get http://{}:{}{}{headers}",
                host(&h.host),
                h.port,
                h.path
            )
        }
        Handler::TcpSocket(t) => format!("tcp_socket {}:{}", host(&t.host), t.port),
        Handler::Exec(e) => format!("exec {}", json_words(e.command.iter().map(String::as_str))),
    };
    vec![
        handler,
        format!("{}s", duration::seconds(p.initial_delay)),
        format!("{}s", duration::seconds(p.period)),
        format!("{}s", duration::seconds(p.timeout)),
        p.success_threshold.to_string(),
        p.failure_threshold.to_string(),
    ]
}

/// In reading order: by source (in the order they first appear), then line
/// and column; diagnostics without a position keep their place at the end of
/// their source.
fn sort_by_position(diags: &mut [Diagnostic]) {
    let mut sources: Vec<String> = Vec::new();
    for d in diags.iter() {
        if !sources.contains(&d.at.source) {
            sources.push(d.at.source.clone());
        }
    }
    config::diagnostic::sort_by(diags, |d| {
        let rank = sources.iter().position(|s| *s == d.at.source);
        (
            rank,
            d.at.line.unwrap_or(u32::MAX),
            d.at.column.unwrap_or(u32::MAX),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_of_any_width() {
        // Wider than a `format!` width can be (u16::MAX): once an abort.
        let long = "x".repeat(100_000);
        let rows = vec![
            vec!["command".to_string(), long.clone(), "z".into()],
            vec!["env".to_string(), "A=é".into(), "y".into()],
            vec!["port".to_string()],
        ];
        let text = columns(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("  command  {long}  z"));
        // Padded in characters, not bytes.
        let pad = " ".repeat(100_000 - 3);
        assert_eq!(lines[1], format!("  env      A=é{pad}  y"));
        assert_eq!(lines[2], "  port");
    }
}
