#!/usr/bin/env python3
"""Remakes scripts/hot-functions.txt: the functions a running vigil executes,
which scripts/link-static lays out together (see there why).

Run by hand, as root, after changes to what vigil runs (needs valgrind, perf,
unshare and ip). It runs the benchmark's three-probe scenario (its readiness probe failing
every third run, so that a failure's log line is part of the steady state)
and the status socket, which a host agent polls (`/readyz` every 200 ms, `/status` every second), with vigil as
PID 1 of fresh PID and network namespaces, and takes:
1. every function callgrind saw executed (in an unstripped build), with all
   the names at its address, start-up first and then what runs after
   start-up (counted again after `callgrind_control --zero`), so that the
   code the event loop keeps touching after `sys::memory::release_code` ends
   up together at the very end;
2. musl's assembly and start-up functions, which callgrind cannot see;
3. then, relinking the release build each time, every function in which
   `perf` sees vigil fault on a .text page that is not already laid out with
   the others (found in the linker's map), until none is new.
Names are written without hashes (see scripts/link-static)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "scripts" / "hot-functions.txt"
TARGET = "x86_64-unknown-linux-musl"
APP = ROOT / "target" / "static" / "vigil-testapp"
PORT = 8000
ALWAYS = """_start _start_c __libc_start_main libc_start_main_stage2 libc_start_init
__init_libc __init_tls static_init_tls __init_ssp __copy_tls __set_thread_area
memcpy memmove memset __syscall_cp_asm __syscall_cp_c __restore_rt __clone
vfork sigsetjmp __sigsetjmp setjmp longjmp _longjmp __unmapself exit _Exit
__libc_exit_fini libc_exit_fini __funcs_on_exit __stdio_exit""".split() + [
    # What a spawned child runs for --user/--drop-caps/--keep-caps/--no-new-privs
    # (the scenario uses none): the child shares vigil's memory, so its faults
    # count in vigil's RSS at every restart and exec probe.
    "_ZN5vigil3sys10privileges15ChildPrivileges5applyE",
    "_ZN5vigil3sys10privileges5checkE",
    "_ZN5vigil3sys10privileges5prctlE",
]


def plain(name):
    name = re.sub(r"(\.llvm)?\.[0-9]+$", "", name)
    name = re.sub(r"17h[0-9a-f]+E$", "E", name)
    return re.sub(r"Cs[0-9A-Za-z]+_", "Cs_", name)


def build(kind):
    """The release build as `make static` makes it ("static") or unstripped ("sym")."""
    target_dir = ROOT / "target" / "hot-functions" / kind
    env = dict(os.environ, CARGO_TARGET_DIR=str(target_dir))
    if kind == "sym":
        env["CARGO_PROFILE_RELEASE_STRIP"] = "false"
    (ROOT / "src" / "main.rs").touch()  # the list is not an input cargo knows
    subprocess.run(["cargo", "build", "-q", "--release", "--target", TARGET, "-p", "vigil"],
                   cwd=ROOT, env=env, check=True)
    release = target_dir / TARGET / "release"
    maps = sorted(release.glob("deps/vigil-*.map"), key=lambda p: p.stat().st_mtime)
    # A copy: cargo's hard link shares the page cache with the next build.
    binary = Path(tempfile.mkdtemp()) / "vigil"
    shutil.copy(release / "vigil", binary)
    os.sync()
    return binary, maps[-1] if maps else None


def scenario(vigil, count, pid1=True):
    probe = lambda handler, args: '{"%s": %s, "period_seconds": 1}' % (handler, args)
    target = '{"port": %d, "host": "127.0.0.1"}' % PORT
    socket = Path(count).parent / "vigil.sock"
    # callgrind_control finds valgrind by its pid as valgrind sees it: not
    # in a PID namespace of its own.
    namespaces = ["unshare", "--pid", "--fork", "--mount-proc", "--net", "sh", "-c",
                  'ip link set lo up && exec "$@"', "sh"] if pid1 else []
    return namespaces + [str(vigil), "-s", "--socket", str(socket),
            "--startup", probe("tcp_socket", target),
            "--liveness", probe("http_get", target[:-1] + ', "path": "/"}'),
            # Every third readiness run fails (under the threshold: still
            # ready): the steady state also writes the log lines a failing
            # probe writes, as real ones do now and then.
            "--readiness", probe("exec", '{"command": ["/bin/sh", "-c", "echo >>%s; '
                                 '[ $(($(wc -l <%s) %% 3)) != 0 ]"]}' % (count, count)),
            "--", str(APP), "http", "--port", str(PORT), "--bind", "127.0.0.1"]


def agent(sock_path, stop):
    """A host agent: `GET /readyz` every 200 ms, and `/status` every second."""
    import socket
    n = 0
    while not stop.wait(0.2):
        n += 1
        path = "/status" if n % 5 == 0 else "/readyz"
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1)
                s.connect(str(sock_path))
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n".encode())
                while s.recv(65536):
                    pass
        except OSError:
            pass


def run(vigil, seconds, wrap=(), midway=None, pid1=True):
    """The scenario for `seconds`, with a host agent polling the socket, then
    SIGTERM to vigil (PID 1 inside); `midway(pid of vigil or its wrapper)`
    is called halfway."""
    import threading
    with tempfile.TemporaryDirectory() as d:
        stop = threading.Event()
        threading.Thread(target=agent, args=(Path(d) / "vigil.sock", stop), daemon=True).start()
        cmd = scenario(vigil, Path(d) / "count", pid1)
        if wrap:  # the wrapper runs vigil, which stays PID 1 of the namespace
            i = cmd.index(str(vigil))
            cmd = cmd[:i] + list(wrap) + cmd[i:]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if midway:
            time.sleep(seconds / 2)
            midway(p.pid)
            seconds /= 2
        time.sleep(seconds)
        targets = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                                 text=True).stdout.split() if pid1 else [str(p.pid)]
        stop.set()
        for line in targets:
            os.kill(int(line), 15)
        p.wait()


def executed_by_callgrind():
    """(everything executed, what was executed after start-up)."""
    vigil, _ = build("sym")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "cg.out"
        dumps = {}

        def zero(pid):
            # Everything so far into one dump, then count afresh.
            subprocess.run(["callgrind_control", "--dump=start-up", str(pid)],
                           capture_output=True)
            subprocess.run(["callgrind_control", "--zero", str(pid)], capture_output=True)

        run(vigil, 10, ["valgrind", "--tool=callgrind", "--demangle=no",
                        f"--callgrind-out-file={out}"], midway=zero, pid1=False)
        for f in Path(d).iterdir():
            dumps[f.name] = set(re.findall(r"^c?fn=\(\d+\) (.*)$", f.read_text(), re.M))
    everything = set().union(*dumps.values())
    later = dumps.get("cg.out", set())
    by_addr = {}
    for line in subprocess.run(["nm", "--defined-only", vigil], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "tTwW":
            by_addr.setdefault(p[0], []).append(p[2])
    aliases = lambda names: {plain(n) for g in by_addr.values() if set(g) & names for n in g}
    return aliases(everything), aliases(later)


def sections(map_file):
    """(start, end, [symbols]) of each input section of .text, from lld's map."""
    out, current, text = [], None, False
    for line in map_file.read_text().splitlines():
        p = line.split()
        if len(p) == 5 and p[4] in (".text", ".init", ".fini") or p[-1:] == [".text"]:
            text = True  # an output section of code
        elif len(p) == 5 and p[4].startswith("."):
            text = False
        elif text and len(p) == 5 and ":(" in p[4]:
            current = (int(p[0], 16), int(p[0], 16) + int(p[2], 16), [])
            out.append(current)
        elif text and len(p) == 5 and current:
            current[2].append(p[4])
    return out


