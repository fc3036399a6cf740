//! A minimal JSON writer for the socket's answers: strings escaped per
//! RFC 8259, fields appended in order. Hand-written, as the shapes are fixed
//! and small; no value tree is built.

use std::fmt::Write;

/// Appends `s` as a JSON string.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// An object being written: `{"a":1,"b":"x"}`.
pub(crate) struct Object<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Object<'a> {
    pub(crate) fn new(out: &'a mut String) -> Object<'a> {
        out.push('{');
        Object { out, first: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        string(self.out, key);
        self.out.push(':');
        self.out
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Self {
        let out = self.key(key);
        string(out, value);
        self
    }

    pub(crate) fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// A number, boolean or `null`, or JSON already written.
    pub(crate) fn raw(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        let out = self.key(key);
        let _ = write!(out, "{value}");
        self
    }

    /// A nested value written by `f` (an object, an array).
    pub(crate) fn with(&mut self, key: &str, f: impl FnOnce(&mut String)) -> &mut Self {
        f(self.key(key));
        self
    }

    pub(crate) fn end(&mut self) {
        self.out.push('}');
    }
}

/// Seconds with microseconds, as JSON numbers and Prometheus values show them.
pub(crate) fn seconds(d: std::time::Duration) -> String {
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

/// Milliseconds with three decimals.
pub(crate) fn millis(d: std::time::Duration) -> String {
    let us = d.as_micros();
    format!("{}.{:03}", us / 1000, us % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let cases = [
            ("plain", r#""plain""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("l1\nl2\r\t", r#""l1\nl2\r\t""#),
            ("nul\0bel\u{7}del\u{7f}", r#""nul\u0000bel\u0007del\u007f""#),
            ("ünïcode ✓", r#""ünïcode ✓""#),
        ];
        for (input, want) in cases {
            let mut out = String::new();
            string(&mut out, input);
            assert_eq!(out, want, "{input:?}");
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, input);
        }
    }

    #[test]
    fn objects_nest() {
        let mut out = String::new();
        Object::new(&mut out)
            .str("a", "x")
            .raw("n", 3)
            .opt_str("none", None)
            .with("o", |out| Object::new(out).raw("b", true).end())
            .end();
        assert_eq!(out, r#"{"a":"x","n":3,"none":null,"o":{"b":true}}"#);
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(seconds(Duration::from_micros(1_500_001)), "1.500001");
        assert_eq!(millis(Duration::from_micros(1_234)), "1.234");
        assert_eq!(millis(Duration::from_micros(5)), "0.005");
    }
}
