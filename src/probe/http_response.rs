//! Reading an HTTP/1.1 response from a probe's socket, bounded: the head is
//! parsed with `httparse` and may be at most 64 KiB with 128 headers; at most
//! 10 KiB of body is read (the kubelet's limit: more is a non-fatal
//! truncation); at most 5 interim (1xx) responses are skipped, as Go's client
//! does; and an attempt reads at most 256 KiB in all, so a peer that floods
//! chunk extensions, trailers or interim responses costs bounded work. A response is
//! complete when its framing says so (Content-Length, the last chunk, or the
//! end of the connection when neither is given). Pure: bytes in, verdict out.

pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;
pub(crate) const MAX_BODY_BYTES: usize = 10 * 1024;
/// httparse needs a fixed array; 128 headers (4 KiB of stack, resident once
/// touched) is far beyond what a health endpoint sends (the head's size is
/// bounded anyway).
const MAX_HEADERS: usize = 128;
/// Interim responses skipped before giving up (Go's `max1xxResponses`).
const MAX_INTERIM: u32 = 5;
/// Everything an attempt may read: head, body and framing.
pub(crate) const MAX_RESPONSE_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub location: Option<String>,
    /// The response asked for credentials (a `WWW-Authenticate` header).
    pub www_authenticate: bool,
    /// The first bytes of the body (at most `MAX_BODY_BYTES`).
    pub body: Vec<u8>,
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Progress {
    NeedMore,
    Done(Response),
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the hex size line; the value so far.
    Size(u64, bool),
    /// Skipping a chunk extension up to the line end.
    Extension(u64),
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    /// After the last chunk: trailer lines until an empty one; `bool` = at line start.
    Trailer(bool),
    TrailerLf(bool),
}

#[derive(Debug, Default)]
pub(crate) struct ResponseReader {
    head: Vec<u8>,
    response: Option<Response>,
    framing: Option<Framing>,
    chunk: Option<Chunk>,
    body_seen: u64,
    /// Bytes fed so far, and interim responses skipped.
    total: usize,
    interim: u32,
}

fn header<'a>(headers: &'a [httparse::Header<'a>], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(str::trim)
}

impl ResponseReader {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes read from the socket.
    pub(crate) fn feed(&mut self, data: &[u8]) -> Progress {
        self.total = self.total.saturating_add(data.len());
        if self.total > MAX_RESPONSE_BYTES {
            return Progress::Failed(format!(
                "the response did not end within {} KiB",
                MAX_RESPONSE_BYTES / 1024
            ));
        }
        self.feed_bytes(data)
    }

