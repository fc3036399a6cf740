//! `$(VAR)` expansion in exec probe arguments, exactly as Kubernetes expands
//! container commands (`third_party/forked/golang/expansion`): `$(NAME)`
//! becomes the variable's value when it is defined and stays as written when
//! it is not; `$$` is a literal `$`; any other `$` is kept.
//!
//! An exec probe's argv is expanded by `expand_argv`, which sizes the result
//! from the values' lengths before building any of it, and refuses what the
//! kernel would not exec (`limits`): a few `$(VAR)` of a long value, repeated,
//! would otherwise make gigabytes out of a 1 MiB file.

use super::limits::{self, exec_cost, MAX_ARG_LEN, MAX_EXEC_TOTAL};
use std::borrow::Cow;

/// Where `$(NAME)` finds its value.
pub trait Lookup {
    /// The value of `name`, if it is defined.
    fn value(&self, name: &str) -> Option<Cow<'_, str>>;

    /// The length of `name`'s value, what sizes are computed from: asked for
    /// every reference before anything is built, so it should not copy the
    /// value each time.
    fn value_len(&self, name: &str) -> Option<usize> {
        self.value(name).map(|v| v.len())
    }
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn value(&self, name: &str) -> Option<Cow<'_, str>> {
        self(name).map(Cow::Owned)
    }
}

/// A piece of the expansion: text as it is, or a `$(NAME)` reference.
enum Piece<'i> {
    Text(&'i str),
    Ref(&'i str),
}

/// The pieces `input` expands to, in order.
fn walk<'i>(input: &'i str, piece: &mut dyn FnMut(Piece<'i>)) {
    let mut rest = input;
    // Once a `$(` has no `)` after it, none later has: searching again for
    // each one made a string of many `$(` quadratic.
    let mut closes_left = true;
    while let Some(dollar) = rest.find('$') {
        piece(Piece::Text(&rest[..dollar]));
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            piece(Piece::Text("$"));
            rest = tail;
        } else if let Some(body) = after.strip_prefix('(') {
            let close = if closes_left { body.find(')') } else { None };
            closes_left = close.is_some();
            match close {
                Some(close) => {
                    piece(Piece::Ref(&body[..close]));
                    rest = &body[close + 1..];
                }
                None => {
                    // An unclosed reference is kept as written.
                    piece(Piece::Text("$("));
                    rest = body;
                }
            }
        } else {
            // Any other `$`, a lone one at the end included, is kept.
            piece(Piece::Text("$"));
            rest = after;
        }
    }
    piece(Piece::Text(rest));
}

/// How many bytes `input` expands to (saturating), computed from the values'
/// lengths without building anything.
pub fn expanded_len(input: &str, lookup: &dyn Lookup) -> usize {
    let mut len = 0usize;
    walk(input, &mut |piece| {
        let n = match piece {
            Piece::Text(text) => text.len(),
            // An undefined reference stays as written: `$(`, the name, `)`.
            Piece::Ref(name) => lookup.value_len(name).unwrap_or(name.len() + 3),
        };
        len = len.saturating_add(n);
    });
    len
}

/// `input` expanded, however long: callers size it first (`expanded_len`).
fn expand(input: &str, lookup: &dyn Lookup) -> String {
    let mut out = String::with_capacity(input.len());
    walk(input, &mut |piece| match piece {
        Piece::Text(text) => out.push_str(text),
        Piece::Ref(name) => match lookup.value(name) {
            Some(value) => out.push_str(&value),
            None => {
                out.push_str("$(");
                out.push_str(name);
                out.push(')');
            }
        },
    });
    out
}

/// Why an argv cannot be expanded: the kernel would not exec the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TooLarge {
    /// `argv[index]` would expand to `len` bytes, more than `MAX_ARG_LEN`.
    Argument { index: usize, len: usize },
    /// The argv and the environment would take `total` bytes, counted as
    /// `exec_cost` counts them, more than `MAX_EXEC_TOTAL`.
    Total(usize),
}

