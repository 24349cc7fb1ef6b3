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

stop="$(dirname "$0")/lib/stop-server.sh"
"$stop" stop-wordpress "$D/php.pid" "php .*-S 127.0.0.1:"
"$stop" stop-wordpress "$D/mariadb.pid" "mariadbd .*--datadir=$D/db"
