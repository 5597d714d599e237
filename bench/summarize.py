#!/usr/bin/env python3
"""Summarize a brigade_micro_bench JSON report as the PERFORMANCE.md table.

Usage:
  brigade_micro_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
      --benchmark_out=run.json --benchmark_out_format=json
  python3 bench/summarize.py run.json [run2.json ...]

Several reports (one per run of the binary) give the median of their medians.

Prints one Markdown row per figure: the median over repetitions, the ratio to
std::thread measured in the same run (time: thread create+join / task cost;
memory: blocked thread RSS + kernel / idle task RSS), and the target row of
PERFORMANCE.md it maps to. Medians come from Google Benchmark's "median"
aggregates when present, else from the individual repetitions.
"""

import json
import statistics
import sys
from collections import defaultdict

# (label, benchmark name, counter, unit, PERFORMANCE.md target)
TIME_ROWS = [
    ("spawn+join, current_thread, warm, N=1024", "BM_spawn_join/current_thread/1024/real_time",
     "ns_per_task", "ns/task", "<= 50 ns (Tokio ct 149)"),
    ("spawn+join, current_thread, warm, N=1M",
     "BM_spawn_join/current_thread/1000000/iterations:5/real_time", "ns_per_task", "ns/task",
     "<= 50 ns (Tokio ct 149)"),
    ("spawn+join, multi_thread 2w, warm, N=1024", "BM_spawn_join/multi_thread/1024/real_time",
     "ns_per_task", "ns/task", "<= 50 ns (Tokio mt 259)"),
    ("spawn+join, multi_thread 2w, warm, N=1M",
     "BM_spawn_join/multi_thread/1000000/iterations:5/real_time", "ns_per_task", "ns/task",
     "<= 50 ns (Tokio mt 259)"),
    ("spawn+join, current_thread, first round (fresh process), N=1M",
     "BM_spawn_join_first_round/current_thread/1000000/iterations:1/manual_time", "ns_per_task",
     "ns/task", "<= 300 ns (Tokio ct 698)"),
    ("spawn+join, multi_thread 2w, first round (fresh process), N=1M",
     "BM_spawn_join_first_round/multi_thread/1000000/iterations:1/manual_time", "ns_per_task",
     "ns/task", "<= 300 ns (Tokio mt 992)"),
    ("yield_now, current_thread, one task", "BM_yield/current_thread/real_time", "ns_per_yield",
     "ns/yield", "<= 30 ns (Go 64)"),
    ("yield_now, current_thread, two tasks alternating", "BM_yield_two_tasks/real_time",
     "ns_per_yield", "ns/yield", "<= 30 ns (Go 64)"),
    ("yield_now, multi_thread 2w, one task", "BM_yield/multi_thread/real_time", "ns_per_yield",
     "ns/yield", "<= 30 ns (Go 64)"),
    ("await chain, per level (depth 1000)", "BM_await_chain/1000/real_time", "ns_per_level",
     "ns/level", "~1-2 ns resume + frame alloc"),
    ("when_all of 2 trivial tasks, current_thread", "BM_when_all_2/current_thread/real_time",
     "ns_per_when_all", "ns", "-"),
    ("when_all of 2 trivial tasks, multi_thread 2w", "BM_when_all_2/multi_thread/real_time",
     "ns_per_when_all", "ns", "-"),
]
THREAD = ("BM_thread_create_join/real_time", "us_per_thread")

MEMORY_ROWS = [
    ("idle task parked on a gate (notify-like), N=100k",
     "BM_idle_task_memory/parked/100000/iterations:1", "task", "<= 128 B (Tokio 192)"),
    ("idle task awaiting a join_handle, N=100k",
     "BM_idle_task_memory/joining/100000/iterations:1", "task", "-"),
    ("blocked std::thread (std::latch), M=1000", "BM_blocked_thread_memory/1000/iterations:1",
     "thread", "report (~36 KiB here)"),
]


def load_one(path):
    """name -> counter -> median over the repetitions in one report."""
    medians = defaultdict(dict)
    samples = defaultdict(lambda: defaultdict(list))
    errors = {}
    with open(path) as f:
        report = json.load(f)
    for b in report["benchmarks"]:
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            errors[name] = b.get("error_message", "error")
            continue
        numbers = {k: v for k, v in b.items() if isinstance(v, (int, float))}
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name].update(numbers)
        else:
            for k, v in numbers.items():
                samples[name][k].append(v)
    for name, counters in samples.items():
        for k, values in counters.items():
            medians[name].setdefault(k, statistics.median(values))
    return medians, errors


def load(paths):
    """value(name, counter): the median over the reports of each report's
    median (one report per run of the binary)."""
    runs = [load_one(p) for p in paths]
    errors = {}
    for _, e in runs:
        errors.update(e)

    def value(name, counter):
        values = [m[name][counter] for m, _ in runs if counter in m.get(name, {})]
        return statistics.median(values) if values else None
    return value, errors


def fmt_bytes(b):
    if b is None:
        return "n/a"
    return f"{b:.0f} B" if abs(b) < 1024 else f"{b / 1024:.1f} KiB"


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    value, errors = load(argv[1:])
    thread_us = value(*THREAD)
    thread_ns = thread_us * 1000 if thread_us is not None else None

    print("| figure | median | std::thread ÷ this | PERFORMANCE.md target |")
    print("|---|---|---|---|")
    for label, name, counter, unit, target in TIME_ROWS:
        v = value(name, counter)
        if v is None:
            print(f"| {label} | {errors.get(name, 'not run')} | | {target} |")
            continue
        ratio = f"{thread_ns / v:,.0f}×" if thread_ns else "n/a"
        print(f"| {label} | {v:,.1f} {unit} | {ratio} | {target} |")
    if thread_us is not None:
        print(f"| std::thread create + join | {thread_us:,.1f} µs | 1× | report (60 µs here) |")

    thread_total = None
    name = MEMORY_ROWS[-1][1]
    rss, kernel = value(name, "rss_per_thread"), value(name, "kernel_per_thread")
    if rss is not None and kernel is not None:
        thread_total = rss + kernel
    print()
    print("| waiter | heap | RSS | kernel | thread (RSS+kernel) ÷ this (RSS) | target |")
    print("|---|---|---|---|---|---|")
    for label, name, unit, target in MEMORY_ROWS:
        heap = value(name, f"heap_per_{unit}")
        rss = value(name, f"rss_per_{unit}")
        kernel = value(name, f"kernel_per_{unit}") if unit == "thread" else None
        if unit == "task":
            ratio = f"{thread_total / rss:,.0f}×" if thread_total and rss else "n/a"
            extra = (f" (frame {value(name, 'frame_size'):.0f} B + 80 B header"
                     f" -> {value(name, 'block_size'):.0f} B block)") if heap is not None else ""
        else:
            ratio = "1×"
            extra = ""
        print(f"| {label}{extra} | {fmt_bytes(heap)} | {fmt_bytes(rss)} | "
              f"{fmt_bytes(kernel) if kernel is not None else '-'} | {ratio} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
