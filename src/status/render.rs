//! The socket's answers, rendered from the supervisor's `Status` and the
//! `Record`: the health endpoints' lines, `/status` JSON and `/metrics` in
//! the Prometheus text format 0.0.4 (docs/status-socket.md).

use super::json::{self, Object};
use super::record::{Record, BUCKETS_US};
use crate::config::model::ProbeKind;
use crate::log::timestamp;
use crate::probe::state::ProbeResult;
use crate::signal_name::name;
use crate::supervisor::status::{PhaseName, Status};
use std::fmt::Write;

/// The three health endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    Ready,
    Live,
    Started,
}

impl Check {
    fn endpoint(self) -> &'static str {
        match self {
            Check::Ready => "readyz",
            Check::Live => "livez",
            Check::Started => "startupz",
        }
    }

    /// The probes this endpoint's answer depends on.
    fn probes(self) -> &'static [ProbeKind] {
        match self {
            Check::Ready => &[ProbeKind::Startup, ProbeKind::Readiness],
            Check::Live => &[ProbeKind::Liveness],
            Check::Started => &[ProbeKind::Startup],
        }
    }
}

fn result_name(r: ProbeResult) -> &'static str {
    match r {
        ProbeResult::Unknown => "unknown",
        ProbeResult::Success => "success",
        ProbeResult::Failure => "failure",
    }
}

/// " : last message (target)" of a probe's last attempt, if it had one.
fn last_said(status: &Status, record: &Record, kind: ProbeKind) -> String {
    let Some(p) = status.probes[kind].as_ref() else {
        return String::new();
    };
    if p.last_message.is_empty() {
        return String::new();
    }
    let target = record.probes[kind]
        .as_ref()
        .map_or("", |i| i.target.as_str());
    format!(": {} ({target})", p.last_message)
}

/// Whether the command part of `check` holds, and if not why.
fn command_failure(status: &Status, check: Check) -> Option<String> {
    let running = matches!(status.phase, PhaseName::Running);
    match (check, status.phase) {
        (Check::Live, PhaseName::Done) => Some("vigil is exiting".into()),
        (Check::Live, _) => None,
        (_, _) if running => None,
        (_, PhaseName::BackingOff) => Some(match status.last_exit {
            Some(e) => format!("the command {e}; waiting to restart it"),
            None => "waiting to restart the command".into(),
        }),
        (_, PhaseName::Starting) => Some("the command is starting".into()),
        (_, PhaseName::Unrouting) => {
            Some("draining: SIGTERM received, the command is about to be stopped".into())
        }
        (_, PhaseName::Stopping) => Some("the command is being stopped".into()),
        (_, _) => Some("the command has exited".into()),
    }
}

/// Whether `kind` holds for `check`, and if not why.
fn probe_failure(status: &Status, record: &Record, kind: ProbeKind) -> Option<String> {
    let p = status.probes[kind].as_ref()?;
    let said = last_said(status, record, kind);
    let name = kind.name();
    match p.result {
        ProbeResult::Success => None,
        ProbeResult::Failure if p.run == 1 => Some(format!("{name} probe failed{said}")),
        ProbeResult::Failure => Some(format!(
            "{name} probe failed {} times in a row{said}",
            p.run
        )),
        ProbeResult::Unknown if p.attempts == 0 => Some(format!("{name} probe has not run yet")),
        ProbeResult::Unknown => Some(format!("{name} probe has not succeeded yet{said}")),
    }
}

/// Every part of `check`: (name, None if it holds or why not).
fn parts(status: &Status, record: &Record, check: Check) -> Vec<(&'static str, Option<String>)> {
    let mut out = vec![("command", command_failure(status, check))];
    for &kind in check.probes() {
        if status.probes[kind].is_some() {
            out.push((kind.name(), probe_failure(status, record, kind)));
        }
    }
    if let (Check::Ready, Some(n)) = (check, &status.notify) {
        let failure = (!n.ready).then(|| match n.state {
            "pending" => "no READY=1 from the command yet (--notify)".to_string(),
            state => format!(
                "the command said {} and no READY=1 since",
                state.to_uppercase() + "=1"
            ),
        });
        out.push(("notify", failure));
    }
    out
}

