//! Splitting a `command` string into argv the way a POSIX shell splits words,
//! without running a shell: quotes and backslashes work, but nothing is
//! expanded, globbed, piped or redirected. What a shell would have treated
//! specially is reported too, so `vigil check` can suggest `script`.
//!
//! Rules: blanks (space, tab, newline) separate words. Outside quotes a
//! backslash keeps the next character literally (backslash-newline is
//! removed). Single quotes keep everything up to the next single quote.
//! Inside double quotes a backslash escapes only `$`, `` ` ``, `"`, `\` and
//! newline, and stays literal before anything else. `''` and `""` make an
//! empty word. `#` is an ordinary character.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub words: Vec<String>,
    /// Shell syntax met, as written (`|`, `&&`, `$VAR`, `;`, `*`), first
    /// occurrence each, the first `MAX_SHELL_SYNTAX` distinct ones.
    pub shell_syntax: Vec<String>,
    /// More distinct shell syntax was met than `shell_syntax` keeps.
    pub more_shell_syntax: bool,
}

/// How many distinct pieces of shell syntax `split` keeps.
pub const MAX_SHELL_SYNTAX: usize = 8;

/// `at` is the 1-based character index of the opening quote or the backslash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    UnterminatedSingleQuote { at: usize },
    UnterminatedDoubleQuote { at: usize },
    TrailingBackslash { at: usize },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitError::UnterminatedSingleQuote { at } => {
                write!(f, "an unterminated single quote (opened at character {at})")
            }
            SplitError::UnterminatedDoubleQuote { at } => {
                write!(f, "an unterminated double quote (opened at character {at})")
            }
            SplitError::TrailingBackslash { at } => {
                write!(
                    f,
                    "a backslash at the very end (character {at}) with nothing to escape"
                )
            }
        }
    }
}

/// Characters a shell would act on outside quotes.
const OPERATORS: &[char] = &['|', '&', ';', '<', '>'];

pub fn split(line: &str) -> Result<Split, SplitError> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut shell_syntax: Vec<String> = Vec::new();
    let mut more_shell_syntax = false;
    // Only a few are kept: comparing each token met with every distinct one
    // kept before made a command of many `$NAME` words quadratic.
    let mut note = |token: String| {
        if !shell_syntax.contains(&token) {
            if shell_syntax.len() < MAX_SHELL_SYNTAX {
                shell_syntax.push(token);
            } else {
                more_shell_syntax = true;
            }
        }
    };
    let mut word = String::new();
    // A word exists once any character or quote of it was seen: `''` is a word.
    let mut in_word = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                match chars.get(i + 1) {
                    None => return Err(SplitError::TrailingBackslash { at: i + 1 }),
                    Some('\n') => {}
                    Some(&next) => {
                        word.push(next);
                        in_word = true;
                    }
                }
                i += 1;
            }
            '\'' => {
                let close = chars[i + 1..].iter().position(|&c| c == '\'');
                let Some(len) = close else {
                    return Err(SplitError::UnterminatedSingleQuote { at: i + 1 });
                };
                word.extend(&chars[i + 1..i + 1 + len]);
                in_word = true;
                i += len + 1;
            }
            '"' => {
                let open = i;
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(SplitError::UnterminatedDoubleQuote { at: open + 1 }),
                        Some('"') => break,
                        Some('\\') => match chars.get(i + 1) {
                            Some('\n') => i += 1,
                            Some(&e @ ('$' | '`' | '"' | '\\')) => {
                                word.push(e);
                                i += 1;
                            }
                            _ => word.push('\\'),
                        },
                        Some(&c) => {
                            if c == '$' || c == '`' {
                                note(token_at(&chars, i));
                            }
                            word.push(c);
                        }
                    }
                    i += 1;
                }
                in_word = true;
            }
            _ => {
                if OPERATORS.contains(&c) || matches!(c, '$' | '`' | '*') {
                    let token = token_at(&chars, i);
                    if OPERATORS.contains(&c) {
                        // `&&` is one token, not `&` twice.
                        word.push_str(&token);
                        i += token.chars().count() - 1;
                    } else {
                        word.push(c);
                    }
                    note(token);
                } else {
                    word.push(c);
                }
                in_word = true;
            }
        }
        i += 1;
    }
    if in_word {
        words.push(word);
    }
    Ok(Split {
        words,
        shell_syntax,
        more_shell_syntax,
    })
}

