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


def meta():
    return dict(
        line.split("=", 1) for line in (out / "meta.txt").read_text().splitlines() if "=" in line
    )


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


def main():
    m = meta()
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

    print(f"Run {m['date']} on {m['nproc']} CPUs ({m['cpu']}), kernel {m['kernel']}, {m['os']}; "
          f"load average before/after: {m['loadavg_before']} / {m['loadavg_after']}.")
    print(f"Versions: {m['vigil']}; {m['tini-static']}; {m['dumb-init']}; "
          f"catatonit {m['catatonit']}; {m['hyperfine']}.")
    print()
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

    def verdict(ok):
        return "**met**" if ok else "**NOT met**"

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


main()
