#!/usr/bin/env bash
# Usage: scripts/start-scim.sh [DIR] [PORT]
#
# Castellan's test harness for a real SCIM 2.0 service provider: `scim2-server` from PyPI, an
# in-memory SCIM server (RFC 7643 schemas, RFC 7644 protocol) made for testing SCIM clients
# (written from the recipe in ../shared/targets/scim/crud-scim.sh). It:
#   - installs scim2-server (pinned) from PyPI into DIR/venv when it is missing (or another
#     version);
#   - makes a random bearer token once, in DIR/token (mode 600; never printed);
#   - starts the server in the background on 127.0.0.1:PORT accepting only that token
#     (`--bearer-token`, RFC 6750): output in DIR/stdout.log, pid in DIR/scim.pid.
# The SCIM base URL is http://127.0.0.1:PORT/v2 (the server answers at the root too).
#
# The server keeps everything in memory: a restart starts empty, so tests create what they need
# idempotently. It does not fill `User.groups` (read group memberships from the Groups), lets a
# Group list members that do not exist, and keeps a deleted user in the Groups' members.
# `GET /ServiceProviderConfig` (and /Schemas, /ResourceTypes) answer without a token, as RFC 7644
# §4 allows; every other call needs it (401 otherwise). The token has every permission: the
# server has no read-only or non-admin token.
#
# Idempotent: when our server already answers on PORT it exits 0. Concurrent runs on the same
# DIR are serialised with flock(1).
#
# DIR defaults to $CASTELLAN_SCIM_DIR, else ./target/scim; PORT to 18082.
# Needs: bash, curl, flock (util-linux), python3 (>= 3.10, with venv). pip honours PIP_CACHE_DIR
# (and PIP_INDEX_URL, ...) from the environment.
# Environment: CASTELLAN_SCIM_SERVER_VERSION overrides the pinned version; a new
# CASTELLAN_TEST_RUN restarts the server empty.
set -euo pipefail

DIR=${1:-${CASTELLAN_SCIM_DIR:-target/scim}}
PORT=${2:-18082}
VERSION=${CASTELLAN_SCIM_SERVER_VERSION:-0.8.3}
mkdir -p "$DIR"
D=$(cd "$DIR" && pwd)
BASE=http://127.0.0.1:$PORT/v2

log() { echo "start-scim: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in curl flock python3; do
  command -v "$tool" >/dev/null || die "needs $tool on PATH"
done

# One run at a time per DIR (parallel test binaries share one server). The lock's fd is closed
# for the server itself (9>&- below) so it does not hold the lock.
exec 9>"$D/.start.lock"
flock 9

# The service provider configuration answers without a token: our server also refuses a wrong one.
healthy() {
  curl -s -m 2 -o /dev/null -w '%{http_code}' "$BASE/ServiceProviderConfig" 2>/dev/null |
    grep -q '^200$'
}
ours() {
  [ -f "$D/token" ] &&
    curl -s -m 2 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$D/token")" \
      "$BASE/Users?count=0" 2>/dev/null | grep -q '^200$'
}
pid_alive() {
  [ -f "$D/scim.pid" ] || return 1
  local pid
  pid=$(cat "$D/scim.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'scim2_server'
}

# A new test run (CASTELLAN_TEST_RUN, set once by .ci/run) starts from an empty server (it keeps
# everything in memory, so a restart empties it). Within one run the server is started once and
# shared by every test binary.
if [ -n "${CASTELLAN_TEST_RUN:-}" ] && [ "$(cat "$D/.test-run" 2>/dev/null)" != "$CASTELLAN_TEST_RUN" ]; then
  if pid_alive; then
    log "new test run: stopping the server of the previous run"
    "$(dirname "$0")/stop-scim.sh" "$D" 2>/dev/null || true
  fi
  echo "$CASTELLAN_TEST_RUN" >"$D/.test-run"
  log "new test run $CASTELLAN_TEST_RUN: empty server"
fi

if healthy; then
  if pid_alive && ours; then
    log "already running on $BASE (pid $(cat "$D/scim.pid"))"
    exit 0
  fi
  die "something else answers on $BASE; choose another port"
fi

# --- install -------------------------------------------------------------------------------
marker="$D/venv/.castellan-scim2-server-$VERSION"
if [ ! -f "$marker" ]; then
  t0=$(date +%s)
  rm -rf "$D/venv"
  python3 -m venv "$D/venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  log "installing scim2-server==$VERSION into $D/venv"
  "$D/venv/bin/python" -m pip install -q "scim2-server==$VERSION" ||
    die "pip install scim2-server==$VERSION failed"
  touch "$marker"
  log "installed in $(($(date +%s) - t0))s"
fi

# --- token ---------------------------------------------------------------------------------
if [ ! -s "$D/token" ]; then
  (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$D/token.new")
  mv "$D/token.new" "$D/token"
fi
chmod 600 "$D/token"

# --- start ---------------------------------------------------------------------------------
t0=$(date +%s)
if pid_alive; then
  log "a scim2-server from $D is running but does not answer on $BASE; stopping it"
  kill "$(cat "$D/scim.pid")" 2>/dev/null || true
  sleep 1
fi
# The token is read from a file by a tiny wrapper so it is not on the command line of `ps`.
(cd "$D" && exec setsid "$D/venv/bin/python" -c '
import sys
from scim2_server.testserver.cli import main
token = open(sys.argv[1]).read().strip()
sys.argv = ["scim2-server", "--hostname", "127.0.0.1", "--port", sys.argv[2],
            "--bearer-token", token]
sys.exit(main())
' "$D/token" "$PORT" </dev/null >"$D/stdout.log" 2>&1 9>&-) &
echo $! >"$D/scim.pid"
pid=$(cat "$D/scim.pid")
for _ in $(seq 1 100); do
  healthy && break
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 40 "$D/stdout.log" >&2 || true
    rm -f "$D/scim.pid"
    die "scim2-server exited while starting (see $D/stdout.log)"
  fi
  sleep 0.2
done
healthy || { tail -n 40 "$D/stdout.log" >&2 || true; die "scim2-server does not answer on $BASE"; }
ours || die "scim2-server on $BASE refuses the token in $D/token"
log "scim2-server $VERSION answers on $BASE after $(($(date +%s) - t0))s (pid $pid)"
