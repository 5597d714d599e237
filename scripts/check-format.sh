#!/usr/bin/env bash
# Checks every C++ file in the repository (tracked, plus new files that are
# not git-ignored) against .clang-format with clang-format 14, as CI does.
# Prints the offending files and exits non-zero if there are any.
# Fix them with: clang-format-14 -i <files>
set -euo pipefail
cd "$(dirname "$0")/.."

clang_format=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "check-format.sh: $clang_format not found (run scripts/deps.sh)" >&2
  exit 2
fi

bad=()
checked=0
while IFS= read -r -d '' f; do
  [[ -f "$f" ]] || continue  # deleted in the work tree, not yet in the index
  checked=$((checked + 1))
  "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files -z --cached --others --exclude-standard -- '*.hpp' '*.cpp' | sort -zu)

if ((${#bad[@]} > 0)); then
  echo "check-format.sh: ${#bad[@]} of $checked files need clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "fix with: $clang_format -i ${bad[*]}" >&2
  exit 1
fi
echo "check-format.sh: $checked files formatted"
