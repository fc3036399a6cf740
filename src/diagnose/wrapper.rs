//! A shell wrapping the real server without `exec` (`sh -c 'server ...;
//! true'`, a start script whose last line lacks `exec`): vigil's signals go
//! to the shell, which does not pass them on, so the server never hears
//! SIGTERM and dies of SIGKILL after the grace. Checked when a signal is
//! passed to the command's process alone (not its group), from `/proc`:
//! the command's name and start, its children (bounded), who listens.

use super::listeners;
use super::Diagnosis;
use crate::signal_name::name;

/// Names of shells, as `/proc/PID/comm` shows them.
const SHELLS: [&str; 8] = ["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"];
/// Processes scanned for the command's children when the kernel does not
/// list them (`/proc/PID/task/PID/children`).
const MAX_PROCESSES: usize = 1024;
/// Clock ticks per second of `/proc/PID/stat` start times (USER_HZ, 100
/// on every Linux architecture vigil builds for).
const TICKS: u64 = 100;

/// A process: its pid, name and start (clock ticks since boot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proc {
    pub pid: i32,
    pub name: String,
    pub start: u64,
}

/// The command's process and its children when a signal goes to it alone.
pub(crate) struct Wrapped<'a> {
    pub command: &'a Proc,
    pub children: &'a [Proc],
    /// Whether a process holds a listening socket (it or a descendant).
    pub listening: &'a dyn Fn(i32) -> bool,
    /// Now, in clock ticks since boot.
    pub now: u64,
    pub signal: i32,
}

pub(crate) fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

/// The command is a shell whose one child is the server: it listens, or
/// it started with the shell and has run for at least 90% of its life.
pub(crate) fn shell_without_exec(w: &Wrapped) -> Option<Diagnosis> {
    let shell = w.command;
    if !is_shell(&shell.name) {
        return None;
    }
    let [child] = w.children else {
        return None;
    };
    if is_shell(&child.name) {
        return None;
    }
    let life = w.now.saturating_sub(shell.start);
    let long_lived = life >= TICKS && child.start.saturating_sub(shell.start) * 10 <= life;
    let listens = (w.listening)(child.pid);
    if !listens && !long_lived {
        return None;
    }
    let what = if listens {
        "the server"
    } else {
        "the long-running program"
    };
    let sig = name(w.signal);
    Some(Diagnosis::new(
        "shell_without_exec",
        format!("{}>{}", shell.name, child.name),
        format!(
            "the command (pid {}) is {sh}, which runs {what} {server} (pid {}) as its child \
             instead of exec'ing it: {sig} reaches {sh}, not {server}, which hears of it only \
             if {sh} dies of it (vigil then stops the rest of the group), else gets SIGKILL after \
             the grace; either way vigil exits with {sh}'s status, not {server}'s; start it with \
             exec (`exec {server} ...` as the script's last command, or sh -c 'exec ...'), or \
             run vigil with -g to signal the whole process group",
            shell.pid,
            child.pid,
            sh = shell.name,
            server = child.name,
        ),
    ))
}

/// `/proc/PID/stat`: the name and start time of `pid`.
pub(crate) fn read_proc(pid: i32) -> Option<Proc> {
    let (name, rest) = listeners::stat(pid)?;
    // After the name: state (field 3) ... starttime (field 22).
    let start = rest.split_whitespace().nth(19)?.parse().ok()?;
    Some(Proc { pid, name, start })
}

/// The live children of `pid`, bounded.
pub(crate) fn children(pid: i32) -> Vec<Proc> {
    if let Ok(list) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        return list
            .split_whitespace()
            .take(16)
            .filter_map(|c| read_proc(c.parse().ok()?))
            .collect();
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .take(MAX_PROCESSES)
        .filter(|p| listeners::process(*p).ppid == pid)
        .take(16)
        .filter_map(read_proc)
        .collect()
}

/// Now in clock ticks since boot (`/proc/uptime`, "12345.67 ...": parsed
/// as integers, as float parsing would add 15 KiB of code).
pub(crate) fn now_ticks() -> u64 {
    let uptime = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
    let secs = uptime.split_whitespace().next().unwrap_or("0");
    let (whole, frac) = secs.split_once('.').unwrap_or((secs, "0"));
    let hundredths: u64 = frac.get(..2).unwrap_or(frac).parse().unwrap_or(0);
    whole.parse::<u64>().unwrap_or(0) * TICKS + hundredths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, name: &str, start: u64) -> Proc {
        Proc {
            pid,
            name: name.into(),
            start,
        }
    }

    #[test]
    fn a_shell_with_its_server_as_only_child() {
        let listening = |pid: i32| pid == 9;
        let silent = |_: i32| false;
        // (command, children, listening?, now, expected)
        type Case<'a> = (
            Proc,
            Vec<Proc>,
            &'a dyn Fn(i32) -> bool,
            u64,
            Option<&'a str>,
        );
        let table: Vec<Case> = vec![
            (p(7, "sh", 1000), vec![p(9, "python3", 1001)], &listening, 1010,
             Some("shell_without_exec: the command (pid 7) is sh, which runs the server python3 (pid 9) as its child instead of exec'ing it: SIGTERM reaches sh, not python3, which hears of it only if sh dies of it (vigil then stops the rest of the group), else gets SIGKILL after the grace; either way vigil exits with sh's status, not python3's; start it with exec (`exec python3 ...` as the script's last command, or sh -c 'exec ...'), or run vigil with -g to signal the whole process group")),
            // Not listening, but there since the shell started, for long.
            (p(7, "bash", 1000), vec![p(9, "worker", 1002)], &silent, 2000,
             Some("shell_without_exec: the command (pid 7) is bash, which runs the long-running program worker (pid 9)")),
            // A short-lived child of a script (a setup step): no.
            (p(7, "bash", 1000), vec![p(9, "sleep", 1900)], &silent, 2000, None),
            // The command is the server itself (exec'd): no.
            (p(7, "python3", 1000), vec![], &listening, 2000, None),
            // Two children, or none, or a shell under a shell: no guess.
            (p(7, "sh", 1000), vec![p(9, "a", 1001), p(10, "b", 1001)], &listening, 2000, None),
            (p(7, "sh", 1000), vec![], &listening, 2000, None),
            (p(7, "sh", 1000), vec![p(9, "bash", 1001)], &listening, 2000, None),
        ];
        for (command, children, listening, now, want) in table {
            let got = shell_without_exec(&Wrapped {
                command: &command,
                children: &children,
                listening,
                now,
                signal: libc::SIGTERM,
            })
            .map(|d| format!("{}: {}", d.kind, d.text));
            match want {
                None => assert_eq!(got, None, "{command:?} {children:?}"),
                Some(w) => {
                    let got = got.unwrap_or_else(|| panic!("{command:?}: nothing"));
                    assert!(got.starts_with(w), "\n got {got}\nwant {w}");
                }
            }
        }
    }

    #[test]
    fn this_process_is_read_from_proc() {
        let me = read_proc(std::process::id() as i32).expect("own stat");
        assert!(me.start > 0 && me.start <= now_ticks() + TICKS);
    }
}
