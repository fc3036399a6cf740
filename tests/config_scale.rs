//! Configurations at the 1 MiB size limit are read without quadratic steps.
//!
//! Nothing here measures time: each input is big enough that a quadratic
//! step in reading it (each of these had one, taking 8 to 54 s in a release
//! build, far longer in a test build) runs into the support's 20 s deadline,
//! while without one it takes a fraction of a second in a release build and a
//! second or two in a test build. (Unclosed `$(` in an exec probe, quadratic
//! too, is tested in `config::expand`: within 1 MiB, memchr searched fast
//! enough to finish inside the deadline.)

mod support;
use std::process::{Command, Output};
use support::*;

/// At most the configuration file limit (1 MiB), with room to spare.
const BUDGET: usize = 1_040_000;

/// `vigil ARGS` with an empty environment (no `$(VAR)` is defined by it).
fn vigil_clean(args: &[&str]) -> Output {
    run(Command::new(vigil()).args(args).env_clear())
}

/// A short name, distinct for each `i`: `a`, ..., `z`, `ba`, `bb`, ...
fn name(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (i % 26) as u8);
        i /= 26;
        if i == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// Repeats `item(i)` joined by `sep` while it fits in `budget` bytes.
fn fill(budget: usize, sep: &str, item: impl Fn(usize) -> String) -> (String, usize) {
    let mut text = String::new();
    let mut n = 0;
    loop {
        let next = item(n);
        if text.len() + sep.len() + next.len() > budget {
            return (text, n);
        }
        if n > 0 {
            text.push_str(sep);
        }
        text.push_str(&next);
        n += 1;
    }
}

/// Writes `text` and runs `vigil check --json` on it; returns the output.
fn check(tag: &str, text: &str) -> Output {
    assert!(text.len() <= 1 << 20, "{tag}: {} bytes", text.len());
    let dir = TempDir::new(tag);
    let file = dir.path("service.json");
    std::fs::write(&file, text).unwrap();
    vigil_clean(&["check", "--json", file.to_str().unwrap()])
}

