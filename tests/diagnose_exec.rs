//! Diagnosis of programs that cannot start (the command, an exec probe's
//! program) and of a shell that runs the server without `exec`: the real
//! mistake made with real files and processes, and the exact line asserted.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use support::probes::{free_port, Run};
use support::*;

/// A vigil that is killed (with what runs under it) if the test fails first.
struct Vigil(std::process::Child);

impl Drop for Vigil {
    fn drop(&mut self) {
        kill_tree(&mut self.0);
    }
}

/// The text of each `command:` NOTE line of vigil's log.
fn command_notes(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(" NOTE "))
        .filter_map(|l| l.split_once("] command: ").map(|(_, t)| t.to_string()))
        .collect()
}

fn write(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `vigil -- COMMAND` with `PATH`: its exit code and the command's diagnoses.
fn start(command: &[&str], path: &str) -> (i32, Vec<String>, String) {
    let mut args = vec!["--"];
    args.extend(command);
    let out = vigil_env(&args, &[("PATH", path)]);
    let log = stderr(&out);
    (code(&out), command_notes(&log), log)
}

/// Asserts the command's one diagnosis is `want`.
fn assert_said(got: (i32, Vec<String>, String), code: i32, want: &str) {
    let (c, notes, log) = got;
    assert_eq!(notes, vec![want.to_string()], "{log}");
    assert_eq!(c, code, "{log}");
}

#[test]
fn a_program_not_in_the_image_is_named_with_the_path_searched() {
    let a = TempDir::new("dx-path-a");
    let b = TempDir::new("dx-path-b");
    let path = format!("{}:{}", a.0.display(), b.0.display());
    assert_said(
        start(&["nosuchprog"], &path),
        127,
        &format!(
            "\"nosuchprog\" is not in the image: no such program on the PATH searched \
             ({path}); install it in the image or give its full path"
        ),
    );
}

#[test]
fn curl_missing_for_an_exec_probe_suggests_http_get() {
    let empty = TempDir::new("dx-curl");
    let probe = r#"{"exec": {"command": ["curl", "-f", "http://localhost:8000/health"]}}"#;
    let out = vigil_env(
        &["--readiness", probe, "--", "/bin/true"],
        &[("PATH", empty.0.to_str().unwrap())],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "expected a program the probe can run, found \"curl\": not on the command's PATH \
             ({}); an http_get probe checks an HTTP endpoint with no program in the image: \
             {{\"http_get\": {{\"path\": \"/health\", \"port\": 8000}}}}",
            empty.0.display()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_script_with_crlf_line_endings() {
    let dir = TempDir::new("dx-crlf");
    let script = dir.path("start.sh");
    write(&script, b"#!/bin/sh\r\necho hello\r\n", 0o755);
    let s = script.display();
    assert_said(
        start(&[script.to_str().unwrap()], "/bin:/usr/bin"),
        127,
        &format!(
            "{s} has Windows (CRLF) line endings: its #! line names the interpreter \
             \"/bin/sh\\r\", with a carriage return, which does not exist; convert the script \
             to LF line endings (dos2unix {s}, or sed -i 's/\\r$//' {s}, or .gitattributes \
             `*.sh text eol=lf`)"
        ),
    );
}

#[test]
fn a_relative_path_is_read_from_the_start_directory() {
    // vigil itself moves to `/`; the command starts where vigil was started.
    let dir = TempDir::new("dx-rel");
    write(&dir.path("start.sh"), b"#!/bin/sh\r\necho hello\r\n", 0o755);
    let mut cmd = Command::new(vigil());
    cmd.args(["--", "./start.sh"]).current_dir(&dir.0);
    let out = run(&mut cmd);
    let notes = command_notes(&stderr(&out));
    let want = format!(
        "{}/start.sh has Windows (CRLF) line endings",
        dir.0.display()
    );
    assert!(
        notes.len() == 1 && notes[0].starts_with(&want),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_script_whose_interpreter_is_missing() {
    let dir = TempDir::new("dx-interp");
    let script = dir.path("serve.py");
    write(&script, b"#!/usr/bin/python-not-here -u\nprint(1)\n", 0o755);
    // Found on PATH, by its name alone.
    assert_said(
        start(&["serve.py"], dir.0.to_str().unwrap()),
        127,
        &format!(
            "{} is a script for /usr/bin/python-not-here (its #! line), which is not in the \
             image: install it, or point the #! line at an interpreter that is there",
            script.display()
        ),
    );
}

#[test]
fn a_script_without_its_execute_bit() {
    let dir = TempDir::new("dx-nox");
    let script = dir.path("start.sh");
    write(&script, b"#!/bin/sh\necho hello\n", 0o644);
    let s = script.display();
    assert_said(
        start(&[script.to_str().unwrap()], "/bin:/usr/bin"),
        126,
        &format!(
            "{s} is not executable (mode 0644): set its execute bit in the image (RUN chmod +x \
             {s}), or run it with its interpreter ([\"/bin/sh\", \"{s}\"])"
        ),
    );
}

#[test]
fn a_directory() {
    let dir = TempDir::new("dx-dir");
    std::fs::create_dir(dir.path("app")).unwrap();
    let app = dir.path("app");
    assert_said(
        start(&[app.to_str().unwrap()], "/bin:/usr/bin"),
        126,
        &format!(
            "{} is a directory, not a program: name the program inside it",
            app.display()
        ),
    );
}

#[test]
fn a_fifo_or_a_device_is_not_a_regular_file() {
    // Execute bits or not, exec refuses them (EACCES): their mode is no cause.
    let dir = TempDir::new("dx-fifo");
    let fifo = dir.path("app");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_said(
        start(&[fifo.to_str().unwrap()], "/bin:/usr/bin"),
        126,
        &format!(
            "{} is a FIFO (named pipe), not a regular file: exec runs regular files only; name \
             the program itself",
            fifo.display()
        ),
    );
    assert_said(
        start(&["/dev/null"], "/bin:/usr/bin"),
        126,
        "/dev/null is a character device, not a regular file: exec runs regular files only; \
         name the program itself",
    );
}

/// This build's ELF machine, its name and platform.
fn this_machine() -> (u16, &'static str, &'static str) {
    if cfg!(target_arch = "aarch64") {
        (183, "aarch64 (arm64)", "linux/arm64")
    } else {
        (62, "x86_64", "linux/amd64")
    }
}

/// A 64-bit little-endian ELF header for `machine` (64 bytes), with a
/// PT_INTERP program header naming `loader` when given.
fn elf(machine: u16, loader: Option<&str>) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // little-endian
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes()); // e_version
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    if let Some(l) = loader {
        h[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        h[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        h[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let mut ph = vec![0u8; 56];
        ph[..4].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        ph[8..16].copy_from_slice(&120u64.to_le_bytes()); // p_offset
        let len = l.len() as u64 + 1;
        ph[32..40].copy_from_slice(&len.to_le_bytes()); // p_filesz
        ph[40..48].copy_from_slice(&len.to_le_bytes()); // p_memsz
        h.extend(ph);
        h.extend(l.as_bytes());
        h.push(0);
    }
    h
}

#[test]
fn a_program_for_another_machine() {
    let dir = TempDir::new("dx-elf");
    let server = dir.path("server");
    // RISC-V: another machine on x86_64 and aarch64 alike.
    write(&server, &elf(243, None), 0o755);
    let (_, name, platform) = this_machine();
    // Reported (126), not run with /bin/sh as a script would be.
    assert_said(
        start(&[server.to_str().unwrap()], "/bin:/usr/bin"),
        126,
        &format!(
            "{} is a program for RISC-V (ELF machine 243, the linux/riscv64 platform), but this \
             machine is {name}: build or pull the image for {platform} (docker build \
             --platform {platform})",
            server.display()
        ),
    );
}

#[test]
fn a_program_whose_dynamic_loader_is_missing() {
    let dir = TempDir::new("dx-loader");
    let server = dir.path("server");
    write(
        &server,
        &elf(this_machine().0, Some("/lib/ld-musl-vigil-test.so.1")),
        0o755,
    );
    assert_said(
        start(&[server.to_str().unwrap()], "/bin:/usr/bin"),
        127,
        &format!(
            "{} needs the dynamic loader /lib/ld-musl-vigil-test.so.1, which is not in the image \
             (a program built for musl, as on Alpine, in an image without musl?): build it \
             statically or for this image's C library, or install that library",
            server.display()
        ),
    );
}

#[test]
fn a_shell_line_in_one_argument() {
    assert_said(
        start(&["sh app.py --port 8000"], "/bin"),
        127,
        "the program name \"sh app.py --port 8000\" is a whole shell line in one argument: no \
         shell splits it, so exec looked for a program of that name; sh is /bin/sh: give each \
         word its own argument ([\"sh\", \"app.py\", \"--port\", \"8000\"]), or run it with a \
         shell ([\"sh\", \"-c\", \"sh app.py --port 8000\"])",
    );
}

#[test]
fn a_shell_line_longer_than_a_file_name_in_one_argument() {
    // Over 255 bytes, exec fails with ENAMETOOLONG (exit 126), not ENOENT.
    let line = format!("sh app.py --port 8000{}", " --verbose".repeat(30));
    let (code, notes, log) = start(&[&line], "/bin");
    assert_eq!(code, 126, "{log}");
    assert_eq!(notes.len(), 1, "{log}");
    assert!(
        notes[0].starts_with(&format!(
            "the program name {line:?} is a whole shell line in one argument"
        )),
        "{log}"
    );
}

#[test]
fn a_crash_loop_says_its_cause_once_and_the_socket_carries_it() {
    let dir = TempDir::new("dx-loop");
    let socket = dir.path("vigil.sock");
    let log = std::fs::File::create(dir.path("log")).unwrap();
    // Restarts at 0, 50, 100, 200 ms ... : the socket answers meanwhile.
    let mut vigil = Vigil(
        Command::new(vigil())
            .args(["--socket", socket.to_str().unwrap()])
            .args(["--restart", "always", "--backoff-initial", "0.05s"])
            .args(["--", "nosuchprog"])
            .env("PATH", "/nonexistent-vigil")
            .stdin(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    );
    let read_log = || std::fs::read_to_string(dir.path("log")).unwrap_or_default();
    wait_until("five failed starts", || {
        read_log().matches("exec nosuchprog failed").count() >= 5
    });
    assert_eq!(
        command_notes(&read_log()),
        vec![
            "\"nosuchprog\" is not in the image: no such program on the PATH searched \
             (/nonexistent-vigil); install it in the image or give its full path"
                .to_string()
        ],
        "{}",
        read_log()
    );
    let curl = |path: &str, secs: &str| curl_socket(&socket, path, secs);
    let status = curl("/status", "5");
    assert!(
        status.contains(r#""diagnosis":{"at":"#) && status.contains(r#""kind":"not_found""#),
        "{status}"
    );
    let events = curl("/events?since=0", "1");
    assert!(
        events.contains(r#""event":"diagnosis","probe":null,"kind":"not_found","text":"\"nosuchprog\" is not in the image"#),
        "{events}"
    );
    send("TERM", vigil.0.id());
    wait_exit(&mut vigil.0);
}

/// `vigil -- sh -c SCRIPT`, the test app listening: the diagnoses after a
/// SIGTERM, with the shell's and the app's pids.
fn shell_wrapper(script: &str) -> (Vec<String>, u32, u32) {
    let dir = TempDir::new("dx-shell");
    let port = free_port();
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let app = format!("{} http --port {port}", testapp_str());
    let mut vigil = Vigil(
        Command::new(vigil())
            .args(["--", "sh", "-c", &script.replace("APP", &app)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    );
    let read_log = || std::fs::read_to_string(dir.path("log")).unwrap_or_default();
    wait_until("the app listening", || read_log().contains("listening on"));
    let shell = children_of(vigil.0.id())[0];
    let server = children_of(shell).first().copied().unwrap_or(shell);
    send("TERM", vigil.0.id());
    wait_exit(&mut vigil.0);
    // vigil stopped the rest of the group; should it not have, no leftover.
    if !is_dead(server) {
        send("KILL", server);
    }
    (command_notes(&read_log()), shell, server)
}

#[test]
fn a_shell_running_the_server_without_exec() {
    let (notes, shell, server) = shell_wrapper("APP; true");
    assert_eq!(
        notes,
        vec![format!(
            "the command (pid {shell}) is sh, which runs the server vigil-testapp (pid {server}) \
             as its child instead of exec'ing it: SIGTERM reaches sh, not vigil-testapp, which \
             hears of it only if sh dies of it (vigil then stops the rest of the group), else \
             gets SIGKILL after the grace; either way vigil exits with sh's status, not \
             vigil-testapp's; start it with exec (`exec vigil-testapp ...` as the script's \
             last command, or sh -c 'exec ...'), or run vigil with -g to signal the whole \
             process group"
        )]
    );
    // With exec, the server is the command: nothing to say.
    let (notes, shell, server) = shell_wrapper("exec APP");
    assert_eq!(shell, server);
    assert_eq!(notes, Vec::<String>::new());
}

#[test]
fn an_exec_probe_that_cannot_run_its_program_says_why_once() {
    let dir = TempDir::new("dx-probe");
    let check = dir.path("check.sh");
    write(&check, b"#!/bin/sh\r\nexit 0\r\n", 0o755);
    let probe = format!(
        r#"{{"exec": {{"command": ["{}"]}}, "period_seconds": 0.05, "failure_threshold": 1000}}"#,
        check.display()
    );
    let run = Run::start_in(dir, free_port(), &["--readiness", &probe], &[]);
    wait_until("5 failed attempts", || {
        run.log().matches("readiness probe failed").count() >= 5
    });
    let c = check.display();
    let want = format!(
        "{c} has Windows (CRLF) line endings: its #! line names the interpreter \
         \"/bin/sh\\r\", with a carriage return, which does not exist; convert the script to LF \
         line endings (dos2unix {c}, or sed -i 's/\\r$//' {c}, or .gitattributes `*.sh text \
         eol=lf`)"
    );
    let said: Vec<String> = run
        .log()
        .lines()
        .filter_map(|l| {
            l.split_once("] readiness probe: ")
                .map(|(_, t)| t.to_string())
        })
        .collect();
    assert_eq!(said, vec![want], "{}", run.log());
    // The program goes away: a new cause, said once too.
    std::fs::remove_file(&check).unwrap();
    run.wait_log(&format!(
        "readiness probe: {c} is not there any more: it was when vigil started\n"
    ));
    run.term();
}

#[test]
fn curl_gone_from_an_exec_probe_suggests_http_get() {
    let dir = TempDir::new("dx-probe-curl");
    let curl = dir.path("curl");
    write(&curl, b"#!/bin/sh\nexit 1\n", 0o755);
    let probe = format!(
        r#"{{"exec": {{"command": ["{}", "-f", "http://localhost/"]}}, "period_seconds": 0.05, "failure_threshold": 1000}}"#,
        curl.display()
    );
    let run = Run::start_in(dir, free_port(), &["--readiness", &probe], &[]);
    run.wait_log("readiness probe failed");
    std::fs::remove_file(&curl).unwrap();
    run.wait_log(&format!(
        "readiness probe: {} is not there any more: it was when vigil started; an http_get \
         probe checks an HTTP endpoint with no program in the image: {{\"http_get\": \
         {{\"path\": \"/health\", \"port\": 8000}}}}\n",
        curl.display()
    ));
    run.term();
}
