#!/usr/bin/env python3
"""The status socket part of `make bench` (bench/run.sh runs it; BENCHMARKS.md explains it).

  status.py --vigil VIGIL --app APP --out DIR [--seconds S] [--transitions N]
            [--schedule-seconds T] [--ready-runs R] [--load-workers W]
            [--load-round K] [--idle-conns I]

vigil alone (no other init has a status socket). Every vigil here is PID 1 of
fresh PID and network namespaces (loopback up) and runs either the test app's
HTTP server (`APP http --port 8000 --bind 127.0.0.1`) or, for the transitions,
this script's own notify sender. The clients are in this script: Python, the
standard library, AF_UNIX sockets directly. Writes into DIR:

- status-rps.txt: one line per load (path, keep-alive or not, workers): requests,
  errors, seconds, vigil's CPU over the load (utime+stime ticks and schedstat ns);
  status-rps-PATH-MODE-W.txt: each request's latency, µs.
- status-transition-OBSERVER.txt: `up|down LATENCY_US` per readiness transition,
  from the sender's CLOCK_MONOTONIC right before its sendto(READY=1 or
  RELOADING=1) to the moment this script saw it (OBSERVER: file, events, readyz;
  control: the sender's datagram through a trivial relay process to this
  script, vigil not involved: the machine's share); status-transitions.txt:
  vigil's CPU (schedstat ns) over each observer's transitions, /readyz polls.
- status-schedule.txt: `PHASE KIND ERROR_US` per probe attempt (PHASE: idle, load)
  from vigil's trace log, three probes at 100 ms; status-schedule-control-PHASE.txt:
  how late a plain process sleeping to a 100 ms grid woke meanwhile (µs);
  status-schedule-load.txt: what the load did (requests, refusals, vigil's CPU).
- status-rss-idle.txt (three probes at 1 s, each run three times),
  status-rss-after-load.txt (right after the rps loads), status-rss-rested.txt
  (3 s later), status-rss-schedule-load.txt (the schedule run's vigil under its load).
- status-ready.txt, status-ready-true.txt: wall time of each `VIGIL ready --socket S`
  run and of `/bin/true` started the same way (µs); status-ready-info.txt: failures.
- status-*.log: each vigil's stderr; every command line goes to commands.txt.

`status.py notify-sender IN OUT CONTROL` is the transitions run's command (not for people).
"""

import argparse
import array
import ctypes
import errno
import json
import os
import random
import re
import select
import selectors
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import child_running, cold, read