/// (HTTP status, body) of a health endpoint.
pub(crate) fn health(
    status: &Status,
    record: &Record,
    check: Check,
    verbose: bool,
) -> (u16, String) {
    let parts = parts(status, record, check);
    let holds = match check {
        Check::Ready => status.ready,
        Check::Live => status.live,
        Check::Started => status.started && parts.iter().all(|(_, f)| f.is_none()),
    };
    let code = if holds { 200 } else { 503 };
    if verbose {
        let mut body = String::new();
        for (part, failure) in &parts {
            match failure {
                None => {
                    let _ = writeln!(body, "[+]{part} ok");
                }
                Some(why) => {
                    let _ = writeln!(body, "[-]{part} failed: {why}");
                }
            }
        }
        let verdict = if holds { "passed" } else { "failed" };
        let _ = writeln!(body, "{} check {verdict}", check.endpoint());
        return (code, body);
    }
    if holds {
        return (code, "ok\n".into());
    }
    let what = match check {
        Check::Ready => "not ready",
        Check::Live => "not live",
        Check::Started => "not started",
    };
    let why = parts
        .into_iter()
        .find_map(|(_, f)| f)
        .unwrap_or_else(|| "vigil is not reporting ready".into());
    (code, format!("{what}: {why}\n"))
}

/// `/status`, in place of what `out` held.
pub(crate) fn status_json(out: &mut String, status: &Status, record: &Record) {
    out.clear();
    let mut o = Object::new(out);
    o.str("version", env!("CARGO_PKG_VERSION"))
        .str("phase", status.phase.name())
        .raw("ready", status.ready)
        .raw("live", status.live)
        .raw("started", status.started)
        .str("since", &timestamp(record.ready_since))
        .with("command", |out| {
            let mut c = Object::new(out);
            match status.pid {
                Some(pid) => c.raw("pid", pid),
                None => c.raw("pid", "null"),
            };
            c.opt_str("started_at", record.started_at.map(timestamp).as_deref())
                .raw("restarts", status.restarts)
                .with("last_exit", |out| match status.last_exit {
                    None => out.push_str("null"),
                    Some(e) => {
                        Object::new(out)
                            .raw("code", e.code())
                            .opt_str("signal", e.signal().map(name).as_deref())
                            .str("text", &e.to_string())
                            .end();
                    }
                })
                .with("diagnosis", |out| diagnosis(out, &record.command_diagnosis))
                .end();
        })
        .with("notify", |out| match &status.notify {
            None => out.push_str("null"),
            Some(n) => Object::new(out)
                .str("state", n.state)
                .raw("ready", n.ready)
                .opt_str("status", n.status.as_deref())
                .end(),
        })
        .with("probes", |out| {
            let mut probes = Object::new(out);
            for kind in ProbeKind::ALL {
                probes.with(kind.name(), |out| probe_json(out, status, record, kind));
            }
            probes.end();
        })
        .with("counters", |out| {
            let m = &record.metrics;
            Object::new(out)
                .raw("reaped", m.reaped)
                .raw("signals_forwarded", m.forwarded)
                .raw("status_requests", m.status_requests)
                .raw("events_dropped", m.events_dropped)
                .raw("connections_refused", m.connections_refused)
                .end();
        })
        .end();
    out.push('\n');
}

