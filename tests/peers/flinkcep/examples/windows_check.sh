#!/usr/bin/env bash
# Runs the Flink window peer (cepheus.peer.window.Main) over windows_cases.jsonl and compares its
# output line by line with windows_expected.jsonl. Exit status 0 iff all cases agree.
#   examples/windows_check.sh            check
#   examples/windows_check.sh --update   rewrite windows_expected.jsonl from the current output
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
eval "$("$HERE/../build.sh")"

ACTUAL="$(mktemp)"
trap 'rm -f "$ACTUAL"' EXIT
# shellcheck disable=SC2086
java ${PEER_JAVA_OPTS:-} -cp "$(cat "$PEER_CLASSPATH_FILE")" cepheus.peer.window.Main "$HERE/windows_cases.jsonl" > "$ACTUAL"

if [ "${1:-}" = "--update" ]; then
    cp "$ACTUAL" "$HERE/windows_expected.jsonl"
    echo "updated examples/windows_expected.jsonl ($(wc -l < "$ACTUAL") cases)"
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
done 3<"$HERE/windows_expected.jsonl" 4<"$ACTUAL"
want_n=$(wc -l < "$HERE/windows_expected.jsonl")
got_n=$(wc -l < "$ACTUAL")
if [ "$want_n" != "$got_n" ]; then
    echo "line count differs: expected $want_n, actual $got_n" >&2
    fail=$((fail + 1))
fi
echo "window-peer-examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
