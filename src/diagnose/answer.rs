//! Diagnoses from what an `http_get` probe's peer answered, or how it
//! failed to: the status and the start of the body of a failed response
//! (a JSON decoding error, a traceback, a wrong path, auth, a Host check),
//! and a port that speaks another protocol (TLS, or closes at once). Pure:
//! the attempt's evidence in, a diagnosis (or a one-off check to run
//! first) out.

use super::Diagnosis;
use crate::duration::display;
use crate::probe::outcome::NetEvidence;
use std::net::SocketAddr;

/// The paths tried, once, after a 404 or 405.
pub(crate) const HEALTH_PATHS: [&str; 4] = ["/health", "/healthz", "/ready", "/ping"];

/// The Host tried, once, after a 400.
pub(crate) const LOCAL_HOST: &str = "localhost";

/// A failed `http_get` attempt's evidence.
pub(crate) struct Failed<'a> {
    pub addr: SocketAddr,
    /// The probe's path and the Host header it sent.
    pub path: &'a str,
    pub host: &'a str,
    /// The User-Agent it sent (`None`: none).
    pub user_agent: Option<&'a str>,
    /// The attempt's message and the start of the body (printable).
    pub message: &'a str,
    pub body: &'a str,
    pub net: &'a NetEvidence,
}

/// A one-off check whose result completes a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// After a 404/405: which of `HEALTH_PATHS` answers 2xx.
    HealthPaths { status: u16 },
    /// After a 400: whether the same request passes with `Host: localhost`.
    LocalHost,
}

