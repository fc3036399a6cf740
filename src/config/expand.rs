//! `$(VAR)` expansion in exec probe arguments, exactly as Kubernetes expands
//! container commands (`third_party/forked/golang/expansion`): `$(NAME)`
//! becomes the variable's value when it is defined and stays as written when
//! it is not; `$$` is a literal `$`; any other `$` is kept.
//!
//! What the kernel takes for one exec bounds what is built: a few `$(VAR)` of
//! a long value, repeated, would otherwise make gigabytes out of a 1 MiB file
//! (the lookup in `sources::prepare_exec` gives no values past
//! `MAX_EXEC_TOTAL`, and the probe is then an error).

/// The most bytes one exec's argv and environment may take: ARG_MAX as the
/// kernel applies it under the usual 8 MiB stack limit (a quarter of it),
/// fixed here whatever the limit. `$(VAR)` values past it are not given.
pub const MAX_EXEC_TOTAL: usize = 2 << 20;

pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    // Once a `$(` has no `)` after it, none later has: searching again for
    // each one made a string of many `$(` quadratic.
    let mut closes_left = true;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if after.is_empty() {
            // A lone `$` at the end is kept.
            out.push('$');
            rest = after;
            break;
        }
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('(') {
            let close = if closes_left { body.find(')') } else { None };
            closes_left = close.is_some();
            match close {
                Some(close) => {
                    let name = &body[..close];
                    match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &body[close + 1..];
                }
                None => {
                    // An unclosed reference is kept as written.
                    out.push_str("$(");
                    rest = body;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
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
}
