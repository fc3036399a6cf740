//! One function per fuzz target: it runs one input through vigil's reader
//! and panics when an invariant breaks. The fuzz targets (fuzz_targets/)
//! call these under libFuzzer; tests/fuzz_corpus.rs calls the very same
//! functions on every committed corpus input as a plain `cargo test`.
//!
//! - `config_json`: vigil's JSON reader against serde_json (the differential,
//!   see `json_differential`), and every position it reports.
//! - `config_check`: `vigil check FILE`, table and `--json`: exit 0 or 2, one
//!   line per diagnostic, the same verdict both ways, a `--json` document
//!   that serde_json reads.
//! - `shell_words`: the splitter; its words, quoted back, split to the same.
//! - `http_response`: the prober's reader, fed whole, in small pieces and a
//!   byte at a time: the same verdict each way, and its bounds.
//! - `status_request`: the status socket's reader: a request is read the
//!   same from exactly its bytes, a split read of one is never refused, and
//!   pipelined requests are read the way the server reads them.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;
use std::fmt;
use std::path::PathBuf;
use vigil::fuzzing::{self as v, JsonKind, JsonValue, StatusRequest};

// ---------------------------------------------------------------- config_json

/// A JSON tree with object members in order, as both readers see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    Null,
    Bool(bool),
    /// `None`: a number serde_json refuses (its value overflows an f64).
    Number(Option<Number>),
    String(String),
    Array(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

/// How the two readers compared on one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    /// Both accepted it, with the same tree.
    BothAccept,
    /// Both refused it.
    BothReject,
    /// Only vigil accepted it, and only because it holds a number literal
    /// whose value overflows an f64 (`1e400`): vigil keeps numbers as written
    /// (the configuration then refuses the value with its path and position),
    /// serde_json refuses the whole document.
    VigilKeepsHugeNumber,
    /// Only serde_json accepted it, and only because an object repeats a key:
    /// vigil refuses that on purpose (the second `port` silently winning is a
    /// mistake), serde_json keeps the last.
    VigilRejectsDuplicateKey,
    /// Only serde_json accepted it, and only because it nests deeper than
    /// vigil's limit (64; serde_json's is 128).
    VigilRejectsDepth,
}

/// Compares vigil's reader with serde_json on `data`. The reference is
/// serde_json's grammar read into an ordered tree (`Strict`), which also
/// reports duplicate keys and nesting deeper than vigil's limit, so that the
/// documented differences are told apart from the rest; any other difference
/// panics. Leading byte-order marks: vigil skips one (RFC 8259 lets a reader
/// ignore it), serde_json refuses it, so serde_json reads what follows one.
pub fn json_differential(data: &[u8]) -> Agreement {
    let ours = v::parse_json(data);
    let rest = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
    let mut de = serde_json::Deserializer::from_slice(rest);
    let theirs = Strict { depth: 0 }
        .deserialize(&mut de)
        .and_then(|t| de.end().map(|()| t));
    match (ours, theirs) {
        (Ok(o), Ok(t)) => {
            let o = tree(&o);
            assert_eq!(o, t, "the readers disagree on the value of {data:?}");
            assert!(!has_huge_number(&o), "serde_json read a number it refuses");
            Agreement::BothAccept
        }
        (Err(_), Err(_)) => Agreement::BothReject,
        (Ok(o), Err(e)) => {
            let o = tree(&o);
            assert!(
                has_huge_number(&o) && e.to_string().starts_with("number out of range"),
                "vigil accepts what serde_json refuses ({e}): {data:?}"
            );
            Agreement::VigilKeepsHugeNumber
        }
        (Err(ours), Ok(t)) => {
            let why = ours.expected.as_str();
            if why == "each key once per object" {
                Agreement::VigilRejectsDuplicateKey
            } else if why.starts_with("values nested at most") {
                assert!(depth(&t) > v::JSON_MAX_DEPTH, "{data:?}");
                Agreement::VigilRejectsDepth
            } else {
                panic!("vigil refuses what serde_json accepts ({ours} at {ours:?}): {data:?}")
            }
        }
    }
}

