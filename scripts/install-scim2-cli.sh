#!/usr/bin/env bash
# Usage: scripts/install-scim2-cli.sh [DIR]
#
# Installs the `scim2` compliance checker (scim2-cli from PyPI, pinned, with the scim2-tester it
# runs) into DIR/cli-venv when it is missing or another version, and prints the path of its
# `scim2` command. Used by crates/castellan/tests/scim_checker.rs, which runs `scim2 -u URL test`
# against Castellan's own /scim/v2 (see ../shared/targets/README.md, scim/).
#
# DIR defaults to $CASTELLAN_SCIM_DIR, else ./target/scim. Concurrent runs are serialised with
# flock(1). Needs python3 (>= 3.10, with venv); pip honours PIP_CACHE_DIR and PIP_INDEX_URL.
set -euo pipefail

DIR=${1:-${CASTELLAN_SCIM_DIR:-target/scim}}
CLI=${CASTELLAN_SCIM2_CLI_VERSION:-0.6.0}
TESTER=${CASTELLAN_SCIM2_TESTER_VERSION:-0.5.2}
mkdir -p "$DIR"
D=$(cd "$DIR" && pwd)
log() { echo "install-scim2-cli: $*" >&2; }

exec 9>"$D/.cli.lock"
flock 9
marker="$D/cli-venv/.castellan-scim2-cli-$CLI-$TESTER"
if [ ! -f "$marker" ]; then
  rm -rf "$D/cli-venv"
  python3 -m venv "$D/cli-venv" || { log "python3 -m venv failed (Debian: python3-venv)"; exit 1; }
  log "installing scim2-cli==$CLI scim2-tester==$TESTER into $D/cli-venv"
  "$D/cli-venv/bin/python" -m pip install -q "scim2-cli==$CLI" "scim2-tester==$TESTER" ||
    { log "pip install failed"; exit 1; }
  touch "$marker"
fi
echo "$D/cli-venv/bin/scim2"
