//! A strict JSON reader (RFC 8259) that remembers where every value starts.
//!
//! `serde_json::Value` keeps no positions, and every configuration message
//! must name a line and column, so the configuration is read with this small
//! recursive-descent parser instead. It is strict on purpose: no comments, no
//! trailing commas, no leading zeros, no lone surrogates, no duplicate keys
//! (a second `port` silently winning is a mistake worth reporting). Nesting is
//! limited so a hostile file cannot exhaust the stack.

use super::diagnostic::Locations;
use std::fmt;

/// Deeper nesting than any real `service.json` needs; bounds the recursion.
pub const MAX_DEPTH: usize = 64;

/// A position in the text: 1-based line, and 1-based column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// The literal as written, so integers of any size and fractions can be
    /// told apart and reported exactly.
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_pos: Pos,
    pub value: Value,
}

impl Value {
    /// The member named `key`, if this is an object that has one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.kind {
            Kind::Object(members) => members.iter().find(|m| m.key == key).map(|m| &m.value),
            _ => None,
        }
    }

    /// What this value is, for "found ..." in messages: `the string "8000"`.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Null => "null".into(),
            Kind::Bool(b) => b.to_string(),
            Kind::Number(n) => format!("the number {}", shorten(n)),
            Kind::String(s) => format!("the string {:?}", shorten(s)),
            Kind::Array(a) if a.is_empty() => "an empty array".into(),
            Kind::Array(_) => "an array".into(),
            Kind::Object(_) => "an object".into(),
        }
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}...")
    }
}

/// Where reading stopped and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    /// The JSON path of the value being read (`containers[0].port`), "" at the top.
    pub path: String,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.expected, self.found)
    }
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path the way messages show it: `containers[0].env[1].name`.
fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Reads bytes that should be UTF-8 JSON. Invalid UTF-8 is reported at the
/// first bad byte, like any other syntax error.
pub fn parse_bytes(bytes: &[u8]) -> Result<Value, SyntaxError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let bad = bytes[e.valid_up_to()];
            Err(SyntaxError {
                pos: end_pos(good),
                path: String::new(),
                expected: "UTF-8 text".into(),
                found: format!("the byte 0x{bad:02x}, which is not UTF-8"),
            })
        }
    }
}

/// The position just after `text`.
fn end_pos(text: &str) -> Pos {
    let mut pos = Pos { line: 1, column: 1 };
    for c in text.chars() {
        if c == '\n' {
            pos.line += 1;
            pos.column = 1;
        } else {
            pos.column += 1;
        }
    }
    pos
}

pub fn parse(text: &str) -> Result<Value, SyntaxError> {
    // Editors on some systems write a byte-order mark; RFC 8259 lets readers ignore it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser {
        bytes: text.as_bytes(),
        text,
        at: 0,
        pos: Pos { line: 1, column: 1 },
        path: Vec::new(),
    };
    p.skip_whitespace();
    let value = p.value(0)?;
    p.skip_whitespace();
    if p.at < p.bytes.len() {
        return Err(p.error("the end of the input after the top-level value"));
    }
    Ok(value)
}

