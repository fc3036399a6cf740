#!/usr/bin/env python3
"""Writes the hand-made part of the seed corpus (fuzz/corpus/<target>/).

The service.json files of tests/fixtures, examples/ and demo/ are copied in
as they are; the rest are written here, so what each seed is for is readable.
Run from the repository root; the corpus is then minimized (docs/fuzzing.md).
"""
import hashlib
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


SERVICE_FILES = [
    "tests/fixtures/config/eas-health-check.json",
    "examples/eas-flask/service.json",
    "examples/eas-flask/service.fixed.json",
    "demo/service.json",
]

CONFIGS = {
    "two-containers": r'''{"containers": [
  {"command": "first"},
  {"script": "exec app --port $LISTENING_PORT", "port": 7000,
   "env": [{"name": "PROBE_ARG", "value": "from-file"}],
   "startup_check": {"tcp_socket": {}, "period_seconds": 1},
   "liveness_check": {"tcp_socket": {}, "period_seconds": 2},
   "readiness_check": {"tcp_socket": {}, "period_seconds": 3}}
]}''',
    "exec-probe": r'''{"containers": [{"command": "app --flag 'a b' \"c\\\"d\"", "port": 8080,
  "env": [{"name": "PATH", "value": "/usr/bin:/bin"}, {"name": "X", "value": "1"}],
  "readiness_check": {"exec": {"command": ["sh", "-c", "test $(X) = 1", "$$(X)"]},
    "initial_delay_seconds": 0, "period_seconds": 1, "timeout_seconds": 1,
    "success_threshold": 1, "failure_threshold": 3},
  "liveness_check": {"http_get": {"path": "/healthz?x=1", "port": 8080, "host": "127.0.0.1",
    "scheme": "HTTP", "http_headers": [{"name": "X-Probe", "value": "1"}]}}}]}''',
    "errors": r'''{"containers": [{"command": "a | b && c $HOME", "port": "8000",
  "liveness_check": {"http_get": {"path": "health", "port": 70000}, "period_seconds": -1,
  "timeout_secs": 1}, "readiness_check": {"tcp_socket": {}, "exec": {"command": []}}}]}''',
    "lints": r'''{"containers": [{"command": "python app.py", "port": 8000,
  "liveness_check": {"http_get": {"path": "/", "port": 9000}, "timeout_seconds": 30,
    "period_seconds": 1, "failure_threshold": 1},
  "startup_check": {"tcp_socket": {"port": 8000}, "success_threshold": 2}}]}''',
    "empty": "{}",
}

JSON = {
    "escapes": r'["\"\\\/\b\f\n\r\t", "\u00e9\ud83d\ude00", "é😀", ""]',
    "numbers": "[0, -0, 1.5, -2.5e3, 1E+2, 1e-2, 18446744073709551616, 1e400, -1e400, 0.1e1]",
    "literals": ' {"a": true, "b": false, "c": null, "d": {}, "e": [[]]}\r\n',
    "bom": '\ufeff{"a": 1}',
    "nested": "[" * 64 + "]" * 64,
    "too-deep": "[" * 65 + "]" * 65,
    "duplicate": '{"port": 1, "port": 2}',
    "trailing-comma": '{"a": [1,],}',
    "lone-surrogate": r'"\ud800"',
    "control": '"a\tb"',
    "bad-utf8": b'{"a": "\xff"}',
    "leading-zero": "[01]",
}

SHELL = {
    "plain": "python app.py --port 8000",
    "quotes": "a' 'b \"c d\" 'e\"f' \"g'h\" '' \"\"",
    "backslashes": "a\\ b \"\\$x \\` \\\" \\\\ \\n\" c\\\nd",
    "syntax": "a | b && c; d > e < f & g $HOME $( ${X} `x` *.py ||",
    "many-syntax": "$A $B $C $D $E $F $G $H $I $J",
    "blanks": " \t\n a \t b \n",
    "unterminated-single": "a 'b",
    "unterminated-double": 'a "b',
    "trailing-backslash": "a \\",
    "unicode": "é 'ü ß' \"😀\" #comment",
}

HTTP = {
    "length": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    "chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA \r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n",
    "interim": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "no-content": "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    "redirect": "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:8000/other?x=1\r\nContent-Length: 0\r\n\r\n",
    "until-close": "HTTP/1.0 503 Service Unavailable\r\n\r\nnot ready",
    "bad-length": "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "bad-chunk": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nzz\r\n",
    "garbage": "SSH-2.0-OpenSSH_9.2\r\n",
    "bare-lf": "HTTP/1.1 500 Internal Server Error\nContent-Length: 3\n\nerr",
    "switching": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    "relative-redirect": "HTTP/1.1 301 Moved Permanently\r\nLocation: /healthz?a=1\r\n\r\n",
    "v6-redirect": "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://[::1]:9000\r\nContent-Length: 2\r\n\r\nok",
    "status-050": "HTTP/1.1 050 Odd\r\nContent-Length: 0\r\n\r\n",
    "big-body": "HTTP/1.1 200 OK\r\nContent-Length: 10300\r\n\r\n" + "x" * 10300,
}

STATUS = {
    "curl": "GET /readyz HTTP/1.1\r\nHost: vigil\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
    "head": "HEAD /livez?verbose HTTP/1.1\r\nHost: x\r\n\r\n",
    "pipelined": "GET /status HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\nConnection: close\r\n\r\nGET /events?since=3 HTTP/1.1\r\n\r\n",
    "absolute": "GET http://vigil/startupz?verbose=1&x HTTP/1.1\r\n\r\n",
    "http10": "GET /readyz HTTP/1.0\r\nConnection: keep-alive, Upgrade\r\n\r\n",
    "post": "POST /readyz HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
    "chunked-body": "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad": "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    "partial": "GET /readyz HTTP/1.1\r\nHost: vi",
    "bare-lf": "GET /events?since=abc HTTP/1.1\nHost: x\n\n",
}


def main():
    for target, items in [
        ("config_json", JSON),
        ("config_json", CONFIGS),
        ("config_check", CONFIGS),
        ("shell_words", SHELL),
        ("http_response", HTTP),
        ("status_request", STATUS),
    ]:
        for name, data in items.items():
            put(target, name, data)
    for path in SERVICE_FILES:
        name = path.replace("/", "_")
        for target in ["config_json", "config_check"]:
            shutil.copy(os.path.join(ROOT, path), os.path.join(CORPUS, target, name))


if __name__ == "__main__":
    main()
