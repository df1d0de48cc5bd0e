#!/usr/bin/env bash
# pollnotify-soak's command line: --help on stdout with exit 0, every bad value refused with exit
# 2 and a message naming the option, never an abort. Usage: soak_cli_test.sh PATH_TO_SOAK
set -u
soak=$1
failures=0
check() {  # expected_status expected_text args...
  local want_status=$1 want_text=$2
  shift 2
  local out status
  out=$("$soak" "$@" 2>&1)
  status=$?
  if [ "$status" -ne "$want_status" ] || ! grep -qF -- "$want_text" <<<"$out"; then
    echo "FAIL: pollnotify-soak $* -> status $status (want $want_status), output: $out"
    failures=$((failures + 1))
  fi
}
help=$("$soak" --help 2>/dev/null)
[ $? -eq 0 ] && grep -q "Exit status" <<<"$help" || { echo "FAIL: --help"; failures=$((failures + 1)); }
check 2 "--error-rate wants a number in [0, 1], got '2'" --error-rate 2
check 2 "--refuse-rate wants" --refuse-rate -1
check 2 "--error-rate wants" --error-rate nan
check 2 "--sessions wants" --sessions 4000000000
check 2 "--sessions wants" --sessions -1
check 2 "--pollers wants" --pollers 100000
check 2 "--threads wants" --threads 4294967297
check 2 "--duration wants" --duration 1e300
check 2 "--duration wants" --duration 0
check 2 "--requests wants" --requests abc
check 2 "--seed wants" --seed=-1
check 2 "unknown option '--bogus'" --bogus
check 2 "needs a value" --duration
check 2 "above the limit" --latency fixed:1e300
check 2 "unexpected argument 'extra'" extra
check 0 "lost=0 duplicated=0" --duration=0.2 --threads 1 --sessions=4 --progress 0
# Standard output that cannot be written: exit 3, said on standard error.
for args in "--help" "--duration=0.1 --threads 1 --sessions=2 --progress 0"; do
  # shellcheck disable=SC2086
  err=$("$soak" $args 2>&1 >/dev/full)
  status=$?
  if [ "$status" -ne 3 ] || ! grep -qF "cannot write standard output" <<<"$err"; then
    echo "FAIL: pollnotify-soak $args > /dev/full -> status $status, stderr: $err"
    failures=$((failures + 1))
  fi
done
# Requests that never complete (an hour each): the run still ends, bounded, with exit 1.
started=$(date +%s)
check 1 "no completion for 10 s" --duration=0.5 --threads 1 --sessions=2 --progress 0 \
  --latency fixed:3600000000000
if (( $(date +%s) - started > 60 )); then
  echo "FAIL: a run whose requests never complete took $(( $(date +%s) - started )) s"
  failures=$((failures + 1))
fi
echo "soak_cli_test: $((20 - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
