#!/usr/bin/env bash
# Usage: scripts/stop-synapse.sh DIR
# Stops the Synapse that scripts/start-synapse.sh started from DIR (its pid is in DIR/synapse.pid).
# Keeps DIR (venv, config, database) so the next start is quick; delete DIR for a clean slate.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
D=$1
pidfile="$D/synapse.pid"
[ -f "$pidfile" ] || { echo "stop-synapse: not running (no $pidfile)" >&2; exit 0; }
pid=$(cat "$pidfile")

# Only signal the pid if it is still our Synapse (pids get reused).
is_ours() {
  kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'synapse.app.homeserver'
}

if [ -n "$pid" ] && is_ours; then
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    is_ours || break
    sleep 0.25
  done
  if is_ours; then
    echo "stop-synapse: pid $pid ignored SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "stop-synapse: stopped pid $pid" >&2
else
  echo "stop-synapse: pid $pid is not running" >&2
fi
rm -f "$pidfile"
