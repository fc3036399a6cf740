//! Where probes connect by default: Kubernetes and EAS probe the pod IP, not
//! loopback, so vigil's default host is the container's primary non-loopback
//! address (a port held on loopback only is then diagnosed: `diagnose`).

use std::net::{IpAddr, Ipv4Addr};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_address_is_never_loopback_unless_nothing_else() {
        let ip = primary_address();
        if ip.is_loopback() {
            assert_eq!(ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
    }
}
