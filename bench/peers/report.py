#!/usr/bin/env python3
"""Turns a driver.py result file into docs/benchmarks.md (the table of the
run, how to reproduce it) and one SVG chart per case in docs/benchmarks/.
Python 3 standard library only; every number comes from the result file.

Usage: report.py <results.json> <repo root>
"""

import html
import json
import os
import shutil
import subprocess
import sys

BRIGADE_PEERS = ("brigade-ct", "brigade-mt", "brigade-ct-epoll", "brigade-ct-uring")
BRIGADE_COLOR = "#c0392b"
PEER_COLOR = "#7f8c8d"


def sh(argv, cwd=None):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def versions():
    def deb(pkg):
        return sh(["dpkg-query", "-W", "-f=${Version}", pkg]) or "not installed"
    rustc = shutil.which("rustc") or "rustc"
    return [
        ("Tokio", "1.24 (librust-tokio-dev " + deb("librust-tokio-dev") + "), "
         + sh([rustc, "--version"])),
        ("Go", sh(["go", "version"]) or "not installed"),
        ("Asio (standalone)", "libasio-dev " + deb("libasio-dev")),
        ("libuv", "libuv1-dev " + deb("libuv1-dev")),
        ("oneTBB", "libtbb-dev " + deb("libtbb-dev")),
        ("C/C++ compiler", sh(["c++", "--version"])),
    ]


def split(key):
    case, peer = key.split("|", 1)
    return case, peer


def case_rows(result, case):
    med = result["medians"]
    found = [(split(k)[1], v) for k, v in med.items() if split(k)[0] == case]
    brig = sorted(x for x in found if x[0] in BRIGADE_PEERS)
    rest = sorted((x for x in found if x[0] not in BRIGADE_PEERS), key=lambda x: x[1])
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


def short(peer):
    """brigade-ct-epoll -> ct-epoll (the flavor, for compact cells)."""
    return peer[len("brigade-"):] if peer.startswith("brigade-") else peer


def ct_cell(b, missing):
    """The current_thread column: brigade-ct, or the per-backend rows of a
    case that runs current_thread on each I/O backend (echo)."""
    if "brigade-ct" in b:
        return fmt(b["brigade-ct"])
    backends = [f"{short(k)} {fmt(v)}" for k, v in sorted(b.items()) if k.startswith("brigade-ct-")]
    if backends:
        return ", ".join(backends)
    return "n/a" if b else f"n/a ({missing})"


