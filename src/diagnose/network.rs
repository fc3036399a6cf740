//! Diagnoses from who listens where, for a `tcp_socket` or `http_get` probe
//! whose connection was refused. Pure: the listeners and the command's
//! state come in, a diagnosis or nothing goes out.

use super::listeners::{Listener, OtherNetns};
use super::Diagnosis;
use crate::duration::display;
use std::net::{IpAddr, SocketAddr};
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
    /// The tables that had more listeners than were read.
    pub cut: &'a [&'static str],
    /// Some listener's owner was not found as the owner scan stopped at
    /// its bounds: the command may be it.
    pub owners_cut: bool,
    pub command: Option<Command>,
    /// Whether the process `pid` is the command or one of its descendants.
    pub in_command: &'a dyn Fn(i32) -> bool,
    pub budget: Option<Budget>,
    /// The probe has failed its threshold in a row (not a first refusal
    /// while the app is still binding).
    pub settled: bool,
    /// The command runs in another network namespace than vigil's.
    pub netns: Option<&'a OtherNetns>,
}

/// Before this much running, a command that listens nowhere yet is not
/// worth a line unless the probe has failed its threshold.
pub(crate) const LOADING_AFTER: Duration = Duration::from_secs(1);

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

/// The IPv4 address a probe connects to (an IPv4-mapped IPv6 one too).
fn ipv4(ip: IpAddr) -> Option<std::net::Ipv4Addr> {
    match ip {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(a) => a.to_ipv4_mapped(),
    }
}

/// Whether `l` takes connections to `ip`, by its address (a wildcard `[::]`
/// takes IPv4 too, unless it is IPV6_V6ONLY, which the tables do not show).
fn takes(l: &Listener, ip: IpAddr) -> bool {
    let v4 = ipv4(ip);
    match l.ip {
        IpAddr::V4(a) => v4.is_some_and(|p| a.is_unspecified() || a == p),
        IpAddr::V6(a) => {
            a.is_unspecified() || IpAddr::V6(a) == ip || (v4.is_some() && a.to_ipv4_mapped() == v4)
        }
    }
}

/// `[::]`.
fn is_v6_wildcard(l: &Listener) -> bool {
    matches!(l.ip, IpAddr::V6(a) if a.is_unspecified())
}

/// Why a connection to `r.addr` was refused while something listens on its
/// port: none of those listeners takes it.
fn on_the_port(r: &Refused, on_port: &[&Listener], probe_v4: bool) -> Option<Diagnosis> {
    let port = r.addr.port();
    let ip = r.addr.ip();
    let first = on_port[0];
    let said = |text: String| Some(Diagnosis::new("address_family", port.to_string(), text));
    if !ip.is_loopback() && on_port.iter().all(|l| l.is_loopback()) {
        return Some(Diagnosis::new(
            "loopback_only",
            port.to_string(),
            format!(
                "{} listens on port {port} on loopback only ({}), but the probe connects to \
                 {ip} as the platform probes the pod IP: have the app bind 0.0.0.0 (or ::)",
                owner(first),
                first.address(),
            ),
        ));
    }
    // Every listener on the port is of the other address family, on a
    // specific address (a wildcard [::] also takes IPv4 unless v6only).
    let other_family = on_port.iter().all(|l| match l.ip {
        IpAddr::V4(_) => !probe_v4,
        IpAddr::V6(v6) => probe_v4 && !v6.is_unspecified(),
    });
    if other_family {
        let (has, wants, bind) = match probe_v4 {
            true => ("IPv6", "IPv4", "0.0.0.0"),
            false => ("IPv4", "IPv6", "::"),
        };
        return said(format!(
            "{} listens on port {port} over {has} only ({}), but the probe connects over {wants} \
             to {ip}: have the app bind {bind} or set the probe's host",
            owner(first),
            first.address(),
        ));
    }
    // A wildcard [::] that refused an IPv4 connection takes IPv6 only
    // (IPV6_V6ONLY, which /proc/net/tcp6 does not show): the refusal is
    // the evidence, as every other listener on the port is out of reach.
    let v6only = on_port
        .iter()
        .find(|l| is_v6_wildcard(l))
        .filter(|_| probe_v4 && on_port.iter().all(|l| is_v6_wildcard(l) || !takes(l, ip)));
    if let Some(l) = v6only {
        return said(format!(
            "{} listens on [::]:{port} only for IPv6 (IPV6_V6ONLY?): the probe's IPv4 \
             connection to {ip} was refused; have the app bind 0.0.0.0 as well, or clear \
             IPV6_V6ONLY on its socket (or the net.ipv6.bindv6only sysctl)",
            owner(l)
        ));
    }
    None
}

