//! From the positioned JSON tree to the plain model, collecting every problem
//! at once (each with its JSON path, line and column) rather than stopping at
//! the first. Errors make the result unusable; warnings (unknown keys, a
//! `success_threshold` Kubernetes would reject) do not.

use super::diagnostic::{Diagnostic, Location, Locations};
use super::json::{Kind, Member, Pos, SyntaxError, Value};
use super::model::{
    Command, Exec, Handler, HttpGet, NameValue, Probe, ProbeKind, Scheme, TcpSocket,
    DEFAULT_FAILURE_THRESHOLD, DEFAULT_INITIAL_DELAY, DEFAULT_PERIOD, DEFAULT_SUCCESS_THRESHOLD,
    DEFAULT_TIMEOUT,
};
use super::shell_words;
use crate::duration;
use std::time::Duration;

/// The keys of a container object vigil reads.
const CONTAINER_KEYS: &[&str] = &[
    "command",
    "script",
    "port",
    "env",
    "startup_check",
    "liveness_check",
    "readiness_check",
];
const HANDLERS: &[&str] = &["http_get", "tcp_socket", "exec"];
const PROBE_NUMBERS: &[&str] = &[
    "initial_delay_seconds",
    "period_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
];
const HTTP_GET_KEYS: &[&str] = &["path", "port", "host", "scheme", "http_headers"];
const TCP_SOCKET_KEYS: &[&str] = &["port", "host"];
const EXEC_KEYS: &[&str] = &["command"];
const NAME_VALUE_KEYS: &[&str] = &["name", "value"];

/// Thresholds are int32 in Kubernetes.
const MAX_THRESHOLD: u64 = i32::MAX as u64;

/// One source being read (a file, a variable, a flag) and what was found so far.
#[derive(Debug)]
pub struct Ctx {
    pub source: String,
    pub diags: Vec<Diagnostic>,
    pub locations: Locations,
}

impl Ctx {
    pub fn new(source: &str) -> Ctx {
        Ctx {
            source: source.to_string(),
            diags: Vec::new(),
            locations: Locations::default(),
        }
    }

    fn at(&self, path: &str, pos: Pos) -> Location {
        Location::new(&self.source, path, Some(pos))
    }

    pub fn error(&mut self, path: &str, pos: Pos, message: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(self.at(path, pos), message));
    }

    pub fn warn(&mut self, path: &str, pos: Pos, message: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(self.at(path, pos), message));
    }

    pub fn errors(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    fn seen(&mut self, path: &str, pos: Pos) {
        self.locations.record(&self.source, path, pos);
    }

    fn mismatch(&mut self, path: &str, v: &Value, expected: &str) {
        self.error(
            path,
            v.pos,
            format!("expected {expected}, found {}", v.describe()),
        );
    }

    /// A JSON syntax error in this source; `base` is the path the text stands for.
    pub fn syntax_error(&mut self, base: &str, e: &SyntaxError) {
        self.error(&join(base, &e.path), e.pos, e.to_string());
    }
}

/// `containers[0]` + `port` = `containers[0].port`; `a` + `[1]` = `a[1]`.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() || key.is_empty() || key.starts_with('[') {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

/// A member's value; `null` counts as absent, as Go's encoding/json treats it.
fn present<'v>(members: &'v [Member], key: &str) -> Option<&'v Value> {
    members
        .iter()
        .find(|m| m.key == key)
        .map(|m| &m.value)
        .filter(|v| v.kind != Kind::Null)
}

fn object<'v>(ctx: &mut Ctx, v: &'v Value, path: &str, expected: &str) -> Option<&'v [Member]> {
    ctx.seen(path, v.pos);
    match &v.kind {
        Kind::Object(m) => Some(m),
        _ => {
            ctx.mismatch(path, v, expected);
            None
        }
    }
}

fn string(ctx: &mut Ctx, v: &Value, path: &str, expected: &str) -> Option<String> {
    ctx.seen(path, v.pos);
    match &v.kind {
        Kind::String(s) => Some(s.clone()),
        _ => {
            ctx.mismatch(path, v, expected);
            None
        }
    }
}

