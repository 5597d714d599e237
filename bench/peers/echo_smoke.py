#!/usr/bin/env python3
"""CI smoke test of an echo server of the peer suite: runs it under the same
harness as driver.py (server on one CPU, echo_client on the other) for a
fraction of a second and checks that every echo figure came out. It checks
that the server works, never how fast.

Usage: echo_smoke.py <echo_client> <label> <server argv...>
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree from a test
import driver  # noqa: E402


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: echo_smoke.py <echo_client> <label> <server argv...>")
    client, label, server = sys.argv[1], sys.argv[2], sys.argv[3:]
    rows = driver.run_echo(label, server, None, client, 1)
    got = {r["case"]: r.get("value") for r in rows if r.get("peer") == label}
    want = ("echo_cpu", "echo_rps", "echo_p50", "echo_p99")
    missing = [c for c in want if c not in got]
    for r in rows:
        print(" ".join(f"{k}={v}" for k, v in r.items()))
    if missing or float(got["echo_rps"]) <= 0:
        sys.exit(f"echo smoke: missing or zero figures: {missing or 'echo_rps'}")
    print("echo smoke: ok")


if __name__ == "__main__":
    main()
