#!/usr/bin/env bash
# Installs the Debian packages brigade needs to build, test and benchmark.
# Idempotent: asks dpkg which packages are missing and runs apt-get only for
# those; prints nothing when everything is present.
# Usage: bash scripts/deps.sh
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config git ccache
  clang-14 libclang-rt-14-dev llvm-14  # sanitizer builds; llvm-14 has llvm-symbolizer-14
  clang-format-14
  libgtest-dev libgmock-dev libbenchmark-dev
  liburing-dev                         # io_uring backend
  chromium                             # headless check of the brigade HTML reports
  libasio-dev libuv1-dev libtbb-dev    # bench/peers: the C/C++ peers CI builds
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
if ((EUID == 0)); then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
  if [[ "${CI:-}" == true ]]; then as_root+=(-n); fi  # no terminal: fail, don't prompt
else
  echo "deps.sh: missing packages (${missing[*]}) and not root, no sudo; install them first" >&2
  exit 1
fi

"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"
