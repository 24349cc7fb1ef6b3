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
"$(dirname "$0")/lib/stop-server.sh" stop-synapse "$D/synapse.pid" 'synapse.app.homeserver'
