#!/usr/bin/env python3
"""The probe part of `make bench` (bench/run.sh runs it; BENCHMARKS.md explains it).

  probes.py --vigil VIGIL --app APP --out DIR [--attempts N] [--schedule-attempts M]

Every vigil here is PID 1 of fresh PID and network namespaces (loopback up,
nothing else in them) and runs `APP http --port 8000 --bind 127.0.0.1` as its
command; the probes target that server. Writes into DIR:

- probe-cost-NAME.txt: CPU per attempt of one probe at a 1 ms period, measured
  over N attempts after a warm-up (NAME: http_get, tcp_socket, exec_true,
  exec_curl); probe-idle.txt: a vigil without probes over the same wall time.
- probe-schedule.txt: `KIND ERROR_US` per attempt (actual minus planned start,
  from vigil's trace log) with three probes at 100 ms periods;
  probe-schedule-control.txt: how late a plain process sleeping to a 100 ms
  grid woke meanwhile (µs), the machine's share of that error.
- probe-rss.txt, probe-rss-idle.txt: /proc status and smaps_rollup of vigil
  with three probes at 1 s periods, and of the idle vigil.
- probe-*.log: each vigil's stderr; every command line goes to commands.txt.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchlib import child_running, children, cold, read

PORT = 8000
HOST = "127.0.0.1"
URL = f"http://{HOST}:{PORT}/"
# Fresh PID and network namespaces; `ip` brings loopback up, then sh execs
# vigil, which keeps PID 1.
NAMESPACES = ["unshare", "--pid", "--fork", "--mount-proc", "--net",
              "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
TICK = os.sysconf("SC_CLK_TCK")
# Warm-up attempts before the first snapshot of a cost run.
WARMUP = 200

running = []


def say(msg):
    print(f"bench: probes: {msg}", file=sys.stderr, flush=True)


def probe(handler, period):
    return json.dumps({**handler, "period_seconds": period, "timeout_seconds": 1})


HTTP = {"http_get": {"path": "/", "port": PORT, "host": HOST}}
TCP = {"tcp_socket": {"port": PORT, "host": HOST}}
TRUE = {"exec": {"command": ["/bin/true"]}}
CURL = {"exec": {"command": ["curl", "-fsS", "-o", "/dev/null", URL]}}


def nspid(pid):
    """The pid as seen inside its PID namespace, None once it is gone."""
    try:
        m = re.search(r"^NSpid:.*\s(\d+)$", read(f"/proc/{pid}/status"), re.M)
    except OSError:
        return None
    return int(m.group(1)) if m else None


class Vigil:
    """One vigil under NAMESPACES; `self.pid` is its pid as seen from here."""

    def __init__(self, out, label, flags):
        self.label = label
        self.log_path = out / f"probe-{label}.log"
        argv = NAMESPACES + [VIGIL, *flags, "--", APP, "http", "--port", str(PORT), "--bind", HOST]
        with open(out / "commands.txt", "a") as f:
            f.write(f"probe-{label}: {shlex.join(argv)}\n")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        running.append(self)
        self.pid = self.wait_for(lambda: child_running(self.proc.pid, VIGIL), "vigil to start")
        self.app = self.wait_for(lambda: child_running(self.pid, APP), "vigil to start its command")
        self.wait_for(self.listening, f"the app to listen on {HOST}:{PORT}")
        self.app_nspid = nspid(self.app)

    def wait_for(self, cond, what, timeout=10.0, every=0.001):
        """Polls `cond` until it is truthy; fails when vigil exits or at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            got = cond()
            if got:
                return got
            if self.proc.poll() is not None:
                sys.exit(f"bench: probes: {self.label}: vigil exited ({self.proc.returncode}) "
                         f"while waiting for {what}; see {self.log_path}")
            if time.monotonic() > deadline:
                sys.exit(f"bench: probes: {self.label}: timed out after {timeout:.0f} s "
                         f"waiting for {what}; see {self.log_path}")
            time.sleep(every)

    def listening(self):
        try:
            rows = [line.split() for line in read(f"/proc/{self.pid}/net/tcp").splitlines()[1:]]
            return any(r[1].endswith(f":{PORT:04X}") and r[3] == "0A" for r in rows)
        except OSError:
            return False

    def tcp_opens(self):
        """Connections started in vigil's network namespace (by vigil or its probes)."""
        lines = [l.split() for l in read(f"/proc/{self.pid}/net/snmp").splitlines()
                 if l.startswith("Tcp:")]
        return int(dict(zip(lines[0], lines[1]))["ActiveOpens"])

    def cpu(self):
        """vigil's own CPU in ns (schedstat, every thread), and in ticks the CPU of the
        children it has reaped."""
        own = sum(int(read(f"/proc/{self.pid}/task/{t}/schedstat").split()[0])
                  for t in os.listdir(f"/proc/{self.pid}/task"))
        f = read(f"/proc/{self.pid}/stat").rsplit(")", 1)[1].split()
        # Fields 16-17 of stat (cutime cstime) are f[13:15] after the ")".
        cutime, cstime = (int(x) for x in f[13:15])
        return dict(own_ns=own, cutime=cutime, cstime=cstime)

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


