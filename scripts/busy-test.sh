#!/usr/bin/env bash
# Runs pytest on the given paths beside one CPU burner per core (BURNERS=n to change), as on a busy CI machine.
set -u
cd "$(dirname "$0")/.."

burners=${BURNERS:-$(nproc)}
pytest=(.venv/bin/python -m pytest)
[ -x .venv/bin/python ] || pytest=(python3 -m pytest)
[ $# -gt 0 ] || set -- tests/browser

pids=()
tests_pid=
stop() {
    [ -z "$tests_pid" ] || kill "$tests_pid" 2>/dev/null
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
    pids=()
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$burners"); do
    python3 -c 'while True: pass' &
    pids+=("$!")
done
echo "busy-test: $burners CPU burner(s) running (pids ${pids[*]})"

# In the background, so that a signal to this script reaches pytest too.
"${pytest[@]}" -p no:cacheprovider "$@" &
tests_pid=$!
wait "$tests_pid"
status=$?
tests_pid=
stop
if [ "$status" -eq 0 ]; then
    echo "busy-test: PASS beside $burners burner(s)"
else
    echo "busy-test: FAIL (pytest exit $status) beside $burners burner(s)"
fi
exit "$status"
