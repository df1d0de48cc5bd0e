#!/usr/bin/env bash
# Runs a command and passes only when it exits 0 and its output (stdout and stderr) matches an
# extended regular expression: CTest's PASS_REGULAR_EXPRESSION alone would ignore the exit code.
# Usage: expect_output.sh REGEX COMMAND [ARG...]
set -uo pipefail
if (($# < 2)); then
  echo "usage: expect_output.sh REGEX COMMAND [ARG...]" >&2
  exit 2
fi
pattern=$1
shift
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
if ((status != 0)); then
  echo "expect_output: '$1' exited with status $status" >&2
  exit 1
fi
if ! grep -Eq -- "$pattern" <<<"$output"; then
  echo "expect_output: the output does not match: $pattern" >&2
  exit 1
fi
