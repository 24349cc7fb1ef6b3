#!/usr/bin/env bash
# Usage: scripts/stop-redmine.sh DIR
# Stops the Redmine that scripts/start-redmine.sh started from DIR (its pid is in DIR/redmine.pid).
# Keeps the Debian package and its database (the next start takes seconds); DIR/api-key stays
# valid while the database does.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
D=$1
pidfile="$D/redmine.pid"
[ -f "$pidfile" ] || { echo "stop-redmine: not running (no $pidfile)" >&2; exit 0; }
pid=$(cat "$pidfile")

# Only signal the pid if it is still our Redmine (pids get reused).
is_ours() {
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'rails'
}

if is_ours; then
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    is_ours || break
    sleep 0.25
  done
  if is_ours; then
    echo "stop-redmine: pid $pid ignored SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "stop-redmine: stopped pid $pid" >&2
else
  echo "stop-redmine: pid $pid is not running" >&2
fi
rm -f "$pidfile" "$D/rails.pid"
