//! Why a program could not be started (the command, or an exec probe's
//! program): exec's ENOENT, EACCES or ENOEXEC says little, the file says
//! which. `gather` reads the evidence, bounded: a stat of each path tried
//! (at most `MAX_CANDIDATES`) and the first `HEAD` bytes of the first file
//! found, for its `#!` line or ELF header; `start_failure` is pure.

use super::Diagnosis;
use crate::sys::spawn::Lookup;
use nix::errno::Errno;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;

/// Paths of a PATH search looked at, at most.
const MAX_CANDIDATES: usize = 64;
/// Bytes of the file read: the kernel reads 256 for a `#!` line; an ELF's
/// loader path usually lies within the first KiB.
const HEAD: u64 = 1024;

/// The first path tried that exists, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    Dir(String),
    /// Neither a directory nor a regular file: what it is (`a FIFO`, ...).
    Special {
        path: String,
        what: &'static str,
    },
    /// Anything else: its permission bits and first bytes (regular files only).
    File {
        path: String,
        mode: u32,
        head: Vec<u8>,
    },
}

/// What vigil knows about a program that could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evidence {
    /// The program as looked for (argv[0], or the path of an exec probe's program).
    pub name: String,
    /// The PATH searched (`None` when the name holds a slash).
    pub path: Option<String>,
    pub errno: Errno,
    /// An exec probe's program (not the command).
    pub probe: bool,
    pub found: Option<Found>,
}

/// Reads the evidence of a failed start (bounded; only after a failure).
#[cold]
#[inline(never)]
pub(crate) fn gather(lookup: &Lookup, errno: Errno, probe: bool) -> Evidence {
    let found = lookup.candidates.iter().take(MAX_CANDIDATES).find_map(|c| {
        let meta = std::fs::metadata(c).ok()?;
        let path = c.to_string_lossy().into_owned();
        if meta.is_dir() {
            return Some(Found::Dir(path));
        }
        if let Some(what) = special(&meta.file_type()) {
            return Some(Found::Special { path, what });
        }
        let mut head = Vec::new();
        // Never a FIFO or a device, nor a file that reports no size
        // (procfs, sysfs: reading one such as trace_pipe can block forever);
        // and opened non-blocking.
        if meta.is_file() && meta.len() > 0 {
            use std::os::unix::fs::OpenOptionsExt;
            let file = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(c);
            if let Ok(f) = file {
                let _ = f.take(HEAD).read_to_end(&mut head);
            }
        }
        let mode = meta.permissions().mode() & 0o7777;
        Some(Found::File { path, mode, head })
    });
    Evidence {
        name: lookup.name.to_string_lossy().into_owned(),
        path: lookup
            .path
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        errno,
        probe,
        found,
    }
}

/// What a file that is neither a directory nor a regular file is.
fn special(t: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    Some(if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        return None;
    })
}

/// Whether a file exists at `path` (the interpreter a `#!` line names).
pub(crate) fn exists(path: &str) -> bool {
    std::fs::metadata(path).is_ok()
}

/// Where `word` is on `path`, as exec would find it.
pub(crate) fn on_path(word: &str, path: Option<&str>) -> Option<String> {
    let found = crate::config::program::find(word, path)?;
    Some(found.to_string_lossy().into_owned())
}

/// Characters of a program name quoted at most (one argument can hold
/// 128 KiB, a name that long is not found: ENAMETOOLONG).
const MAX_NAME: usize = 512;

/// The start of `name` as a line shows it (its first `MAX_NAME`
/// characters), and its length in bytes when that is not all of it.
fn clipped(name: &str) -> (&str, Option<usize>) {
    match name.char_indices().nth(MAX_NAME) {
        Some((at, _)) => (&name[..at], Some(name.len())),
        None => (name, None),
    }
}

/// `name` as a line shows it, in quotes (`quote`) or not: whole, or its
/// start and how long it is.
fn shown(name: &str, quote: bool) -> String {
    let (start, len) = clipped(name);
    let mut s = match quote {
        true => format!("{start:?}"),
        false => start.to_string(),
    };
    if let Some(len) = len {
        s.push_str(&format!(" ... ({len} bytes)"));
    }
    s
}

/// Characters that make a program name a shell line.
fn shell_line(name: &str) -> bool {
    name.contains([' ', '\t', '|', '&', ';', '>', '<', '$', '`'])
}

