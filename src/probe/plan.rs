//! What each probe does, computed once when vigil starts: the address to
//! connect to, the HTTP request bytes, or the exec probe's argv and env ready
//! to fork. Attempts reuse it, so an attempt allocates almost nothing.

use super::per_probe::PerProbe;
use super::state::Timing;
use crate::config::model::{Handler, HttpGet, Probe, ProbeKind, Resolved};
use crate::sys::signals::Inherited;
use crate::sys::spawn;
use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The User-Agent the kubelet sends (`kube-probe/<major>.<minor>`).
pub(crate) const USER_AGENT: &str = "kube-probe/1.31";

// One plan per configured probe (at most three): their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Plan {
    Http(HttpPlan),
    Tcp {
        addr: SocketAddr,
    },
    Exec {
        cmd: spawn::Prepared,
        display: String,
    },
}

impl Plan {
    /// The handler's name in the configuration.
    pub(crate) fn handler(&self) -> &'static str {
        match self {
            Plan::Http(_) => "http_get",
            Plan::Tcp { .. } => "tcp_socket",
            Plan::Exec { .. } => "exec",
        }
    }

    /// Where a network probe connects (`None` for exec).
    pub(crate) fn addr(&self) -> Option<SocketAddr> {
        match self {
            Plan::Http(plan) => Some(plan.addr),
            Plan::Tcp { addr } => Some(*addr),
            Plan::Exec { .. } => None,
        }
    }

    /// Where an exec probe's program is (`None` for network probes).
    pub(crate) fn lookup(&self) -> Option<spawn::Lookup> {
        match self {
            Plan::Exec { cmd, .. } => Some(cmd.lookup()),
            _ => None,
        }
    }

    /// What an attempt probes, as logs and `/status` name it:
    /// `GET http://10.0.0.5:8000/`, `tcp 10.0.0.5:8000`, `exec ["cat", "/tmp/ok"]`.
    pub(crate) fn target(&self) -> String {
        match self {
            Plan::Http(plan) => format!("GET {}", plan.url()),
            Plan::Tcp { addr } => format!("tcp {addr}"),
            Plan::Exec { display, .. } => format!("exec {display}"),
        }
    }
}

/// An HTTP GET target. `host` is what the URL and the Host header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpPlan {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
    /// Extra headers (name, value), the user's, in order; an empty
    /// User-Agent or Accept removes that default header.
    pub headers: Vec<(String, String)>,
}

impl HttpPlan {
    /// The same request aimed at another place (a followed redirect).
    pub(crate) fn redirected(&self, addr: SocketAddr, host: String, path: String) -> HttpPlan {
        HttpPlan {
            addr,
            host,
            path,
            headers: self.headers.clone(),
        }
    }