/// The differential, and where vigil says each value starts.
pub fn config_json(data: &[u8]) {
    let agreement = json_differential(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<&str> = text.split('\n').collect();
    match v::parse_json(data) {
        Ok(value) => check_positions(&value, &lines),
        Err(e) => {
            // An error's position is in the text or just past its end.
            let line = lines.get(e.pos.line as usize - 1).expect("error line");
            assert!(e.pos.column as usize <= line.chars().count() + 1, "{e:?}");
            assert!(!e.expected.is_empty() && !e.found.is_empty());
        }
    }
    let _ = agreement;
}

fn check_positions(value: &JsonValue, lines: &[&str]) {
    let at = |line: u32, column: u32| -> char {
        let text = lines[line as usize - 1];
        // The byte-order mark vigil skips takes no column.
        let text = if line == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        text.chars()
            .nth(column as usize - 1)
            .expect("position in the text")
    };
    let first = at(value.pos.line, value.pos.column);
    let ok = match &value.kind {
        JsonKind::Null => first == 'n',
        JsonKind::Bool(b) => first == if *b { 't' } else { 'f' },
        JsonKind::Number(_) => first == '-' || first.is_ascii_digit(),
        JsonKind::String(_) => first == '"',
        JsonKind::Array(items) => {
            items.iter().for_each(|i| check_positions(i, lines));
            first == '['
        }
        JsonKind::Object(members) => {
            for m in members {
                assert_eq!(at(m.key_pos.line, m.key_pos.column), '"', "key {m:?}");
                check_positions(&m.value, lines);
            }
            first == '{'
        }
    };
    assert!(ok, "{:?} does not start at {:?}", value.kind, value.pos);
}

fn tree(v: &JsonValue) -> Tree {
    match &v.kind {
        JsonKind::Null => Tree::Null,
        JsonKind::Bool(b) => Tree::Bool(*b),
        JsonKind::Number(n) => Tree::Number(serde_json::from_str(n).ok()),
        JsonKind::String(s) => Tree::String(s.clone()),
        JsonKind::Array(items) => Tree::Array(items.iter().map(tree).collect()),
        JsonKind::Object(members) => Tree::Object(
            members
                .iter()
                .map(|m| (m.key.clone(), tree(&m.value)))
                .collect(),
        ),
    }
}

fn has_huge_number(t: &Tree) -> bool {
    match t {
        Tree::Number(n) => n.is_none(),
        Tree::Array(items) => items.iter().any(has_huge_number),
        Tree::Object(members) => members.iter().any(|(_, v)| has_huge_number(v)),
        _ => false,
    }
}

/// Containers nested, counting the outermost: `[]` is 1.
fn depth(t: &Tree) -> usize {
    match t {
        Tree::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Tree::Object(members) => 1 + members.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// serde_json's reading into a `Tree`. Duplicate keys and nesting past
/// vigil's limit are read (not refused), so the differential can tell them
/// apart: `json_differential` checks they are why vigil refused.
struct Strict {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Tree;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(b))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Tree, E> {
        Ok(Tree::Number(Some(n.into())))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Tree, E> {
        Ok(Tree::Number(Some(n.into())))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Tree, E> {
        Ok(Tree::Number(Number::from_f64(n)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Tree, E> {
        Ok(Tree::String(s.to_string()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Tree, E> {
        Ok(Tree::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict {
            depth: self.depth + 1,
        })? {
            items.push(item);
        }
        Ok(Tree::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Strict {
                depth: self.depth + 1,
            })?;
            members.push((key, value));
        }
        Ok(Tree::Object(members))
    }
}

// --------------------------------------------------------------- config_check

/// A file of this process's own in the temporary directory, per thread
/// (the smoke test runs tests in parallel).
fn scratch_file() -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    std::env::temp_dir().join(format!("vigil-fuzz-{}-{thread}.json", std::process::id()))
}

/// `vigil check` on `data` as a service.json, as a table and as `--json`.
pub fn config_check(data: &[u8]) {
    let file = scratch_file();
    std::fs::write(&file, data).expect("write the scratch file");
    let (status, out, err) = v::check(&file, false);
    let (json_status, json_out, json_err) = v::check(&file, true);
    let _ = std::fs::remove_file(&file);

    assert!(status == 0 || status == 2, "exit status {status}");
    assert_eq!(status, json_status, "table and --json disagree");
    assert!(json_err.is_empty(), "--json wrote to stderr");
    let report: serde_json::Value =
        serde_json::from_slice(&json_out).expect("--json prints a JSON document");
    assert_eq!(report["valid"], serde_json::Value::Bool(status == 0));
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(
        report["config"].is_null(),
        out.is_empty(),
        "a table iff a config"
    );

    // Table mode: one line per diagnostic, then the verdict.
    let err = String::from_utf8(err).expect("stderr is UTF-8");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        diagnostics.len() + 1,
        "a diagnostic takes more than one line: {err}"
    );
    for line in &lines[..diagnostics.len()] {
        assert!(
            line.starts_with("error: ") || line.starts_with("warning: "),
            "{line:?}"
        );
    }
    let verdict = if status == 0 { "valid: " } else { "invalid: " };
    assert!(lines[diagnostics.len()].starts_with(verdict), "{err}");
    if status != 0 {
        assert!(out.is_empty(), "an invalid configuration printed a table");
    }
}

// ---------------------------------------------------------------- shell_words

/// The splitter: its errors point at what they name, and its words, each
/// single-quoted, split back to the same words with no shell syntax.
pub fn shell_words(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let chars: Vec<char> = line.chars().collect();
    let split = match v::split_words(line) {
        Ok(s) => s,
        Err(e) => {
            let (at, want) = match e {
                v::SplitError::UnterminatedSingleQuote { at } => (at, '\''),
                v::SplitError::UnterminatedDoubleQuote { at } => (at, '"'),
                v::SplitError::TrailingBackslash { at } => (at, '\\'),
            };
            assert_eq!(chars.get(at - 1), Some(&want), "{e:?} in {line:?}");
            return;
        }
    };
    assert!(split.shell_syntax.len() <= 8);
    assert!(!split.more_shell_syntax || split.shell_syntax.len() == 8);
    for token in &split.shell_syntax {
        assert!(line.contains(token.as_str()), "{token:?} not in {line:?}");
    }
    let quoted: Vec<String> = split
        .words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect();
    let again = v::split_words(&quoted.join(" ")).expect("quoted words split");
    assert_eq!(again.words, split.words, "{line:?}");
    assert!(again.shell_syntax.is_empty(), "{line:?}");
}

// -------------------------------------------------------------- http_response

/// The prober's reader: the same verdict whatever pieces the response
/// arrives in, within its bounds.
pub fn http_response(data: &[u8]) {
    let whole = v::http_response([data]);
    let pieces = v::http_response(data.chunks(7));
    assert_eq!(whole, pieces, "whole and in pieces of 7");
    // The reader parses the whole head again on each piece (quadratic in the
    // head's size): a byte at a time only for short inputs, to keep an
    // execution fast (the head is where pieces matter).
    if data.len() <= 1024 {
        let bytes = v::http_response(data.chunks(1));
        assert_eq!(whole, bytes, "whole and a byte at a time");
    }
    // Split once, at a point the input picks.
    if let Some(&b) = data.first() {
        let cut = usize::from(b) * data.len() / 256;
        let (a, b) = data.split_at(cut);
        assert_eq!(whole, v::http_response([a, b]), "split at {cut}");
    }
    if let Ok((status, location, body, truncated)) = &whole {
        // Three digits, as httparse reads them: `050` is 50 (a failure, as
        // for Go's client).
        assert!(*status <= 999, "status {status}");
        assert!(body.len() <= 10 * 1024);
        assert!(!truncated || body.len() == 10 * 1024);
        if let Some((host, _, request)) = location.as_deref().and_then(v::redirect) {
            // A hostile Location leads to the same host, and to one request
            // whose head ends where it should (no header smuggled in).
            assert!(host.eq_ignore_ascii_case("127.0.0.1"), "{host:?}");
            let head_end = request.windows(4).position(|w| w == b"\r\n\r\n");
            assert_eq!(head_end, Some(request.len() - 4), "{request:?}");
            let line_end = request.windows(2).position(|w| w == b"\r\n").unwrap();
            let line = &request[..line_end];
            assert!(!line.contains(&b'\n') && !line.contains(&b'\r'), "{line:?}");
            assert!(line.starts_with(b"GET /") && line.ends_with(b" HTTP/1.1"));
        }
    }
}

// ------------------------------------------------------------- status_request

/// The status socket's reader, as the server uses it: parse what is held,
/// drain a request's bytes, parse again.
pub fn status_request(data: &[u8]) {
    let mut held = data;
    // The server answers at most a few requests per turn; all are read here.
    while !held.is_empty() {
        let parsed = v::status_request(held);
        let StatusRequest::Request(_, path, query, _, len) = &parsed else {
            if held.len() >= v::STATUS_MAX_HEAD {
                assert_ne!(
                    parsed,
                    StatusRequest::Incomplete,
                    "{} bytes held",
                    held.len()
                );
            }
            break;
        };
        let len = *len;
        assert!(len > 0 && len <= held.len() && len <= v::STATUS_MAX_HEAD);
        // Exactly its bytes read the same; any fewer are incomplete, never
        // refused (a request split across reads is still answered).
        assert_eq!(v::status_request(&held[..len]), parsed);
        for cut in [len - 1, len / 2, 1] {
            assert_eq!(
                v::status_request(&held[..cut.min(len - 1)]),
                StatusRequest::Incomplete,
                "{cut} of {len} bytes"
            );
        }
        let _ = v::query_value(query, "verbose");
        let _ = v::query_value(query, "since").map(str::parse::<u64>);
        assert!(!path.contains('?'), "{path:?}");
        held = &held[len..];
    }
}