def svg(case, title, better, unit, brig, rest, missing, footer):
    """A horizontal bar chart, one bar per peer, brigade in red."""
    bars = brig + rest
    row_h, left, width = 26, 120, 720
    plot_w = width - left - 110
    note_rows = 1 if not brig else 0
    height = 58 + row_h * (len(bars) + note_rows) + 30
    vmax = max(v for _, v in bars) if bars else 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="15" font-weight="bold">{html.escape(case)}</text>',
        f'<text x="10" y="40" fill="#555">{html.escape(title)} ({better} is better)</text>',
    ]
    y = 56
    if not brig:
        out.append(f'<text x="10" y="{y + 17}" fill="{BRIGADE_COLOR}">brigade: n/a '
                   f'(brigade {html.escape(missing)} not implemented yet)</text>')
        y += row_h
    for peer, v in bars:
        w = max(1.0, plot_w * v / vmax) if vmax > 0 else 1.0
        color = BRIGADE_COLOR if peer in BRIGADE_PEERS else PEER_COLOR
        out.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{html.escape(peer)}</text>')
        out.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{color}"/>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 17}">{fmt(v)} {html.escape(unit)}</text>')
        y += row_h
    out.append(f'<text x="10" y="{y + 18}" font-size="11" fill="#888">{html.escape(footer)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def summary_table(result):
    """One row per case: brigade's figures, the best peer, Tokio, and the
    ratio of brigade's better flavor to the best peer."""
    rows = ["| case | unit | brigade-ct | brigade-mt | best peer | Tokio ct / mt | best brigade / best peer |",
            "|---|---|---:|---:|---|---:|---:|"]
    for case, _title, better in result["cases"]:
        brig, rest = case_rows(result, case)
        if not brig and not rest:
            continue
        pick = max if better == "higher" else min
        b = dict(brig)
        best_peer = pick(rest, key=lambda x: x[1]) if rest else None
        best_b = pick(b.values()) if b else None
        tok = dict(rest)
        tokio = " / ".join(fmt(tok[k]) if k in tok else "-" for k in ("tokio-ct", "tokio-mt"))
        missing = result["brigade_missing"].get(case, "?")
        rows.append(
            f"| `{case}` | {result['units'].get(case, '')} "
            f"| {ct_cell(b, missing)} "
            f"| {fmt(b['brigade-mt']) if 'brigade-mt' in b else 'n/a'} "
            f"| {best_peer[0] + ' ' + fmt(best_peer[1]) if best_peer else '-'} | {tokio} "
            f"| {ratio(best_b, best_peer[1]) if best_b is not None and best_peer else '-'} |")
    return rows


# What each multi_thread scheduler micro benchmark runs (rt_multi_thread_bench.cpp).
MICRO_NOTES = {
    "BM_mt_spawn_many_local": "10,000 tasks spawned from one task",
    "BM_mt_spawn_many_remote_idle": "10,000 tasks spawned from outside the runtime, then joined",
    "BM_mt_spawn_many_remote_busy": "the same while 2 tasks per worker keep the workers busy yielding",
    "BM_mt_yield_many": "200 tasks each yielding 1,000 times",
    "BM_mt_ping_pong": "1,000 pairs of tasks, a round trip over two oneshots each",
    "BM_mt_chained_spawn": "a chain of 1,000 tasks, each spawning the next",
}


def micro_section(path):
    """The table of a Google Benchmark JSON file (docs/benchmarks/micro.json,
    written by the command in the template): the median of each benchmark's
    per-item counters, with the run's date, commit and load."""
    if not os.path.exists(path):
        return "No micro benchmark results recorded yet (`docs/benchmarks/micro.json`)."
    with open(path) as f:
        data = json.load(f)
    ctx = data.get("context", {})
    rows = ["| benchmark | what | figure | median |", "|---|---|---|---:|"]
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"]).replace("/real_time", "")
        base = name.split("/")[0]
        for key, v in sorted(b.items()):
            if key.startswith(("ns_per_", "us_per_")):
                rows.append(f"| `{name}` | {MICRO_NOTES.get(base, '')} | {key} | {fmt(v)} |")
    load = ", ".join(f"{x:.1f}" for x in ctx.get("load_avg", []))
    reps = max((b.get("repetitions", 1) for b in data.get("benchmarks", [])), default=1)
    head = (f"- date: {ctx.get('date', '?')}\n- commit: {ctx.get('commit', '?')}\n"
            f"- machine: {ctx.get('num_cpus', '?')} vCPU, {ctx.get('mhz_per_cpu', '?')} MHz, "
            f"load average {load} (1, 5, 15 min)\n- medians of {reps} repetitions\n")
    return head + "\n" + "\n".join(rows)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py <results.json> <repo root>")
    with open(sys.argv[1]) as f:
        result = json.load(f)
    root = sys.argv[2]
    chart_dir = os.path.join(root, "docs", "benchmarks")
    os.makedirs(chart_dir, exist_ok=True)

    # The commit the run measured (run.sh records it); older result files
    # fall back to the repository's HEAD now.
    commit = result.get("commit") or sh(["git", "rev-parse", "--short", "HEAD"], cwd=root)
    source = result.get("source") or os.environ.get("BRIGADE_PEERS_SOURCE", "")
    commit_note = commit + (" (brigade built from this commit, `run.sh --head`)"
                            if source == "head" else "")
    commit = commit.split()[0]

    footer = (f"bench/peers/run.sh, {result['date']}, commit {commit}, medians of "
              f"{result['repeats']}; one run on a shared machine: compare ratios")
    summary = summary_table(result)
    table = ["| case | peer | median | brigade / peer |",
             "|---|---|---:|---|"]
    charts = []
    for case, title, better in result["cases"]:
        brig, rest = case_rows(result, case)
        if not brig and not rest:
            continue
        unit = result["units"].get(case, "")
        missing = result["brigade_missing"].get(case, "?")
        label = f"`{case}` ({unit})"
        if not brig:
            table.append(f"| {label} | brigade | n/a (brigade {missing} not implemented yet) | |")
        for peer, v in brig:
            table.append(f"| {label} | **{peer}** | **{fmt(v)}** | |")
        for peer, v in rest:
            r = ", ".join(f"{short(bp)} {ratio(bv, v)}" for bp, bv in brig if v > 0)
            table.append(f"| {label} | {peer} | {fmt(v)} | {r} |")
        with open(os.path.join(chart_dir, f"{case}.svg"), "w") as f:
            f.write(svg(case, title, better, unit, brig, rest, missing, footer))
        charts.append(f"### {case}\n\n{title}.\n\n![{case}](benchmarks/{case}.svg)\n")
    with open(os.path.join(chart_dir, "results.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)

    na_lines = [f"- {split(k)[1]} / {split(k)[0]}: {v}" for k, v in sorted(result["na"].items())]
    version_lines = [f"- {name}: {v}" for name, v in versions()]
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmarks.md.in")) as f:
        template = f.read()
    doc = template.format(
        date=result["date"], commit=commit_note, machine=result["machine"],
        repeats=result["repeats"], seconds=result["seconds"],
        load=f"{result['load'][0]} at the start, {result['load'][1]} at the end",
        quick=" (--quick subset)" if result["quick"] else "",
        summary="\n".join(summary), table="\n".join(table), charts="\n".join(charts),
        versions="\n".join(version_lines),
        micro=micro_section(os.path.join(chart_dir, "micro.json")),
        na="\n".join(na_lines) if na_lines else "- none")
    with open(os.path.join(root, "docs", "benchmarks.md"), "w") as f:
        f.write(doc)
    print(f"wrote docs/benchmarks.md and {len(charts)} charts in docs/benchmarks/")


if __name__ == "__main__":
    main()
