//! Diagnoses from who listens where, for a `tcp_socket` or `http_get` probe
//! whose connection was refused. Pure: the listeners and the command's
//! state come in, a diagnosis or nothing goes out.

use super::listeners::Listener;
use super::Diagnosis;
use crate::duration::display;
use std::net::SocketAddr;
use std::time::Duration;

/// What vigil knows about the command when a probe fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    pub pid: i32,
    pub running_for: Duration,
}

/// How long the probe that can stop the command allows it to come up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Budget {
    /// `startup_check`, or `liveness_check` when there is no startup check.
    pub key: &'static str,
    /// initial_delay + period x failure_threshold.
    pub total: Duration,
}

/// Evidence about a refused connection to `addr`.
pub(crate) struct Refused<'a> {
    pub addr: SocketAddr,
    pub listeners: &'a [Listener],
    pub command: Option<Command>,
    /// Whether the process `pid` is the command or one of its descendants.
    pub in_command: &'a dyn Fn(i32) -> bool,
    pub budget: Option<Budget>,
    /// The probe has failed its threshold in a row (not a first refusal
    /// while the app is still binding).
    pub settled: bool,
}

/// Before this much running, a command that listens nowhere yet is not
/// worth a line unless the probe has failed its threshold.
const LOADING_AFTER: Duration = Duration::from_secs(1);

fn owner(l: &Listener) -> String {
    match &l.owner {
        Some(o) => format!("{} (pid {})", o.name, o.pid),
        None => "a process vigil cannot see".into(),
    }
}

fn list(ls: &[&Listener]) -> String {
    let mut names: Vec<String> = ls
        .iter()
        .take(4)
        .map(|l| format!("{} on {}", owner(l), l.address()))
        .collect();
    if ls.len() > 4 {
        names.push(format!("{} more", ls.len() - 4));
    }
    names.join(", ")
}

