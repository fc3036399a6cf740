#!/usr/bin/env python3
"""Turns bench/out/ (written by bench/run.sh) into the markdown of BENCHMARKS.md."""

import json
import re
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/out")
NAMES = ["vigil", "tini-static", "dumb-init", "catatonit"]
MIB = 1024 * 1024


def keyvals(path):
    """The `key=value` lines of a file."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def hyperfine(path):
    """name -> result dict of a hyperfine JSON export."""
    data = json.loads(path.read_text())
    return {r["command"]: r for r in data["results"]}


def samples(path):
    return sorted(float(x) for x in path.read_text().split())


def pct(xs, p):
    i = max(1, min(len(xs), -(-len(xs) * p // 100))) - 1  # nearest rank
    return xs[int(i)]


def kib(path, key):
    m = re.search(rf"^{key}:\s+(\d+) kB", path.read_text(), re.M)
    return int(m.group(1)) if m else None


def ms(seconds):
    return f"{seconds * 1000:.2f}"


def inits(m):
    size = {}
    for line in (out / "size.tsv").read_text().splitlines():
        name, path, nbytes, linkage = line.split("\t")
        size[name] = (path, int(nbytes), linkage)
    direct = hyperfine(out / "startup-direct.json")
    pid1 = hyperfine(out / "startup-pid1.json")
    rows = {}
    for n in NAMES:
        rss = out / f"rss-{n}.txt"
        orphans = hyperfine(out / f"orphans-{n}.json")[n]
        lines = re.findall(r"made_in_ms=(\d+) reaped_in_ms=(\d+) zombies_left=(\d+)",
                           (out / f"orphans-{n}.log").read_text())
        drain = samples(out / f"drain-{n}.txt")
        lat = samples(out / f"latency-{n}.txt")
        rows[n] = dict(
            size=size[n],
            rss=kib(rss, "VmRSS"),
            pss=kib(rss, "Pss"),
            direct=direct[n],
            pid1=pid1[n],
            orphans=orphans,
            behind=[int(r) - int(mk) for mk, r, _ in lines],
            left=max((int(z) for _, _, z in lines), default=None),
            drain=drain,
            lat=lat,
        )
    base_d, base_p = direct["true"], pid1["true"]

    print("| | vigil | tini-static | dumb-init | catatonit |")
    print("|---|---:|---:|---:|---:|")

    def row(label, fn):
        print(f"| {label} | " + " | ".join(fn(rows[n]) for n in NAMES) + " |")

    row("binary size, bytes", lambda r: f"{r['size'][1]:,}")
    row("linkage", lambda r: r["size"][2])
    row("idle VmRSS of the init (PID 1), KiB", lambda r: str(r["rss"]))
    row("idle Pss of the init, KiB", lambda r: str(r["pss"]))
    row(f"`INIT true`, not PID 1: mean ± σ, ms (bare `true`: {ms(base_d['mean'])} ± {ms(base_d['stddev'])})",
        lambda r: f"{ms(r['direct']['mean'])} ± {ms(r['direct']['stddev'])}")
    row("… overhead over bare `true`, ms",
        lambda r: f"{ms(r['direct']['mean'] - base_d['mean'])}")
    row(f"`unshare --pid --fork INIT true` (PID 1): mean ± σ, ms (no init: {ms(base_p['mean'])} ± {ms(base_p['stddev'])})",
        lambda r: f"{ms(r['pid1']['mean'])} ± {ms(r['pid1']['stddev'])}")
    row("… overhead over no init, ms", lambda r: f"{ms(r['pid1']['mean'] - base_p['mean'])}")
    n_orph = int(m.get("orphans", 10000))
    row(f"{n_orph:,} orphans end to end (fork + reap), median wall, ms",
        lambda r: f"{ms(r['orphans']['median'])}")
    row("… last zombie gone after the last fork, max ms",
        lambda r: str(max(r["behind"])) if r["behind"] else "?")
    row(f"drain {n_orph:,} waiting zombies, median (min–max), ms",
        lambda r: f"{statistics.median(r['drain']) / 1000:.1f} ({r['drain'][0] / 1000:.1f}–{r['drain'][-1] / 1000:.1f})")
    row("… per zombie, µs", lambda r: f"{statistics.median(r['drain']) / n_orph:.2f}")
    row("SIGTERM to init → child has it, p50 µs", lambda r: f"{pct(r['lat'], 50):.0f}")
    row("… p99 µs (max)", lambda r: f"{pct(r['lat'], 99):.0f} ({r['lat'][-1]:.0f})")
    print()

    v, t = rows["vigil"], rows["tini-static"]

    print("Targets:")
    print(f"- static binary under 1 MiB: {v['size'][1]:,} bytes = {v['size'][1] / MIB:.2f} MiB, "
          f"{v['size'][2]}: {verdict(v['size'][1] < MIB and v['size'][2] == 'static')}")
    print(f"- idle RSS under 600 KiB: VmRSS {v['rss']} KiB: {verdict(v['rss'] < 600)} "
          f"(tini-static: {t['rss']} KiB)")
    for label, key in (("not PID 1", "direct"), ("PID 1", "pid1")):
        a, b = v[key], t[key]
        noise = (a["stddev"] ** 2 + b["stddev"] ** 2) ** 0.5 / len(a["times"]) ** 0.5
        diff = a["mean"] - b["mean"]
        print(f"- startup ({label}) no slower than tini: {ms(a['mean'])} vs {ms(b['mean'])} ms, "
              f"difference {diff * 1e6:+.0f} µs (standard error {noise * 1e6:.0f} µs): "
              + (verdict(True) if diff <= 0 else
                 ("within noise" if diff <= 2 * noise else verdict(False))))
    vd, td = statistics.median(v["drain"]), statistics.median(t["drain"])
    print(f"- reaping no slower than tini: drain {vd / 1000:.1f} vs {td / 1000:.1f} ms "
          f"({(vd / td - 1) * 100:+.0f}%), end to end {ms(v['orphans']['median'])} vs "
          f"{ms(t['orphans']['median'])} ms: "
          + (verdict(True) if vd <= td else
             ("within run-to-run spread" if vd <= t["drain"][-1] else verdict(False))))
    print(f"- signal forwarding under 1 ms (SPEC 8): p99 {pct(v['lat'], 99):.0f} µs: "
          f"{verdict(pct(v['lat'], 99) < 1000)}")


def verdict(ok):
    return "**met**" if ok else "**NOT met**"


COST = [("http_get", "http_get"), ("tcp_socket", "tcp_socket"),
        ("exec_true", "exec `/bin/true`"), ("exec_curl", "exec `curl` (baseline)")]
KINDS = ["startup", "liveness", "readiness"]


def probes(m):
    idle = {k: float(v) for k, v in keyvals(out / "probe-idle.txt").items()}
    idle_ns_per_s = idle["own_ns"] / idle["wall_s"]
    cost = {}
    for name, _ in COST:
        c = keyvals(out / f"probe-cost-{name}.txt")
        n, tick = int(c["attempts"]), int(c["clk_tck"])
        base = idle_ns_per_s * float(c["wall_s"]) / n / 1000
        own = int(c["own_ns"]) / n / 1000 - base
        cost[name] = dict(
            name=name, n=n, failures=int(c["failures"]), wall=float(c["wall_s"]), base=base, own=own,
            ticks=float(c["wall_s"]) / float(json.loads(c["probe"])["period_seconds"]) / n,
            kids=(int(c["cutime"]) + int(c["cstime"])) / tick / n * 1e6)
        cost[name]["total"] = cost[name]["own"] + cost[name]["kids"]
    http = cost["http_get"]

    print(f"Probes: one probe at a 1 ms period (`--readiness`), CPU over "
          f"{http['n']:,} attempts after a warm-up; vigil is PID 1 of fresh PID and network "
          f"namespaces and probes `vigil-testapp http` on 127.0.0.1 (load average at the start: "
          f"{m.get('loadavg_probes', '?')}; {m.get('curl', 'curl')}).")
    print()
    print("| | " + " | ".join(label for _, label in COST) + " |")
    print("|---|" + "---:|" * len(COST))

    def row(label, fn):
        print(f"| {label} | " + " | ".join(fn(cost[n]) for n, _ in COST) + " |")

    row("attempts measured (failed)", lambda c: f"{c['n']:,} ({c['failures']})")
    row("wall time, s", lambda c: f"{c['wall']:.1f}")
    row("ticks of the 1 ms period per attempt (the others found one still running)",
        lambda c: f"{c['ticks']:.1f}")
    row("vigil's own CPU per attempt, µs", lambda c: f"{c['own']:.1f}")
    row("reaped probe processes' CPU per attempt, µs", lambda c: f"{c['kids']:.0f}")
    row("**total CPU per attempt, µs**", lambda c: f"**{c['total']:.1f}**")
    row("… relative to http_get", lambda c: f"{c['total'] / http['total']:.1f}×")
    floors, paced = {}, {}
    for n in ("http_get", "tcp_socket"):
        for label, into in (("floor", floors), ("floor-paced", paced)):
            f = out / f"probe-{label}-{n}.txt"
            if f.exists():
                kv = keyvals(f)
                into[n] = int(kv["own_ns"]) / int(kv["attempts"]) / 1000
    if floors:
        row("kernel floor: a blocking C client (`bench/floor.c`), same namespace and server, µs",
            lambda c: f"{floors[c['name']]:.1f}" if c["name"] in floors else "")
        row("… vigil's own CPU / floor (target 1.25×)",
            lambda c: f"{c['own'] / floors[c['name']]:.2f}×" if c["name"] in floors else "")
    if paced:
        row("the same client paced by a 1 ms timer (one timed wake per attempt, as vigil's), µs",
            lambda c: f"{paced[c['name']]:.1f}" if c["name"] in paced else "")
        row("… vigil's own CPU / paced floor",
            lambda c: f"{c['own'] / paced[c['name']]:.2f}×" if c["name"] in paced else "")
    print()
    print(f"The idle baseline, a vigil without probes over the same {idle['wall_s']:.0f} s, used "
          f"{idle['own_ns'] / 1e6:.1f} ms of CPU ({idle_ns_per_s / 1e3:.2f} µs/s), subtracted above "
          f"(at most {max(c['base'] for c in cost.values()):.3f} µs per attempt).")
    print()

    sched = {k: [] for k in KINDS}
    for line in (out / "probe-schedule.txt").read_text().splitlines():
        kind, us = line.split()
        sched[kind].append(int(us))
    every = sorted(x for xs in sched.values() for x in xs)
    print("Schedule error (start of an attempt minus its planned time, from vigil's trace log) "
          "with three probes at 100 ms periods: startup `tcp_socket`, liveness `http_get`, "
          "readiness exec `/bin/true`:")
    print()
    print("| probe | attempts | p50 µs | p99 µs | max µs |")
    print("|---|---:|---:|---:|---:|")
    control = sorted(int(x) for x in (out / "probe-schedule-control.txt").read_text().split())
    for kind, xs in [*sched.items(), ("**all**", every),
                     ("control: a process sleeping to a 100 ms grid meanwhile (not vigil)", control)]:
        xs = sorted(xs)
        if xs:
            print(f"| {kind} | {len(xs)} | {pct(xs, 50)} | {pct(xs, 99)} | {xs[-1]} |")
    print()

    rss, idle_rss = out / "probe-rss.txt", out / "probe-rss-idle.txt"
    print("vigil's memory, KiB (PID 1; probes at 1 s periods, read after three attempts of each):")
    print()
    print("| | no probes | three probes (startup `tcp_socket`, liveness `http_get`, readiness `exec`) |")
    print("|---|---:|---:|")
    for key in ("VmRSS", "RssAnon", "RssFile", "Pss", "VmHWM"):
        print(f"| {key} | {kib(idle_rss, key)} | {kib(rss, key)} |")
    print()

    curl = cost["exec_curl"]
    ratio = curl["total"] / http["total"]
    p99 = pct(every, 99)
    rss3 = kib(rss, "VmRSS")
    print("Targets (probes):")
    print(f"- http_get at least 100 times cheaper than an exec `curl` probe (total CPU per attempt, "
          f"curl's process and vigil's own: {curl['total']:.0f} µs; http_get, vigil's own: "
          f"{http['total']:.1f} µs): {ratio:.0f} times (curl's process alone: "
          f"{curl['kids'] / http['total']:.0f} times): {verdict(ratio >= 100)}")
    print(f"- schedule error p99 under 2 ms with three probes at 100 ms: p99 {p99} µs over "
          f"{len(every)} attempts (control: {pct(control, 99)} µs): {verdict(p99 < 2000)}")
    print(f"- idle RSS with three active probes under 600 KiB: VmRSS {rss3} KiB "
          f"(no probes: {kib(idle_rss, 'VmRSS')} KiB): {verdict(rss3 < 600)}")


def gaps(path):
    """(exit of run k -> start of run k+1, run k's own start -> exit), µs, in run order,
    from the `START_NS EXIT_NS` lines of `vigil-testapp restart-child`."""
    runs = [tuple(int(x) for x in line.split()) for line in path.read_text().splitlines()]
    between = [(b[0] - a[1]) / 1000 for a, b in zip(runs, runs[1:])]
    return between, [(e - s) / 1000 for s, e in runs]


def restart(m):
    names = ("vigil", "sh", "bash")
    cols = {k: gaps(out / f"restart-{k}.txt") for k in names}
    n = len(cols["vigil"][0])
    print(f"Restart: from the command's exit to the next run's start, with zero backoff, over "
          f"{n:,} restarts of `vigil-testapp restart-child` (it records its start and its exit "
          f"and exits 0); vigil and the reference shells each PID 1 of a fresh PID namespace "
          f"(load average at the start: {m.get('loadavg_restart', '?')}).")
    print()
    print("| exit → next start, µs | vigil `--restart always --backoff-initial 0` "
          "| reference: a `sh` (dash) loop: vfork, exec, wait | reference: a `bash` loop: "
          "fork, exec, wait |")
    print("|---|---:|---:|---:|")

    def row(label, fn):
        print(f"| {label} | " + " | ".join(fn(*cols[k]) for k in names) + " |")

    row("restarts measured", lambda g, r: f"{len(g):,}")
    for p in (50, 90, 99):
        row(f"p{p}", lambda g, r, p=p: f"{pct(sorted(g), p):.0f}")
    row("max", lambda g, r: f"{max(g):.0f}")
    row("min", lambda g, r: f"{min(g):.0f}")
    k = max(1, n // 10)
    row(f"p50 of the first {k:,} restarts / of the last {k:,}",
        lambda g, r: f"{pct(sorted(g[:k]), 50):.0f} / {pct(sorted(g[-k:]), 50):.0f}")
    row("for scale: the command's own run (its start → its exit stamp), p50",
        lambda g, r: f"{pct(sorted(r), 50):.1f}")
    print()
    g = sorted(cols["vigil"][0])
    print("Targets (restart):")
    print(f"- restart with zero backoff under 5 ms (exit → next start, p99): p99 {pct(g, 99):.0f} µs, "
          f"max {g[-1]:.0f} µs over {len(g):,} restarts: {verdict(pct(g, 99) < 5000)}")


def status(m):
    loads = [dict(kv.split("=", 1) for kv in line.split())
             for line in (out / "status-rps.txt").read_text().splitlines()]
    secs = float(loads[0]["seconds"])
    print(f"Status socket (vigil alone; `--socket`): every vigil PID 1 of fresh PID and network "
          f"namespaces; the clients are Python (`bench/status.py`, the standard library, AF_UNIX "
          f"sockets directly), on the same CPUs as vigil (load average at the start: "
          f"{m.get('loadavg_status', '?')}).")
    print()
    print(f"Requests, {secs:g} s per load, each worker a process sending its next request as soon as "
          f"the last is answered (vigil also runs three probes at 1 s periods):")
    print()
    print("| load | requests/s | p50 µs | p99 µs | errors | vigil CPU per request, µs "
          "(utime+stime) | (schedstat) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in loads:
        keep = r["keepalive"] == "1"
        mode = "keepalive" if keep else "close"
        lat = samples(out / f"status-rps-{r['path'][1:]}-{mode}-{r['workers']}.txt")
        n = int(r["requests"])
        ticks = int(r["cpu_ticks"]) / int(r["clk_tck"])
        conn = "one keep-alive connection per worker" if keep else "a connection per request"
        print(f"| GET {r['path']}, {conn}, {r['workers']} worker{'s' if r['workers'] != '1' else ''} "
              f"| {n / float(r['seconds']):,.0f} | {pct(lat, 50):.0f} | {pct(lat, 99):.0f} "
              f"| {r['errors']} | {ticks / max(n, 1) * 1e6:.1f} "
              f"| {int(r['cpu_ns']) / max(n, 1) / 1000:.1f} |")
    print()

    tinfo = keyvals(out / "status-transitions.txt")
    observers = [
        ("file", "ready file appears / goes (inotify on its directory)"),
        ("events", "`/events` line `\"event\":\"ready\"` arrives (a streaming client)"),
        ("readyz", "`/readyz` answer flips (one keep-alive client polling in a loop)"),
        ("control", "control, not vigil: the same datagram through a trivial relay process"),
    ]
    trans = {}
    for name, _ in observers:
        trans[name] = sorted(float(line.split()[1]) for line in
                             (out / f"status-transition-{name}.txt").read_text().splitlines())
    print("Readiness transitions (`--notify --ready-file`; the command sends `READY=1` and "
          "`RELOADING=1` in turn): from the sender's `CLOCK_MONOTONIC` right before `sendto` to "
          "the observer seeing the change:")
    print()
    print("| observer | transitions | p50 µs | p99 µs | max µs | vigil CPU per transition, µs "
          "| target p99 |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, label in observers:
        xs = trans[name]
        cpu = int(tinfo.get(f"{name}_cpu_ns", 0)) / max(1, len(xs)) / 1000
        polls = int(tinfo.get(f"{name}_polls", 0))
        extra = f" ({polls / len(xs):.1f} polls per transition)" if polls else ""
        target = "" if name == "control" else f"< 1 ms: {verdict(pct(xs, 99) < 1000)}"
        print(f"| {label}{extra} | {len(xs)} | {pct(xs, 50):.0f} | {pct(xs, 99):.0f} | "
              f"{xs[-1]:.0f} | {'' if name == 'control' else f'{cpu:.0f}'} | {target} |")
    print()

    sched = {ph: {k: [] for k in KINDS} for ph in ("idle", "load")}
    for line in (out / "status-schedule.txt").read_text().splitlines():
        phase, kind, us = line.split()
        sched[phase][kind].append(int(us))
    allx = {ph: sorted(x for xs in sched[ph].values() for x in xs) for ph in sched}
    control = {ph: sorted(int(x) for x in
                          (out / f"status-schedule-control-{ph}.txt").read_text().split())
               for ph in sched}
    load = keyvals(out / "status-schedule-load.txt")
    lsecs = float(load["load_seconds"])
    print(f"Probe schedule error (`-vvv` trace log) with three probes at 100 ms periods (startup "
          f"`tcp_socket`, liveness `http_get`, readiness exec `/bin/true`), {float(load['idle_seconds']):.0f} s "
          f"without load, then {lsecs:.0f} s under load: {load['workers']} connections at a time "
          f"each sending one request (`/readyz`, `/status`, `/metrics` in turn, `Connection: close`), "
          f"{int(load['per_round']):,} per round, plus {load['idle']} connections that send nothing. "
          f"Under load vigil answered {int(load['ok']) / lsecs:,.0f} requests/s "
          f"({int(load['ok']):,} in all, {load['bad']} not 200) and refused "
          f"{int(load['refused']):,} connections over its limit of 128; "
          f"{load['idle_timed_out']} idle connections were closed at the 5 s request timeout; "
          f"vigil used {int(load['load_cpu_ns']) / 1e9 / lsecs * 100:.0f}% of a CPU "
          f"({int(load['idle_cpu_ns']) / 1e9 / float(load['idle_seconds']) * 100:.1f}% without load).")
    print()
    print("| probe | no load: attempts | p50 µs | p99 µs | max µs | under load: attempts | p50 µs "
          "| p99 µs | max µs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def cells(xs):
        xs = sorted(xs)
        return f"{len(xs)} | {pct(xs, 50)} | {pct(xs, 99)} | {xs[-1]}" if xs else "0 | | |"
    for kind in KINDS:
        if sched["idle"][kind] or sched["load"][kind]:  # startup: done before the first phase
            print(f"| {kind} | {cells(sched['idle'][kind])} | {cells(sched['load'][kind])} |")
    print(f"| **all** | {cells(allx['idle'])} | {cells(allx['load'])} |")
    print(f"| control: a process sleeping to a 100 ms grid meanwhile (not vigil) "
          f"| {cells(control['idle'])} | {cells(control['load'])} |")
    print()

    cols = [("status-rss-idle.txt", "idle, three probes at 1 s (each run three times)"),
            ("status-rss-after-load.txt", "right after the request loads above"),
            ("status-rss-rested.txt", "3 s later"),
            ("status-rss-schedule-load.txt", "the schedule run's vigil under its load "
                                             "(`-vvv`, probes at 100 ms)")]
    print("vigil's memory with `--socket`, KiB:")
    print()
    print("| | " + " | ".join(label for _, label in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for key in ("VmRSS", "RssAnon", "RssFile", "Pss", "VmHWM"):
        print(f"| {key} | " + " | ".join(str(kib(out / f, key)) for f, _ in cols) + " |")
    print()

    rinfo = keyvals(out / "status-ready-info.txt")
    ready = samples(out / "status-ready.txt")
    true = samples(out / "status-ready-true.txt")
    print("| `vigil ready --socket S` wall time, ms | runs | p50 | p99 | max | failed |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| `vigil ready` (a ready vigil) | {len(ready)} | {pct(ready, 50) / 1000:.2f} | "
          f"{pct(ready, 99) / 1000:.2f} | {ready[-1] / 1000:.2f} | {rinfo['failures']} |")
    print(f"| `/bin/true` started the same way (Python's `subprocess.run`) | {len(true)} | "
          f"{pct(true, 50) / 1000:.2f} | {pct(true, 99) / 1000:.2f} | {true[-1] / 1000:.2f} | "
          f"{rinfo['true_failures']} |")
    print()

    drain = sorted(float(line.split()[1]) for line in
                   (out / "status-drain.txt").read_text().splitlines())
    print(f"`--drain 1s`: from SIGTERM to the first 503 on `/readyz` (a client polling on one "
          f"keep-alive connection), {len(drain)} runs: p50 {pct(drain, 50):.0f} µs, "
          f"p99 {pct(drain, 99):.0f} µs, max {drain[-1]:.0f} µs (target: within 5 ms).")
    print()

    rss = kib(out / "status-rss-idle.txt", "VmRSS")
    worst = max(pct(trans[n], 99) for n, _ in observers if n != "control")
    lp99 = pct(allx["load"], 99)
    print("Targets (status socket):")
    print(f"- readiness transition to ready file, `/events` and `/readyz` under 1 ms (p99): "
          + ", ".join(f"{n} {pct(trans[n], 99):.0f} µs" for n, _ in observers if n != "control")
          + f" (control {pct(trans['control'], 99):.0f} µs): {verdict(worst < 1000)}")
    print(f"- probe schedule error under status socket load under 2 ms (p99): {lp99} µs "
          f"(no load: {pct(allx['idle'], 99)} µs; control under load: "
          f"{pct(control['load'], 99)} µs): {verdict(lp99 < 2000)}")
    print(f"- idle RSS with `--socket` and three probes under 600 KiB: VmRSS {rss} KiB "
          f"(after the request loads: {kib(out / 'status-rss-after-load.txt', 'VmRSS')} KiB): "
          f"{verdict(rss < 600)}")
    print(f"- `vigil ready` under 10 ms: p99 {pct(ready, 99) / 1000:.2f} ms, "
          f"{rinfo['failures']} failed: {verdict(pct(ready, 99) < 10000 and rinfo['failures'] == '0')}")


def main():
    m = keyvals(out / "meta.txt")
    print(f"Run {m['date']} on {m['nproc']} CPUs ({m['cpu']}), kernel {m['kernel']}, {m['os']}; "
          f"vigil at {m.get('commit', '?')}; load average before/after: "
          f"{m['loadavg_before']} / {m['loadavg_after']}.")
    print(f"Versions: {m['vigil']}; {m['tini-static']}; {m['dumb-init']}; "
          f"catatonit {m['catatonit']}; {m['hyperfine']}.")
    print()
    parts = [(inits, "size.tsv"), (probes, "probe-schedule.txt"), (restart, "restart-vigil.txt"),
             (status, "status-schedule.txt")]
    for i, part in enumerate(part for part, marker in parts if (out / marker).exists()):
        if i:
            print()
        part(m)


main()
