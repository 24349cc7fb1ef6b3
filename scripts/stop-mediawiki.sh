#!/usr/bin/env bash
# Usage: scripts/stop-mediawiki.sh [DIR]   (DIR defaults to $CASTELLAN_MEDIAWIKI_DIR)
# Stops the wiki that scripts/start-mediawiki.sh started from DIR: PHP's built-in server (its pid
# is in DIR/php.pid; it leads its own process group, so its workers go too). Keeps the wiki
# (DIR/LocalSettings.php, the SQLite database in DIR/data): the next start takes a second.
set -euo pipefail

D=${1:-${CASTELLAN_MEDIAWIKI_DIR:-}}
if [ -z "$D" ]; then
  echo "usage: $0 DIR   (or set CASTELLAN_MEDIAWIKI_DIR)" >&2
  exit 2
fi

"$(dirname "$0")/lib/stop-server.sh" stop-mediawiki "$D/php.pid" "php -S 127.0.0.1:"