/// Why a connection to `r.addr` was refused, when the listeners tell.
pub(crate) fn refused(r: &Refused) -> Option<Diagnosis> {
    let port = r.addr.port();
    let on_port: Vec<&Listener> = r.listeners.iter().filter(|l| l.port == port).collect();
    let probe_v4 = match r.addr {
        SocketAddr::V4(_) => true,
        SocketAddr::V6(v6) => v6.ip().to_ipv4_mapped().is_some(),
    };
    if !on_port.is_empty() {
        if !r.addr.ip().is_loopback() && on_port.iter().all(|l| l.is_loopback()) {
            return Some(Diagnosis::new(
                "loopback_only",
                port.to_string(),
                format!(
                    "{} listens on port {port} on loopback only ({}), but the probe connects to \
                     {} as the platform probes the pod IP: have the app bind 0.0.0.0 (or ::)",
                    owner(on_port[0]),
                    on_port[0].address(),
                    r.addr.ip()
                ),
            ));
        }
        // Every listener on the port is of the other address family, on a
        // specific address (a wildcard [::] also takes IPv4 unless v6only).
        let other_family = on_port.iter().all(|l| match l.ip {
            std::net::IpAddr::V4(_) => !probe_v4,
            std::net::IpAddr::V6(v6) => probe_v4 && !v6.is_unspecified(),
        });
        if other_family {
            let (has, wants) = if probe_v4 {
                ("IPv6", "IPv4")
            } else {
                ("IPv4", "IPv6")
            };
            return Some(Diagnosis::new(
                "address_family",
                port.to_string(),
                format!(
                    "{} listens on port {port} over {has} only ({}), but the probe connects over \
                     {wants} to {}: have the app bind {} or set the probe's host",
                    owner(on_port[0]),
                    on_port[0].address(),
                    r.addr.ip(),
                    if probe_v4 { "0.0.0.0" } else { "::" }
                ),
            ));
        }
        return None;
    }
    let command = r.command.as_ref()?;
    let elsewhere: Vec<&Listener> = r
        .listeners
        .iter()
        .filter(|l| l.owner.as_ref().is_some_and(|o| (r.in_command)(o.pid)))
        .collect();
    if !elsewhere.is_empty() {
        let ports: Vec<u16> = elsewhere.iter().map(|l| l.port).collect();
        let mut unique = ports.clone();
        unique.dedup();
        return Some(Diagnosis::new(
            "port_mismatch",
            format!("{port}->{unique:?}"),
            format!(
                "nothing listens on port {port}, but the command does: {}; set the probe's port \
                 (the `port` field) to {}, or have the app listen on {port} (EAS passes the \
                 service's port to it as LISTENING_PORT)",
                list(&elsewhere),
                unique[0]
            ),
        ));
    }
    if !r.settled && command.running_for < LOADING_AFTER {
        return None;
    }
    let budget = match &r.budget {
        Some(b) if b.total > command.running_for => format!(
            " {} allows {} in all, {} left",
            b.key,
            display(b.total),
            display(b.total - command.running_for)
        ),
        Some(b) => format!(
            " {} allows {} in all, already spent: give it more time (a startup_check \
             with a larger failure_threshold)",
            b.key,
            display(b.total)
        ),
        None => String::new(),
    };
    Some(Diagnosis::new(
        "not_listening_yet",
        port.to_string(),
        format!(
            "nothing listens on port {port} yet; the command (pid {}) has run for {} and \
             listens on no port: still loading?{budget}",
            command.pid,
            display(command.running_for)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::listeners::Owner;
    use super::*;

    fn listener(addr: &str, pid: i32) -> Listener {
        let a: SocketAddr = addr.parse().unwrap();
        Listener {
            ip: a.ip(),
            port: a.port(),
            inode: 1,
            owner: Some(Owner {
                pid,
                name: "python3".into(),
                ppid: 1,
            }),
        }
    }

    fn diagnose(probe: &str, listeners: &[Listener], budget: Option<Budget>) -> Option<String> {
        let in_command = |pid: i32| pid == 7;
        refused(&Refused {
            addr: probe.parse().unwrap(),
            listeners,
            command: Some(Command {
                pid: 7,
                running_for: Duration::from_secs(42),
            }),
            in_command: &in_command,
            budget,
            settled: false,
        })
        .map(|d| format!("{}: {}", d.kind, d.text))
    }

    #[test]
    fn each_cause_from_its_evidence() {
        let startup = || {
            Some(Budget {
                key: "startup_check",
                total: Duration::from_secs(60),
            })
        };
        // (probe address, listeners, budget, expected start of the line)
        type Case<'a> = (&'a str, Vec<Listener>, Option<Budget>, Option<&'a str>);
        let table: Vec<Case> = vec![
            (
                "10.0.0.5:8000",
                vec![listener("127.0.0.1:8000", 7)],
                None,
                Some("loopback_only: python3 (pid 7) listens on port 8000 on loopback only (127.0.0.1:8000), but the probe connects to 10.0.0.5"),
            ),
            (
                "10.0.0.5:8000",
                vec![listener("[::1]:8000", 7)],
                None,
                Some("loopback_only: python3 (pid 7) listens on port 8000 on loopback only ([::1]:8000)"),
            ),
            // A probe of loopback itself: not the cause.
            ("127.0.0.1:8000", vec![listener("127.0.0.1:8000", 7)], None, None),
            (
                "10.0.0.5:8000",
                vec![listener("[fd00::5]:8000", 7)],
                None,
                Some("address_family: python3 (pid 7) listens on port 8000 over IPv6 only ([fd00::5]:8000), but the probe connects over IPv4 to 10.0.0.5: have the app bind 0.0.0.0"),
            ),
            (
                "[fd00::5]:8000",
                vec![listener("10.0.0.5:8000", 7)],
                None,
                Some("address_family: python3 (pid 7) listens on port 8000 over IPv4 only (10.0.0.5:8000), but the probe connects over IPv6 to fd00::5: have the app bind ::"),
            ),
            // [::] takes IPv4 too: no diagnosis from the listeners.
            ("10.0.0.5:8000", vec![listener("[::]:8000", 7)], None, None),
            (
                "10.0.0.5:8000",
                vec![listener("0.0.0.0:8080", 7), listener("0.0.0.0:9090", 99)],
                None,
                Some("port_mismatch: nothing listens on port 8000, but the command does: python3 (pid 7) on 0.0.0.0:8080; set the probe's port (the `port` field) to 8080"),
            ),
            (
                "10.0.0.5:8000",
                vec![listener("0.0.0.0:9090", 99)],
                startup(),
                Some("not_listening_yet: nothing listens on port 8000 yet; the command (pid 7) has run for 42s and listens on no port: still loading? startup_check allows 60s in all, 18s left"),
            ),
            (
                "10.0.0.5:8000",
                vec![],
                Some(Budget {
                    key: "liveness_check",
                    total: Duration::from_secs(30),
                }),
                Some("not_listening_yet: nothing listens on port 8000 yet; the command (pid 7) has run for 42s and listens on no port: still loading? liveness_check allows 30s in all, already spent"),
            ),
        ];
        for (probe, listeners, budget, want) in table {
            let got = diagnose(probe, &listeners, budget);
            match want {
                None => assert_eq!(got, None, "{probe} {listeners:?}"),
                Some(w) => {
                    let got = got.unwrap_or_else(|| panic!("{probe} {listeners:?}: nothing"));
                    assert!(got.starts_with(w), "{probe}:\n got {got}\nwant {w}");
                }
            }
        }
    }

    #[test]
    fn no_command_no_guess() {
        let in_command = |_: i32| false;
        let d = refused(&Refused {
            addr: "10.0.0.5:8000".parse().unwrap(),
            listeners: &[],
            command: None,
            in_command: &in_command,
            budget: None,
            settled: true,
        });
        assert_eq!(d, None);
    }

    #[test]
    fn a_command_that_just_started_is_given_a_moment_to_bind() {
        let in_command = |_: i32| false;
        let refused_after = |running_for: Duration, settled: bool| {
            refused(&Refused {
                addr: "10.0.0.5:8000".parse().unwrap(),
                listeners: &[],
                command: Some(Command {
                    pid: 7,
                    running_for,
                }),
                in_command: &in_command,
                budget: None,
                settled,
            })
            .map(|d| d.kind)
        };
        assert_eq!(refused_after(Duration::from_millis(5), false), None);
        assert_eq!(
            refused_after(Duration::from_millis(5), true),
            Some("not_listening_yet")
        );
        assert_eq!(
            refused_after(LOADING_AFTER, false),
            Some("not_listening_yet")
        );
    }
}
