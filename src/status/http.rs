//! The socket's HTTP/1.1: a request head parsed with `httparse` within a
//! fixed bound, and responses with a length. Only what a status endpoint
//! needs: no bodies in, no chunking out (`/events` streams until close).

/// The most a request line and its headers may take.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
const MAX_HEADERS: usize = 32;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Other,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub method: Method,
    pub path: String,
    /// What follows `?`, empty if nothing.
    pub query: String,
    /// The client wants the connection kept after the response.
    pub keep_alive: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// More bytes are needed.
    Incomplete,
    /// Over `MAX_HEAD` bytes or `MAX_HEADERS` headers: 431.
    TooLarge,
    /// Not HTTP: 400.
    Bad,
    /// A request, and how many bytes of `buf` it took.
    Request(Request, usize),
}

pub(crate) fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => return Parsed::TooLarge,
        Ok(httparse::Status::Partial) => return Parsed::Incomplete,
        Err(httparse::Error::TooManyHeaders) => return Parsed::TooLarge,
        Err(_) => return Parsed::Bad,
    };
    if len > MAX_HEAD {
        return Parsed::TooLarge;
    }
    let method = match req.method {
        Some("GET") => Method::Get,
        Some("HEAD") => Method::Head,
        _ => Method::Other,
    };
    let target = req.path.unwrap_or("/");
    // The absolute form (`GET http://vigil/readyz`), which a server must take.
    let target = match target.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => {
            rest.find('/').map_or("/", |i| &rest[i..])
        }
        _ => target,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut keep_alive = req.version == Some(1);
    let mut has_body = false;
    for h in req.headers.iter() {
        let value = String::from_utf8_lossy(h.value);
        if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
            || (h.name.eq_ignore_ascii_case("content-length") && value.trim() != "0")
        {
            has_body = true;
        }
    }
    // A body is never read: the connection ends after the answer, so its
    // bytes are never taken for a next request.
    let keep_alive = keep_alive && !has_body;
    Parsed::Request(
        Request {
            method,
            path: path.to_string(),
            query: query.to_string(),
            keep_alive,
        },
        len,
    )
}

/// Whether the query string `a=1&verbose&b` holds `key` (with or without a value).
pub(crate) fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then_some(v)
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// A whole response; `head_only` for HEAD (the length still says the body's).
pub(crate) struct Response<'a> {
    pub status: u16,
    pub content_type: &'a str,
    pub body: &'a str,
    pub keep_alive: bool,
    pub head_only: bool,
}

impl Response<'_> {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len()
        );
        if self.status == 405 {
            out.extend_from_slice(b"Allow: GET, HEAD\r\n");
        }
        if !self.keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !self.head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
    }
}

/// The head of the `/events` stream: no length, it ends when the client leaves.
pub(crate) const EVENTS_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, path: &str, query: &str, keep_alive: bool) -> Request {
        Request {
            method,
            path: path.into(),
            query: query.into(),
            keep_alive,
        }
    }

    #[test]
    fn requests() {
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        let many: String = (0..40).map(|i| format!("H{i}: v\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        let cases: Vec<(&str, &[u8], Parsed)> = vec![
            (
                "curl",
                b"GET /readyz HTTP/1.1\r\nHost: vigil\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
                Parsed::Request(req(Method::Get, "/readyz", "", true), 0),
            ),
            (
                "query",
                b"GET /readyz?verbose HTTP/1.1\r\n\r\n",
                Parsed::Request(req(Method::Get, "/readyz", "verbose", true), 0),
            ),
            (
                "HTTP/1.0",
                b"HEAD /status HTTP/1.0\r\n\r\n",
                Parsed::Request(req(Method::Head, "/status", "", false), 0),
            ),
            (
                "1.0 keep-alive",
                b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                Parsed::Request(req(Method::Get, "/", "", true), 0),
            ),
            (
                "close",
                b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
                Parsed::Request(req(Method::Get, "/", "", false), 0),
            ),
            (
                "a body ends the connection",
                b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
                Parsed::Request(req(Method::Other, "/", "", false), 0),
            ),
            (
                "partial",
                b"GET /readyz HTTP/1.1\r\nHost: vi",
                Parsed::Incomplete,
            ),
            ("nothing", b"", Parsed::Incomplete),
            ("garbage", b"\x00\x01\x02 hello\r\n\r\n", Parsed::Bad),
            (
                "NUL in the path",
                b"GET /re\x00adyz HTTP/1.1\r\n\r\n",
                Parsed::Bad,
            ),
            ("too large", big.as_bytes(), Parsed::TooLarge),
            ("too many headers", many.as_bytes(), Parsed::TooLarge),
        ];
        for (name, input, want) in cases {
            // A complete request takes the whole input but for a body ("abc").
            let want = match want {
                Parsed::Request(r, 0) => {
                    Parsed::Request(r, input.len() - usize::from(name.contains("body")) * 3)
                }
                other => other,
            };
            assert_eq!(parse(input), want, "{name}");
        }
        // A head still incomplete at the bound is too large, not incomplete.
        let endless = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
        assert_eq!(parse(endless.as_bytes()), Parsed::TooLarge);
    }

    #[test]
    fn query_values() {
        assert_eq!(query_value("verbose", "verbose"), Some(""));
        assert_eq!(query_value("a=1&since=42", "since"), Some("42"));
        assert_eq!(query_value("sincere=1", "since"), None);
        assert_eq!(query_value("", "verbose"), None);
    }

    #[test]
    fn responses() {
        let mut out = Vec::new();
        Response {
            status: 503,
            content_type: "text/plain; charset=utf-8",
            body: "not ready\n",
            keep_alive: false,
            head_only: false,
        }
        .write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 10\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nnot ready\n"
        );
        let mut out = Vec::new();
        Response {
            status: 405,
            content_type: "text/plain",
            body: "no\n",
            keep_alive: true,
            head_only: true,
        }
        .write(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Allow: GET, HEAD\r\n"), "{text}");
        assert!(
            text.ends_with(
                "Content-Length: 3\r\nCache-Control: no-store\r\nAllow: GET, HEAD\r\n\r\n"
            ),
            "{text}"
        );
    }
}
