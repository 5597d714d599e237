#!/usr/bin/env bash
# The peer suite in one command: install what is missing, build brigade and
# every peer, run them A/B alternately, print medians and ratios, and (for a
# full run) regenerate docs/benchmarks.md and docs/benchmarks/*.svg.
#
#   bench/peers/run.sh [--quick] [--repeats N] [--only group,group] [--no-docs] [--head]
#
# --head measures the last commit (a `git archive HEAD` copy) instead of the
# working tree, e.g. while the tree is mid-edit.
#
# Full run: 5 repetitions, <= 15 min on 2 cores. --quick: 1 repetition of a
# subset (no 10^6 timers, no Asio fib, 1 s echo), <= 2 min once built.
# Builds go to bench/peers/build/ (git-ignored); results to
# bench/peers/results/latest.json (full runs) or partial.json (the others).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$here/build"
results="$here/results"
quick=0
repeats=""
only=""
docs=1
head=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --repeats) repeats="$2"; shift ;;
    --only) only="$2"; shift ;;
    --no-docs) docs=0 ;;
    --head) head=1 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$repeats" ]] || repeats=$([[ $quick == 1 ]] && echo 1 || echo 5)

log() { printf '\n== %s\n' "$*" >&2; }

# ---- 1. packages (idempotent: apt-get only when something is missing) -------
packages=(cmake ninja-build g++ python3 libasio-dev libtbb-dev libuv1-dev golang-go librust-tokio-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Any cargo will do (rustup's or Debian's); Debian's comes with rustc.
command -v cargo >/dev/null 2>&1 || missing+=(cargo rustc)
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || echo "run.sh: some packages failed to install; their peers will be skipped" >&2
fi

# ---- 2. build ---------------------------------------------------------------
mkdir -p "$build" "$results"
log "building brigade (Release) and the C/C++ peers"
brigade_dir="$root"
if [[ $head == 1 ]]; then
  brigade_dir="$build/brigade-head"
  rm -rf "$brigade_dir" && mkdir -p "$brigade_dir"
  git -C "$root" archive --format=tar HEAD | tar -x -C "$brigade_dir"
fi
export BRIGADE_PEERS_SOURCE=$([[ $head == 1 ]] && echo head || echo worktree)
BRIGADE_PEERS_COMMIT="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ $head == 0 && -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  BRIGADE_PEERS_COMMIT+=" plus the uncommitted working tree"
fi
export BRIGADE_PEERS_COMMIT
cmake -G Ninja -S "$here" -B "$build/cmake" -DCMAKE_BUILD_TYPE=Release \
  -DBRIGADE_PEERS_BRIGADE_DIR="$brigade_dir" >"$build/cmake.log" 2>&1 \
  || { cat "$build/cmake.log" >&2; exit 1; }
grep "bench/peers:" "$build/cmake.log" >&2 || true
ninja -C "$build/cmake" >"$build/ninja.log" 2>&1 || { tail -40 "$build/ninja.log" >&2; exit 1; }

if command -v cargo >/dev/null 2>&1 && ls -d /usr/share/cargo/registry/tokio-1.* >/dev/null 2>&1; then
  log "building the Tokio peer (cargo --offline, Debian's crates)"
  # No Cargo.lock is kept (git-ignored): cargo resolves against whichever
  # versions Debian ships on this machine.
  (cd "$here/tokio" && CARGO_TARGET_DIR="$build/tokio" cargo build --release --offline -q) \
    || echo "run.sh: the Tokio peer did not build; skipped" >&2
else
  echo "run.sh: cargo or Debian's tokio crates missing; Tokio peer skipped" >&2
fi

if command -v go >/dev/null 2>&1; then
  log "building the Go peer"
  (cd "$here/go" && GOFLAGS=-mod=mod GOPROXY=off GOCACHE="$build/go/cache" GOPATH="$build/go/path" \
    go build -o "$build/go/go_peer" .) || echo "run.sh: the Go peer did not build; skipped" >&2
fi

# ---- 3. run -----------------------------------------------------------------
# Full runs feed the docs; partial ones never overwrite their input.
if [[ $quick == 0 && -z "$only" ]]; then out="$results/latest.json"; else out="$results/partial.json"; fi
args=(--build "$build" --repeats "$repeats" --out "$out")
[[ $quick == 1 ]] && args+=(--quick)
[[ -n "$only" ]] && args+=(--only "$only")
log "running (repeats=$repeats$([[ $quick == 1 ]] && echo ', quick'))"
python3 "$here/driver.py" "${args[@]}"

# ---- 4. docs (full runs only) -----------------------------------------------
if [[ $quick == 0 && -z "$only" && $docs == 1 ]]; then
  python3 "$here/report.py" "$out" "$root"
else
  echo "(results in $out; docs/benchmarks.md is rewritten by full runs only)" >&2
fi