def snapshot(v, counter):
    """(attempts, cpu, monotonic time, log size), the count and the CPU read together."""
    while True:
        before = counter(v)
        if before is None:
            time.sleep(0.0002)
            continue
        cpu, now = v.cpu(), time.monotonic()
        if counter(v) == before:
            return before, cpu, now, v.log_path.stat().st_size


def by_tcp_opens(v):
    return v.tcp_opens()


def by_pids(v):
    """Exec attempts reaped so far, from the PID namespace's sequential pids: the
    k-th probe process is the app's pid + k, and the (k-1) before it are reaped
    (an exec attempt ends when vigil reaps it). The app must fork nothing: no
    connections to it in this run. None while no probe process exists."""
    kids = [c for c in children(v.pid) if c != v.app]
    n = nspid(kids[-1]) if kids else None
    return None if n is None else n - v.app_nspid - 1


def cost(out, name, handler, counter, attempts, period):
    v = Vigil(out, f"cost-{name}", ["--readiness", probe(handler, period)])
    first = v.wait_for(lambda: counter(v), "the first attempt")
    v.wait_for(lambda: (counter(v) or 0) >= first + WARMUP, f"{WARMUP} warm-up attempts",
               timeout=60)
    a = snapshot(v, counter)
    v.wait_for(lambda: (counter(v) or 0) >= a[0] + attempts, f"{attempts} attempts",
               timeout=attempts * 0.05 + 60, every=0.005)
    b = snapshot(v, counter)
    v.stop()
    with open(v.log_path, "rb") as f:
        f.seek(a[3])
        failures = f.read(b[3] - a[3]).count(b"probe failed")
    result = dict(name=name, probe=probe(handler, period), counter=counter.__name__,
                  attempts=b[0] - a[0], wall_s=f"{b[2] - a[2]:.3f}", failures=failures,
                  clk_tck=TICK, **{k: b[1][k] - a[1][k] for k in a[1]})
    (out / f"probe-cost-{name}.txt").write_text(
        "".join(f"{k}={val}\n" for k, val in result.items()))
    own = result["own_ns"] / result["attempts"] / 1000
    kids = (result["cutime"] + result["cstime"]) / TICK / result["attempts"] * 1e6
    say(f"{name}: {result['attempts']} attempts in {result['wall_s']} s, "
        f"vigil {own:.1f} µs + reaped children {kids:.0f} µs per attempt")


def floor(out, attempts):
    """The kernel's floor (issue 15): bench/floor.c, a blocking client doing
    one probe's exchange per attempt, in the same kind of namespace against
    the same server as vigil's cost runs; its own CPU from schedstat. Run twice
    per handler: in a tight loop, and paced by a 1 ms periodic timer as vigil's
    cost runs are (probe-floor-paced-NAME.txt): the difference is what one
    timed wake per attempt costs any prober with a period."""
    binary = out / "floor"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(Path(__file__).parent / "floor.c")],
                   check=True)
    for name, kind in (("http_get", "http"), ("tcp_socket", "tcp")):
        for label, period in (("floor", []), ("floor-paced", ["1000"])):
            argv = ["unshare", "--pid", "--fork", "--mount-proc", "--net", "sh", "-c",
                    'ip link set lo up && "$1" http --port 8000 --bind 127.0.0.1 2>/dev/null & '
                    'shift && exec "$@"',
                    "sh", APP, str(binary), kind, "127.0.0.1", "8000", str(attempts), *period]
            with open(out / "commands.txt", "a") as f:
                f.write(f"probe-{label}-{name}: {shlex.join(argv)}\n")
            got = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
            (out / f"probe-{label}-{name}.txt").write_text(got.replace(" ", "\n"))
            kv = dict(x.split("=") for x in got.split())
            say(f"{label} {name}: {int(kv['own_ns']) / int(kv['attempts']) / 1000:.1f} µs per "
                f"attempt ({kv['failures']} failed)")