PORT = 8000
HOST = "127.0.0.1"
NAMESPACES = ["unshare", "--pid", "--fork", "--mount-proc", "--net",
              "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
TICK = os.sysconf("SC_CLK_TCK")
SELF = os.path.realpath(__file__)

running = []
helpers = []  # other processes started here, killed if the run fails


def say(msg):
    print(f"bench: status: {msg}", file=sys.stderr, flush=True)


def probe(handler, period):
    return json.dumps({**handler, "period_seconds": period, "timeout_seconds": 1})


HTTP = {"http_get": {"path": "/", "port": PORT, "host": HOST}}
TCP = {"tcp_socket": {"port": PORT, "host": HOST}}
TRUE = {"exec": {"command": ["/bin/true"]}}


def command_line(out, label, argv):
    with open(out / "commands.txt", "a") as f:
        f.write(f"status-{label}: {argv if isinstance(argv, str) else shlex.join(argv)}\n")


def pcts(xs):
    """p50, p99, max (nearest rank) of a sorted list."""
    def p(q):
        return xs[max(1, min(len(xs), -(-len(xs) * q // 100))) - 1]
    return p(50), p(99), xs[-1]


class Vigil:
    """One vigil under NAMESPACES; `self.pid` is its pid as seen from here."""

    def __init__(self, out, label, flags, command=None):
        self.label = label
        self.log_path = out / f"status-{label}.log"
        app = command is None
        command = command or [APP, "http", "--port", str(PORT), "--bind", HOST]
        argv = NAMESPACES + [VIGIL, *flags, "--", *command]
        command_line(out, label, argv)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        running.append(self)
        self.pid = self.wait_for(lambda: child_running(self.proc.pid, VIGIL), "vigil to start")
        if app:
            self.wait_for(lambda: child_running(self.pid, APP), "vigil to start its command")
            self.wait_for(self.listening, f"the app to listen on {HOST}:{PORT}")

    def wait_for(self, cond, what, timeout=10.0, every=0.001):
        """Polls `cond` until it is truthy; fails when vigil exits or at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            got = cond()
            if got:
                return got
            if self.proc.poll() is not None:
                sys.exit(f"bench: status: {self.label}: vigil exited ({self.proc.returncode}) "
                         f"while waiting for {what}; see {self.log_path}")
            if time.monotonic() > deadline:
                sys.exit(f"bench: status: {self.label}: timed out after {timeout:.0f} s "
                         f"waiting for {what}; see {self.log_path}")
            time.sleep(every)

    def alive(self, what):
        if self.proc.poll() is not None:
            sys.exit(f"bench: status: {self.label}: vigil exited ({self.proc.returncode}) "
                     f"during {what}; see {self.log_path}")

    def listening(self):
        try:
            rows = [line.split() for line in read(f"/proc/{self.pid}/net/tcp").splitlines()[1:]]
            return any(r[1].endswith(f":{PORT:04X}") and r[3] == "0A" for r in rows)
        except OSError:
            return False

    def tcp_opens(self):
        lines = [l.split() for l in read(f"/proc/{self.pid}/net/snmp").splitlines()
                 if l.startswith("Tcp:")]
        return int(dict(zip(lines[0], lines[1]))["ActiveOpens"])

    def cpu(self):
        """vigil's own CPU: utime+stime of /proc/PID/stat (ticks) and the sum of
        its threads' schedstat (ns)."""
        f = read(f"/proc/{self.pid}/stat").rsplit(")", 1)[1].split()
        # Fields 14-15 of stat (utime stime) are f[11:13] after the ")".
        ticks = int(f[11]) + int(f[12])
        ns = sum(int(read(f"/proc/{self.pid}/task/{t}/schedstat").split()[0])
                 for t in os.listdir(f"/proc/{self.pid}/task"))
        return ticks, ns

    def status(self):
        text = read(f"/proc/{self.pid}/status")
        keep = [l for l in text.splitlines()
                if l.split(":")[0] in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")]
        pss = [l for l in read(f"/proc/{self.pid}/smaps_rollup").splitlines()
               if l.startswith("Pss:")]
        return "\n".join(keep + pss) + "\n"

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        running.remove(self)


# --- HTTP over the Unix socket ------------------------------------------------

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)


def request_bytes(path, keep_alive):
    close = b"" if keep_alive else b"Connection: close\r\n"
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: vigil\r\n" + close + b"\r\n"


def unix_connect(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    return s


def read_response(s, buf):
    """One response of a keep-alive connection, its status code; what follows it
    stays in `buf` (a bytearray)."""
    while True:
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            break
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a whole response head")
        buf += chunk
    m = CONTENT_LENGTH.search(buf, 0, i + 2)
    end = i + 4 + (int(m.group(1)) if m else 0)
    while len(buf) < end:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the whole body")
        buf += chunk
    status = int(buf[9:12])
    del buf[:end]
    return status


def one_shot(sock_path, req):
    """A request on its own connection (`Connection: close`): the status code."""
    s = unix_connect(sock_path)
    try:
        s.sendall(req)
        data = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    if not data.startswith(b"HTTP/1.1 "):
        raise ConnectionError("no response")
    return int(data[9:12])


# --- 1. requests per second ---------------------------------------------------

def rps_worker(sock_path, path, keep_alive, start, end, result):
    """A forked worker: requests one after the other from `start` to `end`
    (monotonic seconds); writes [errors, latency_ns...] to `result`."""
    req = request_bytes(path, keep_alive)
    lat = array.array("q", [0])
    errors = 0
    conn, buf = None, bytearray()
    time.sleep(max(0.0, start - time.monotonic()))
    clock = time.monotonic_ns
    end_ns = int(end * 1e9)
    while True:
        t0 = clock()
        if t0 >= end_ns:
            break
        try:
            if keep_alive:
                if conn is None:
                    conn, buf = unix_connect(sock_path), bytearray()
                conn.sendall(req)
                status = read_response(conn, buf)
            else:
                status = one_shot(sock_path, req)
        except OSError:
            errors += 1
            if conn is not None:
                conn.close()
                conn = None
            continue
        t1 = clock()
        if status != 200:
            errors += 1
            continue
        lat.append(t1 - t0)
    lat[0] = errors
    with open(result, "wb") as f:
        lat.tofile(f)


def forked(fn, *args):
    """Runs fn(*args) in a child process; its pid."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            fn(*args)
        except BaseException as e:  # a child never returns into the benchmark
            print(f"bench: status: worker: {e!r}", file=sys.stderr)
            code = 1
        finally:
            os._exit(code)
    return pid


def reap(pids):
    bad = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        bad += status != 0
    if bad:
        sys.exit(f"bench: status: {bad} load worker(s) failed")


def rps(out, v, sock_path, tmp, seconds):
    lines = []
    for path in ("/readyz", "/status"):
        for keep_alive in (False, True):
            for workers in (1, 8):
                mode = "keepalive" if keep_alive else "close"
                command_line(out, f"rps-{path[1:]}-{mode}-{workers}",
                             f"(status.py) {workers} worker process(es), each GET {path} "
                             f"{'on one keep-alive connection' if keep_alive else 'with Connection: close, a new connection each'}"
                             f", one after the other, for {seconds} s, on {sock_path}")
                start = time.monotonic() + 0.2
                end = start + seconds
                results = [tmp / f"rps-{i}" for i in range(workers)]
                pids = [forked(rps_worker, sock_path, path, keep_alive, start, end, r)
                        for r in results]
                time.sleep(max(0.0, start - time.monotonic()))
                c0 = v.cpu()
                time.sleep(max(0.0, end - time.monotonic()))
                c1 = v.cpu()
                reap(pids)
                v.alive("the rps load")
                lat, errors = [], 0
                for r in results:
                    a = array.array("q")
                    a.frombytes(r.read_bytes())
                    errors += a[0]
                    lat.extend(a[1:])
                    r.unlink()
                (out / f"status-rps-{path[1:]}-{mode}-{workers}.txt").write_text(
                    "".join(f"{x / 1000:.1f}\n" for x in lat))
                lines.append(f"path={path} keepalive={int(keep_alive)} workers={workers} "
                             f"seconds={seconds} requests={len(lat)} errors={errors} "
                             f"cpu_ticks={c1[0] - c0[0]} clk_tck={TICK} cpu_ns={c1[1] - c0[1]}\n")
                lat.sort()
                p50, p99, _ = pcts(lat) if lat else (0, 0, 0)
                say(f"rps: GET {path} {mode} x{workers}: {len(lat) / seconds:.0f}/s, "
                    f"p50 {p50 / 1000:.0f} µs, p99 {p99 / 1000:.0f} µs, {errors} errors, vigil "
                    f"{(c1[1] - c0[1]) / max(1, len(lat)) / 1000:.1f} µs CPU per request")
                time.sleep(0.5)
    (out / "status-rps.txt").write_text("".join(lines))


# --- 5. vigil ready -------------------------------------------------------------

def ready_runs(out, sock_path, runs):
    argv = [VIGIL, "ready", "--socket", sock_path]
    command_line(out, "ready", f"{shlex.join(argv)}  ({runs} runs, subprocess.run, wall time each)")
    command_line(out, "ready-true", f"/bin/true  ({runs} runs the same way, the baseline)")
    info = {}
    for name, cmd in (("ready", argv), ("ready-true", ["/bin/true"])):
        times, failures = [], 0
        for _ in range(runs):
            t0 = time.monotonic_ns()
            rc = subprocess.run(cmd, stdin=subprocess.DEVNULL).returncode
            times.append(time.monotonic_ns() - t0)
            failures += rc != 0
        (out / f"status-{name}.txt").write_text("".join(f"{t / 1000:.0f}\n" for t in times))
        info[name] = failures
        times.sort()
        say(f"{name}: p50 {pcts(times)[0] / 1e6:.2f} ms, p99 {pcts(times)[1] / 1e6:.2f} ms, "
            f"{failures} failed")
    (out / "status-ready-info.txt").write_text(
        f"runs={runs}\nfailures={info['ready']}\ntrue_failures={info['ready-true']}\n")


# --- 1, 4 and 5 share one vigil ---------------------------------------------------

def socket_up(sock_path):
    try:
        return one_shot(sock_path, request_bytes("/livez", False)) == 200
    except OSError:
        return False


def rss_rps_ready(out, tmp, seconds, runs):
    """Three probes at 1 s: RSS once each ran three times; then `vigil ready`,
    the rps loads, and RSS again, right after and 3 s later."""
    sock_path = str(tmp / "rss.sock")
    global VIGIL
    count = tmp / "readiness.count"
    count.write_text("")
    shipped, VIGIL = VIGIL, cold(VIGIL, out)
    try:
        v = Vigil(out, "rss", [
            "--socket", sock_path,
            "--startup", probe(TCP, 1),
            "--liveness", probe(HTTP, 1),
            "--readiness", probe({"exec": {"command": ["/bin/sh", "-c", f"echo >>{count}"]}}, 1)])
    finally:
        VIGIL = shipped
    v.wait_for(lambda: socket_up(sock_path), "the status socket")
    v.wait_for(lambda: v.tcp_opens() >= 5 and len(count.read_text()) >= 3,
               "three attempts of each probe", timeout=30, every=0.01)
    (out / "status-rss-idle.txt").write_text(
        v.status() + f"tcp_opens: {v.tcp_opens()}\nreadiness_runs: {len(count.read_text())}\n")
    ready_runs(out, sock_path, runs)
    rps(out, v, sock_path, tmp, seconds)
    (out / "status-rss-after-load.txt").write_text(v.status())
    time.sleep(3)
    (out / "status-rss-rested.txt").write_text(v.status())
    v.alive("the rps loads")
    v.stop()


def drain(out, tmp, runs):
    """`--drain 1s`: from SIGTERM to the first 503 on `/readyz`, seen by a
    client polling on one keep-alive connection."""
    sock_path = str(tmp / "drain.sock")
    rows = []
    for i in range(runs):
        v = Vigil(out, "drain", ["--socket", sock_path, "--drain", "1s"])
        v.wait_for(lambda: socket_up(sock_path), "the status socket")
        obs = ReadyzObserver(None, sock_path)
        if obs.wait(True, time.monotonic() + 5) is None:
            sys.exit("bench: status: drain: vigil never ready")
        t0 = time.monotonic_ns()
        os.kill(v.pid, signal.SIGTERM)
        seen = obs.wait(False, time.monotonic() + 5)
        obs.close()
        if seen is None:
            sys.exit("bench: status: drain: no 503 within 5 s of SIGTERM")
        rows.append(f"{i} {(seen - t0) / 1000:.1f}\n")
        v.proc.wait(timeout=10)
        running.remove(v)
        v.log.close()
    (out / "status-drain.txt").write_text("".join(rows))
    xs = sorted(float(r.split()[1]) for r in rows)
    say(f"drain: SIGTERM to /readyz 503, {runs} runs: p50 {xs[len(xs) // 2]:.0f} µs, max {xs[-1]:.0f} µs")


# --- 2. readiness transitions -------------------------------------------------------

def notify_sender(fifo_in, fifo_out, control):
    """The transitions run's command: for each byte read from `fifo_in`, `r`
    sends READY=1 and `l` RELOADING=1 to NOTIFY_SOCKET, `c` a datagram to
    `control` (the benchmark itself, not vigil); each send's CLOCK_MONOTONIC
    (ns, taken right before sendto) goes to `fifo_out`, a line."""
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    inp = os.open(fifo_in, os.O_RDONLY)
    outp = os.open(fifo_out, os.O_WRONLY)
    while True:
        c = os.read(inp, 1)
        if not c:
            return
        to = control if c == b"c" else addr
        msg = {b"r": b"READY=1", b"l": b"RELOADING=1"}.get(c, b"PING")
        t = time.monotonic_ns()
        s.sendto(msg, to)
        os.write(outp, b"%d\n" % t)


IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000


class FileObserver:
    """inotify (through ctypes) on the ready file's directory: the file appears
    by rename (IN_MOVED_TO) and goes by unlink (IN_DELETE)."""
    name = "file"

    def __init__(self, ready_file, sock_path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        mask = IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
        if libc.inotify_add_watch(self.fd, str(ready_file.parent).encode(), mask) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        self.file = ready_file

    def arm(self):
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass

    def wait(self, ready, deadline):
        want = (IN_MOVED_TO | IN_CREATE) if ready else (IN_DELETE | IN_MOVED_FROM)
        name = self.file.name.encode()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            now = time.monotonic_ns()
            off = 0
            while off < len(buf):
                _, mask, _, n = struct.unpack_from("iIII", buf, off)
                got = buf[off + 16:off + 16 + n].rstrip(b"\0")
                off += 16 + n
                if got == name and mask & want:
                    return now

    def close(self):
        os.close(self.fd)


class EventsObserver:
    """A client streaming /events: the `"event":"ready"` line with the new value."""
    name = "events"

    def __init__(self, ready_file, sock_path):
        self.s = unix_connect(sock_path)
        self.s.sendall(request_bytes("/events", True))
        self.buf = bytearray()
        self.seen = None
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        del self.buf[:self.buf.find(b"\r\n\r\n") + 4]

    def arm(self):
        """Forgets the lines of the previous transitions."""
        self.s.setblocking(False)
        try:
            while chunk := self.s.recv(65536):
                self.buf += chunk
        except BlockingIOError:
            pass
        self.s.setblocking(True)
        del self.buf[:self.buf.rfind(b"\n") + 1]

    def wait(self, ready, deadline):
        want = b'"event":"ready","ready":' + (b"true" if ready else b"false")
        while True:
            while b"\n" in self.buf:
                i = self.buf.find(b"\n")
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                if want in line:
                    return self.seen
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            chunk = self.s.recv(65536)
            self.seen = time.monotonic_ns()
            if not chunk:
                raise ConnectionError("/events stream closed")
            self.buf += chunk

    def close(self):
        self.s.close()


class ReadyzObserver:
    """A client polling /readyz on one keep-alive connection in a tight loop."""
    name = "readyz"

    def __init__(self, ready_file, sock_path):
        self.s = unix_connect(sock_path)
        self.buf = bytearray()
        self.req = request_bytes("/readyz", True)
        self.polls = 0

    def arm(self):
        pass

    def wait(self, ready, deadline):
        want = 200 if ready else 503
        deadline_ns = int(deadline * 1e9)
        while True:
            self.s.sendall(self.req)
            status = read_response(self.s, self.buf)
            now = time.monotonic_ns()
            self.polls += 1
            if status == want:
                return now
            if now > deadline_ns:
                return None

    def close(self):
        self.s.close()


# The control of the transitions: a process that, like vigil, sleeps in its
# event wait between transitions and passes each datagram on to the observer.
RELAY = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    s.sendto(s.recv(64), sys.argv[2])
"""


class ControlObserver:
    """Not vigil: the sender's datagram goes to a relay process (RELAY), blocked
    in recv since the last transition as vigil is, which sends it on to this
    script, blocked in select: what two wake-ups cost on this machine, as many as
    each observer of vigil pays (vigil's, then its own)."""
    name = "control"

    def __init__(self, out, tmp):
        relay_in, relay_out = str(tmp / "relay-in.sock"), str(tmp / "relay-out.sock")
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(relay_out)
        argv = [sys.executable, "-c", RELAY, relay_in, relay_out]
        command_line(out, "transitions-control-relay", argv)
        self.relay = subprocess.Popen(argv)
        helpers.append(self.relay)
        self.addr = relay_in
        deadline = time.monotonic() + 10
        while not os.path.exists(relay_in):
            if self.relay.poll() is not None or time.monotonic() > deadline:
                sys.exit("bench: status: transitions: the control relay did not start")
            time.sleep(0.001)

    def arm(self):
        pass

    def wait(self, ready, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.s], [], [], left)[0]:
            return None
        self.s.recv(64)
        return time.monotonic_ns()

    def close(self):
        self.s.close()
        self.relay.terminate()
        self.relay.wait()


def transitions(out, tmp, n):
    sock_path = str(tmp / "transitions.sock")
    ready_file = tmp / "ready" / "ready"
    ready_file.parent.mkdir()
    fifo_in, fifo_out = tmp / "notify-in", tmp / "notify-out"
    control = ControlObserver(out, tmp)
    os.mkfifo(fifo_in)
    os.mkfifo(fifo_out)
    v = Vigil(out, "transitions",
              ["--notify", "--socket", sock_path, "--ready-file", str(ready_file)],
              command=[sys.executable, SELF, "notify-sender", str(fifo_in), str(fifo_out),
                       control.addr])
    v.wait_for(lambda: socket_up(sock_path), "the status socket")
    # Our reading end first (non-blocking, so it does not wait for the sender),
    # then the writing end, which exists once the sender has opened its input.
    stamps_fd = os.open(fifo_out, os.O_RDONLY | os.O_NONBLOCK)

    def open_trigger():
        try:
            return os.open(fifo_in, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno == errno.ENXIO:
                return None
            raise
    trigger = v.wait_for(open_trigger, "the notify sender to open its FIFO")
    os.set_blocking(trigger, True)
    os.set_blocking(stamps_fd, True)
    stamps = open(stamps_fd, "rb")
    info = []
    for cls in (ControlObserver, FileObserver, EventsObserver, ReadyzObserver):
        ready = one_shot(sock_path, request_bytes("/readyz", False)) == 200
        obs = control if cls is ControlObserver else cls(ready_file, sock_path)
        rows = []
        cpu0 = v.cpu()
        for i in range(n):
            ready = not ready
            obs.arm()
            os.write(trigger, b"c" if obs is control else b"r" if ready else b"l")
            seen = obs.wait(ready, time.monotonic() + 5)
            sent = int(stamps.readline())
            if seen is None:
                sys.exit(f"bench: status: transitions: {obs.name}: transition {i + 1} to "
                         f"{'ready' if ready else 'not ready'} not seen within 5 s; "
                         f"see {v.log_path}")
            rows.append(f"{'up' if ready else 'down'} {(seen - sent) / 1000:.1f}\n")
            # Let vigil finish the change (ready file, event lines) and idle.
            time.sleep(0.005 + random.random() * 0.005)
        cpu1 = v.cpu()
        polls = getattr(obs, "polls", 0)
        extra = f", {polls} polls" if polls else ""
        obs.close()
        info.append(f"{obs.name}_transitions={n}\n{obs.name}_cpu_ns={cpu1[1] - cpu0[1]}\n"
                    f"{obs.name}_polls={polls}\n")
        (out / f"status-transition-{obs.name}.txt").write_text("".join(rows))
        lat = sorted(float(r.split()[1]) for r in rows)
        p50, p99, mx = pcts(lat)
        say(f"transitions: {obs.name}: {n}, p50 {p50:.0f} µs, p99 {p99:.0f} µs, "
            f"max {mx:.0f} µs{extra}, vigil {(cpu1[1] - cpu0[1]) / n / 1000:.0f} µs CPU each")
    command_line(out, "transitions-observers",
                 f"(status.py) per observer {n} transitions: a byte into {fifo_in} makes the sender "
                 "send READY=1 or RELOADING=1; observers: inotify on the ready file's directory, "
                 "a GET /events stream, GET /readyz polled on one keep-alive connection; control: "
                 f"{n} datagrams from the sender through the relay to status.py")
    (out / "status-transitions.txt").write_text("".join(info))
    os.close(trigger)
    stamps.close()
    v.alive("the transitions")
    v.stop()


# --- 3. probe schedule error under socket load ------------------------------------------

CONTROL = """
import sys, time
period, out = float(sys.argv[1]), open(sys.argv[2], "w", buffering=1)
t0, k = time.monotonic(), 1
while True:
    at = t0 + k * period
    time.sleep(max(0.0, at - time.monotonic()))
    out.write(f"{(time.monotonic() - at) * 1e6:.0f}\\n")
    k += 1
"""

PATHS = [b"/readyz", b"/status", b"/metrics"]


def load_loop(sock_path, workers, per_round, idle, end, result):
    """A forked selector loop until `end`: `workers` connections at a time, each a
    request with `Connection: close` (/readyz, /status, /metrics in turn),
    `per_round` requests in all per round, rounds one after the other; and `idle`
    connections that send nothing, opened again when vigil closes them."""
    reqs = [request_bytes(p.decode(), False) for p in PATHS]
    sel = selectors.DefaultSelector()
    st = dict(ok=0, bad=0, refused=0, backlog_full=0, rounds=0, idle_opened=0,
              idle_timed_out=0, idle_closed_early=0)
    budget, inflight, idle_open, k = per_round, 0, 0, 0
    idle_retry_at = []  # when a closed idle connection may be opened again

    def connect():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(sock_path)
        except BlockingIOError:  # the listener's backlog is full
            s.close()
            st["backlog_full"] += 1
            return None
        return s

    for _ in range(idle):
        idle_retry_at.append(0.0)
    while True:
        now = time.monotonic()
        if now >= end:
            break
        while idle_retry_at and min(idle_retry_at) <= now:
            s = connect()
            if s is None:
                break
            idle_retry_at.remove(min(idle_retry_at))
            sel.register(s, selectors.EVENT_READ, ("idle", now))
            idle_open += 1
            st["idle_opened"] += 1
        while inflight < workers and budget > 0:
            s = connect()
            if s is None:
                break
            try:
                s.send(reqs[k % len(reqs)])
            except OSError:  # accepted and closed at once: over the limit
                s.close()
                st["refused"] += 1
                continue
            k += 1
            budget -= 1
            inflight += 1
            sel.register(s, selectors.EVENT_READ, ("req", bytearray()))
        if budget == 0 and inflight == 0:
            st["rounds"] += 1
            budget = per_round
            continue
        pending = (inflight < workers and budget > 0) or any(t <= now for t in idle_retry_at)
        for key, _ in sel.select(0.0005 if pending else min(0.05, max(0.0, end - now))):
            s = key.fileobj
            kind, data = key.data
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                if kind == "req":
                    data += chunk
                continue
            sel.unregister(s)
            s.close()
            if kind == "req":
                inflight -= 1
                if data.startswith(b"HTTP/1.1 200"):
                    st["ok"] += 1
                elif not data:  # accepted and closed at once: over the limit
                    st["refused"] += 1
                    budget += 1
                else:
                    st["bad"] += 1
            else:
                idle_open -= 1
                lived = time.monotonic() - data
                if lived >= 4.5:
                    st["idle_timed_out"] += 1
                    idle_retry_at.append(0.0)
                else:  # refused: over the limit; try again a little later
                    st["idle_closed_early"] += 1
                    idle_retry_at.append(time.monotonic() + 0.01)
    Path(result).write_text("".join(f"{k}={v}\n" for k, v in st.items()))


def schedule(out, tmp, seconds, workers, per_round, idle):
    """Three probes at 100 ms and the trace log's schedule error: `seconds`
    without load, then `seconds` with the load of load_loop, on one vigil."""
    marker = re.compile(rb"(\w+) probe attempt \d+ starts (\d+)us after its planned time")
    sock_path = str(tmp / "schedule.sock")
    v = Vigil(out, "schedule", [
        "-vvv", "--socket", sock_path,
        "--startup", probe(TCP, 0.1),
        "--liveness", probe(HTTP, 0.1),
        "--readiness", probe(TRUE, 0.1)])
    v.wait_for(lambda: socket_up(sock_path), "the status socket")
    v.wait_for(lambda: len(marker.findall(v.log_path.read_bytes())) >= 6, "the first attempts")
    rows, info = [], {}
    for phase in ("idle", "load"):
        control = subprocess.Popen([sys.executable, "-c", CONTROL, "0.1",
                                    out / f"status-schedule-control-{phase}.txt"])
        helpers.append(control)
        time.sleep(0.3)  # the first attempts after a change of phase are not counted
        a = v.log_path.stat().st_size
        c0, t0 = v.cpu(), time.monotonic()
        pid = None
        if phase == "load":
            result = tmp / "load.txt"
            command_line(out, "schedule-load",
                         f"(status.py) a selector loop on {sock_path} for {seconds} s: {workers} "
                         f"connections at a time, each one GET (/readyz, /status, /metrics in "
                         f"turn) with Connection: close, {per_round} requests per round, rounds "
                         f"back to back; plus {idle} connections that send nothing, opened "
                         f"again when closed")
            # The load goes on 0.5 s past the measurement, so that RSS is read under it.
            pid = forked(load_loop, sock_path, workers, per_round, idle,
                         time.monotonic() + 0.3 + seconds + 0.5, str(result))
            time.sleep(0.3)
            a = v.log_path.stat().st_size
            c0, t0 = v.cpu(), time.monotonic()
        time.sleep(seconds)
        b = v.log_path.stat().st_size
        c1, t1 = v.cpu(), time.monotonic()
        if pid:
            (out / "status-rss-schedule-load.txt").write_text(v.status())
            reap([pid])
            info.update(line.split("=", 1) for line in result.read_text().split())
        control.terminate()
        control.wait()
        v.alive(f"the schedule run ({phase})")
        with open(v.log_path, "rb") as f:
            f.seek(a)
            chunk = f.read(b - a)
        got = marker.findall(chunk)
        rows += [f"{phase} {kind.decode()} {us.decode()}\n" for kind, us in got]
        info[f"{phase}_attempts"] = len(got)
        info[f"{phase}_seconds"] = f"{t1 - t0:.3f}"
        info[f"{phase}_cpu_ticks"] = c1[0] - c0[0]
        info[f"{phase}_cpu_ns"] = c1[1] - c0[1]
        xs = sorted(int(us) for _, us in got)
        p50, p99, mx = pcts(xs) if xs else (0, 0, 0)
        say(f"schedule ({phase}): {len(xs)} attempts, p50 {p50} µs, p99 {p99} µs, max {mx} µs"
            + (f"; load: {info['ok']} requests answered, {info['refused']} refused, "
               f"{info['idle_timed_out']} idle connections timed out" if pid else ""))
    info.update(workers=workers, per_round=per_round, idle=idle, clk_tck=TICK)
    v.stop()
    (out / "status-schedule-load.txt").write_text("".join(f"{k}={v}\n" for k, v in info.items()))
    (out / "status-schedule.txt").write_text("".join(rows))


def main():
    global VIGIL, APP
    if sys.argv[1:2] == ["notify-sender"]:
        return notify_sender(*sys.argv[2:5])
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--transitions", type=int, default=200)
    ap.add_argument("--schedule-seconds", type=float, default=30)
    ap.add_argument("--ready-runs", type=int, default=200)
    ap.add_argument("--drain-runs", type=int, default=20)
    ap.add_argument("--load-workers", type=int, default=100)
    ap.add_argument("--load-round", type=int, default=1000)
    ap.add_argument("--idle-conns", type=int, default=64)
    args = ap.parse_args()
    VIGIL, APP = os.path.realpath(args.vigil), os.path.realpath(args.app)
    out = args.out.resolve()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-status-"))  # short socket paths
    t0 = time.monotonic()
    try:
        rss_rps_ready(out, tmp, args.seconds, args.ready_runs)
        transitions(out, tmp, args.transitions)
        drain(out, tmp, args.drain_runs)
        schedule(out, tmp, args.schedule_seconds, args.load_workers, args.load_round,
                 args.idle_conns)
    finally:
        for v in list(running):  # only after a failure: PID 1 takes its namespace with it
            if getattr(v, "pid", None):
                os.kill(v.pid, signal.SIGKILL)
            v.proc.kill()
            v.proc.wait()
        for p in helpers:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"done in {time.monotonic() - t0:.0f} s")


main()
