//! What the fuzz targets (fuzz/) and the corpus smoke test
//! (tests/fuzz_corpus.rs) call: thin wrappers over the readers that take
//! untrusted bytes, so nothing else has to be `pub`. Not an API: nothing in
//! vigil calls these, so none of it is linked into the binary.

use crate::cli::CheckOptions;
use crate::config::{json, shell_words};
use crate::probe::http_response::{Progress, ResponseReader};
use crate::probe::net;
use crate::probe::plan::HttpPlan;
use crate::status::http::{self, Method, Parsed};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;

pub use json::{parse_bytes as parse_json, Kind as JsonKind, Member as JsonMember};
pub use json::{Value as JsonValue, MAX_DEPTH as JSON_MAX_DEPTH};
pub use shell_words::{split as split_words, Split, SplitError};

/// `vigil check FILE` (`--json` when `json`) with an environment that holds
/// only `PATH`, the file already written at `file`; its exit status,
/// stdout and stderr.
pub fn check(file: &Path, json: bool) -> (u8, Vec<u8>, Vec<u8>) {
    let opts = CheckOptions {
        file: Some(file.to_path_buf()),
        container: None,
        json,
        strict: false,
        no_default_readiness: false,
        privileges: Default::default(),
    };
    let env = |name: &str| (name == "PATH").then(|| OsString::from("/usr/bin:/bin"));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = crate::check::run(&opts, &env, &mut out, &mut err);
    (status, out, err)
}

/// What the prober's reader made of a response, in the pieces `parts` gives
/// (each fed in turn; the end of the connection after the last, if nothing
/// was decided): `Ok((status, location, body, truncated))` or the failure.
pub type ProbeResponse = Result<(u16, Option<String>, Vec<u8>, bool), String>;

pub fn http_response<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> ProbeResponse {
    let mut reader = ResponseReader::new();
    let mut progress = Progress::NeedMore;
    for part in parts {
        progress = reader.feed(part);
        if progress != Progress::NeedMore {
            break;
        }
    }
    if progress == Progress::NeedMore {
        progress = reader.eof();
    }
    match progress {
        Progress::Done(r) => Ok((r.status, r.location, r.body, r.truncated)),
        Progress::Failed(why) => Err(why),
        Progress::NeedMore => unreachable!("eof always decides"),
    }
}

/// Where the prober goes next for a redirect to `location` from a probe of
/// `http://127.0.0.1:8000/`: the host, port and the request it sends, or
/// `None` when it does not follow it.
pub fn redirect(location: &str) -> Option<(String, u16, Vec<u8>)> {
    let plan = HttpPlan {
        addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
        host: "127.0.0.1".into(),
        path: "/".into(),
        headers: Vec::new(),
    };
    let (host, port, path) = net::redirect_target(&plan, location)?;
    let next = plan.redirected(SocketAddr::new(plan.addr.ip(), port), host.clone(), path);
    Some((host, port, next.request()))
}

/// The status socket's request reader on the bytes held for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusRequest {
    Incomplete,
    TooLarge,
    Bad,
    /// Method (`GET`, `HEAD`, or `other`), path, query, keep-alive, and
    /// the bytes the request took.
    Request(&'static str, String, String, bool, usize),
}

pub fn status_request(buf: &[u8]) -> StatusRequest {
    match http::parse(buf) {
        Parsed::Incomplete => StatusRequest::Incomplete,
        Parsed::TooLarge => StatusRequest::TooLarge,
        Parsed::Bad => StatusRequest::Bad,
        Parsed::Request(r, len) => {
            let method = match r.method {
                Method::Get => "GET",
                Method::Head => "HEAD",
                Method::Other => "other",
            };
            StatusRequest::Request(method, r.path, r.query, r.keep_alive, len)
        }
    }
}

/// The status socket's query lookup (`?verbose`, `?since=N`).
pub fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    http::query_value(query, key)
}

/// The most bytes the status socket holds for one request head.
pub const STATUS_MAX_HEAD: usize = http::MAX_HEAD;