/// This build's machine: (ELF e_machine, name, container platform).
const THIS_MACHINE: (u16, &str, &str) = if cfg!(target_arch = "aarch64") {
    (183, "aarch64 (arm64)", "linux/arm64")
} else {
    (62, "x86_64", "linux/amd64")
};

/// An ELF machine's name and container platform.
fn machine(m: u16) -> (String, Option<&'static str>) {
    let (name, platform) = match m {
        3 => ("32-bit x86", Some("linux/386")),
        8 => ("MIPS", None),
        20 => ("32-bit PowerPC", None),
        21 => ("64-bit PowerPC", Some("linux/ppc64le")),
        22 => ("s390x", Some("linux/s390x")),
        40 => ("32-bit ARM", Some("linux/arm/v7")),
        62 => ("x86_64", Some("linux/amd64")),
        183 => ("aarch64 (arm64)", Some("linux/arm64")),
        243 => ("RISC-V", Some("linux/riscv64")),
        258 => ("LoongArch", Some("linux/loong64")),
        _ => return (format!("machine {m}"), None),
    };
    (name.to_string(), platform)
}

/// What an ELF header says: its machine, and its loader (PT_INTERP) when
/// that lies within `head`.
#[derive(Debug, PartialEq, Eq)]
struct Elf {
    machine: u16,
    loader: Option<String>,
}

fn elf(head: &[u8]) -> Option<Elf> {
    if head.len() < 20 || !head.starts_with(b"\x7fELF") {
        return None;
    }
    let wide = head[4] == 2;
    let big = head[5] == 2;
    let uint = |at: usize, len: usize| -> Option<u64> {
        let bytes = head.get(at..at + len)?;
        Some(if big {
            bytes.iter().fold(0u64, |v, b| v << 8 | u64::from(*b))
        } else {
            bytes.iter().rev().fold(0u64, |v, b| v << 8 | u64::from(*b))
        })
    };
    let machine = uint(18, 2)? as u16;
    // e_phoff, e_phentsize, e_phnum; per entry p_type, p_offset, p_filesz.
    let (phoff, phentsize, phnum) = match wide {
        true => (uint(32, 8), uint(54, 2), uint(56, 2)),
        false => (uint(28, 4), uint(42, 2), uint(44, 2)),
    };
    let loader = (|| {
        let (phoff, size) = (phoff? as usize, phentsize? as usize);
        (0..phnum?.min(64) as usize).find_map(|i| {
            let at = phoff.checked_add(i.checked_mul(size)?)?;
            if uint(at, 4)? != 3 {
                return None; // not PT_INTERP
            }
            let (off, len) = match wide {
                true => (uint(at + 8, 8)?, uint(at + 32, 8)?),
                false => (uint(at + 4, 4)?, uint(at + 16, 4)?),
            };
            let bytes = head.get(off as usize..(off as usize).checked_add(len as usize)?)?;
            let s = bytes.split(|b| *b == 0).next()?;
            Some(String::from_utf8_lossy(s).into_owned())
        })
    })();
    Some(Elf { machine, loader })
}

/// The interpreter a `#!` line names, as the kernel reads it (up to a space,
/// a tab or the end of the line; `\r` is part of the name).
fn interpreter(head: &[u8]) -> Option<String> {
    let line = head.strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let start = line.iter().position(|b| *b != b' ' && *b != b'\t')?;
    let word = line[start..].split(|b| *b == b' ' || *b == b'\t').next()?;
    Some(String::from_utf8_lossy(word).into_owned())
}