/// What a one-off check found. A request passes as a probe's attempt would
/// pass without a warning: 2xx, at once or after the redirects an attempt
/// follows (a redirect it would not follow is no pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckAnswer {
    /// The health path that passed (`""`: the request with `Host: localhost`).
    Passed(&'static str),
    /// Every request was answered, and none passed.
    NotPassed,
    /// The request for `path` (`""`: with `Host: localhost`) got no answer
    /// (refused, reset, closed, timed out): the check stopped there.
    NoAnswer { path: &'static str, why: String },
    /// The probes' attempts left no time for the check's requests.
    NotTried,
    /// Not run: another probe (`probe`, with its GET `path` for an
    /// `http_get`) goes to the same server, and a request of the check's
    /// could keep a worker that probe needs (a slow handler keeps working
    /// after the check gives up on it).
    Shared {
        probe: &'static str,
        path: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finding {
    Say(Diagnosis),
    /// Run the check, then say `after_check`'s diagnosis.
    Check(Check),
}

/// Words in a body that show a JSON decoding error (Python's json and
/// Flask/Werkzeug, FastAPI's missing body, Node, Go).
const JSON_ERRORS: &[&str] = &[
    "JSONDecodeError",
    "Expecting value",
    "Failed to decode JSON",
    "No JSON object could be decoded",
    "Did not attempt to load JSON data",
    "Unexpected end of JSON input",
    "unexpected end of JSON input",
    "\"loc\":[\"body\"",
];

/// Words of a server that speaks HTTPS on the port (Go's net/http, nginx).
const HTTPS_ANSWERS: &[&str] = &[
    "Client sent an HTTP request to an HTTPS server",
    "The plain HTTP request was sent to HTTPS port",
];

const TRACEBACK: &str = "Traceback (most recent call last)";

/// At most this many characters of the body are quoted.
const QUOTE: usize = 100;

/// The body's last line that contains `needle`, one not indented first (in
/// a traceback, the exception's, not the source line that raised it),
/// trimmed and bounded.
fn line_with(body: &str, needle: &str) -> String {
    let mut with = body.lines().rev().filter(|l| l.contains(needle));
    let line = with
        .clone()
        .find(|l| !l.starts_with([' ', '\t']))
        .or_else(|| with.next())
        .unwrap_or(needle)
        .trim();
    quote(line)
}

/// At most `QUOTE` characters, control characters as spaces; " ..." only
/// when characters were left out.
fn quote(s: &str) -> String {
    let mut chars = s.chars();
    let mut q: String = chars
        .by_ref()
        .take(QUOTE)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if chars.next().is_some() {
        q.push_str(" ...");
    }
    q
}

/// A traceback's exception line (`KeyError: 'prompt'`), if the body got
/// that far: in the last traceback (a chained exception's is the one
/// raised), the first line after its frames that is not indented. What
/// follows it (the rest of a message of several lines, a note, an HTML
/// page's end) is not it.
fn exception_line(body: &str) -> Option<String> {
    // The last header at the start of a line (a header indented with `|`
    // is an exception group's member, not the exception raised).
    let at = body
        .match_indices(TRACEBACK)
        .map(|(i, _)| i)
        .filter(|i| {
            !body[..*i]
                .rsplit('\n')
                .next()
                .unwrap_or("")
                .starts_with([' ', '\t'])
        })
        .last()?;
    body[at + TRACEBACK.len()..]
        .lines()
        .skip(1)
        .find(|l| !l.trim().is_empty() && !l.starts_with([' ', '\t']))
        .map(|l| quote(l.trim()))
}

/// The fix for a handler that fails on the probe's request.
const OWN_PATH: &str = "probes send a GET with no body, no query and no credentials: give the \
                        probe its own path that reads nothing (a /health route that answers 200)";

fn tls(port: u16, what: &str) -> Diagnosis {
    Diagnosis::new(
        "speaks_tls",
        port.to_string(),
        format!(
            "port {port} answered the probe's plain HTTP request with {what}: the app serves \
             HTTPS there, and http_get speaks plain HTTP (vigil does not probe HTTPS): point the \
             probe at a plain-HTTP port of the app, or check this port with tcp_socket"
        ),
    )
}

/// What a failed attempt's answer (or its absence) shows, if anything.
pub(crate) fn failed(f: &Failed) -> Option<Finding> {
    let port = f.addr.port();
    let net = f.net;
    match net.lead {
        [0x15, 0x03] => return Some(Finding::Say(tls(port, "a TLS alert (bytes 15 03)"))),
        [0x16, 0x03] => {
            return Some(Finding::Say(tls(
                port,
                "a TLS handshake record (bytes 16 03)",
            )))
        }
        _ => {}
    }
    if net.status == 0 {
        return closed_at_once(f).map(Finding::Say);
    }
    let status = net.status;
    if status < 400 {
        return None; // a redirect loop: the attempt's own line says it
    }
    let said = |kind: &'static str, text: String| {
        Some(Finding::Say(Diagnosis::new(
            kind,
            format!("{status} {}", f.path),
            text,
        )))
    };
    if let Some(words) = HTTPS_ANSWERS.iter().find(|w| f.body.contains(*w)) {
        let what = format!("{status} `{}`", line_with(f.body, words));
        return Some(Finding::Say(tls(port, &what)));
    }
    if let Some(words) = JSON_ERRORS.iter().find(|w| f.body.contains(*w)) {
        return said(
            "expects_body",
            format!(
                "the app answered {status} to GET {} with a JSON decoding error (`{}`): the \
                 handler expects a request body, and {OWN_PATH}",
                f.path,
                line_with(f.body, words)
            ),
        );
    }
    if status >= 500 && f.body.contains(TRACEBACK) {
        let ending = exception_line(f.body)
            .map(|l| format!(" ending in `{l}`"))
            .unwrap_or_default();
        return said(
            "handler_exception",
            format!(
                "the app answered {status} to GET {} with a Python traceback{ending}: the handler \
                 fails on the probe's request; {OWN_PATH}",
                f.path
            ),
        );
    }
    match status {
        404 | 405 => Some(Finding::Check(Check::HealthPaths { status })),
        400 if !f.host.eq_ignore_ascii_case(LOCAL_HOST) => Some(Finding::Check(Check::LocalHost)),
        401 | 403 if net.www_authenticate || status == 401 => said(
            "behind_auth",
            format!(
                "the app answered {status}{} to GET {}: the health path sits behind \
                 authentication, and probes send no credentials: exempt the path from auth (or \
                 give the probe an Authorization header in http_get.http_headers)",
                if net.www_authenticate {
                    " with a WWW-Authenticate challenge"
                } else {
                    ""
                },
                f.path
            ),
        ),
        403 => said(
            "forbidden",
            format!(
                "the app answered 403 to GET {} without asking for credentials: an access rule \
                 refuses the probe (an IP allow-list, an origin or CSRF check); the probe comes \
                 from inside the pod to {} with {}",
                f.path,
                f.addr.ip(),
                f.user_agent
                    .map_or("no User-Agent".into(), |ua| format!("User-Agent {ua}"))
            ),
        ),
        _ => None,
    }
}

/// A connection accepted and closed (or reset) before a byte of answer.
fn closed_at_once(f: &Failed) -> Option<Diagnosis> {
    let net = f.net;
    let connected = net.connected?;
    let closed = f.message == "connection closed before any response"
        || f.message.starts_with("reading the response: ")
        || f.message.starts_with("sending the request: ");
    if !closed || net.first_byte.is_some() {
        return None;
    }
    let port = f.addr.port();
    let how = if f.message.contains("reset") {
        "reset it"
    } else {
        "closed it"
    };
    Some(Diagnosis::new(
        "closed_at_once",
        port.to_string(),
        format!(
            "the app accepted the probe's connection on port {port} (in {}) and {how} without \
             sending a byte: it speaks another protocol on this port (gRPC, a database, raw TCP), \
             or its handler died on the request (Python's http.server closes the connection on \
             an uncaught exception: see the app's own log)",
            display(connected)
        ),
    ))
}

/// Why a check says nothing of what the app serves: its request got no
/// answer, or was not sent.
const NOT_TRIED: &str = "the probes' attempts left the check no time between them";

/// Why a check was not run: `probe` goes to the same server.
fn shared(probe: &str) -> String {
    format!(
        "the {probe} probe goes to the same server, and an extra request could keep a worker \
         it needs"
    )
}

/// The diagnosis once a check has run.
pub(crate) fn after_check(f: &Failed, check: Check, found: &CheckAnswer) -> Diagnosis {
    let path = f.path;
    match check {
        Check::HealthPaths { status } => {
            let (kind, what) = match status {
                405 => (
                    "wrong_method",
                    "405 Method Not Allowed: the path exists but takes another method than the \
                     GET probes send",
                ),
                _ => ("wrong_path", "404 Not Found: the app serves no such path"),
            };
            let paths = HEALTH_PATHS.join(", ");
            let serve = "set the probe's path to one the app serves to GET";
            let fix = match found {
                CheckAnswer::Passed(p) => {
                    format!("GET {p} answers 2xx on the same server: set the probe's path to {p}")
                }
                CheckAnswer::NotPassed => {
                    format!("none of {paths} answers 2xx either (tried once): {serve}")
                }
                CheckAnswer::NoAnswer { path: p, why } => format!(
                    "of {paths}, GET {p} got no answer ({why}), so which one the app serves is \
                     not known: {serve}"
                ),
                CheckAnswer::NotTried => {
                    format!("{paths} could not all be tried ({NOT_TRIED}): {serve}")
                }
                CheckAnswer::Shared { probe, path: p } => {
                    let theirs = match p {
                        Some(p) => format!(" (the {probe} probe's {p}, if it passes)"),
                        None => String::new(),
                    };
                    format!(
                        "{paths} were not tried ({}): {serve}{theirs}",
                        shared(probe)
                    )
                }
            };
            Diagnosis::new(
                kind,
                format!("{status} {path}"),
                format!("the app answered GET {path} with {what}; {fix}"),
            )
        }
        Check::LocalHost => {
            let untried = match found {
                CheckAnswer::Passed(_) => None,
                CheckAnswer::NotPassed => {
                    return Diagnosis::new(
                        "bad_request",
                        format!("400 {path}"),
                        format!(
                            "the app answered GET {path} with 400 Bad Request, with Host: \
                             {LOCAL_HOST} too (not a Host check): it rejects the probe's \
                             request; {OWN_PATH}"
                        ),
                    )
                }
                CheckAnswer::NoAnswer { why, .. } => Some(format!("got no answer ({why})")),
                CheckAnswer::NotTried => Some(format!("could not be tried ({NOT_TRIED})")),
                CheckAnswer::Shared { probe, .. } => {
                    Some(format!("was not tried ({})", shared(probe)))
                }
            };
            let Some(untried) = untried else {
                return Diagnosis::new(
                    "host_rejected",
                    format!("400 {path}"),
                    format!(
                        "the app answers GET {path} with 400 for Host: {} but 2xx for Host: \
                         {LOCAL_HOST}: it rejects the pod IP as Host (an allowed-hosts list such \
                         as Django's ALLOWED_HOSTS): allow the pod IP, or send a Host it accepts: \
                         \"http_headers\": [{{\"name\": \"Host\", \"value\": \"{LOCAL_HOST}\"}}] in \
                         the http_get",
                        f.host
                    ),
                );
            };
            Diagnosis::new(
                "bad_request",
                format!("400 {path}"),
                format!(
                    "the app answered GET {path} with 400 Bad Request; the same request with \
                     Host: {LOCAL_HOST} {untried}, so whether the app rejects the pod IP as Host \
                     is not known: if it keeps a list of allowed hosts (such as Django's \
                     ALLOWED_HOSTS), allow the pod IP; else {OWN_PATH}"
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    fn answered(status: u16, www_authenticate: bool) -> NetEvidence {
        NetEvidence {
            connected: ms(1),
            sent: ms(1),
            first_byte: ms(2),
            last_byte: ms(2),
            lead: *b"HT",
            status,
            www_authenticate,
            timed_out: false,
        }
    }

    fn attempt<'a>(net: &'a NetEvidence, message: &'a str, body: &'a str) -> Failed<'a> {
        Failed {
            addr: "10.0.0.5:8000".parse().unwrap(),
            path: "/predict",
            host: "10.0.0.5",
            user_agent: Some(crate::probe::plan::USER_AGENT),
            message,
            body,
            net,
        }
    }

    fn say(f: &Failed) -> String {
        match failed(f) {
            Some(Finding::Say(d)) => format!("{}: {}", d.kind, d.text),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn each_answer_from_its_evidence() {
        let traceback = "Traceback (most recent call last):\n  File \"app.py\", line 9, in do_GET\n    \
                         body = json.loads(raw)\n  File \"/usr/lib/python3/json/__init__.py\", line 346\n\
                         \x20   raise JSONDecodeError(\"Expecting value\", s, err.value) from None\n\
                         json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n";
        let key_error = "Traceback (most recent call last):\n  File \"app.py\", line 9\n    \
                         x = q['prompt']\nKeyError: 'prompt'\n";
        let tls_alert = NetEvidence {
            lead: [0x15, 0x03],
            first_byte: ms(1),
            ..answered(0, false)
        };
        let closed = NetEvidence {
            first_byte: None,
            last_byte: None,
            lead: [0, 0],
            ..answered(0, false)
        };
        let never_connected = NetEvidence::default();
        // (evidence, message, body, expected start of the line or the check)
        let table: &[(NetEvidence, &str, &str, &str)] = &[
            (answered(500, false), "", traceback, "expects_body: the app answered 500 to GET /predict with a JSON decoding error (`json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)`): the handler expects a request body, and probes send a GET with no body"),
            (answered(400, false), "", "Failed to decode JSON object:\x1b Expecting value", "expects_body: the app answered 400 to GET /predict with a JSON decoding error (`Failed to decode JSON object:  Expecting value`)"),
            (answered(422, false), "", r#"{"detail":[{"type":"missing","loc":["body"],"msg":"Field required"}]}"#, "expects_body: the app answered 422"),
            (answered(500, false), "", key_error, "handler_exception: the app answered 500 to GET /predict with a Python traceback ending in `KeyError: 'prompt'`: the handler fails on the probe's request; probes send a GET with no body"),
            (answered(500, false), "", "Traceback (most recent call last):\n  File", "handler_exception: the app answered 500 to GET /predict with a Python traceback: the handler"),
            // A 503 while loading, a plain 500: the attempt's line is all there is.
            (answered(503, false), "", "loading", "None"),
            (answered(500, false), "", "oops", "None"),
            // A traceback in a 4xx is the app's business.
            (answered(409, false), "", key_error, "None"),
            (answered(404, false), "", "not found", "Some(Check(HealthPaths { status: 404 }))"),
            (answered(405, false), "", "", "Some(Check(HealthPaths { status: 405 }))"),
            (answered(400, false), "", "Bad Request (400)", "Some(Check(LocalHost))"),
            (answered(401, true), "", "", "behind_auth: the app answered 401 with a WWW-Authenticate challenge to GET /predict: the health path sits behind authentication"),
            (answered(403, true), "", "", "behind_auth: the app answered 403 with a WWW-Authenticate challenge"),
            (answered(401, false), "", "", "behind_auth: the app answered 401 to GET /predict: the health path"),
            (answered(403, false), "", "", "forbidden: the app answered 403 to GET /predict without asking for credentials"),
            (answered(400, false), "", "Client sent an HTTP request to an HTTPS server.\n", "speaks_tls: port 8000 answered the probe's plain HTTP request with 400 `Client sent an HTTP request to an HTTPS server.`: the app serves HTTPS there"),
            (tls_alert, "malformed HTTP response: invalid HTTP version", "", "speaks_tls: port 8000 answered the probe's plain HTTP request with a TLS alert (bytes 15 03)"),
            (NetEvidence { lead: [0x16, 0x03], ..tls_alert }, "malformed HTTP response: invalid HTTP version", "", "speaks_tls: port 8000 answered the probe's plain HTTP request with a TLS handshake record (bytes 16 03)"),
            (closed, "connection closed before any response", "", "closed_at_once: the app accepted the probe's connection on port 8000 (in 1ms) and closed it without sending a byte"),
            (closed, "reading the response: connection reset by peer", "", "closed_at_once: the app accepted the probe's connection on port 8000 (in 1ms) and reset it"),
            // Bytes came: not closed at once (the attempt's own line says what).
            (NetEvidence { lead: *b"HT", first_byte: ms(1), ..closed }, "connection closed mid-response (in the headers)", "", "None"),
            (never_connected, "timeout after 1s (while connecting)", "", "None"),
        ];
        for (net, message, body, want) in table {
            let got = say(&attempt(net, message, body));
            assert!(got.starts_with(want), "{body:?}:\n got {got}\nwant {want}");
        }
    }

    /// Python 3.11's own tracebacks (`traceback.format_exc()`), as a 500's
    /// body carries them.
    #[test]
    fn a_traceback_is_quoted_by_its_exception_line() {
        let chained = "Traceback (most recent call last):\n  File \"/tmp/tb.py\", line 8, in chained\n    try: handler({})\n         ^^^^^^^^^^^\n  File \"/tmp/tb.py\", line 6, in handler\n    return q[\"prompt\"]\n           ~^^^^^^^^^^\nKeyError: 'prompt'\n\nThe above exception was the direct cause of the following exception:\n\nTraceback (most recent call last):\n  File \"/tmp/tb.py\", line 3, in show\n    try: f()\n         ^^^\n  File \"/tmp/tb.py\", line 10, in chained\n    raise RuntimeError(\"model not loaded\") from e\nRuntimeError: model not loaded\n";
        let several_lines = "Traceback (most recent call last):\n  File \"/tmp/tb.py\", line 3, in show\n    try: f()\n         ^^^\n  File \"/tmp/tb.py\", line 13, in multi\n    raise ValueError(\"invalid request:\\nprompt: field required\\n(see https://example.com/docs)\")\nValueError: invalid request:\nprompt: field required\n(see https://example.com/docs)\n";
        let noted = "Traceback (most recent call last):\n  File \"/tmp/tb.py\", line 3, in show\n    try: f()\n         ^^^\n  File \"/tmp/tb.py\", line 16, in noted\n    e = KeyError(\"prompt\"); e.add_note(\"while reading the request body\"); raise e\n                                                                          ^^^^^^^\nKeyError: 'prompt'\nwhile reading the request body\n";
        let in_html = "<html><body><h1>500</h1><pre>Traceback (most recent call last):\n  File \"app.py\", line 9, in predict\n    return q[\"prompt\"]\nKeyError: 'prompt'\n</pre>\n</body></html>\n";
        // The kept body ends in the frames: no exception line to quote.
        let cut = "Traceback (most recent call last):\n  File \"/tmp/tb.py\", line 3, in show\n    try: f()\n         ^^^\n  File \"/tmp/tb.py\", line 13, in mu";
        let json_cut = "Traceback (most recent call last):\n  File \"/usr/lib/python3.11/json/decoder.py\", line 355, in raw_decode\n    raise JSONDecodeError(\"Expecting value\", s, err.value) from None\n";
        let table: &[(&str, &str)] = &[
            (chained, "handler_exception: the app answered 500 to GET /predict with a Python traceback ending in `RuntimeError: model not loaded`: the handler"),
            (several_lines, "handler_exception: the app answered 500 to GET /predict with a Python traceback ending in `ValueError: invalid request:`: the handler"),
            (noted, "handler_exception: the app answered 500 to GET /predict with a Python traceback ending in `KeyError: 'prompt'`: the handler"),
            (in_html, "handler_exception: the app answered 500 to GET /predict with a Python traceback ending in `KeyError: 'prompt'`: the handler"),
            (cut, "handler_exception: the app answered 500 to GET /predict with a Python traceback: the handler"),
            // Only the source line that raised it shows the JSON error: that.
            (json_cut, "expects_body: the app answered 500 to GET /predict with a JSON decoding error (`raise JSONDecodeError(\"Expecting value\", s, err.value) from None`)"),
        ];
        let net = answered(500, false);
        for (body, want) in table {
            let got = say(&attempt(&net, "", body));
            assert!(got.starts_with(want), "{body:?}:\n got {got}\nwant {want}");
        }
    }

    #[test]
    fn quotes_say_they_were_cut_only_when_they_were() {
        let long = "x".repeat(QUOTE + 1);
        let exact = "x".repeat(QUOTE);
        let table: &[(&str, String)] = &[
            ("KeyError: 'prompt'", "KeyError: 'prompt'".into()),
            // Control characters become spaces: not a cut, though the
            // text is shorter in bytes (U+0085 and U+009B take two).
            ("a\u{85}b\u{9b}c\td", "a b c d".into()),
            (&exact, exact.clone()),
            (&long, format!("{exact} ...")),
            // Characters, not bytes: 100 of them, not cut.
            (&"é".repeat(QUOTE), "é".repeat(QUOTE)),
            (&"é".repeat(QUOTE + 1), format!("{} ...", "é".repeat(QUOTE))),
            ("", String::new()),
        ];
        for (text, want) in table {
            assert_eq!(quote(text), *want, "{text:?}");
        }
    }

    #[test]
    fn forbidden_names_the_user_agent_the_probe_sent() {
        let net = answered(403, false);
        let mut f = attempt(&net, "", "");
        f.user_agent = Some("my-checker/2");
        assert!(
            say(&f).ends_with("to 10.0.0.5 with User-Agent my-checker/2"),
            "{}",
            say(&f)
        );
        f.user_agent = None;
        assert!(
            say(&f).ends_with("to 10.0.0.5 with no User-Agent"),
            "{}",
            say(&f)
        );
    }

    #[test]
    fn host_localhost_is_not_tried_when_it_was_the_host() {
        let net = answered(400, false);
        let mut f = attempt(&net, "", "");
        f.host = "LocalHost";
        assert_eq!(failed(&f), None);
    }

    #[test]
    fn each_check_completes_its_line() {
        let net = answered(404, false);
        let f = attempt(&net, "", "");
        let refused = CheckAnswer::NoAnswer {
            path: "/healthz",
            why: "connection refused".into(),
        };
        let timed_out = CheckAnswer::NoAnswer {
            path: "",
            why: "timeout after 1s".into(),
        };
        let table: &[(Check, CheckAnswer, &str)] = &[
            (Check::HealthPaths { status: 404 }, CheckAnswer::Passed("/healthz"), "wrong_path: the app answered GET /predict with 404 Not Found: the app serves no such path; GET /healthz answers 2xx on the same server: set the probe's path to /healthz"),
            (Check::HealthPaths { status: 404 }, CheckAnswer::NotPassed, "wrong_path: the app answered GET /predict with 404 Not Found: the app serves no such path; none of /health, /healthz, /ready, /ping answers 2xx either (tried once)"),
            (Check::HealthPaths { status: 405 }, CheckAnswer::Passed("/ping"), "wrong_method: the app answered GET /predict with 405 Method Not Allowed: the path exists but takes another method than the GET probes send; GET /ping answers 2xx"),
            // No answer is not an answer: nothing is said of what the app serves.
            (Check::HealthPaths { status: 404 }, refused.clone(), "wrong_path: the app answered GET /predict with 404 Not Found: the app serves no such path; of /health, /healthz, /ready, /ping, GET /healthz got no answer (connection refused), so which one the app serves is not known: set the probe's path to one the app serves to GET"),
            (Check::HealthPaths { status: 405 }, CheckAnswer::NotTried, "wrong_method: the app answered GET /predict with 405 Method Not Allowed: the path exists but takes another method than the GET probes send; /health, /healthz, /ready, /ping could not all be tried (the probes' attempts left the check no time between them): set the probe's path to one the app serves to GET"),
            (Check::LocalHost, CheckAnswer::Passed(""), "host_rejected: the app answers GET /predict with 400 for Host: 10.0.0.5 but 2xx for Host: localhost: it rejects the pod IP as Host (an allowed-hosts list such as Django's ALLOWED_HOSTS): allow the pod IP, or send a Host it accepts: \"http_headers\": [{\"name\": \"Host\", \"value\": \"localhost\"}] in the http_get"),
            (Check::LocalHost, CheckAnswer::NotPassed, "bad_request: the app answered GET /predict with 400 Bad Request, with Host: localhost too (not a Host check)"),
            (Check::LocalHost, timed_out, "bad_request: the app answered GET /predict with 400 Bad Request; the same request with Host: localhost got no answer (timeout after 1s), so whether the app rejects the pod IP as Host is not known: if it keeps a list of allowed hosts (such as Django's ALLOWED_HOSTS), allow the pod IP; else probes send a GET with no body"),
            (Check::LocalHost, CheckAnswer::NotTried, "bad_request: the app answered GET /predict with 400 Bad Request; the same request with Host: localhost could not be tried (the probes' attempts left the check no time between them), so whether"),
        ];
        for (check, found, want) in table {
            let d = after_check(&f, *check, found);
            let got = format!("{}: {}", d.kind, d.text);
            assert!(got.starts_with(want), "\n got {got}\nwant {want}");
        }
    }
}