/// A whole number 0..=max written without fraction or exponent.
fn whole_number(ctx: &mut Ctx, v: &Value, path: &str, max: u64, expected: &str) -> Option<u64> {
    number(ctx, v, path, expected, |text| {
        if text.contains(['.', 'e', 'E']) {
            return Err("not a whole number");
        }
        match text.parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err("too large"),
        }
    })
}

/// A probe's seconds: a whole number as Kubernetes takes, or (a vigil
/// extension, flagged by `vigil check`) decimals such as `0.1`, kept to the
/// millisecond.
fn seconds_value(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Duration> {
    let max = duration::MAX.as_secs();
    let expected = format!("a number of seconds 0-{max}");
    number(ctx, v, path, &expected, |text| {
        if text.contains(['e', 'E']) {
            return Err("write it without an exponent");
        }
        let nanos = duration::decimal_nanos(text, 1_000_000_000)?;
        let millis = (nanos + 500_000) / 1_000_000;
        if millis > u128::from(max) * 1000 {
            Err("too large")
        } else if millis == 0 && nanos > 0 {
            Err("shorter than a millisecond")
        } else {
            Ok(Duration::from_millis(millis as u64))
        }
    })
}

/// A non-negative JSON number at `path`, converted by `convert` (which says
/// why it refuses the text); every refusal is reported with what was found.
fn number<T>(
    ctx: &mut Ctx,
    v: &Value,
    path: &str,
    expected: &str,
    convert: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Option<T> {
    ctx.seen(path, v.pos);
    let Kind::Number(text) = &v.kind else {
        ctx.mismatch(path, v, expected);
        return None;
    };
    let why = if text.starts_with('-') {
        "negative numbers are not allowed"
    } else {
        match convert(text) {
            Ok(n) => return Some(n),
            Err(why) => why,
        }
    };
    let found = v.describe();
    ctx.error(
        path,
        v.pos,
        format!("expected {expected}, found {found} ({why})"),
    );
    None
}

fn port(ctx: &mut Ctx, v: &Value, path: &str) -> Option<u16> {
    const EXPECTED: &str = "an integer 1-65535";
    match whole_number(ctx, v, path, u64::from(u16::MAX), EXPECTED)? {
        0 => {
            ctx.mismatch(path, v, EXPECTED);
            None
        }
        n => u16::try_from(n).ok(),
    }
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The known key closest to `word`, if it is close enough to be a typo.
pub fn closest<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    let len = word.chars().count();
    let limit = if len <= 4 { 1 } else { 2 };
    known
        .iter()
        // The distance is at least the difference in length: skip the work.
        .filter(|k| k.len().abs_diff(len) <= limit)
        .map(|k| (distance(word, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Warns about keys not in `known`. With `only_typos`, only keys close to a
/// known one are reported (a container object has many keys vigil ignores).
fn unknown_keys(ctx: &mut Ctx, members: &[Member], path: &str, known: &[&str], only_typos: bool) {
    for m in members.iter().filter(|m| !known.contains(&m.key.as_str())) {
        let guess = closest(&m.key, known);
        if only_typos && guess.is_none() {
            continue;
        }
        let hint = guess
            .map(|k| format!(" (did you mean \"{k}\"?)"))
            .unwrap_or_default();
        let message = format!("unknown key \"{}\" is ignored{hint}", m.key);
        ctx.warn(&join(path, &m.key), m.key_pos, message);
    }
}

/// What `containers[index]` of a whole `service.json` holds. Probes stay raw:
/// which ones take effect (file, environment or flag) is decided by the caller.
#[derive(Debug)]
pub struct FileContainer<'v> {
    pub path: String,
    pub pos: Pos,
    pub command: Option<Command>,
    /// `command` or `script` was there (if `command` is `None`, it was wrong).
    pub command_given: bool,
    pub port: Option<u16>,
    pub env: Vec<NameValue>,
    pub probes: Vec<(ProbeKind, &'v Value)>,
}

pub fn container<'v>(ctx: &mut Ctx, root: &'v Value, index: usize) -> Option<FileContainer<'v>> {
    let top = object(
        ctx,
        root,
        "",
        "an object with a \"containers\" array (an EAS service.json)",
    )?;
    let Some(list) = present(top, "containers") else {
        ctx.error(
            "containers",
            root.pos,
            "expected a \"containers\" array, found no \"containers\" key",
        );
        return None;
    };
    ctx.seen("containers", list.pos);
    let Kind::Array(items) = &list.kind else {
        ctx.mismatch("containers", list, "an array of containers");
        return None;
    };
    let path = format!("containers[{index}]");
    let Some(item) = items.get(index) else {
        let message = match items.len() {
            0 => "expected at least one container, found an empty array".to_string(),
            n => format!(
                "expected a container index 0-{} (--container), found {index}: the file has {n} container{}",
                n - 1,
                if n == 1 { "" } else { "s" }
            ),
        };
        let at = if items.is_empty() {
            "containers"
        } else {
            &path
        };
        ctx.error(at, list.pos, message);
        return None;
    };
    let members = object(ctx, item, &path, "a container object")?;
    unknown_keys(ctx, members, &path, CONTAINER_KEYS, true);
    let given = (present(members, "command"), present(members, "script"));
    let command_given = given.0.is_some() || given.1.is_some();
    let command = match given {
        (Some(_), Some(s)) => {
            ctx.error(
                &join(&path, "script"),
                s.pos,
                "expected \"command\" or \"script\", found both",
            );
            None
        }
        (Some(v), None) => command_line(ctx, v, &join(&path, "command")),
        (None, Some(v)) => script(ctx, v, &join(&path, "script")),
        (None, None) => None,
    };
    let port = present(members, "port").and_then(|v| port(ctx, v, &join(&path, "port")));
    let env = present(members, "env")
        .map(|v| name_values(ctx, v, &join(&path, "env"), ListOf::Env))
        .unwrap_or_default();
    let probes = ProbeKind::ALL
        .iter()
        .filter_map(|k| present(members, k.key()).map(|v| (*k, v)))
        .collect();
    Some(FileContainer {
        path,
        pos: item.pos,
        command,
        command_given,
        port,
        env,
        probes,
    })
}

/// A NUL byte can be written in JSON (`\u0000`) but not passed to a program
/// (in an argument, a variable's name or value): each place one could go is
/// refused here, where the path, line and column are known.
fn no_nul(ctx: &mut Ctx, v: &Value, path: &str, expected: &str, text: String) -> Option<String> {
    if text.contains('\0') {
        ctx.error(
            path,
            v.pos,
            format!("expected {expected}, found a NUL character in it"),
        );
        return None;
    }
    Some(text)
}

fn command_line(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Command> {
    const EXPECTED: &str = "a command line";
    let line = string(ctx, v, path, EXPECTED)?;
    let line = no_nul(ctx, v, path, EXPECTED, line)?;
    match shell_words::split(&line) {
        Err(e) => ctx.error(path, v.pos, format!("expected {EXPECTED}, found {e}")),
        Ok(s) if s.words.is_empty() => ctx.mismatch(path, v, EXPECTED),
        Ok(s) => {
            return Some(Command::Line {
                line,
                argv: s.words,
            })
        }
    }
    None
}

fn script(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Command> {
    let text = string(ctx, v, path, "a shell script")?;
    let text = no_nul(ctx, v, path, "a shell script", text)?;
    if text.trim().is_empty() {
        ctx.mismatch(path, v, "a shell script");
        return None;
    }
    Some(Command::Script(text))
}

fn env_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("an empty name")
    } else if name.contains('=') {
        Some("a name with '='")
    } else if name.contains('\0') {
        Some("a name with a NUL character")
    } else {
        None
    }
}

/// An HTTP header name is an RFC 9110 token.
fn header_name_problem(name: &str) -> Option<&'static str> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() {
        Some("an empty name")
    } else if !name.chars().all(token) {
        Some("a name that is not an HTTP token (letters, digits, - and a few symbols)")
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListOf {
    Env,
    Headers,
}

/// `[{"name", "value"}]` (env entries, HTTP headers). A missing value is "".
fn name_values(ctx: &mut Ctx, v: &Value, path: &str, list: ListOf) -> Vec<NameValue> {
    let name_problem = match list {
        ListOf::Env => env_name_problem,
        ListOf::Headers => header_name_problem,
    };
    ctx.seen(path, v.pos);
    let Kind::Array(items) = &v.kind else {
        ctx.mismatch(path, v, "an array of {\"name\", \"value\"} objects");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ipath = join(path, &format!("[{i}]"));
        let Some(members) = object(ctx, item, &ipath, "a {\"name\", \"value\"} object") else {
            continue;
        };
        unknown_keys(ctx, members, &ipath, NAME_VALUE_KEYS, false);
        let npath = join(&ipath, "name");
        let name = match present(members, "name") {
            None => {
                ctx.error(&npath, item.pos, "expected a name, found no \"name\" key");
                None
            }
            Some(nv) => string(ctx, nv, &npath, "a name").and_then(|name| {
                match name_problem(&name) {
                    Some(problem) => ctx.error(
                        &npath,
                        nv.pos,
                        format!("expected a valid name, found {problem}"),
                    ),
                    None => return Some(name),
                }
                None
            }),
        };
        let vpath = join(&ipath, "value");
        let value = match present(members, "value") {
            None => Some(String::new()),
            Some(vv) => string(ctx, vv, &vpath, "a string").and_then(|value| {
                if list == ListOf::Headers && value.contains(['\0', '\r', '\n']) {
                    ctx.error(
                        &vpath,
                        vv.pos,
                        "expected a header value, found a line break or NUL in it",
                    );
                    None
                } else {
                    no_nul(ctx, vv, &vpath, "a string", value)
                }
            }),
        };
        if let (Some(name), Some(value)) = (name, value) {
            out.push(NameValue { name, value });
        }
    }
    out
}

/// One probe object. `default_port` is the container's port, for handlers
/// that name none. `None` when anything in it is an error.
pub fn probe(
    ctx: &mut Ctx,
    v: &Value,
    path: &str,
    kind: ProbeKind,
    default_port: Option<u16>,
) -> Option<Probe> {
    let errors_before = ctx.errors();
    let members = object(ctx, v, path, "a probe object")?;
    let known: Vec<&str> = HANDLERS.iter().chain(PROBE_NUMBERS).copied().collect();
    unknown_keys(ctx, members, path, &known, false);
    let handlers: Vec<&Member> = members
        .iter()
        .filter(|m| HANDLERS.contains(&m.key.as_str()) && m.value.kind != Kind::Null)
        .collect();
    let handler = match handlers.as_slice() {
        [] => {
            ctx.error(
                path,
                v.pos,
                "expected one handler (\"http_get\", \"tcp_socket\" or \"exec\"), found none",
            );
            None
        }
        [one] => handler(ctx, one, path, default_port),
        [first, second, ..] => {
            // Still check each, so every problem is reported at once.
            for h in &handlers {
                handler(ctx, h, path, default_port);
            }
            let message = format!(
                "expected one handler, found {}: \"{}\" and \"{}\"",
                if handlers.len() == 2 {
                    "two"
                } else {
                    "several"
                },
                first.key,
                second.key
            );
            ctx.error(&join(path, &second.key), second.key_pos, message);
            None
        }
    };
    let seconds = |ctx: &mut Ctx, key: &str, default: Duration| match present(members, key)
        .map(|n| seconds_value(ctx, n, &join(path, key)))
    {
        Some(Some(d)) if !d.is_zero() => d,
        _ => default,
    };
    let initial_delay = seconds(ctx, "initial_delay_seconds", DEFAULT_INITIAL_DELAY);
    let period = seconds(ctx, "period_seconds", DEFAULT_PERIOD);
    let timeout = seconds(ctx, "timeout_seconds", DEFAULT_TIMEOUT);
    let threshold = |ctx: &mut Ctx, key: &str, default: u32| {
        let expected = format!("a whole number 0-{MAX_THRESHOLD}");
        match present(members, key)
            .map(|n| whole_number(ctx, n, &join(path, key), MAX_THRESHOLD, &expected))
        {
            Some(Some(0)) | None | Some(None) => default,
            Some(Some(n)) => u32::try_from(n).unwrap_or(default),
        }
    };
    let success_threshold = threshold(ctx, "success_threshold", DEFAULT_SUCCESS_THRESHOLD);
    let failure_threshold = threshold(ctx, "failure_threshold", DEFAULT_FAILURE_THRESHOLD);
    if success_threshold > 1 && kind != ProbeKind::Readiness {
        let key = "success_threshold";
        let pos = present(members, key).map_or(v.pos, |n| n.pos);
        ctx.warn(
            &join(path, key),
            pos,
            format!(
                "Kubernetes requires 1 for a {} probe; vigil accepts {success_threshold}: \
                 after failures it waits for {success_threshold} successes in a row",
                kind.name()
            ),
        );
    }
    if ctx.errors() > errors_before {
        return None;
    }
    Some(Probe {
        handler: handler?,
        initial_delay,
        period,
        timeout,
        success_threshold,
        failure_threshold,
        at: ctx.at(path, v.pos),
    })
}

fn handler(
    ctx: &mut Ctx,
    m: &Member,
    probe_path: &str,
    default_port: Option<u16>,
) -> Option<Handler> {
    let path = join(probe_path, &m.key);
    let v = &m.value;
    match m.key.as_str() {
        "http_get" => {
            let members = object(ctx, v, &path, "an object {\"path\", \"port\", ...}")?;
            unknown_keys(ctx, members, &path, HTTP_GET_KEYS, false);
            let port = probe_port(ctx, members, &path, v.pos, default_port);
            let http_path = match present(members, "path") {
                None => Some("/".to_string()),
                Some(pv) => url_path(ctx, pv, &join(&path, "path")),
            };
            let host = host(ctx, members, &path);
            let scheme = scheme(ctx, members, &path);
            let http_headers = present(members, "http_headers")
                .map(|hv| name_values(ctx, hv, &join(&path, "http_headers"), ListOf::Headers))
                .unwrap_or_default();
            Some(Handler::HttpGet(HttpGet {
                scheme: scheme?,
                host: host?,
                port: port?,
                path: http_path?,
                http_headers,
            }))
        }
        "tcp_socket" => {
            let members = object(ctx, v, &path, "an object {\"port\"}")?;
            unknown_keys(ctx, members, &path, TCP_SOCKET_KEYS, false);
            let port = probe_port(ctx, members, &path, v.pos, default_port);
            let host = host(ctx, members, &path);
            Some(Handler::TcpSocket(TcpSocket {
                host: host?,
                port: port?,
            }))
        }
        _ => {
            let members = object(ctx, v, &path, "an object {\"command\": [...]}")?;
            unknown_keys(ctx, members, &path, EXEC_KEYS, false);
            let cpath = join(&path, "command");
            let Some(cv) = present(members, "command") else {
                ctx.error(
                    &cpath,
                    v.pos,
                    "expected an argv array, found no \"command\" key",
                );
                return None;
            };
            exec_argv(ctx, cv, &cpath).map(|command| {
                Handler::Exec(Exec {
                    command,
                    program: String::new(),
                })
            })
        }
    }
}

fn exec_argv(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Vec<String>> {
    const EXPECTED: &str = "an argv array of strings, like [\"cat\", \"/tmp/healthy\"]";
    ctx.seen(path, v.pos);
    let Kind::Array(items) = &v.kind else {
        ctx.mismatch(path, v, EXPECTED);
        return None;
    };
    if items.is_empty() {
        ctx.mismatch(path, v, EXPECTED);
        return None;
    }
    let argv: Vec<Option<String>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let ipath = join(path, &format!("[{i}]"));
            let arg = string(ctx, item, &ipath, "a string")?;
            no_nul(ctx, item, &ipath, "a string", arg)
        })
        .collect();
    if let Some(Some(first)) = argv.first() {
        if first.is_empty() {
            ctx.mismatch(&join(path, "[0]"), &items[0], "a program name");
            return None;
        }
    }
    argv.into_iter().collect()
}

/// `Some(None)`: no port anywhere is an error, reported here.
fn probe_port(
    ctx: &mut Ctx,
    members: &[Member],
    path: &str,
    pos: Pos,
    default: Option<u16>,
) -> Option<u16> {
    let ppath = join(path, "port");
    match present(members, "port") {
        Some(pv) => port(ctx, pv, &ppath),
        None if default.is_some() => default,
        None => {
            ctx.error(
                &ppath,
                pos,
                "expected a port, found none: name one here or give the container a \"port\"",
            );
            None
        }
    }
}

fn url_path(ctx: &mut Ctx, v: &Value, path: &str) -> Option<String> {
    const EXPECTED: &str = "a path starting with '/'";
    let p = string(ctx, v, path, EXPECTED)?;
    if !p.starts_with('/') {
        ctx.mismatch(path, v, EXPECTED);
        return None;
    }
    if p.chars().any(|c| c.is_whitespace() || c.is_control()) {
        ctx.mismatch(
            path,
            v,
            "a path without spaces or control characters (encode them as %20)",
        );
        return None;
    }
    Some(p)
}

/// `Some(None)` is "no host given".
fn host(ctx: &mut Ctx, members: &[Member], path: &str) -> Option<Option<String>> {
    const EXPECTED: &str = "a host name or IP address";
    let Some(hv) = present(members, "host") else {
        return Some(None);
    };
    let hpath = join(path, "host");
    let h = string(ctx, hv, &hpath, EXPECTED)?;
    if h.is_empty()
        || h.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        ctx.mismatch(&hpath, hv, EXPECTED);
        return None;
    }
    Some(Some(h))
}

fn scheme(ctx: &mut Ctx, members: &[Member], path: &str) -> Option<Scheme> {
    let Some(sv) = present(members, "scheme") else {
        return Some(Scheme::Http);
    };
    let spath = join(path, "scheme");
    match string(ctx, sv, &spath, "\"HTTP\"")?.as_str() {
        "HTTP" => Some(Scheme::Http),
        "HTTPS" => {
            ctx.error(
                &spath,
                sv.pos,
                "HTTPS probes are not supported yet (expected \"HTTP\", found \"HTTPS\")",
            );
            None
        }
        _ => {
            ctx.mismatch(&spath, sv, "\"HTTP\" (a bad scheme)");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::json;
    use super::*;

    fn probe_of(
        text: &str,
        kind: ProbeKind,
        port: Option<u16>,
    ) -> (Option<Probe>, Vec<Diagnostic>) {
        let mut ctx = Ctx::new("test");
        let v = json::parse(text).unwrap();
        let p = probe(&mut ctx, &v, kind.key(), kind, port);
        (p, ctx.diags)
    }

    #[test]
    fn probe_defaults() {
        let (p, diags) = probe_of(
            r#"{"tcp_socket": {}, "period_seconds": 0}"#,
            ProbeKind::Readiness,
            Some(80),
        );
        assert!(diags.is_empty(), "{diags:?}");
        let p = p.unwrap();
        assert_eq!(
            p.handler,
            Handler::TcpSocket(TcpSocket {
                host: None,
                port: 80
            })
        );
        assert_eq!(
            (
                p.initial_delay,
                p.period,
                p.timeout,
                p.success_threshold,
                p.failure_threshold
            ),
            (
                Duration::ZERO,
                Duration::from_secs(10),
                Duration::from_secs(1),
                1,
                3
            )
        );
    }

    #[test]
    fn full_http_probe() {
        let text = r#"{"http_get": {"path": "/health", "port": 9000, "host": "10.0.0.1", "scheme": "HTTP",
            "http_headers": [{"name": "X-A", "value": "b"}]}, "initial_delay_seconds": 5,
            "period_seconds": 7, "timeout_seconds": 2, "success_threshold": 1, "failure_threshold": 9}"#;
        let (p, diags) = probe_of(text, ProbeKind::Liveness, None);
        assert!(diags.is_empty(), "{diags:?}");
        let p = p.unwrap();
        let Handler::HttpGet(h) = &p.handler else {
            panic!()
        };
        assert_eq!(
            (h.path.as_str(), h.port, h.host.as_deref()),
            ("/health", 9000, Some("10.0.0.1"))
        );
        assert_eq!(
            h.http_headers,
            vec![NameValue {
                name: "X-A".into(),
                value: "b".into()
            }]
        );
        assert_eq!(
            (
                p.initial_delay.as_secs(),
                p.period.as_secs(),
                p.timeout.as_secs(),
                p.failure_threshold
            ),
            (5, 7, 2, 9)
        );
    }

    #[test]
    fn probe_problems_all_at_once() {
        // (probe JSON, kind, default port, every path a diagnostic must name, severity is error)
        type Case = (
            &'static str,
            ProbeKind,
            Option<u16>,
            &'static [&'static str],
            bool,
        );
        let table: &[Case] = &[
            (
                r#"{"perod_seconds": 3, "tcp_socket": {"port": 1}}"#,
                ProbeKind::Liveness,
                None,
                &["liveness_check.perod_seconds"],
                false,
            ),
            (
                r#"{"tcp_socket": {"port": 1}, "success_threshold": 2}"#,
                ProbeKind::Startup,
                None,
                &["startup_check.success_threshold"],
                false,
            ),
            (
                r#"{"tcp_socket": {}}"#,
                ProbeKind::Liveness,
                None,
                &["liveness_check.tcp_socket.port"],
                true,
            ),
            (
                r#"{"http_get": {"path": "x", "port": 0, "scheme": "FTP"}, "period_seconds": -1,
                 "timeout_seconds": true, "failure_threshold": "3"}"#,
                ProbeKind::Liveness,
                None,
                &[
                    "liveness_check.http_get.port",
                    "liveness_check.http_get.path",
                    "liveness_check.http_get.scheme",
                    "liveness_check.period_seconds",
                    "liveness_check.timeout_seconds",
                    "liveness_check.failure_threshold",
                ],
                true,
            ),
            (
                r#"{"exec": {"command": ["", 1]}}"#,
                ProbeKind::Readiness,
                None,
                &[
                    "readiness_check.exec.command[1]",
                    "readiness_check.exec.command[0]",
                ],
                true,
            ),
        ];
        for (text, kind, port, paths, is_error) in table {
            let (p, diags) = probe_of(text, *kind, *port);
            let got: Vec<&str> = diags.iter().map(|d| d.at.path.as_str()).collect();
            assert_eq!(got, *paths, "{text}");
            assert_eq!(p.is_none(), *is_error, "{text}");
        }
        let (_, diags) = probe_of(
            r#"{"perod_seconds": 3, "tcp_socket": {"port": 1}}"#,
            ProbeKind::Liveness,
            None,
        );
        assert!(
            diags[0].message.contains("did you mean \"period_seconds\""),
            "{diags:?}"
        );
    }

    #[test]
    fn typos_are_caught() {
        assert_eq!(
            closest("perod_seconds", PROBE_NUMBERS),
            Some("period_seconds")
        );
        assert_eq!(closest("ports", CONTAINER_KEYS), Some("port"));
        assert_eq!(closest("image", CONTAINER_KEYS), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn join_paths() {
        assert_eq!(join("", "containers"), "containers");
        assert_eq!(join("containers", "[0]"), "containers[0]");
        assert_eq!(join("containers[0]", "port"), "containers[0].port");
        assert_eq!(join("a", ""), "a");
    }
}