/// The shell token starting at `i`, for messages: `&&`, `>>`, `$HOME`, `$(`.
fn token_at(chars: &[char], i: usize) -> String {
    let rest = &chars[i..];
    let len = match rest[0] {
        '$' => match rest.get(1) {
            Some('(' | '{') => 2,
            Some(c) if c.is_ascii_alphanumeric() || *c == '_' => {
                1 + rest[1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .count()
            }
            _ => 1,
        },
        c if OPERATORS.contains(&c) => rest.iter().take_while(|c| OPERATORS.contains(c)).count(),
        _ => 1,
    };
    rest[..len].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tricky_splits() {
        let table: &[(&str, &[&str])] = &[
            ("", &[]),
            ("   \t\n ", &[]),
            ("python app.py", &["python", "app.py"]),
            ("  a   b  ", &["a", "b"]),
            ("a\tb\nc", &["a", "b", "c"]),
            ("'a b' c", &["a b", "c"]),
            ("\"a b\" c", &["a b", "c"]),
            ("a' 'b", &["a b"]),
            ("''", &[""]),
            ("a '' b", &["a", "", "b"]),
            ("\"\"", &[""]),
            ("a\\ b", &["a b"]),
            ("a\\\\b", &["a\\b"]),
            ("\\'", &["'"]),
            ("'\\n'", &["\\n"]),
            ("\"\\n\"", &["\\n"]),
            ("\"a\\\"b\"", &["a\"b"]),
            ("\"a\\\\b\"", &["a\\b"]),
            ("\"\\$HOME\"", &["$HOME"]),
            ("'it'\\''s'", &["it's"]),
            ("\"it's\"", &["it's"]),
            ("'say \"hi\"'", &["say \"hi\""]),
            ("a\\\nb", &["ab"]),
            ("\"a\\\nb\"", &["ab"]),
            ("--arg=\"x y\"", &["--arg=x y"]),
            ("#not-a-comment x", &["#not-a-comment", "x"]),
            ("é 'ü ñ'", &["é", "ü ñ"]),
            ("python -c 'print(1)'", &["python", "-c", "print(1)"]),
        ];
        for (line, want) in table {
            let got = split(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert_eq!(got.words, *want, "{line:?}");
        }
    }

    #[test]
    fn unterminated() {
        let table: &[(&str, SplitError)] = &[
            ("'abc", SplitError::UnterminatedSingleQuote { at: 1 }),
            ("a \"b", SplitError::UnterminatedDoubleQuote { at: 3 }),
            ("\"a\\\"", SplitError::UnterminatedDoubleQuote { at: 1 }),
            ("a\\", SplitError::TrailingBackslash { at: 2 }),
            ("'a'\"b'", SplitError::UnterminatedDoubleQuote { at: 4 }),
        ];
        for (line, want) in table {
            assert_eq!(split(line), Err(*want), "{line:?}");
        }
    }

    #[test]
    fn shell_syntax_is_noticed_outside_single_quotes() {
        let table: &[(&str, &[&str])] = &[
            ("python app.py", &[]),
            ("a | b", &["|"]),
            ("a && b || c", &["&&", "||"]),
            ("a; b", &[";"]),
            ("echo $HOME ${X} $(date)", &["$HOME", "${", "$("]),
            ("echo \"$PATH\"", &["$PATH"]),
            ("a > out 2>&1", &[">", ">&"]),
            ("ls *.py", &["*"]),
            ("grep 'a|b' '$X'", &[]),
            ("a\\|b \\$X", &[]),
        ];
        for (line, want) in table {
            assert_eq!(split(line).unwrap().shell_syntax, *want, "{line:?}");
        }
    }

    #[test]
    fn distinct_shell_tokens_are_kept_up_to_a_few() {
        // 200,000 distinct `$V...` words: each was compared with every token
        // kept before it (20 billion comparisons); a few are enough to name.
        let line: Vec<String> = (0..200_000).map(|i| format!("$V{i}")).collect();
        let s = split(&line.join(" ")).unwrap();
        assert_eq!(s.words.len(), 200_000);
        assert_eq!(s.shell_syntax.len(), MAX_SHELL_SYNTAX);
        assert_eq!(s.shell_syntax[..3], ["$V0", "$V1", "$V2"]);
        assert!(s.more_shell_syntax);
        let s = split("a | b | c && d").unwrap();
        assert_eq!((s.shell_syntax.len(), s.more_shell_syntax), (2, false));
    }
}
