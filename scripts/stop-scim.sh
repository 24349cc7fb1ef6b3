#!/usr/bin/env bash
# Usage: scripts/stop-scim.sh [DIR]
# Stops the scim2-server that scripts/start-scim.sh started from DIR (its pid is in DIR/scim.pid).
# The server keeps its data in memory, so everything in it is gone; DIR (venv, token) is kept so
# the next start is quick. DIR defaults to $CASTELLAN_SCIM_DIR, else ./target/scim.
set -euo pipefail

D=${1:-${CASTELLAN_SCIM_DIR:-target/scim}}
pidfile="$D/scim.pid"
[ -f "$pidfile" ] || { echo "stop-scim: not running (no $pidfile)" >&2; exit 0; }
pid=$(cat "$pidfile")

# Only signal the pid if it is still our server (pids get reused).
is_ours() {
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'scim2_server'
}

if is_ours; then
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    is_ours || break
    sleep 0.25
  done
  if is_ours; then
    echo "stop-scim: pid $pid ignored SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "stop-scim: stopped pid $pid" >&2
else
  echo "stop-scim: pid $pid is not running" >&2
fi
rm -f "$pidfile"