    fn feed_bytes(&mut self, mut data: &[u8]) -> Progress {
        while self.response.is_none() {
            let before = self.head.len();
            let room = MAX_HEAD_BYTES + 1 - before;
            self.head.extend_from_slice(&data[..data.len().min(room)]);
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.head) {
                Ok(httparse::Status::Partial) => {
                    if self.head.len() > MAX_HEAD_BYTES {
                        return Progress::Failed(format!(
                            "response headers exceed {} KiB",
                            MAX_HEAD_BYTES / 1024
                        ));
                    }
                    return Progress::NeedMore;
                }
                Err(e) => return Progress::Failed(format!("malformed HTTP response: {e}")),
                Ok(httparse::Status::Complete(len)) => {
                    let status = parsed.code.unwrap_or(0);
                    let consumed = len - before;
                    data = &data[consumed.min(data.len())..];
                    if (100..200).contains(&status) && status != 101 {
                        // An interim response (100 Continue): the real one follows.
                        self.interim += 1;
                        if self.interim > MAX_INTERIM {
                            return Progress::Failed(format!(
                                "more than {MAX_INTERIM} interim (1xx) responses"
                            ));
                        }
                        let rest = self.head.split_off(len);
                        self.head.clear();
                        if !rest.is_empty() {
                            return self.feed_bytes(&rest);
                        }
                        return Progress::NeedMore;
                    }
                    let hs = parsed.headers;
                    let chunked = header(hs, "transfer-encoding")
                        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
                    let framing = if status == 204 || status == 304 {
                        Framing::Length(0)
                    } else if chunked {
                        Framing::Chunked
                    } else if let Some(v) = header(hs, "content-length") {
                        match v.parse::<u64>() {
                            Ok(n) => Framing::Length(n),
                            Err(_) => {
                                return Progress::Failed(format!(
                                    "malformed HTTP response: bad Content-Length {v:?}"
                                ))
                            }
                        }
                    } else {
                        Framing::UntilClose
                    };
                    self.framing = Some(framing);
                    self.chunk = (framing == Framing::Chunked).then_some(Chunk::Size(0, false));
                    self.response = Some(Response {
                        status,
                        location: header(hs, "location").map(str::to_string),
                        // Looked for only where it can matter (not on a success).
                        www_authenticate: matches!(status, 401 | 403)
                            && header(hs, "www-authenticate").is_some(),
                        body: Vec::new(),
                        truncated: false,
                    });
                    // Bytes after the head that arrived in an earlier feed.
                    let early = self.head.split_off(len.min(self.head.len()));
                    self.head = Vec::new();
                    if !early.is_empty() && before > len {
                        if let Some(done) = self.body(&early) {
                            return done;
                        }
                    }
                }
            }
        }
        self.body(data).unwrap_or(Progress::NeedMore)
    }

    /// The peer closed the connection.
    pub(crate) fn eof(&mut self) -> Progress {
        match (&self.response, self.framing) {
            (None, _) if self.head.is_empty() => {
                Progress::Failed("connection closed before any response".into())
            }
            (None, _) => Progress::Failed("connection closed mid-response (in the headers)".into()),
            (Some(_), Some(Framing::UntilClose)) => self.finish(false),
            (Some(_), _) => Progress::Failed("connection closed mid-response (in the body)".into()),
        }
    }

    fn finish(&mut self, truncated: bool) -> Progress {
        let mut r = self.response.take().expect("response head parsed");
        r.truncated = truncated;
        Progress::Done(r)
    }

    /// Keeps body bytes (up to the limit); `Some` when the response is complete.
    fn keep(&mut self, bytes: &[u8]) -> Option<Progress> {
        let r = self.response.as_mut().expect("head parsed");
        let room = MAX_BODY_BYTES - r.body.len();
        r.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.body_seen += bytes.len() as u64;
        (self.body_seen >= MAX_BODY_BYTES as u64).then(|| self.finish(true))
    }

    fn body(&mut self, data: &[u8]) -> Option<Progress> {
        match self.framing? {
            Framing::UntilClose => self.keep(data),
            Framing::Length(n) => {
                let want = n.saturating_sub(self.body_seen);
                let take = data.len().min(want as usize);
                if let Some(done) = self.keep(&data[..take]) {
                    return Some(done);
                }
                (self.body_seen >= n).then(|| self.finish(false))
            }
            Framing::Chunked => self.chunked(data),
        }
    }

    fn chunked(&mut self, data: &[u8]) -> Option<Progress> {
        let bad = |what: &str| Some(Progress::Failed(format!("malformed chunked body: {what}")));
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            let state = self.chunk?;
            self.chunk = Some(match state {
                Chunk::Size(n, any) => match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        let digit = (b as char).to_digit(16).unwrap() as u64;
                        match n.checked_mul(16).and_then(|v| v.checked_add(digit)) {
                            Some(v) => Chunk::Size(v, true),
                            None => return bad("chunk size too large"),
                        }
                    }
                    b';' | b' ' | b'\t' if any => Chunk::Extension(n),
                    b'\r' if any => Chunk::SizeLf(n),
                    _ => return bad("bad chunk size"),
                },
                Chunk::Extension(n) => match b {
                    b'\r' => Chunk::SizeLf(n),
                    _ => Chunk::Extension(n),
                },
                Chunk::SizeLf(n) => match (b, n) {
                    (b'\n', 0) => Chunk::Trailer(true),
                    (b'\n', n) => Chunk::Data(n),
                    _ => return bad("expected LF after the chunk size"),
                },
                Chunk::Data(n) => {
                    let take = (data.len() - i).min(n as usize);
                    if let Some(done) = self.keep(&data[i..i + take]) {
                        return Some(done);
                    }
                    i += take;
                    let left = n - take as u64;
                    self.chunk = Some(if left == 0 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data(left)
                    });
                    continue;
                }
                Chunk::DataCr if b == b'\r' => Chunk::DataLf,
                Chunk::DataLf if b == b'\n' => Chunk::Size(0, false),
                Chunk::DataCr | Chunk::DataLf => return bad("expected CRLF after the chunk data"),
                Chunk::Trailer(start) => match b {
                    b'\r' => Chunk::TrailerLf(start),
                    _ => Chunk::Trailer(false),
                },
                Chunk::TrailerLf(start) => match (b, start) {
                    (b'\n', true) => return Some(self.finish(false)),
                    (b'\n', false) => Chunk::Trailer(true),
                    _ => return bad("expected LF in the trailer"),
                },
            });
            i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `parts` one by one, then EOF if nothing decided.
    fn read(parts: &[&[u8]]) -> Progress {
        let mut r = ResponseReader::new();
        for p in parts {
            match r.feed(p) {
                Progress::NeedMore => {}
                other => return other,
            }
        }
        r.eof()
    }

    fn done(status: u16, body: &[u8]) -> Progress {
        Progress::Done(Response {
            status,
            location: None,
            www_authenticate: false,
            body: body.to_vec(),
            truncated: false,
        })
    }

    #[test]
    fn complete_responses() {
        let table: &[(&[&[u8]], Progress)] = &[
            (&[b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], done(200, b"ok")),
            (&[b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"o", b"k"], done(200, b"ok")),
            (&[b"HTTP/1.1 20", b"0 OK\r\nContent-Le", b"ngth: 2\r\n\r\nok"], done(200, b"ok")),
            (&[b"HTTP/1.1 500 Oops\r\n\r\nbroken"], done(500, b"broken")),
            (&[b"HTTP/1.0 204 No Content\r\n\r\n"], done(204, b"")),
            (&[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3;x=1\r\n!!!\r\n0\r\n\r\n"], done(200, b"ok!!!")),
            (&[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r", b"\nok", b"\r\n0\r\nX-T: 1\r\n\r\n"], done(200, b"ok")),
            (&[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], done(200, b"")),
        ];
        for (parts, want) in table {
            assert_eq!(&read(parts), want, "{parts:?}");
        }
    }

    #[test]
    fn redirect_location_is_kept() {
        let got = read(&[b"HTTP/1.1 302 Found\r\nLocation: /healthz\r\nContent-Length: 0\r\n\r\n"]);
        let Progress::Done(r) = got else {
            panic!("{got:?}")
        };
        assert_eq!((r.status, r.location.as_deref()), (302, Some("/healthz")));
        assert!(!r.www_authenticate);
    }

    #[test]
    fn a_credentials_challenge_is_noted() {
        let got = read(&[
            b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
        ]);
        let Progress::Done(r) = got else {
            panic!("{got:?}")
        };
        assert_eq!((r.status, r.www_authenticate), (401, true));
    }

    #[test]
    fn failures() {
        let table: &[(&[&[u8]], &str)] = &[
            (&[], "connection closed before any response"),
            (
                &[b"HTTP/1.1 200 OK\r\nContent-"],
                "closed mid-response (in the headers)",
            ),
            (
                &[b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"],
                "closed mid-response (in the body)",
            ),
            (
                &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"],
                "closed mid-response (in the body)",
            ),
            (&[b"garbage\r\n\r\n"], "malformed HTTP response"),
            (&[b"\x00\x01\x02\x03"], "malformed HTTP response"),
            (
                &[b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"],
                "bad Content-Length",
            ),
            (
                &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
                "bad chunk size",
            ),
        ];
        for (parts, want) in table {
            match read(parts) {
                Progress::Failed(msg) => assert!(msg.contains(want), "{parts:?}: {msg}"),
                other => panic!("{parts:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn endless_headers_are_cut_at_64_kib() {
        let mut r = ResponseReader::new();
        assert_eq!(r.feed(b"HTTP/1.1 200 OK\r\n"), Progress::NeedMore);
        let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut fed = 0;
        let verdict = loop {
            match r.feed(line) {
                Progress::NeedMore => fed += line.len(),
                other => break other,
            }
            assert!(fed < 1 << 20, "never cut");
        };
        // Either too many headers (httparse) or too many bytes: bounded either way.
        assert!(matches!(verdict, Progress::Failed(_)), "{verdict:?}");
        assert!(r.head.len() <= MAX_HEAD_BYTES + 1);
    }

    #[test]
    fn a_hundred_headers_are_fine() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..100 {
            head.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
        assert_eq!(read(&[&head]), done(200, b"ok"));
    }

    #[test]
    fn floods_cost_bounded_work() {
        // Interim responses: five are skipped (as Go), the sixth fails.
        let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
        let mut r = ResponseReader::new();
        let verdict = (0..1000)
            .map(|_| r.feed(interim))
            .find(|p| *p != Progress::NeedMore);
        assert_eq!(
            verdict,
            Some(Progress::Failed(
                "more than 5 interim (1xx) responses".into()
            ))
        );
        assert_eq!(r.interim, 6);
        // 101 is a final answer, not an interim one.
        let got = read(&[b"HTTP/1.1 101 Switching Protocols\r\n\r\n"]);
        assert!(
            matches!(got, Progress::Done(Response { status: 101, .. })),
            "{got:?}"
        );
        // Chunk extensions without end: cut at the attempt's byte budget.
        let mut r = ResponseReader::new();
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;";
        assert_eq!(r.feed(head), Progress::NeedMore);
        let ext = [b'x'; 4096];
        let mut fed = head.len();
        let verdict = loop {
            match r.feed(&ext) {
                Progress::NeedMore => fed += ext.len(),
                other => break other,
            }
            assert!(fed < 1 << 20, "never cut");
        };
        assert!(fed <= MAX_RESPONSE_BYTES, "{fed}");
        assert!(matches!(verdict, Progress::Failed(_)), "{verdict:?}");
    }

    #[test]
    fn huge_body_stops_at_10_kib_as_success() {
        let mut r = ResponseReader::new();
        assert_eq!(
            r.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n"),
            Progress::NeedMore
        );
        let block = [b'x'; 4096];
        let mut n = 0;
        let verdict = loop {
            n += 1;
            match r.feed(&block) {
                Progress::NeedMore => assert!(n < 10),
                other => break other,
            }
        };
        let Progress::Done(resp) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(
            (resp.status, resp.body.len(), resp.truncated),
            (200, MAX_BODY_BYTES, true)
        );
    }
}