fn probe_json(out: &mut String, status: &Status, record: &Record, kind: ProbeKind) {
    let (Some(p), Some(info)) = (status.probes[kind].as_ref(), record.probes[kind].as_ref()) else {
        out.push_str("null");
        return;
    };
    Object::new(out)
        .str("handler", info.handler)
        .str("target", &info.target)
        .str("result", result_name(p.result))
        .raw("consecutive", p.run)
        .raw("attempts", p.attempts)
        .with("last", |out| {
            out.push('[');
            for (i, a) in record.attempts[kind].iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                Object::new(out)
                    .str("at", &timestamp(a.at))
                    .raw("duration_ms", json::millis(a.duration))
                    .raw("success", a.success)
                    .str("message", &a.message)
                    .str("output", &a.output)
                    .end();
            }
            out.push(']');
        })
        .with("diagnosis", |out| diagnosis(out, &record.diagnoses[kind]))
        .end();
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `/metrics`, the Prometheus text format 0.0.4, in place of what `out` held.
pub(crate) fn metrics(out: &mut String, status: &Status, record: &Record) {
    let m = &record.metrics;
    out.clear();
    family(out, "vigil_up", "gauge", "1 while the command runs.");
    let _ = writeln!(out, "vigil_up {}", u8::from(status.pid.is_some()));
    family(out, "vigil_ready", "gauge", "1 while vigil reports ready.");
    let _ = writeln!(out, "vigil_ready {}", u8::from(status.ready));
    let counters = [
        (
            "vigil_restarts_total",
            "Restarts of the command.",
            // The supervisor's count: the Restarting changes are rate limited.
            u64::from(status.restarts),
        ),
        (
            "vigil_reaped_total",
            "Processes reaped, the command's included.",
            m.reaped,
        ),
        (
            "vigil_signals_forwarded_total",
            "Signals passed on to the command or its group.",
            m.forwarded,
        ),
        (
            "vigil_status_requests_total",
            "Requests to the status socket.",
            m.status_requests,
        ),
        (
            "vigil_events_dropped_total",
            "/events clients dropped for not reading.",
            m.events_dropped,
        ),
        (
            "vigil_status_connections_refused_total",
            "Connections to the status socket closed at once: over the limit.",
            m.connections_refused,
        ),
    ];
    for (name, help, value) in counters {
        family(out, name, "counter", help);
        let _ = writeln!(out, "{name} {value}");
    }
    let configured: Vec<ProbeKind> = ProbeKind::ALL
        .into_iter()
        .filter(|k| record.probes[*k].is_some())
        .collect();
    family(
        out,
        "vigil_probe_attempts_total",
        "counter",
        "Probe attempts by probe and result.",
    );
    for &kind in &configured {
        for (result, n) in ["failure", "success"].into_iter().zip(m.attempts[kind]) {
            let _ = writeln!(
                out,
                "vigil_probe_attempts_total{{probe=\"{}\",result=\"{result}\"}} {n}",
                kind.name()
            );
        }
    }
    family(
        out,
        "vigil_probe_duration_seconds",
        "histogram",
        "Probe attempt durations.",
    );
    for &kind in &configured {
        let h = &m.durations[kind];
        let probe = kind.name();
        let mut cumulative = 0;
        for (bound, n) in BUCKETS_US.iter().zip(h.buckets) {
            cumulative += n;
            let le = json::seconds(std::time::Duration::from_micros(*bound));
            let le = le.trim_end_matches('0').trim_end_matches('.');
            let _ = writeln!(
                out,
                "vigil_probe_duration_seconds_bucket{{probe=\"{probe}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "vigil_probe_duration_seconds_bucket{{probe=\"{probe}\",le=\"+Inf\"}} {}\n\
             vigil_probe_duration_seconds_sum{{probe=\"{probe}\"}} {}\n\
             vigil_probe_duration_seconds_count{{probe=\"{probe}\"}} {}",
            h.count,
            json::seconds(std::time::Duration::from_micros(h.sum_us)),
            h.count
        );
    }
}

/// A diagnosis in `/status`: `{"at", "kind", "text"}`, or `null`.
fn diagnosis(out: &mut String, d: &Option<(std::time::SystemTime, &'static str, String)>) {
    match d {
        Some((at, kind, text)) => Object::new(out)
            .str("at", &timestamp(*at))
            .str("kind", kind)
            .str("text", text)
            .end(),
        None => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit_status::ChildStatus;
    use crate::probe::per_probe::PerProbe;
    use crate::status::record::ProbeInfo;
    use crate::supervisor::status::ProbeStatus;
    use std::time::{Duration, SystemTime};

    fn probe(result: ProbeResult, run: u32, attempts: u64, message: &str) -> Option<ProbeStatus> {
        Some(ProbeStatus {
            result,
            last_success: Some(result == ProbeResult::Success),
            run,
            attempts,
            last_message: message.into(),
        })
    }

    fn status(
        phase: PhaseName,
        startup: Option<ProbeStatus>,
        readiness: Option<ProbeStatus>,
    ) -> Status {
        let running = phase == PhaseName::Running;
        let started = startup
            .as_ref()
            .is_none_or(|p| p.result == ProbeResult::Success);
        let ready_ok = readiness
            .as_ref()
            .is_none_or(|p| p.result == ProbeResult::Success);
        Status {
            phase,
            pid: running.then_some(12),
            ready: running && started && ready_ok,
            started,
            live: phase != PhaseName::Done,
            restarts: 2,
            last_exit: Some(ChildStatus::Exited(1)),
            draining: false,
            notify: None,
            probes: PerProbe::from_fn(|k| match k {
                ProbeKind::Startup => startup.clone(),
                ProbeKind::Liveness => None,
                ProbeKind::Readiness => readiness.clone(),
            }),
        }
    }

    fn record() -> Record {
        let info = |handler, target: &str| {
            Some(ProbeInfo {
                handler,
                target: target.into(),
            })
        };
        Record::new(
            PerProbe::from_fn(|k| match k {
                ProbeKind::Startup => info("tcp_socket", "tcp 127.0.0.1:8000"),
                ProbeKind::Liveness => None,
                ProbeKind::Readiness => info("http_get", "GET http://127.0.0.1:8000/health"),
            }),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000),
        )
    }

    #[test]
    fn health_answers_say_why() {
        use PhaseName::*;
        use ProbeResult::*;
        let ok = || probe(Success, 1, 1, "HTTP probe succeeded with statuscode: 200");
        let cases = [
            ("ready", status(Running, ok(), ok()), Check::Ready, 200, "ok\n"),
            ("readiness failed", status(Running, ok(), probe(Failure, 3, 5, "HTTP probe failed with statuscode: 500")),
             Check::Ready, 503,
             "not ready: readiness probe failed 3 times in a row: HTTP probe failed with statuscode: 500 (GET http://127.0.0.1:8000/health)\n"),
            ("failed once", status(Running, ok(), probe(Failure, 1, 5, "timeout")), Check::Ready, 503,
             "not ready: readiness probe failed: timeout (GET http://127.0.0.1:8000/health)\n"),
            ("not started", status(Running, probe(Unknown, 2, 2, "connection refused"), probe(Unknown, 0, 0, "")),
             Check::Ready, 503,
             "not ready: startup probe has not succeeded yet: connection refused (tcp 127.0.0.1:8000)\n"),
            ("readiness not run", status(Running, ok(), probe(Unknown, 0, 0, "")), Check::Ready, 503,
             "not ready: readiness probe has not run yet\n"),
            ("backing off", status(BackingOff, None, None), Check::Ready, 503,
             "not ready: the command exited with status 1; waiting to restart it\n"),
            ("stopping", status(Stopping, None, None), Check::Ready, 503,
             "not ready: the command is being stopped\n"),
            ("live while backing off", status(BackingOff, None, None), Check::Live, 200, "ok\n"),
            ("done is not live", status(Done, None, None), Check::Live, 503, "not live: vigil is exiting\n"),
            ("started", status(Running, ok(), None), Check::Started, 200, "ok\n"),
            ("not started yet", status(Running, probe(Unknown, 0, 0, ""), None), Check::Started, 503,
             "not started: startup probe has not run yet\n"),
        ];
        let r = record();
        for (name, s, check, code, body) in cases {
            assert_eq!(
                health(&s, &r, check, false),
                (code, body.to_string()),
                "{name}"
            );
        }
    }

    #[test]
    fn verbose_lists_every_part_as_the_kube_apiserver_does() {
        let s = status(
            PhaseName::Running,
            probe(ProbeResult::Success, 1, 1, "ok"),
            probe(
                ProbeResult::Failure,
                3,
                3,
                "HTTP probe failed with statuscode: 500",
            ),
        );
        let (code, body) = health(&s, &record(), Check::Ready, true);
        assert_eq!(code, 503);
        assert_eq!(
            body,
            "[+]command ok\n[+]startup ok\n\
             [-]readiness failed: readiness probe failed 3 times in a row: HTTP probe failed with statuscode: 500 (GET http://127.0.0.1:8000/health)\n\
             readyz check failed\n"
        );
    }

    #[test]
    fn status_is_json_with_every_documented_field() {
        let s = status(
            PhaseName::Running,
            probe(ProbeResult::Success, 1, 1, "ok"),
            None,
        );
        let mut text = "what was there before".to_string();
        status_json(&mut text, &s, &record());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for key in [
            "version", "phase", "ready", "live", "started", "since", "command", "notify", "probes",
            "counters",
        ] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
        assert_eq!(v["phase"], "running");
        assert_eq!(v["command"]["pid"], 12);
        assert_eq!(v["command"]["last_exit"]["text"], "exited with status 1");
        assert_eq!(v["probes"]["startup"]["handler"], "tcp_socket");
        assert_eq!(v["probes"]["startup"]["result"], "success");
        assert!(v["probes"]["liveness"].is_null());
        assert_eq!(v["since"], "2026-11-30T00:53:20.000Z");
    }

    #[test]
    fn metrics_histogram_buckets_are_cumulative() {
        let s = status(
            PhaseName::Running,
            probe(ProbeResult::Success, 1, 1, "ok"),
            None,
        );
        let mut text = "what was there before".to_string();
        metrics(&mut text, &s, &record());
        assert!(text.contains("vigil_up 1\n"), "{text}");
        assert!(text.contains("vigil_restarts_total 2\n"), "{text}");
        assert!(
            text.contains("vigil_probe_attempts_total{probe=\"startup\",result=\"success\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "vigil_probe_duration_seconds_bucket{probe=\"startup\",le=\"0.0005\"} 0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("vigil_probe_duration_seconds_bucket{probe=\"startup\",le=\"10\"} 0\n"),
            "{text}"
        );
        assert!(
            !text.contains("probe=\"liveness\""),
            "unconfigured probes have no series"
        );
    }
}
