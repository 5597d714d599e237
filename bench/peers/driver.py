#!/usr/bin/env python3
"""The peer suite's one driver: runs every peer program on every case, A/B
alternately and repeated, then prints medians and the ratio brigade/peer.

Every peer program prints lines of one format (common/peer_util.h):
    case=<name> peer=<peer> value=<number> unit=<unit>
    case=<name> peer=<peer> na=<reason>

Usage: driver.py --build <dir> [--repeats N] [--quick] [--out results.json]

Alternation: each repetition runs every case group, and inside a group every
peer in turn, rotating the starting peer each repetition, so that slow drift
of a shared machine touches every peer alike. Compare ratios from one run.
"""

import argparse
import json
import os
import platform
import select
import signal
import socket
import statistics
import subprocess
import sys
import time

# Cases brigade cannot run yet: the part of brigade each one waits for
# (report.py prints "n/a" with the reason). Every case has its brigade side
# now; keep the table for cases added later.
BRIGADE_MISSING = {}

# What each case measures, in the order the table prints them.
CASES = [
    ("spawn_join_warm", "spawn + join 10^6 empty tasks, second round, ns/task", "lower"),
    ("spawn_join_cold", "spawn + join 10^6 empty tasks, first round in a fresh process, ns/task", "lower"),
    ("yield", "yield_now, ns", "lower"),
    ("fib30", "fib(30) with a spawn at every level, 2 workers, ms", "lower"),
    ("idle_bytes", "bytes per idle task (RSS delta / tasks; thread: per blocked OS thread)", "lower"),
    ("idle_timer_bytes", "bytes per task waiting on a timer (RSS delta / tasks)", "lower"),
    ("thread_create_join", "std::thread create + join, us (brigade: one task spawn + join)", "lower"),
    ("ping_pong", "ping-pong round trip between two tasks over a channel, ns", "lower"),
    ("timers", "10^6 sleeps, random 0-100 ms, wall ms", "lower"),
    ("timers_rss", "10^6 sleeps, peak RSS, MB", "lower"),
    ("echo_cpu", "TCP echo, 50 conns x 64 B, server CPU us per request", "lower"),
    ("echo_rps", "TCP echo, requests/s (client-bound)", "higher"),
    ("echo_p50", "TCP echo, round-trip p50, us", "lower"),
    ("echo_p99", "TCP echo, round-trip p99, us", "lower"),
    ("mutex", "mutex contention, 4 tasks x 250k lock/unlock on 2 workers, ns per lock", "lower"),
    ("mpsc", "mpsc, 4 producers x 250k messages, bounded 1024, ns per message", "lower"),
]
BRIGADE_PEERS = ("brigade-ct", "brigade-mt", "brigade-ct-epoll", "brigade-ct-uring")


