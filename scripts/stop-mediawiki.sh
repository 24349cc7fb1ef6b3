#!/usr/bin/env bash
# Usage: scripts/stop-mediawiki.sh [DIR]
# Stops the wiki that scripts/start-mediawiki.sh started from DIR (default
# $CASTELLAN_MEDIAWIKI_DIR): PHP's built-in server whose pid is in DIR/php.pid, and its workers.
# Keeps the wiki (DIR/LocalSettings.php, the SQLite database in DIR/data): the next start takes
# a second.
set -euo pipefail

D=${1:-${CASTELLAN_MEDIAWIKI_DIR:-}}
if [ -z "$D" ]; then
  echo "usage: $0 DIR (or set CASTELLAN_MEDIAWIKI_DIR)" >&2
  exit 2
fi
pidfile="$D/php.pid"
[ -f "$pidfile" ] || { echo "stop-mediawiki: not running (no $pidfile)" >&2; exit 0; }
pid=$(cat "$pidfile")

# Only signal the pid if it is still our server (pids get reused).
is_ours() {
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'php -S 127.0.0.1:'
}

if is_ours; then
  # PHP_CLI_SERVER_WORKERS forks workers under the server process.
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    is_ours || break
    sleep 0.25
  done
  if is_ours; then
    echo "stop-mediawiki: pid $pid ignored SIGTERM; sending SIGKILL" >&2
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "stop-mediawiki: stopped pid $pid" >&2
else
  echo "stop-mediawiki: pid $pid is not running" >&2
fi
rm -f "$pidfile"