def faulted(vigil, map_file):
    """Functions of the sections in which vigil, as PID 1, faulted on .text."""
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "pf.data"
        fd = os.open(vigil, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        perf = subprocess.Popen(["perf", "record", "-q", "-a", "-e", "page-faults", "-c", "1",
                                 "-d", "-o", str(data), "--", "sleep", "4"],
                                stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        run(vigil, 3)
        perf.wait()
        out = subprocess.run(["perf", "script", "-i", str(data), "-F", "comm,addr"],
                             capture_output=True, text=True).stdout
    table = sections(map_file)
    names = set()
    for line in out.splitlines():
        p = line.split()
        if len(p) == 2 and p[0] == "vigil":
            addr = int(p[1], 16)
            names |= {n for start, end, syms in table if start <= addr < end for n in syms}
    return {plain(n) for n in names}


def write(start_up, loop):
    """Start-up's functions first, the loop's last (next to `.init`)."""
    loop = set(loop) | set(ALWAYS)
    listed = sorted(set(start_up) - loop) + sorted(loop)
    LIST.write_text("".join(n + "\n" for n in listed))
    return set(listed)


def main():
    if not APP.exists():
        sys.exit(f"{APP} is missing: run `make static` first")
    LIST.write_text("")
    everything, loop = executed_by_callgrind()
    hot = write(everything, loop)
    print(f"callgrind: {len(hot)} names, {len(loop)} after start-up", file=sys.stderr)
    for round in range(1, 40):
        vigil, map_file = build("static")
        if map_file is None:
            sys.exit("no linker map: is scripts/link-static linking with lld?")
        new = faulted(vigil, map_file) - hot
        shutil.rmtree(vigil.parent)
        print(f"round {round}: {len(new)} new: {sorted(new)[:4]}", file=sys.stderr)
        if not new:
            break
        loop |= new  # faults after start-up's code was released: the loop's
        hot = write(everything, loop)
    print(f"{LIST}: {len(hot)} names", file=sys.stderr)


if __name__ == "__main__":
    main()