/// Why a connection to `r.addr` was refused, when the listeners tell.
pub(crate) fn refused(r: &Refused) -> Option<Diagnosis> {
    let port = r.addr.port();
    let ip = r.addr.ip();
    let on_port: Vec<&Listener> = r.listeners.iter().filter(|l| l.port == port).collect();
    let probe_v4 = ipv4(ip).is_some();
    let wildcard = |port: u16| {
        let any = match probe_v4 {
            true => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            false => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        SocketAddr::new(any, port)
    };
    if !on_port.is_empty() {
        return on_the_port(r, &on_port, probe_v4);
    }
    let command = r.command.as_ref()?;
    // A table read only in part: the port's listener may be among the rest
    // (IPv6's [::] takes IPv4 too, so both tables count for an IPv4 probe).
    if let Some(table) = r.cut.iter().find(|t| probe_v4 || t.ends_with('6')) {
        return Some(Diagnosis::new(
            "too_many_listeners",
            port.to_string(),
            format!(
                "vigil cannot tell who listens on port {port}: {table} lists more than {} \
                 listening sockets, vigil reads only the first {} and none of those is on port \
                 {port}",
                super::listeners::MAX_LISTENERS,
                super::listeners::MAX_LISTENERS
            ),
        ));
    }
    let mut elsewhere: Vec<&Listener> = r
        .listeners
        .iter()
        .filter(|l| l.owner.as_ref().is_some_and(|o| (r.in_command)(o.pid)))
        .collect();
    if !elsewhere.is_empty() {
        // The ports the probe could reach come first (in the kernel's order).
        elsewhere.sort_by_key(|l| !takes(l, ip));
        let mut unique: Vec<u16> = Vec::new();
        for l in &elsewhere {
            if !unique.contains(&l.port) {
                unique.push(l.port);
            }
        }
        let other = unique[0];
        let text = if takes(elsewhere[0], ip) {
            format!(
                "nothing listens on port {port}, but the command does: {}; set the probe's port \
                 (the `port` field) to {other}, or have the app listen on {port} (EAS passes the \
                 service's port to it as LISTENING_PORT)",
                list(&elsewhere)
            )
        } else {
            let where_ = if elsewhere.iter().all(|l| l.is_loopback()) {
                "on loopback only"
            } else {
                "only on addresses the probe cannot reach"
            };
            format!(
                "nothing listens on port {port}, but the command does, {where_}: {}, out of \
                 reach of the probe, which connects to {ip}; have the app listen on {} (EAS \
                 passes the service's port to it as LISTENING_PORT), or on {} and set the probe's \
                 port (the `port` field) to {other}",
                list(&elsewhere),
                wildcard(port),
                wildcard(other)
            )
        };
        return Some(Diagnosis::new(
            "port_mismatch",
            format!("{port}->{unique:?}"),
            text,
        ));
    }
    if let Some(ns) = r.netns {
        let mut addresses: Vec<String> = ns.listeners.iter().take(4).map(|l| l.address()).collect();
        if ns.listeners.len() > 4 {
            addresses.push(format!("{} more", ns.listeners.len() - 4));
        }
        let there = match addresses.is_empty() {
            true => "listens on no port there".to_string(),
            false => format!("listens there on {}", addresses.join(", ")),
        };
        // What listens there is part of the cause: said again once the app
        // has bound its port in its namespace.
        return Some(Diagnosis::new(
            "other_network_namespace",
            format!("{} {addresses:?}", ns.theirs),
            format!(
                "nothing listens on port {port} in vigil's network namespace ({}): the command \
                 (pid {}) runs in another one ({}) and {there}; the probe connects from vigil's, \
                 so run the command in vigil's network namespace (without `unshare --net` or \
                 `ip netns exec`), or check it with an exec probe run in its namespace",
                ns.ours, command.pid, ns.theirs
            ),
        ));
    }
    // "Listens on no port" only when every listener's owner was looked for.
    if r.owners_cut || (!r.settled && command.running_for < LOADING_AFTER) {
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
        diagnose_cut(probe, listeners, budget, &[])
    }

    fn diagnose_cut(
        probe: &str,
        listeners: &[Listener],
        budget: Option<Budget>,
        cut: &[&'static str],
    ) -> Option<String> {
        let in_command = |pid: i32| pid == 7;
        refused(&Refused {
            addr: probe.parse().unwrap(),
            listeners,
            cut,
            owners_cut: false,
            command: Some(Command {
                pid: 7,
                running_for: Duration::from_secs(42),
            }),
            in_command: &in_command,
            budget,
            settled: false,
            netns: None,
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
            // [::] takes IPv4 too, unless IPV6_V6ONLY: refused, it is that.
            (
                "10.0.0.5:8000",
                vec![listener("[::]:8000", 7)],
                None,
                Some("address_family: python3 (pid 7) listens on [::]:8000 only for IPv6 (IPV6_V6ONLY?): the probe's IPv4 connection to 10.0.0.5 was refused; have the app bind 0.0.0.0 as well, or clear IPV6_V6ONLY on its socket (or the net.ipv6.bindv6only sysctl)"),
            ),
            (
                "127.0.0.1:8000",
                vec![listener("[::]:8000", 7), listener("[::1]:8000", 7)],
                None,
                Some("address_family: python3 (pid 7) listens on [::]:8000 only for IPv6 (IPV6_V6ONLY?): the probe's IPv4 connection to 127.0.0.1 was refused"),
            ),
            (
                "10.0.0.5:8000",
                vec![listener("127.0.0.1:8000", 7), listener("[::]:8000", 7)],
                None,
                Some("address_family: python3 (pid 7) listens on [::]:8000 only for IPv6"),
            ),
            // An IPv6 probe: [::] takes it; a listener that takes IPv4 on
            // the port: the refusal is not the listeners' doing.
            ("[fd00::5]:8000", vec![listener("[::]:8000", 7)], None, None),
            ("10.0.0.5:8000", vec![listener("[::]:8000", 7), listener("0.0.0.0:8000", 7)], None, None),
            ("10.0.0.5:8000", vec![listener("[::]:8000", 7), listener("10.0.0.5:8000", 7)], None, None),
            (
                "10.0.0.5:8000",
                vec![listener("0.0.0.0:8080", 7), listener("0.0.0.0:9090", 99)],
                None,
                Some("port_mismatch: nothing listens on port 8000, but the command does: python3 (pid 7) on 0.0.0.0:8080; set the probe's port (the `port` field) to 8080"),
            ),
            // The port the probe can reach is the one suggested, first in the list.
            (
                "10.0.0.5:8000",
                vec![listener("127.0.0.1:9000", 7), listener("0.0.0.0:8080", 7)],
                None,
                Some("port_mismatch: nothing listens on port 8000, but the command does: python3 (pid 7) on 0.0.0.0:8080, python3 (pid 7) on 127.0.0.1:9000; set the probe's port (the `port` field) to 8080"),
            ),
            // Only on loopback: said so, and the fix binds the wildcard.
            (
                "10.0.0.5:8000",
                vec![listener("127.0.0.1:8080", 7), listener("[::1]:8080", 7)],
                None,
                Some("port_mismatch: nothing listens on port 8000, but the command does, on loopback only: python3 (pid 7) on 127.0.0.1:8080, python3 (pid 7) on [::1]:8080, out of reach of the probe, which connects to 10.0.0.5; have the app listen on 0.0.0.0:8000 (EAS passes the service's port to it as LISTENING_PORT), or on 0.0.0.0:8080 and set the probe's port (the `port` field) to 8080"),
            ),
            (
                "[fd00::5]:8000",
                vec![listener("0.0.0.0:8080", 7)],
                None,
                Some("port_mismatch: nothing listens on port 8000, but the command does, only on addresses the probe cannot reach: python3 (pid 7) on 0.0.0.0:8080, out of reach of the probe, which connects to fd00::5; have the app listen on [::]:8000 (EAS"),
            ),
            // A probe of loopback reaches loopback.
            (
                "127.0.0.1:8000",
                vec![listener("127.0.0.1:8080", 7)],
                None,
                Some("port_mismatch: nothing listens on port 8000, but the command does: python3 (pid 7) on 127.0.0.1:8080; set the probe's port (the `port` field) to 8080"),
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
    fn a_table_read_in_part_is_said_not_guessed() {
        let command = vec![listener("0.0.0.0:8080", 7)];
        let table: &[(&str, &[&'static str], &str)] = &[
            ("10.0.0.5:8000", &["/proc/net/tcp"], "too_many_listeners: vigil cannot tell who listens on port 8000: /proc/net/tcp lists more than 256 listening sockets, vigil reads only the first 256 and none of those is on port 8000"),
            // IPv6's [::] takes IPv4: its table counts for an IPv4 probe.
            ("10.0.0.5:8000", &["/proc/net/tcp6"], "too_many_listeners: vigil cannot tell who listens on port 8000: /proc/net/tcp6 lists more"),
            // The IPv4 table holds nothing an IPv6 probe reaches.
            ("[fd00::5]:8000", &["/proc/net/tcp"], "port_mismatch: "),
            ("10.0.0.5:8000", &[], "port_mismatch: "),
        ];
        for (probe, cut, want) in table {
            let got = diagnose_cut(probe, &command, None, cut).unwrap_or_default();
            assert!(
                got.starts_with(want),
                "{probe} {cut:?}:\n got {got}\nwant {want}"
            );
        }
        // A listener on the port among those read: the cut does not matter.
        let got = diagnose_cut(
            "10.0.0.5:8000",
            &[listener("127.0.0.1:8000", 7)],
            None,
            &["/proc/net/tcp"],
        );
        assert!(got.unwrap_or_default().starts_with("loopback_only: "));
    }

    #[test]
    fn no_command_no_guess() {
        let in_command = |_: i32| false;
        let d = refused(&Refused {
            addr: "10.0.0.5:8000".parse().unwrap(),
            listeners: &[],
            cut: &[],
            owners_cut: false,
            command: None,
            in_command: &in_command,
            budget: None,
            settled: true,
            netns: None,
        });
        assert_eq!(d, None);
    }

    #[test]
    fn a_command_in_another_network_namespace_is_named_with_what_listens_there() {
        let in_command = |_: i32| false;
        let said = |there: &[Listener], mine: &[Listener]| {
            let ns = OtherNetns {
                theirs: "net:[4026532451]".into(),
                ours: "net:[4026531840]".into(),
                listeners: there.to_vec(),
            };
            refused(&Refused {
                addr: "127.0.0.1:8000".parse().unwrap(),
                listeners: mine,
                cut: &[],
                owners_cut: false,
                command: Some(Command {
                    pid: 7,
                    running_for: Duration::from_millis(5),
                }),
                in_command: &in_command,
                budget: None,
                settled: false,
                netns: Some(&ns),
            })
            .map(|d| format!("{}: {}", d.kind, d.text))
        };
        // Said at once (no loading grace: the namespace will not change).
        assert_eq!(
            said(&[listener("0.0.0.0:8000", 0)], &[]).as_deref(),
            Some(
                "other_network_namespace: nothing listens on port 8000 in vigil's network \
                 namespace (net:[4026531840]): the command (pid 7) runs in another one \
                 (net:[4026532451]) and listens there on 0.0.0.0:8000; the probe connects from \
                 vigil's, so run the command in vigil's network namespace (without `unshare \
                 --net` or `ip netns exec`), or check it with an exec probe run in its namespace"
            )
        );
        assert!(said(&[], &[])
            .unwrap()
            .contains("runs in another one (net:[4026532451]) and listens on no port there;"));
        // Something on the port in vigil's namespace: that is what answers.
        assert!(!said(&[], &[listener("0.0.0.0:8000", 9)])
            .is_some_and(|d| d.starts_with("other_network")));
    }

    #[test]
    fn listens_on_no_port_only_when_every_owner_was_looked_for() {
        let in_command = |pid: i32| pid == 7;
        let said = |listeners: &[Listener], owners_cut: bool| {
            refused(&Refused {
                addr: "10.0.0.5:8000".parse().unwrap(),
                listeners,
                cut: &[],
                owners_cut,
                command: Some(Command {
                    pid: 7,
                    running_for: Duration::from_secs(42),
                }),
                in_command: &in_command,
                budget: None,
                settled: true,
                netns: None,
            })
            .map(|d| d.kind)
        };
        let unowned = Listener {
            owner: None,
            ..listener("0.0.0.0:8080", 0)
        };
        assert_eq!(
            said(std::slice::from_ref(&unowned), false),
            Some("not_listening_yet")
        );
        // The scan stopped before it found who holds 8080: the command may.
        assert_eq!(said(std::slice::from_ref(&unowned), true), None);
        // What was found is still said.
        let mine = listener("0.0.0.0:9090", 7);
        assert_eq!(said(&[unowned, mine], true), Some("port_mismatch"));
    }

    #[test]
    fn a_command_that_just_started_is_given_a_moment_to_bind() {
        let in_command = |_: i32| false;
        let refused_after = |running_for: Duration, settled: bool| {
            refused(&Refused {
                addr: "10.0.0.5:8000".parse().unwrap(),
                listeners: &[],
                cut: &[],
                owners_cut: false,
                command: Some(Command {
                    pid: 7,
                    running_for,
                }),
                in_command: &in_command,
                budget: None,
                settled,
                netns: None,
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