def runs(build, quick):
    """Every (group, label, argv, env, options) the suite runs.

    Options: skip_quick (too slow for --quick), max_repeats (a very slow
    peer runs fewer times), timeout (seconds)."""
    b = os.path.join(build, "cmake")
    tokio = os.path.join(build, "tokio", "release", "tokio_peer")
    go = os.path.join(build, "go", "go_peer")
    bp = os.path.join(b, "brigade_peer")
    asio = os.path.join(b, "asio_peer")
    tbb = os.path.join(b, "tbb_peer")
    thr = os.path.join(b, "thread_peer")
    uv = os.path.join(b, "uv_peer")
    n_timers = "100000" if quick else "1000000"
    # 10^6 sleeps take 5-15 s per peer here: three samples are enough.
    slow_timers = {"timeout": 120, "max_repeats": 3}
    table = {
        "spawn_join": [
            ("brigade-ct", [bp, "spawn_join", "ct"]),
            ("brigade-mt", [bp, "spawn_join", "mt"]),
            ("tokio-ct", [tokio, "spawn_join", "ct"]),
            ("tokio-mt", [tokio, "spawn_join", "mt"]),
            ("go", [go, "spawn_join"]),
            ("asio", [asio, "spawn_join"]),
            ("tbb-1t", [tbb, "spawn_join", "1"]),
            ("tbb-2t", [tbb, "spawn_join", "2"]),
        ],
        "yield": [
            ("brigade-ct", [bp, "yield", "ct"]),
            ("brigade-mt", [bp, "yield", "mt"]),
            ("tokio-ct", [tokio, "yield", "ct", "200000"]),
            ("tokio-mt", [tokio, "yield", "mt", "200000"]),
            ("go", [go, "yield"]),
            ("asio", [asio, "yield"]),
            ("thread", [thr, "yield", "200000"]),
        ],
        "fib": [
            ("brigade-mt", [bp, "fib", "mt"]),
            ("tokio-mt", [tokio, "fib", "mt"]),
            ("go", [go, "fib"]),
            ("asio-mt", [asio, "fib"], {"skip_quick": True, "max_repeats": 1, "timeout": 120}),
            ("tbb-2t", [tbb, "fib", "2"]),
        ],
        "idle_bytes": [
            ("brigade-ct", [bp, "idle_bytes", "ct"]),
            ("tokio-ct", [tokio, "idle_bytes", "ct"]),
            ("go", [go, "idle_bytes"]),
            ("asio", [asio, "idle_bytes"]),
            ("thread", [thr, "idle_bytes", "2000"]),
        ],
        "idle_timer_bytes": [
            ("brigade-ct", [bp, "idle_timer_bytes", "ct"]),
            ("tokio-ct", [tokio, "idle_timer_bytes", "ct"]),
            ("go", [go, "idle_timer_bytes"]),
            ("asio", [asio, "idle_timer_bytes"]),
            ("libuv", [uv, "idle_timer_bytes"]),
        ],
        "thread_create_join": [
            ("brigade-ct", [bp, "thread_create_join", "ct"]),
            ("thread", [thr, "thread_create_join", "3000"]),
            ("rust-thread", [tokio, "thread_create_join", "ct", "3000"]),
        ],
        "ping_pong": [
            ("brigade-ct", [bp, "ping_pong", "ct"]),
            ("brigade-mt", [bp, "ping_pong", "mt"]),
            ("tokio-ct", [tokio, "ping_pong", "ct"]),
            ("tokio-mt", [tokio, "ping_pong", "mt"]),
            ("go", [go, "ping_pong"]),
            ("asio", [asio, "ping_pong"]),
            ("tbb-2t", [tbb, "ping_pong", "2", "20000"]),
            ("thread", [thr, "ping_pong", "20000"]),
        ],
        "timers": [
            ("brigade-ct", [bp, "timers", "ct", n_timers], slow_timers),
            ("brigade-mt", [bp, "timers", "mt", n_timers], slow_timers),
            ("tokio-mt", [tokio, "timers", "mt", n_timers], slow_timers),
            ("go", [go, "timers", n_timers], slow_timers),
            ("asio", [asio, "timers", n_timers], slow_timers),
            ("libuv", [uv, "timers", n_timers], slow_timers),
        ],
        "echo": [
            ("brigade-ct-epoll", [bp, "echo", "ct-epoll"]),
            ("brigade-ct-uring", [bp, "echo", "ct-uring"]),
            ("tokio-ct", [tokio, "echo", "ct"]),
            ("go", [go, "echo"], {"env": {"GOMAXPROCS": "1"}}),
            ("asio", [asio, "echo"]),
            ("libuv", [uv, "echo"]),
            ("epoll-c", [os.path.join(b, "epoll_echo")]),
        ],
        "mutex": [
            ("brigade-mt", [bp, "mutex", "mt"]),
            ("tokio-mt", [tokio, "mutex", "mt"]),
            ("go", [go, "mutex"]),
            ("tbb-2t", [tbb, "mutex", "2"]),
            ("asio", [asio, "mutex"]),
            ("thread", [thr, "mutex"]),
        ],
        "mpsc": [
            ("brigade-mt", [bp, "mpsc", "mt"]),
            ("tokio-mt", [tokio, "mpsc", "mt"]),
            ("go", [go, "mpsc"]),
            ("asio-mt", [asio, "mpsc"]),
            ("tbb-2t", [tbb, "mpsc", "2", "20000"]),
            ("thread", [thr, "mpsc", "20000"]),
        ],
    }
    out = {}
    for group, entries in table.items():
        out[group] = []
        for entry in entries:
            label, argv = entry[0], entry[1]
            opts = entry[2] if len(entry) > 2 else {}
            if quick and opts.get("skip_quick"):
                continue
            out[group].append((label, argv, opts))
    return out