fn report(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn not_quadratic_a_1mib_object_of_90000_distinct_keys() {
    // Each key was compared with every earlier one (the duplicate-key check).
    let head = r#"{"containers": [{"command": "app"}], "#;
    let (members, n) = fill(BUDGET - head.len(), ",", |i| format!("\"{}\":1", name(i)));
    assert!(n > 90_000, "{n}");
    let out = check("scale-keys", &format!("{head}{members}}}"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(report(&out)["valid"], true);
    // A duplicate at the very end is still found, and located.
    let text = format!("{head}{members}, \"h\": 2}}");
    let out = check("scale-keys-dup", &text);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let d = &report(&out)["diagnostics"][0];
    assert!(
        d["message"].as_str().unwrap().contains("\"h\" again"),
        "{d}"
    );
}

#[test]
fn not_quadratic_a_1mib_command_of_128000_distinct_dollar_words() {
    // Each shell token met was compared with every distinct one before it.
    // 940 KB, not 1 MiB: the argv must stay within what one exec takes, 2 MiB
    // with a NUL and a pointer per word (config::limits), 2.04 MB here.
    let (words, n) = fill(BUDGET - 100_000, " ", |i| {
        if i % 2 == 0 {
            format!("${}", name(i))
        } else {
            format!("$({})", name(i))
        }
    });
    assert!(n > 128_000, "{n}");
    let text = serde_json::json!({"containers": [{"command": format!("app {words}")}]});
    let out = check("scale-dollars", &text.to_string());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v = report(&out);
    assert_eq!(
        v["config"]["command"]["line"]["argv"]
            .as_array()
            .unwrap()
            .len(),
        n + 1
    );
    // The lint names the first few tokens, not all of them.
    let lint = v["diagnostics"][0]["message"].as_str().unwrap();
    assert!(
        lint.starts_with("shell syntax (`$a`, `$(`, `$c`"),
        "{lint:.200}"
    );
    assert!(lint.len() < 1000, "{lint:.2000}");
    // The table too (every cell, however long, is printed).
    let dir = TempDir::new("scale-dollars-table");
    let file = dir.path("service.json");
    std::fs::write(&file, text.to_string()).unwrap();
    let out = vigil_clean(&["check", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn not_quadratic_1mib_of_exec_probe_references_and_env_entries() {
    // Each `$(VAR)` was looked up through every `env` entry: 35,000 entries
    // times 75,000 references to names none of them has (upper case).
    let (env, entries) = fill(BUDGET / 2, ",", |i| format!(r#"{{"name":"{}"}}"#, name(i)));
    let (refs, n) = fill(BUDGET / 2 - 300, "", |i| {
        format!("$({})", name(i).to_ascii_uppercase())
    });
    assert!(entries > 33_000 && n > 75_000, "{entries} {n}");
    // In words of at most 100,000 bytes: the kernel takes no argument over
    // 128 KiB (config::limits).
    let mut words = vec![String::new()];
    for r in refs.split_inclusive(')') {
        if words.last().unwrap().len() + r.len() > 100_000 {
            words.push(String::new());
        }
        words.last_mut().unwrap().push_str(r);
    }
    let k = words.len();
    let text = format!(
        r#"{{"containers": [{{"command": "app",
            "env": [{env}, {{"name": "a", "value": "first"}}, {{"name": "z", "value": "last"}}],
            "liveness_check": {{"exec": {{"command": ["/bin/true", "{}", "$(a)-$(b)-$(z)"]}}}}}}]}}"#,
        words.join(r#"", ""#)
    );
    let out = check("scale-expand", &text);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let argv = &report(&out)["config"]["liveness_check"]["handler"]["exec"]["command"];
    // Undefined: kept as written. Defined: the last value given.
    let kept: Vec<&str> = (1..=k).filter_map(|i| argv[i].as_str()).collect();
    assert!(kept.concat() == refs, "not kept as written");
    assert_eq!(argv[k + 1], "first--last");
}

#[test]
fn not_quadratic_1mib_of_diagnostics_out_of_reading_order() {
    // Problems are found field by field and sorted into reading order; the
    // probe's (early in the file) are found after the env's (late in it), and
    // each was moved past every other one.
    let (unknown, n) = fill(BUDGET / 2, ",", |i| format!(r#""{}":1"#, name(i)));
    let (env, m) = fill(BUDGET / 2 - 200, ",", |i| {
        format!(r#"{{"name":"={}"}}"#, name(i))
    });
    let text = format!(
        r#"{{"containers": [{{"command": "app", "port": 1,
            "liveness_check": {{"tcp_socket": {{}}, {unknown}}},
            "env": [{env}]}}]}}"#
    );
    // The table's stderr: one line per diagnostic, lighter to read back than JSON.
    let dir = TempDir::new("scale-sort");
    let file = dir.path("service.json");
    std::fs::write(&file, &text).unwrap();
    let f = file.to_str().unwrap();
    let out = vigil_clean(&["check", f]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), n + m + 1, "{:.1000}", err);
    let position = |line: &str| -> (u32, u32) {
        let rest = line.split_once(&format!("{f}:")).expect(line).1;
        let mut parts = rest.splitn(3, ':');
        let mut number = || parts.next().and_then(|p| p.parse().ok()).expect(line);
        (number(), number())
    };
    let positions: Vec<(u32, u32)> = lines[..n + m].iter().map(|l| position(l)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] <= w[1]),
        "not in reading order"
    );
    assert!(
        lines[0].contains(": containers[0].liveness_check.a: unknown key"),
        "{}",
        lines[0]
    );
    assert!(
        lines[n].contains(": containers[0].env[0].name: expected"),
        "{}",
        lines[n]
    );
}