    /// The Host header the request sends: the user's, else `host:port`.
    pub(crate) fn host_header(&self) -> String {
        match self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            Some((_, v)) => v.clone(),
            None => authority(&self.host, self.addr.port()),
        }
    }

    /// The User-Agent the request sends: the user's, else the kubelet's;
    /// `None` when the user's is empty (no User-Agent is sent).
    pub(crate) fn user_agent(&self) -> Option<&str> {
        match self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
        {
            Some((_, v)) if v.is_empty() => None,
            Some((_, v)) => Some(v),
            None => Some(USER_AGENT),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!(
            "http://{}{}",
            authority(&self.host, self.addr.port()),
            self.path
        )
    }

    /// The request bytes: `GET path HTTP/1.1` with the kubelet's headers.
    pub(crate) fn request(&self) -> Vec<u8> {
        let user = |name: &str| {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let mut r = format!("GET {} HTTP/1.1\r\n", self.path);
        if user("host").is_none() {
            r.push_str(&format!(
                "Host: {}\r\n",
                authority(&self.host, self.addr.port())
            ));
        }
        for (name, default) in [("User-Agent", USER_AGENT), ("Accept", "*/*")] {
            if user(name).is_none() {
                r.push_str(&format!("{name}: {default}\r\n"));
            }
        }
        r.push_str("Connection: close\r\n");
        for (name, value) in &self.headers {
            let removes = value.is_empty()
                && (name.eq_ignore_ascii_case("user-agent") || name.eq_ignore_ascii_case("accept"));
            if !removes {
                r.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        r.push_str("\r\n");
        r.into_bytes()
    }
}

/// `host:port`, with brackets around an IPv6 literal.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Resolves a probe's host: an IP literal as is, a name through the resolver
/// (once, at start), none at all as the container's primary address.
pub(crate) fn resolve(
    host: Option<&str>,
    port: u16,
    default: IpAddr,
) -> Result<(SocketAddr, String), PlanError> {
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return Ok((SocketAddr::new(default, port), default.to_string()));
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok((SocketAddr::new(ip, port), bare.to_string()));
    }
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| PlanError(format!("cannot resolve probe host '{host}': {e}")))?
        .next()
        .ok_or_else(|| PlanError(format!("probe host '{host}' has no address")))?;
    Ok((addr, host.to_string()))
}

fn http_plan(h: &HttpGet, default: IpAddr) -> Result<HttpPlan, PlanError> {
    let (addr, host) = resolve(h.host.as_deref(), h.port, default)?;
    Ok(HttpPlan {
        addr,
        host,
        path: h.path.clone(),
        headers: h
            .http_headers
            .iter()
            .map(|nv| (nv.name.clone(), nv.value.clone()))
            .collect(),
    })
}

/// Builds the plan of one probe. `env` is the command's environment (exec
/// probes run with it), `inherited` the signal state they restore.
pub(crate) fn build(
    probe: &Probe,
    default_host: IpAddr,
    env: &[(OsString, OsString)],
    inherited: &Inherited,
) -> Result<Plan, PlanError> {
    match &probe.handler {
        Handler::HttpGet(h) => Ok(Plan::Http(http_plan(h, default_host)?)),
        Handler::TcpSocket(t) => {
            let (addr, _) = resolve(t.host.as_deref(), t.port, default_host)?;
            Ok(Plan::Tcp { addr })
        }
        Handler::Exec(e) => {
            let mut argv: Vec<OsString> = e.command.iter().map(OsString::from).collect();
            let display = format!("{:?}", e.command);
            // Run the program found at start-up, with argv[0] as the user wrote it.
            let cmd = spawn::Prepared::with_program(&e.program, &mut argv, env, inherited.clone())
                .map_err(|err| PlanError(format!("exec probe {display}: {err}")))?;
            Ok(Plan::Exec { cmd, display })
        }
    }
}

/// One configured probe, built in one piece: what the runner does (`run`,
/// with its timeout) and when the supervisor asks for it (`timing`).
pub(crate) struct Configured {
    pub run: ProbePlan,
    pub timing: Timing,
}

/// A probe's plan and the timeout of each attempt.
pub(crate) struct ProbePlan {
    pub plan: Plan,
    pub timeout: Duration,
}

/// Builds every configured probe of `config`; the first that cannot be
/// planned (an unresolvable host) is an error naming its kind.
pub(crate) fn configure(
    config: &Resolved,
    default_host: IpAddr,
    env: &[(OsString, OsString)],
    inherited: &Inherited,
) -> Result<PerProbe<Option<Configured>>, (ProbeKind, PlanError)> {
    let mut out = PerProbe::default();
    for kind in ProbeKind::ALL {
        let Some(p) = config.probe(kind) else {
            continue;
        };
        let plan = build(p, default_host, env, inherited).map_err(|e| (kind, e))?;
        out[kind] = Some(Configured {
            run: ProbePlan {
                plan,
                timeout: p.timeout,
            },
            timing: Timing {
                initial_delay: p.initial_delay,
                period: p.period,
                success_threshold: p.success_threshold,
                failure_threshold: p.failure_threshold,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn plan(headers: &[(&str, &str)]) -> HttpPlan {
        HttpPlan {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)), 8000),
            host: "10.0.0.5".into(),
            path: "/healthz?full=1".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn text(p: &HttpPlan) -> String {
        String::from_utf8(p.request()).unwrap()
    }

    #[test]
    fn kubelet_request_headers() {
        assert_eq!(
            text(&plan(&[])),
            "GET /healthz?full=1 HTTP/1.1\r\nHost: 10.0.0.5:8000\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(plan(&[]).url(), "http://10.0.0.5:8000/healthz?full=1");
    }

    #[test]
    fn user_headers_override_or_remove_defaults() {
        let t = text(&plan(&[
            ("User-Agent", "mine/1"),
            ("X-Token", "s3cret"),
            ("Accept", ""),
        ]));
        assert!(t.contains("User-Agent: mine/1\r\n"));
        assert!(!t.contains("kube-probe"));
        assert!(!t.contains("Accept:"), "empty Accept removes it: {t}");
        assert!(t.contains("X-Token: s3cret\r\n"));
        let t = text(&plan(&[("Host", "app.example")]));
        assert!(t.contains("Host: app.example\r\n") && !t.contains("Host: 10.0.0.5"));
        let t = text(&plan(&[("user-agent", "")]));
        assert!(!t.contains("User-Agent") && !t.contains("user-agent"));
    }

    #[test]
    fn the_user_agent_sent_is_named() {
        assert_eq!(plan(&[]).user_agent(), Some(USER_AGENT));
        assert_eq!(
            plan(&[("user-agent", "mine/1")]).user_agent(),
            Some("mine/1")
        );
        assert_eq!(plan(&[("User-Agent", "")]).user_agent(), None);
    }

    #[test]
    fn host_resolution() {
        let default = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(
            resolve(None, 80, default).unwrap().0,
            "10.0.0.5:80".parse().unwrap()
        );
        assert_eq!(
            resolve(Some(""), 80, default).unwrap().0,
            "10.0.0.5:80".parse().unwrap()
        );
        assert_eq!(
            resolve(Some("127.0.0.1"), 81, default).unwrap().0,
            "127.0.0.1:81".parse().unwrap()
        );
        let (addr, host) = resolve(Some("::1"), 82, default).unwrap();
        assert_eq!((addr, host.as_str()), ("[::1]:82".parse().unwrap(), "::1"));
        assert!(resolve(Some("localhost"), 83, default)
            .unwrap()
            .0
            .ip()
            .is_loopback());
        let ipv6 = HttpPlan {
            addr: "[::1]:82".parse().unwrap(),
            host: "::1".into(),
            path: "/".into(),
            headers: vec![],
        };
        assert_eq!(ipv6.url(), "http://[::1]:82/");
    }
}