def parse(text):
    """Lines of the common format -> list of dicts."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("case="):
            continue
        fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        rows.append(fields)
    return rows


def pin(cpu):
    def apply():
        if hasattr(os, "sched_setaffinity") and os.cpu_count() and cpu < os.cpu_count():
            os.sched_setaffinity(0, {cpu})
    return apply


def run_program(argv, env_extra, timeout):
    env = dict(os.environ)
    env.update(env_extra or {})
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    if proc.stderr.strip():
        sys.stderr.write(f"  [{os.path.basename(argv[0])}] {proc.stderr.strip()[-300:]}\n")
    return parse(proc.stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_echo(label, argv, env_extra, client_path, seconds):
    """Server pinned to CPU 0, the shared C client to CPU 1; the server's CPU
    time comes from wait4 (its getrusage) once it is stopped."""
    port = str(free_port())
    env = dict(os.environ)
    env.update(env_extra or {})
    server = subprocess.Popen(argv + [port], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, preexec_fn=pin(0))
    try:
        ready, _, _ = select.select([server.stdout], [], [], 20)
        if not ready or b"listening" not in server.stdout.readline():
            raise RuntimeError("server did not start")
        client = subprocess.run(
            [client_path, port, label, "50", "64", str(seconds)],
            capture_output=True, text=True, timeout=seconds + 30, preexec_fn=pin(1))
        if client.returncode != 0:
            raise RuntimeError("client: " + client.stderr.strip()[-300:])
    finally:
        server.send_signal(signal.SIGKILL)
    _, _, usage = os.wait4(server.pid, 0)
    server.stdout.close()
    server.stderr.close()
    rows = parse(client.stdout)
    by_case = {r["case"]: float(r["value"]) for r in rows if "value" in r}
    requests = by_case.get("echo_requests", 0)
    out = [r for r in rows if r["case"] != "echo_requests"]
    if requests > 0:
        cpu_us = (usage.ru_utime + usage.ru_stime) * 1e6 / requests
        out.append({"case": "echo_cpu", "peer": label, "value": f"{cpu_us:.4f}", "unit": "us"})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default=None, help="comma-separated case groups")
    args = ap.parse_args()

    plan = runs(args.build, args.quick)
    if args.only:
        plan = {g: plan[g] for g in args.only.split(",")}
    if args.quick:
        plan.pop("timers", None)
    echo_seconds = 1 if args.quick else 2

    samples = {}  # (case, peer) -> [values]
    units = {}
    na = {}
    started = time.time()
    load_before = os.getloadavg()[0]
    for rep in range(args.repeats):
        for group, entries in plan.items():
            k = rep % len(entries) if entries else 0
            for label, argv, opts in entries[k:] + entries[:k]:
                if rep >= opts.get("max_repeats", args.repeats):
                    continue
                if not os.path.exists(argv[0]):
                    na[(group, label)] = "not built (missing package?)"
                    continue
                try:
                    if group == "echo":
                        client = os.path.join(args.build, "cmake", "echo_client")
                        rows = run_echo(label, argv, opts.get("env"), client, echo_seconds)
                    else:
                        rows = run_program(argv, opts.get("env"), opts.get("timeout", 90))
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    sys.stderr.write(f"  {group}/{label}: {e}\n")
                    na[(group, label)] = "failed: " + str(e).splitlines()[0][:80]
                    continue
                for r in rows:
                    if "value" in r:
                        samples.setdefault((r["case"], r["peer"]), []).append(float(r["value"]))
                        units[r["case"]] = r["unit"]
                    elif "na" in r:
                        na[(r["case"], r["peer"])] = r["na"]
        sys.stderr.write(f"repetition {rep + 1}/{args.repeats} done, {time.time() - started:.0f} s\n")

    medians = {f"{c}|{p}": statistics.median(v) for (c, p), v in samples.items()}
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "commit": os.environ.get("BRIGADE_PEERS_COMMIT", ""),
        "source": os.environ.get("BRIGADE_PEERS_SOURCE", ""),
        "repeats": args.repeats,
        "quick": args.quick,
        "seconds": round(time.time() - started),
        "load": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "units": units,
        "medians": medians,
        "samples": {f"{c}|{p}": v for (c, p), v in samples.items()},
        "na": {f"{c}|{p}": v for (c, p), v in na.items()},
        "brigade_missing": BRIGADE_MISSING,
        "cases": CASES,
    }
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
    print_table(result)


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU {model}, Linux {platform.release()}"


def rows_for(result, case):
    """[(peer, median)] for a case, brigade first, then the peers by value."""
    found = [(k.split("|")[1], v) for k, v in result["medians"].items() if k.split("|")[0] == case]
    brig = sorted([x for x in found if x[0] in BRIGADE_PEERS])
    rest = sorted([x for x in found if x[0] not in BRIGADE_PEERS], key=lambda x: x[1])
    return brig, rest


def fmt(v):
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def ratio(brigade, peer):
    r = brigade / peer
    return f"{r:.2f}" if r >= 0.1 else f"{r:.2g}"


def print_table(result):
    print(f"\npeer suite: {result['date']}, {result['machine']}, medians of {result['repeats']}")
    for case, title, better in result["cases"]:
        brig, rest = rows_for(result, case)
        if not brig and not rest:
            continue
        print(f"\n{case}: {title} ({better} is better)")
        if not brig:
            print(f"  {'brigade':<16} n/a (brigade {result['brigade_missing'].get(case, '?')} not implemented yet)")
        for p, v in brig:
            print(f"  {p:<16} {fmt(v):>12}")
        for p, v in rest:
            ratios = "  ".join(f"{bp}/peer {ratio(bv, v)}" for bp, bv in brig if v > 0)
            print(f"  {p:<16} {fmt(v):>12}   {ratios}")


if __name__ == "__main__":
    main()
