#!/usr/bin/env bash
# Usage: scripts/stop-scim.sh [DIR]
# Stops the scim2-server that scripts/start-scim.sh started from DIR (its pid is in DIR/scim.pid).
# The server keeps its data in memory, so everything in it is gone; DIR (venv, token) is kept so
# the next start is quick. DIR defaults to $CASTELLAN_SCIM_DIR, else ./target/scim.
set -euo pipefail

D=${1:-${CASTELLAN_SCIM_DIR:-target/scim}}
"$(dirname "$0")/lib/stop-server.sh" stop-scim "$D/scim.pid" 'scim2_server'