/// Why the program could not be started, when the evidence tells.
/// `exists` says whether a file is there (an interpreter, a loader);
/// `on_path` where a word is found on the PATH searched.
#[cold]
#[inline(never)]
pub(crate) fn start_failure(
    e: &Evidence,
    exists: &dyn Fn(&str) -> bool,
    on_path: &dyn Fn(&str) -> Option<String>,
) -> Option<Diagnosis> {
    let d = |kind, key: &str, text: String| Some(Diagnosis::new(kind, key.to_string(), text));
    let hint = || match crate::config::program::http_tool_hint(&e.name).filter(|_| e.probe) {
        Some(h) => format!("; {h}"),
        None => String::new(),
    };
    // A name longer than a file name can be (255 bytes: a long shell line
    // in one argument) is not found either.
    let not_found = matches!(
        e.errno,
        Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG
    );
    match &e.found {
        None if not_found => {
            let first = e.name.split_whitespace().next().unwrap_or("");
            if shell_line(&e.name) && !first.is_empty() && first != e.name {
                if let Some(at) = on_path(first) {
                    let (start, cut) = clipped(&e.name);
                    let mut words: Vec<String> =
                        start.split_whitespace().map(|w| format!("{w:?}")).collect();
                    if cut.is_some() {
                        words.pop(); // perhaps a part of a word
                        words.push("...".into());
                    }
                    let name = shown(&e.name, true);
                    return d(
                        "shell_line",
                        &e.name,
                        format!(
                            "the program name {name} is a whole shell line in one argument: no \
                             shell splits it, so exec looked for a program of that name; {first} \
                             is {at}: give each word its own argument ([{}]), or run it with a \
                             shell ([\"sh\", \"-c\", {name}])",
                            words.join(", "),
                        ),
                    );
                }
            }
            let text = match &e.path {
                Some(path) => format!(
                    "{} is not in the image: no such program on the PATH searched ({}); \
                     install it in the image or give its full path{}",
                    shown(&e.name, true),
                    shown(path, false),
                    hint()
                ),
                // An exec probe's program was found at start-up.
                None if e.probe => format!(
                    "{} is not there any more: it was when vigil started{}",
                    shown(&e.name, false),
                    hint()
                ),
                None => format!(
                    "{} is not in the image: no such file; check the path{}",
                    shown(&e.name, false),
                    hint()
                ),
            };
            d("not_found", &e.name, text)
        }
        None => None,
        Some(Found::Dir(path)) => d(
            "directory",
            path,
            format!("{path} is a directory, not a program: name the program inside it"),
        ),
        // exec's EACCES for "not a regular file": its mode says nothing.
        Some(Found::Special { path, what }) if e.errno == Errno::EACCES => d(
            "not_regular_file",
            path,
            format!(
                "{path} is {what}, not a regular file: exec runs regular files only; name the \
                 program itself"
            ),
        ),
        Some(Found::Special { .. }) => None,
        Some(Found::File { path, mode, head }) => {
            if let Some(interp) = interpreter(head) {
                if not_found && interp.ends_with('\r') {
                    return d(
                        "crlf",
                        path,
                        format!(
                            "{path} has Windows (CRLF) line endings: its #! line names the \
                             interpreter {interp:?}, with a carriage return, which does not \
                             exist; convert the script to LF line endings (dos2unix {path}, or \
                             sed -i 's/\\r$//' {path}, or .gitattributes `*.sh text eol=lf`)"
                        ),
                    );
                }
                if not_found && !exists(&interp) {
                    return d(
                        "missing_interpreter",
                        path,
                        format!(
                            "{path} is a script for {interp} (its #! line), which is not in the \
                             image: install it, or point the #! line at an interpreter that is \
                             there{}",
                            hint()
                        ),
                    );
                }
            }
            if e.errno == Errno::EACCES {
                let run_with = interpreter(head).unwrap_or_else(|| "sh".into());
                return if mode & 0o111 == 0 {
                    d(
                        "no_exec_bit",
                        path,
                        format!(
                            "{path} is not executable (mode {mode:04o}): set its execute bit in \
                             the image (RUN chmod +x {path}), or run it with its interpreter \
                             ([\"{run_with}\", \"{path}\"])"
                        ),
                    )
                } else {
                    d(
                        "noexec",
                        path,
                        format!(
                            "{path} has execute bits (mode {mode:04o}) but the kernel refuses to \
                             run it: is its filesystem mounted noexec (a volume, /tmp), or is it \
                             not executable by the user the command runs as (--user)?"
                        ),
                    )
                };
            }
            let elf = elf(head)?;
            let (ours, our_name, our_platform) = THIS_MACHINE;
            if e.errno == Errno::ENOEXEC && elf.machine != ours {
                let (name, platform) = machine(elf.machine);
                let build = match platform {
                    Some(p) => format!(", the {p} platform"),
                    None => String::new(),
                };
                return d(
                    "wrong_machine",
                    path,
                    format!(
                        "{path} is a program for {name} (ELF machine {}{build}), but this \
                         machine is {our_name}: build or pull the image for {our_platform} \
                         (docker build --platform {our_platform})",
                        elf.machine
                    ),
                );
            }
            let loader = elf.loader.filter(|l| not_found && !exists(l))?;
            let libc = if loader.contains("ld-musl") {
                " (a program built for musl, as on Alpine, in an image without musl?)"
            } else if loader.contains("ld-linux") {
                " (a program built for glibc in an image without glibc, such as Alpine?)"
            } else {
                ""
            };
            d(
                "missing_loader",
                path,
                format!(
                    "{path} needs the dynamic loader {loader}, which is not in the \
                     image{libc}: build it statically or for this image's C library, or \
                     install that library"
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, mode: u32, head: &[u8]) -> Option<Found> {
        Some(Found::File {
            path: path.into(),
            mode,
            head: head.to_vec(),
        })
    }

    /// A minimal 64-bit little-endian ELF header for `machine`, with a
    /// PT_INTERP entry naming `loader` when given.
    fn elf_header(machine: u16, loader: Option<&str>) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2; // 64-bit
        h[5] = 1; // little-endian
        h[6] = 1;
        h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        if let Some(l) = loader {
            h[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
            h[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
            h[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
            let mut ph = vec![0u8; 56];
            ph[..4].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
            ph[8..16].copy_from_slice(&120u64.to_le_bytes()); // p_offset
            ph[32..40].copy_from_slice(&(l.len() as u64 + 1).to_le_bytes());
            h.extend(ph);
            h.extend(l.as_bytes());
            h.push(0);
        }
        h
    }

    fn diagnose(
        name: &str,
        path: Option<&str>,
        errno: Errno,
        probe: bool,
        found: Option<Found>,
    ) -> Option<String> {
        let e = Evidence {
            name: name.into(),
            path: path.map(String::from),
            errno,
            probe,
            found,
        };
        let exists = |p: &str| p == "/bin/sh";
        let on_path = |w: &str| (w == "python").then(|| "/usr/bin/python".to_string());
        start_failure(&e, &exists, &on_path).map(|d| format!("{}: {}", d.kind, d.text))
    }

    #[test]
    fn each_cause_from_its_evidence() {
        let path = Some("/usr/local/bin:/usr/bin:/bin");
        let other = if THIS_MACHINE.0 == 62 { 183 } else { 62 };
        // (name, PATH, errno, probe, found, expected start of the line)
        type Case = (
            &'static str,
            Option<&'static str>,
            Errno,
            bool,
            Option<Found>,
            Option<String>,
        );
        let table: Vec<Case> = vec![
            ("nosuchprog", path, Errno::ENOENT, false, None,
             Some("not_found: \"nosuchprog\" is not in the image: no such program on the PATH searched (/usr/local/bin:/usr/bin:/bin); install it in the image or give its full path".into())),
            // curl in an exec probe: http_get is the way.
            ("curl", Some("/empty"), Errno::ENOENT, true, None,
             Some("not_found: \"curl\" is not in the image: no such program on the PATH searched (/empty); install it in the image or give its full path; an http_get probe checks".into())),
            ("/app/run.sh", None, Errno::ENOENT, false, None,
             Some("not_found: /app/run.sh is not in the image: no such file; check the path".into())),
            // An exec probe's program, found at start-up, since removed.
            ("/usr/bin/wget", None, Errno::ENOENT, true, None,
             Some("not_found: /usr/bin/wget is not there any more: it was when vigil started; an http_get probe checks".into())),
            ("python app.py --port 8000", path, Errno::ENOENT, false, None,
             Some(r#"shell_line: the program name "python app.py --port 8000" is a whole shell line in one argument: no shell splits it, so exec looked for a program of that name; python is /usr/bin/python: give each word its own argument (["python", "app.py", "--port", "8000"]), or run it with a shell (["sh", "-c", "python app.py --port 8000"])"#.into())),
            // The first word is not there either: not found, the whole name.
            ("nosuch && x", path, Errno::ENOENT, false, None,
             Some("not_found: \"nosuch && x\" is not in the image".into())),
            ("/app/start.sh", None, Errno::ENOENT, false, file("/app/start.sh", 0o755, b"#!/bin/sh\r\necho\r\n"),
             Some(r#"crlf: /app/start.sh has Windows (CRLF) line endings: its #! line names the interpreter "/bin/sh\r", with a carriage return"#.into())),
            ("start.py", path, Errno::ENOENT, false, file("/usr/bin/start.py", 0o755, b"#! /usr/bin/python3 -u\nprint()\n"),
             Some("missing_interpreter: /usr/bin/start.py is a script for /usr/bin/python3 (its #! line), which is not in the image".into())),
            // The interpreter is there: ENOENT is not its fault.
            ("/app/start.sh", None, Errno::ENOENT, false, file("/app/start.sh", 0o755, b"#!/bin/sh\n"), None),
            ("/app/start.sh", None, Errno::EACCES, false, file("/app/start.sh", 0o644, b"#!/bin/sh\n"),
             Some(r#"no_exec_bit: /app/start.sh is not executable (mode 0644): set its execute bit in the image (RUN chmod +x /app/start.sh), or run it with its interpreter (["/bin/sh", "/app/start.sh"])"#.into())),
            ("/app/start.sh", None, Errno::EACCES, false, file("/app/start.sh", 0o755, b"#!/bin/sh\n"),
             Some("noexec: /app/start.sh has execute bits (mode 0755) but the kernel refuses".into())),
            ("/app", None, Errno::EACCES, false, Some(Found::Dir("/app".into())),
             Some("directory: /app is a directory, not a program".into())),
            ("/app/run", None, Errno::EACCES, false, Some(Found::Special { path: "/app/run".into(), what: "a FIFO (named pipe)" }),
             Some("not_regular_file: /app/run is a FIFO (named pipe), not a regular file: exec runs regular files only; name the program itself".into())),
            ("/dev/null", None, Errno::EACCES, true, Some(Found::Special { path: "/dev/null".into(), what: "a character device" }),
             Some("not_regular_file: /dev/null is a character device, not a regular file".into())),
            ("/app/run", None, Errno::ENOEXEC, false, Some(Found::Special { path: "/app/run".into(), what: "a FIFO (named pipe)" }), None),
            ("/app/server", None, Errno::ENOEXEC, false, file("/app/server", 0o755, &elf_header(40, None)),
             Some(format!("wrong_machine: /app/server is a program for 32-bit ARM (ELF machine 40, the linux/arm/v7 platform), but this machine is {}", THIS_MACHINE.1))),
            ("/app/server", None, Errno::ENOEXEC, false, file("/app/server", 0o755, &elf_header(243, None)),
             Some(format!("wrong_machine: /app/server is a program for RISC-V (ELF machine 243, the linux/riscv64 platform), but this machine is {}: build or pull the image for {}", THIS_MACHINE.1, THIS_MACHINE.2))),
            ("/app/server", None, Errno::ENOEXEC, false, file("/app/server", 0o755, &elf_header(other, None)),
             Some("wrong_machine: /app/server is a program for".into())),
            // This machine's ELF with ENOEXEC (corrupt): no guess.
            ("/app/server", None, Errno::ENOEXEC, false, file("/app/server", 0o755, &elf_header(THIS_MACHINE.0, None)), None),
            ("/app/server", None, Errno::ENOENT, false, file("/app/server", 0o755, &elf_header(THIS_MACHINE.0, Some("/lib/ld-musl-x86_64.so.1"))),
             Some("missing_loader: /app/server needs the dynamic loader /lib/ld-musl-x86_64.so.1, which is not in the image (a program built for musl".into())),
            ("/app/server", None, Errno::ENOENT, false, file("/app/server", 0o755, &elf_header(THIS_MACHINE.0, Some("/lib64/ld-linux-x86-64.so.2"))),
             Some("missing_loader: /app/server needs the dynamic loader /lib64/ld-linux-x86-64.so.2, which is not in the image (a program built for glibc".into())),
            // Another errno: not ours to explain.
            ("nosuchprog", path, Errno::E2BIG, false, None, None),
        ];
        for (name, path, errno, probe, found, want) in table {
            let got = diagnose(name, path, errno, probe, found.clone());
            match want {
                None => assert_eq!(got, None, "{name} {errno} {found:?}"),
                Some(w) => {
                    let got = got.unwrap_or_else(|| panic!("{name} {errno} {found:?}: nothing"));
                    assert!(got.starts_with(&w), "{name}:\n got {got}\nwant {w}");
                }
            }
        }
    }

    #[test]
    fn a_path_of_any_length_makes_a_line_of_bounded_length() {
        let path = format!("/usr/bin{}", ":/opt/x".repeat(15_000));
        let got = diagnose("nosuchprog", Some(&path), Errno::ENOENT, false, None).unwrap();
        assert!(got.len() < 2048, "{} bytes", got.len());
        assert!(
            got.contains(&format!(
                "searched ({} ... ({} bytes));",
                &path[..MAX_NAME],
                path.len()
            )),
            "{got}"
        );
    }

    #[test]
    fn a_shell_line_longer_than_a_file_name_is_one() {
        // Over 255 bytes: exec's ENAMETOOLONG, not ENOENT.
        let line = format!("python app.py{}", " --verbose".repeat(30));
        let path = Some("/usr/bin");
        let got = diagnose(&line, path, Errno::ENAMETOOLONG, false, None).unwrap();
        assert!(
            got.starts_with(&format!("shell_line: the program name {line:?} is a whole")),
            "{got}"
        );
        let got = diagnose(&"x".repeat(600), path, Errno::ENAMETOOLONG, false, None).unwrap();
        let start = "x".repeat(MAX_NAME);
        assert!(
            got.starts_with(&format!(
                "not_found: \"{start}\" ... (600 bytes) is not in the image"
            )),
            "{got}"
        );
        // One argument can be 128 KiB: quoted by its start.
        let huge = format!("python app.py{}", " --verbose".repeat(12_000));
        let got = diagnose(&huge, path, Errno::ENAMETOOLONG, false, None).unwrap();
        assert!(got.len() < 2048, "{} bytes", got.len());
        let start = &huge[..MAX_NAME];
        assert!(
            got.contains(&format!(
                "the program name {start:?} ... (120013 bytes) is a whole shell line"
            )),
            "{got}"
        );
        assert!(
            got.contains(r#"(["python", "app.py", "--verbose", "#),
            "{got}"
        );
        assert!(got.contains(r#""--verbose", ...]), or run it with a shell (["sh", "-c", "python app.py --verbose"#), "{got}");
    }

    /// A real FIFO and a real device, as exec finds them: described by
    /// what they are, never by their mode (chmod +x would not help).
    #[test]
    fn a_fifo_or_a_device_is_not_a_regular_file() {
        let dir = std::env::temp_dir().join(format!("vigil-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("app");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o755)).unwrap();
        let said = |program: &std::path::Path| {
            let lookup = Lookup {
                name: program.into(),
                path: None,
                candidates: vec![program.into()],
            };
            let e = gather(&lookup, Errno::EACCES, false);
            start_failure(&e, &exists, &|_| None).map(|d| format!("{}: {}", d.kind, d.text))
        };
        let got = said(&fifo);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            got.as_deref(),
            Some(
                format!(
                    "not_regular_file: {} is a FIFO (named pipe), not a regular file: exec runs \
                     regular files only; name the program itself",
                    fifo.display()
                )
                .as_str()
            )
        );
        let got = said(std::path::Path::new("/dev/null")).unwrap_or_default();
        assert!(
            got.starts_with(
                "not_regular_file: /dev/null is a character device, not a regular file"
            ),
            "{got}"
        );
    }

    #[test]
    fn elf_headers_are_read_either_way() {
        assert_eq!(elf(&elf_header(40, None)).map(|e| e.machine), Some(40));
        let e = elf(&elf_header(62, Some("/lib/ld.so"))).unwrap();
        assert_eq!(e.loader.as_deref(), Some("/lib/ld.so"));
        // 32-bit big-endian (MIPS), e_machine at the same offset.
        let mut h = vec![0u8; 52];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 1;
        h[5] = 2;
        h[18..20].copy_from_slice(&8u16.to_be_bytes());
        assert_eq!(
            elf(&h),
            Some(Elf {
                machine: 8,
                loader: None
            })
        );
        // Truncated or not an ELF; a loader beyond what was read.
        assert_eq!(elf(b"\x7fELF"), None);
        assert_eq!(elf(b"#!/bin/sh\n"), None);
        let mut cut = elf_header(62, Some("/lib/ld.so"));
        cut.truncate(125);
        assert_eq!(elf(&cut).unwrap().loader, None);
    }

    #[test]
    fn interpreter_lines_as_the_kernel_reads_them() {
        assert_eq!(interpreter(b"#!/bin/sh\n").as_deref(), Some("/bin/sh"));
        assert_eq!(
            interpreter(b"#! /usr/bin/env python3\n").as_deref(),
            Some("/usr/bin/env")
        );
        assert_eq!(interpreter(b"#!/bin/sh\r\n").as_deref(), Some("/bin/sh\r"));
        assert_eq!(interpreter(b"#!/bin/sh").as_deref(), Some("/bin/sh"));
        assert_eq!(interpreter(b"echo hi\n"), None);
        assert_eq!(interpreter(b"#!\n"), None);
    }
}