struct Parser<'t> {
    bytes: &'t [u8],
    text: &'t str,
    at: usize,
    pos: Pos,
    path: Vec<Seg>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Moves past one byte, keeping line and column (columns count characters,
    /// so UTF-8 continuation bytes do not advance them).
    fn bump(&mut self) {
        if let Some(b) = self.peek() {
            if b == b'\n' {
                self.pos.line += 1;
                self.pos.column = 1;
            } else if b & 0xC0 != 0x80 {
                self.pos.column += 1;
            }
            self.at += 1;
        }
    }

    fn found(&self) -> String {
        match self.text[self.at..].chars().next() {
            None => "the end of the input".into(),
            Some(c) if c.is_control() => format!("the control character {:?}", c),
            Some(c) => format!("'{c}'"),
        }
    }

    fn error(&self, expected: &str) -> SyntaxError {
        SyntaxError {
            pos: self.pos,
            path: render(&self.path),
            expected: expected.into(),
            found: self.found(),
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, byte: u8, expected: &str) -> Result<(), SyntaxError> {
        if self.peek() == Some(byte) {
            self.bump();
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        let pos = self.pos;
        let kind = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Kind::Number(self.number()?),
            Some(b't') => self.literal("true", Kind::Bool(true))?,
            Some(b'f') => self.literal("false", Kind::Bool(false))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            _ => return Err(self.error("a JSON value")),
        };
        Ok(Value { pos, kind })
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<Kind, SyntaxError> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            for _ in 0..word.len() {
                self.bump();
            }
            Ok(kind)
        } else {
            Err(self.error("a JSON value"))
        }
    }

    fn enter(&mut self, depth: usize) -> Result<(), SyntaxError> {
        if depth >= MAX_DEPTH {
            return Err(SyntaxError {
                found: format!("more than {MAX_DEPTH} levels"),
                ..self.error(&format!("values nested at most {MAX_DEPTH} deep"))
            });
        }
        self.bump();
        self.skip_whitespace();
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.enter(depth)?;
        let mut members: Vec<Member> = Vec::new();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(Kind::Object(members));
        }
        // Where each key was first seen: a lookup per key, not a scan of the
        // members so far (which made an object of many keys quadratic). A
        // `Locations` map, keyed by the key alone: the same map type as the
        // one that locates values, so its code is in the binary once.
        let mut first_seen = Locations::default();
        loop {
            let key_pos = self.pos;
            if self.peek() != Some(b'"') {
                let expected = if members.is_empty() {
                    "a key in double quotes or '}'"
                } else {
                    "a key in double quotes (no trailing comma)"
                };
                return Err(self.error(expected));
            }
            let key = self.string()?;
            if let Some(first) = first_seen.record("", &key, key_pos) {
                return Err(SyntaxError {
                    pos: key_pos,
                    path: render(&self.path),
                    expected: "each key once per object".into(),
                    found: format!(
                        "{key:?} again (first at line {}, column {})",
                        first.line, first.column
                    ),
                });
            }
            self.skip_whitespace();
            self.expect(b':', "':' after the key")?;
            self.skip_whitespace();
            self.path.push(Seg::Key(key.clone()));
            let value = self.value(depth + 1)?;
            self.path.pop();
            members.push(Member {
                key,
                key_pos,
                value,
            });
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => {
                    self.bump();
                    self.skip_whitespace();
                }
                Some(b'}') => {
                    self.bump();
                    return Ok(Kind::Object(members));
                }
                _ => return Err(self.error("',' or '}' after an object member")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.enter(depth)?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(Kind::Array(items));
        }
        loop {
            self.path.push(Seg::Index(items.len()));
            if self.peek() == Some(b']') {
                return Err(self.error("a value (no trailing comma)"));
            }
            items.push(self.value(depth + 1)?);
            self.path.pop();
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => {
                    self.bump();
                    self.skip_whitespace();
                }
                Some(b']') => {
                    self.bump();
                    return Ok(Kind::Array(items));
                }
                _ => return Err(self.error("',' or ']' after an array element")),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.bump();
        }
        self.at - start
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        match self.peek() {
            Some(b'0') => {
                self.bump();
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(self.error("no leading zeros in a number"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.bump();
            if self.digits() == 0 {
                return Err(self.error("a digit after the decimal point"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if self.digits() == 0 {
                return Err(self.error("a digit in the exponent"));
            }
        }
        Ok(self.text[start..self.at].to_string())
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let open = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let run_start = self.at;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.bump();
            }
            out.push_str(&self.text[run_start..self.at]);
            match self.peek() {
                Some(b'"') => {
                    self.bump();
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.bump();
                    out.push(self.escape()?);
                }
                None => {
                    return Err(self.error(&format!(
                        "the closing '\"' of the string opened at line {}, column {}",
                        open.line, open.column
                    )))
                }
                Some(_) => {
                    return Err(
                        self.error("no raw control characters in a string (use \\n, \\t, \\u00XX)")
                    )
                }
            }
        }
    }

    fn escape(&mut self) -> Result<char, SyntaxError> {
        let simple = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.bump();
                return self.unicode_escape();
            }
            _ => {
                return Err(
                    self.error("an escape: one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
                )
            }
        };
        self.bump();
        Ok(simple)
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0;
        for _ in 0..4 {
            let d = self
                .peek()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| self.error("four hex digits after \\u"))?;
            v = v * 16 + d;
            self.bump();
        }
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if !self.bytes[self.at..].starts_with(b"\\u") {
                    return Err(self.error("a \\uXXXX low surrogate after a high surrogate"));
                }
                self.bump();
                self.bump();
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error("a low surrogate (\\uDC00-\\uDFFF)"));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("a high surrogate before a low one")),
            c => c,
        };
        char::from_u32(code).ok_or_else(|| self.error("a Unicode scalar value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn values_and_positions() {
        let v = parse("{\n  \"a\": [1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\"],\n  \"b\": {\"é\": null, \"c\": true}\n}")
            .unwrap();
        assert_eq!(v.pos, at(1, 1));
        let a = v.get("a").unwrap();
        assert_eq!(a.pos, at(2, 8));
        let Kind::Array(items) = &a.kind else {
            panic!()
        };
        assert_eq!(items[1].kind, Kind::Number("-2.5e3".into()));
        assert_eq!(items[1].pos, at(2, 12));
        assert_eq!(items[2].kind, Kind::String("xé😀".into()));
        // Columns count characters, not bytes: "é" is one column.
        let c = v.get("b").unwrap().get("c").unwrap();
        assert_eq!((c.pos, &c.kind), (at(3, 25), &Kind::Bool(true)));
        assert_eq!(parse("\u{feff} 7 ").unwrap().kind, Kind::Number("7".into()));
    }

    #[test]
    fn syntax_errors() {
        // (input, line, column, path, a piece of the message)
        let table: &[(&str, u32, u32, &str, &str)] = &[
            (
                "",
                1,
                1,
                "",
                "expected a JSON value, found the end of the input",
            ),
            ("{", 1, 2, "", "a key in double quotes or '}'"),
            ("{\"a\": 1,}", 1, 9, "", "no trailing comma"),
            ("[1,]", 1, 4, "[1]", "no trailing comma"),
            (
                "{\"a\" 1}",
                1,
                6,
                "",
                "expected ':' after the key, found '1'",
            ),
            ("{\"a\": {\"b\": [1, 2", 1, 18, "a.b", "',' or ']'"),
            ("{\"a\": tru}", 1, 7, "a", "a JSON value"),
            ("01", 1, 2, "", "no leading zeros"),
            ("1.", 1, 3, "", "a digit after the decimal point"),
            ("-", 1, 2, "", "a digit"),
            ("1e", 1, 3, "", "exponent"),
            (
                "\"abc",
                1,
                5,
                "",
                "closing '\"' of the string opened at line 1, column 1",
            ),
            ("\"a\nb\"", 1, 3, "", "no raw control characters"),
            ("\"\\x\"", 1, 3, "", "an escape"),
            ("\"\\u12\"", 1, 6, "", "four hex digits"),
            ("\"\\udc00\"", 1, 8, "", "a high surrogate"),
            ("\"\\ud800x\"", 1, 8, "", "low surrogate"),
            (
                "{} {}",
                1,
                4,
                "",
                "the end of the input after the top-level value",
            ),
            ("// c\n{}", 1, 1, "", "found '/'"),
            (
                "{\"a\": 1,\n \"a\": 2}",
                2,
                2,
                "",
                "\"a\" again (first at line 1, column 2)",
            ),
            ("NaN", 1, 1, "", "a JSON value"),
            ("{'a': 1}", 1, 2, "", "a key in double quotes"),
        ];
        for (input, line, column, path, want) in table {
            let e = parse(input).expect_err(input);
            let msg = format!("{e}");
            assert!(msg.contains(want), "{input:?}: {msg:?} lacks {want:?}");
            assert_eq!(
                (e.pos, e.path.as_str()),
                (at(*line, *column), *path),
                "{input:?}"
            );
        }
    }

    #[test]
    fn depth_is_limited() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        let e = parse(&deep).unwrap_err();
        assert!(e.found.contains("levels"), "{e}");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn invalid_utf8_is_located() {
        let e = parse_bytes(b"{\n  \"a\": \"\xff\"}").unwrap_err();
        assert_eq!(e.pos, at(2, 9));
        assert!(e.found.contains("0xff"));
    }

    #[test]
    fn describe_found_values() {
        let d = |s: &str| parse(s).unwrap().describe();
        assert_eq!(d("\"8000\""), "the string \"8000\"");
        assert_eq!(d("-1"), "the number -1");
        assert_eq!(d("[]"), "an empty array");
        assert_eq!(d("{}"), "an object");
    }

    #[test]
    fn many_distinct_keys_are_not_quadratic() {
        // 200,000 keys, each once: comparing each with every earlier one
        // (20 billion comparisons) would not finish in any reasonable time.
        let n = 200_000;
        let members: Vec<String> = (0..n).map(|i| format!("\"k{i}\": {i}")).collect();
        let text = format!("{{{}}}", members.join(", "));
        let v = parse(&text).unwrap();
        let Kind::Object(m) = &v.kind else { panic!() };
        assert_eq!(m.len(), n);
        // A duplicate at the end is still found, pointing at the first one.
        let e = parse(&format!("{{{}, \"k3\": 0}}", members.join(", "))).unwrap_err();
        assert!(
            e.found
                .contains("\"k3\" again (first at line 1, column 29)"),
            "{e}"
        );
    }
}
