//! Where probes connect by default, and why a refused connection may be the
//! app's fault: Kubernetes and EAS probe the pod IP, not loopback, so vigil's
//! default host is the container's primary non-loopback address, and a port
//! that listens on loopback only is worth a hint in the log.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The first IPv4 address of an interface that is up and not loopback (then
/// the first such IPv6 address), else 127.0.0.1.
pub fn primary_address() -> IpAddr {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return IpAddr::V4(Ipv4Addr::LOCALHOST);
    };
    let mut v6 = None;
    for a in addrs {
        let up = a.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP);
        let Some(addr) = a.address else { continue };
        if !up {
            continue;
        }
        if let Some(sin) = addr.as_sockaddr_in() {
            let ip = sin.ip();
            if !ip.is_loopback() {
                return IpAddr::V4(ip);
            }
        } else if let Some(sin6) = addr.as_sockaddr_in6() {
            let ip = sin6.ip();
            if v6.is_none() && !ip.is_loopback() && (ip.segments()[0] & 0xffc0) != 0xfe80 {
                v6 = Some(IpAddr::V6(ip));
            }
        }
    }
    v6.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Whether something listens on TCP `port` on loopback only (so a probe of the
/// pod IP is refused), read from `/proc/net/tcp` and `/proc/net/tcp6`.
pub fn listens_on_loopback_only(port: u16) -> bool {
    let mut text = String::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(t) = std::fs::read_to_string(f) {
            text.push_str(&t);
        }
    }
    loopback_only_in(&text, port)
}

/// The listeners on `port` in /proc/net/tcp{,6} text: all on loopback, and at least one.
pub fn loopback_only_in(proc_net_tcp: &str, port: u16) -> bool {
    let mut any = false;
    for line in proc_net_tcp
        .lines()
        .skip_while(|l| l.trim_start().starts_with("sl"))
    {
        let mut cols = line.split_whitespace();
        let (Some(_sl), Some(local), Some(_remote), Some(state)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        if state != "0A" {
            continue; // not LISTEN
        }
        let Some((addr, p)) = local.split_once(':') else {
            continue;
        };
        if u16::from_str_radix(p, 16) != Ok(port) {
            continue;
        }
        match parse_proc_addr(addr) {
            Some(ip) if ip.is_loopback() => any = true,
            Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()) => {
                any = true
            }
            _ => return false,
        }
    }
    any
}

/// /proc/net/tcp addresses are the raw in_addr words printed in hex (host order).
fn parse_proc_addr(hex: &str) -> Option<IpAddr> {
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(hex, 16).ok()?.to_ne_bytes(),
        ))),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in hex.as_bytes().chunks(8).enumerate() {
                let word = u32::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    fn row(local: &str, state: &str) -> String {
        format!("   0: {local} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n")
    }

    #[test]
    fn loopback_only_detection() {
        // 8000 = 0x1F40; 127.0.0.1 is 0100007F on little-endian machines.
        let lo = row("0100007F:1F40", "0A");
        let any = row("00000000:1F40", "0A");
        let other_port = row("00000000:1F41", "0A");
        let established = row("0500000A:1F40", "01");
        let lo6 = row("00000000000000000000000001000000:1F40", "0A");
        let any6 = row("00000000000000000000000000000000:1F40", "0A");
        let table = [
            (vec![&lo], true),
            (vec![&lo, &established], true),
            (vec![&lo, &any], false),
            (vec![&any], false),
            (vec![&other_port], false),
            (vec![], false),
            (vec![&lo6], true),
            (vec![&lo, &any6], false),
        ];
        for (rows, want) in table {
            let text = format!(
                "{HEADER}{}",
                rows.iter().map(|r| r.as_str()).collect::<String>()
            );
            assert_eq!(loopback_only_in(&text, 8000), want, "{text}");
        }
    }

    #[test]
    fn primary_address_is_never_loopback_unless_nothing_else() {
        let ip = primary_address();
        if ip.is_loopback() {
            assert_eq!(ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
    }
}
