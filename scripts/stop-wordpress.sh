#!/usr/bin/env bash
# Usage: scripts/stop-wordpress.sh [DIR]   (DIR defaults to $CASTELLAN_WORDPRESS_DIR)
# Stops the PHP web server (with its workers) and the MariaDB that scripts/start-wordpress.sh
# started from DIR (their pids are in DIR/php.pid and DIR/mariadb.pid; each leads its own
# process group). Keeps the data, the configuration and the application password: the next
# start takes seconds.
set -euo pipefail

D=${1:-${CASTELLAN_WORDPRESS_DIR:-}}
if [ -z "$D" ]; then
  echo "usage: $0 DIR   (or set CASTELLAN_WORDPRESS_DIR)" >&2
  exit 2
fi

# Signals the process group led by the pid in FILE, if that pid is still ours (pids get reused):
# its command line matches PATTERN.
stop() { # FILE PATTERN NAME
  local file=$1 pattern=$2 name=$3 pid
  [ -f "$file" ] || { echo "stop-wordpress: $name not running (no $file)" >&2; return 0; }
  pid=$(cat "$file")
  ours() {
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
  }
  if ours; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 60); do
      ours || break
      sleep 0.25
    done
    if ours; then
      echo "stop-wordpress: $name (pid $pid) ignored SIGTERM; sending SIGKILL" >&2
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "stop-wordpress: stopped $name (pid $pid)" >&2
  else
    echo "stop-wordpress: $name (pid $pid) is not running" >&2
  fi
  rm -f "$file"
}

stop "$D/php.pid" "php .*-S 127.0.0.1:" "PHP's web server"
stop "$D/mariadb.pid" "mariadbd .*--datadir=$D/db" "MariaDB"
