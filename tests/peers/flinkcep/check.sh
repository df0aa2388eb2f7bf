#!/usr/bin/env bash
# Rebuilds the FlinkCEP peer if needed, runs examples/cases.jsonl through it and compares the
# output line by line with examples/expected.jsonl. Exit status 0 iff all cases agree.
#   tests/peers/flinkcep/check.sh            check
#   tests/peers/flinkcep/check.sh --update   rewrite expected.jsonl from the current output
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
eval "$("$HERE/build.sh")"

ACTUAL="$(mktemp)"
trap 'rm -f "$ACTUAL"' EXIT
"$PEER_RUN" "$HERE/examples/cases.jsonl" > "$ACTUAL"

if [ "${1:-}" = "--update" ]; then
    cp "$ACTUAL" "$HERE/examples/expected.jsonl"
    echo "updated examples/expected.jsonl ($(wc -l < "$ACTUAL") cases)"
    exit 0
fi

pass=0
fail=0
while IFS= read -r want <&3 && IFS= read -r got <&4; do
    if [ "$want" = "$got" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "MISMATCH" >&2
        echo "  expected: $want" >&2
        echo "  actual:   $got" >&2
    fi
done 3<"$HERE/examples/expected.jsonl" 4<"$ACTUAL"
want_n=$(wc -l < "$HERE/examples/expected.jsonl")
got_n=$(wc -l < "$ACTUAL")
if [ "$want_n" != "$got_n" ]; then
    echo "line count differs: expected $want_n, actual $got_n" >&2
    fail=$((fail + 1))
fi
echo "flinkcep-examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
