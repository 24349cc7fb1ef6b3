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
"$(dirname "$0")/lib/stop-server.sh" stop-redmine "$D/redmine.pid" 'rails'
rm -f "$D/rails.pid"