impl TooLarge {
    /// What is said about it, at the argument or at the whole argv.
    pub fn message(&self) -> String {
        match *self {
            TooLarge::Argument { len, .. } => {
                format!("expands to {}", limits::over_arg_len(len, "one argument"))
            }
            TooLarge::Total(total) => {
                format!("expands to {}", limits::over_exec_total(total))
            }
        }
    }
}

/// Expands `$(VAR)` in each word of `argv`, the argv of one exec whose
/// environment takes `env_cost` bytes (`limits::env_cost`). The sizes come
/// first, from the values' lengths: nothing is built when any word would be
/// longer than the kernel takes for one argument or the whole more than it
/// takes for one exec, and then every such problem is returned. Memory stays
/// in proportion to the input (and at most `MAX_EXEC_TOTAL` more), whatever
/// the references would multiply to.
pub fn expand_argv(
    argv: &[String],
    env_cost: usize,
    lookup: &dyn Lookup,
) -> Result<Vec<String>, Vec<TooLarge>> {
    let mut problems = Vec::new();
    let mut total = env_cost;
    for (index, word) in argv.iter().enumerate() {
        let len = expanded_len(word, lookup);
        if len > MAX_ARG_LEN {
            problems.push(TooLarge::Argument { index, len });
        }
        total = total.saturating_add(exec_cost(len));
    }
    if total > MAX_EXEC_TOTAL {
        problems.push(TooLarge::Total(total));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(argv.iter().map(|word| expand(word, lookup)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_expansion_table() {
        let lookup = |name: &str| match name {
            "VAR_A" => Some("A".to_string()),
            "VAR_B" => Some("B".to_string()),
            "EMPTY" => Some(String::new()),
            "VAR_REF" => Some("$(VAR_A)".to_string()),
            _ => None,
        };
        // Cases from Kubernetes' expand_test.go.
        let table = [
            ("$(VAR_A)", "A"),
            ("___$(VAR_B)___", "___B___"),
            ("$(VAR_A)-$(VAR_A)", "A-A"),
            ("$(VAR_A)$(VAR_B)", "AB"),
            ("$(EMPTY)", ""),
            ("$(VAR_REF)", "$(VAR_A)"),
            ("$$(VAR_A)", "$(VAR_A)"),
            ("$$$(VAR_A)", "$A"),
            ("$$$$(VAR_A)", "$$(VAR_A)"),
            ("$(UNKNOWN)", "$(UNKNOWN)"),
            ("$(VAR_A", "$(VAR_A"),
            ("$VAR_A", "$VAR_A"),
            ("$", "$"),
            ("foo$", "foo$"),
            ("$()", "$()"),
            ("é$(VAR_A)ü", "éAü"),
            ("--port=$(PORT)", "--port=$(PORT)"),
        ];
        for (input, want) in table {
            assert_eq!(expand(input, &lookup), want, "{input:?}");
            assert_eq!(expanded_len(input, &lookup), want.len(), "{input:?}");
        }
    }

    #[test]
    fn unclosed_references_are_not_quadratic() {
        // Each unclosed `$(` searched the rest for a `)`: 4 trillion bytes
        // here, minutes even at memchr's speed.
        let input = format!("{}$$", "$(".repeat(2_000_000));
        let lookups = std::cell::Cell::new(0);
        let lookup = |_: &str| {
            lookups.set(lookups.get() + 1);
            None
        };
        let out = expand(&input, &lookup);
        assert_eq!(out.len(), input.len() - 1);
        assert!(out.ends_with("$($"));
        assert_eq!(lookups.get(), 0);
        // Only what has no `)` after it is left alone.
        let a = |name: &str| (name == "A").then(|| "x".to_string());
        assert_eq!(expand("$(A)$(A $(A)$(B $(A", &a), "x$(A $(A)$(B $(A");
        assert_eq!(expand("$(A) $(A) $( $(A", &a), "x x $( $(A");
    }

    /// Variables of `len` bytes of `x`, by name; counts the values built.
    struct Sized {
        vars: Vec<(&'static str, usize)>,
        built: std::cell::Cell<usize>,
    }

    impl Sized {
        fn new(vars: &[(&'static str, usize)]) -> Sized {
            Sized {
                vars: vars.to_vec(),
                built: std::cell::Cell::new(0),
            }
        }
    }

    impl Lookup for Sized {
        fn value(&self, name: &str) -> Option<Cow<'_, str>> {
            let len = self.value_len(name)?;
            self.built.set(self.built.get() + 1);
            Some(Cow::Owned("x".repeat(len)))
        }

        fn value_len(&self, name: &str) -> Option<usize> {
            self.vars
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, len)| *len)
        }
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn the_bomb_is_sized_not_built() {
        // 60,000 references to a 500,000-byte value: 30 GB, in one argv.
        let vars = Sized::new(&[("V", 500_000)]);
        let mut argv = words(&["echo"]);
        argv.extend(vec!["$(V)".to_string(); 60_000]);
        let problems = expand_argv(&argv, 0, &vars).unwrap_err();
        assert_eq!(vars.built.get(), 0, "values were built");
        assert_eq!(problems.len(), 60_001);
        assert_eq!(
            problems[0],
            TooLarge::Argument {
                index: 1,
                len: 500_000
            }
        );
        assert_eq!(
            problems[60_000],
            TooLarge::Total(exec_cost(4) + 60_000 * exec_cost(500_000))
        );
        // Lengths saturate rather than wrap.
        let vars = Sized::new(&[("V", usize::MAX / 2)]);
        assert_eq!(expanded_len("$(V)$(V)$(V)", &vars), usize::MAX);
    }

    #[test]
    fn bounds_are_the_kernels() {
        let vars = Sized::new(&[("HALF", MAX_ARG_LEN / 2), ("ONE", 1)]);
        // One word: up to MAX_ARG_LEN bytes (MAX_ARG_STRLEN with its NUL).
        let fits = words(&["echo", "$(HALF)$(HALF)$(ONE)"]);
        let argv = expand_argv(&fits, 0, &vars).unwrap();
        assert_eq!(argv[1].len(), MAX_ARG_LEN);
        assert_eq!(vars.built.get(), 3);
        let over = words(&["echo", "$(HALF)$(HALF)$(ONE)$(ONE)"]);
        let total = exec_cost(4) + exec_cost(MAX_ARG_LEN + 1);
        assert_eq!(
            expand_argv(&over, 0, &vars),
            Err(vec![TooLarge::Argument {
                index: 1,
                len: MAX_ARG_LEN + 1
            }])
        );
        assert!(total < MAX_EXEC_TOTAL);
        // The whole: up to MAX_EXEC_TOTAL bytes with the environment's.
        let argv = words(&["echo", "$(ONE)"]);
        let cost = exec_cost(4) + exec_cost(1);
        assert!(expand_argv(&argv, MAX_EXEC_TOTAL - cost, &vars).is_ok());
        assert_eq!(
            expand_argv(&argv, MAX_EXEC_TOTAL - cost + 1, &vars),
            Err(vec![TooLarge::Total(MAX_EXEC_TOTAL + 1)])
        );
        // Seventeen words just short of the limit each: too many together.
        let mut many = words(&["echo"]);
        many.extend(vec!["$(HALF)$(HALF)".to_string(); 17]);
        let problems = expand_argv(&many, 0, &vars).unwrap_err();
        assert!(matches!(problems[..], [TooLarge::Total(t)] if t > MAX_EXEC_TOTAL));
        // Undefined references count as written.
        assert_eq!(
            expanded_len("$(NONE)-$$-$(ONE", &vars),
            "$(NONE)-$-$(ONE".len()
        );
    }
}
