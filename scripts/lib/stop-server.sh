#!/usr/bin/env bash
# Usage: scripts/lib/stop-server.sh NAME PIDFILE CMDLINE_PATTERN
#
# Stops a test server that one of the scripts/start-*.sh scripts started in the background: reads
# its pid from PIDFILE, signals it only if /proc/PID/cmdline still matches CMDLINE_PATTERN (pids
# get reused), sends SIGTERM (to its process group when it leads one, so workers go too), waits
# up to 15 s, then SIGKILL, and removes PIDFILE. NAME prefixes
# the messages (e.g. stop-synapse). Exits 0 when the server was not running.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 NAME PIDFILE CMDLINE_PATTERN" >&2
  exit 2
fi
name=$1 pidfile=$2 pattern=$3
[ -f "$pidfile" ] || { echo "$name: not running (no $pidfile)" >&2; exit 0; }
pid=$(cat "$pidfile")

is_ours() {
  kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

if [ -n "$pid" ] && is_ours; then
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  for _ in $(seq 1 60); do
    is_ours || break
    sleep 0.25
  done
  if is_ours; then
    echo "$name: pid $pid ignored SIGTERM; sending SIGKILL" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "$name: stopped pid $pid" >&2
else
  echo "$name: pid $pid is not running" >&2
fi
rm -f "$pidfile"
