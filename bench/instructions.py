#!/usr/bin/env python3
"""Instructions per operation, counted with callgrind: noise-free, unlike time.

Usage:
  python3 bench/instructions.py <build>/bench/brigade_micro_bench

Runs `brigade_micro_bench --brigade-child repeat <workload> <count>` (a
current_thread runtime) under `valgrind --tool=callgrind` at two counts and
divides the difference in instructions by the difference in operations, so
process start-up and runtime construction cancel out. PERFORMANCE.md: "use
valgrind --tool=callgrind instruction counts where wall time is too noisy".
"""

import re
import subprocess
import sys

# workload, (count a, count b), operations per count, label
WORKLOADS = [
    ("spawn-join", (20, 40), 1024, "spawn + join of an empty task (warm, rounds of 1024)"),
    ("yield", (20000, 40000), 1, "yield_now (one task)"),
    ("chain", (20000, 40000), 1, "one level of a co_await chain (chains of 1000)"),
    ("when-all", (5000, 10000), 1, "when_all of 2 empty tasks"),
]


def instructions(exe, workload, count):
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", exe,
           "--brigade-child", "repeat", workload, str(count)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    m = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if not m or "done=" not in out.stdout:
        raise RuntimeError(f"no instruction count from: {' '.join(cmd)}\n{out.stderr}")
    return int(m.group(1))


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    exe = argv[1]
    print("| operation (current_thread) | instructions |")
    print("|---|---|")
    for workload, (a, b), per_count, label in WORKLOADS:
        ir_a = instructions(exe, workload, a)
        ir_b = instructions(exe, workload, b)
        per_op = (ir_b - ir_a) / ((b - a) * per_count)
        print(f"| {label} | {per_op:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
