#!/usr/bin/env bash
# tests/bench.sh - kept for habit: `make bench` runs bench/run.sh (see there for the knobs).
exec "$(dirname "$0")/../bench/run.sh" "$@"