# The control of the schedule run: a process that sleeps to the same 100 ms
# grid and writes how late it woke, in µs. What it sees is the machine's
# (timer slack, CPUs busy with other work), not vigil's.
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


def schedule(out, attempts):
    """Three probes at 100 ms; the trace log has the schedule error of each attempt."""
    marker = re.compile(rb"(\w+) probe attempt \d+ starts (\d+)us after its planned time")
    control = subprocess.Popen([sys.executable, "-c", CONTROL, "0.1",
                                out / "probe-schedule-control.txt"])
    try:
        v = Vigil(out, "schedule", [
            "-vvvv",
            "--startup", probe(TCP, 0.1),
            "--liveness", probe(HTTP, 0.1),
            "--readiness", probe(TRUE, 0.1)])
        v.wait_for(lambda: len(marker.findall(v.log_path.read_bytes())) >= attempts,
                   f"{attempts} attempts in the trace log", timeout=attempts * 0.1 + 60,
                   every=0.1)
        v.stop()
    finally:
        control.terminate()
        control.wait()
    lines = [f"{kind.decode()} {us.decode()}\n"
             for kind, us in marker.findall(v.log_path.read_bytes())]
    (out / "probe-schedule.txt").write_text("".join(lines))
    say(f"schedule: {len(lines)} attempts")


def rss(out):
    """Three probes at 1 s periods, read once each has run at least three times.
    The readiness exec probe appends a line to a file so that its runs can be
    counted; vigil's work for an exec attempt does not depend on the program."""
    global VIGIL
    count = out / "probe-rss-readiness.count"
    count.write_text("")
    shipped, VIGIL = VIGIL, cold(VIGIL, out)
    try:
        v = Vigil(out, "rss", [
            "--startup", probe(TCP, 1),
            "--liveness", probe(HTTP, 1),
            "--readiness", probe({"exec": {"command": ["/bin/sh", "-c", f"echo >>{count}"]}}, 1)])
    finally:
        VIGIL = shipped
    # startup: 1 or 2 connects (the first may come before the app listens);
    # liveness: one per period after that.
    v.wait_for(lambda: v.tcp_opens() >= 5 and len(count.read_text()) >= 3,
               "three attempts of each probe", timeout=30, every=0.01)
    status = v.status()
    (out / "probe-rss.txt").write_text(
        status + f"tcp_opens: {v.tcp_opens()}\nreadiness_runs: {len(count.read_text())}\n")
    v.stop()


def main():
    global VIGIL, APP
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--attempts", type=int, default=10000)
    ap.add_argument("--schedule-attempts", type=int, default=600)
    args = ap.parse_args()
    VIGIL, APP = os.path.realpath(args.vigil), os.path.realpath(args.app)
    out = args.out.resolve()
    t0 = time.monotonic()
    try:
        # The idle baseline runs alongside the cost runs: same wall time, no probes.
        idle = Vigil(out, "idle", [])
        idle_start = idle.cpu(), time.monotonic()
        for name, handler, counter in (
                ("http_get", HTTP, by_tcp_opens),
                ("tcp_socket", TCP, by_tcp_opens),
                ("exec_true", TRUE, by_pids),
                ("exec_curl", CURL, by_tcp_opens)):
            cost(out, name, handler, counter, args.attempts, 0.001)
        floor(out, args.attempts)
        idle_end = idle.cpu(), time.monotonic()
        (out / "probe-idle.txt").write_text(
            f"wall_s={idle_end[1] - idle_start[1]:.3f}\n"
            + "".join(f"{k}={idle_end[0][k] - idle_start[0][k]}\n" for k in idle_end[0]))
        # Alone, so that no other vigil shares its pages (Pss).
        (out / "probe-rss-idle.txt").write_text(idle.status())
        idle.stop()
        rss(out)
        schedule(out, args.schedule_attempts)
    finally:
        for v in list(running):  # only after a failure: PID 1 takes its namespace with it
            if getattr(v, "pid", None):
                os.kill(v.pid, signal.SIGKILL)
            v.proc.kill()
            v.proc.wait()
    say(f"done in {time.monotonic() - t0:.0f} s")


main()
