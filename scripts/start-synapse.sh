#!/usr/bin/env bash
# Usage: scripts/start-synapse.sh DIR [PORT]
#
# Castellan's test harness for Matrix Synapse (written from the recipe in
# ../shared/targets/synapse/run-synapse.sh). It:
#   - installs matrix-synapse from PyPI into DIR/venv when it is missing (or another version);
#   - generates DIR/homeserver.yaml for server_name `localhost`, listening on 127.0.0.1:PORT only,
#     with no federation key servers, registration closed, rate limits raised and cheap bcrypt
#     (a test server, never a production one);
#   - starts Synapse in the background: output in DIR/stdout.log, pid in DIR/synapse.pid;
#   - waits for /health, creates the server admin `admin` / `adminpass` (idempotent) and waits
#     until the schema's background updates are done (some admin calls fail before that).
#
# Idempotent: when Synapse already answers on PORT it only makes sure of the admin user and
# exits 0. Concurrent runs on the same DIR are serialised with flock(1).
#
# Needs: bash, curl, flock (util-linux), python3 (>= 3.10, with venv; on Debian without it the script
# installs python3-venv). pip honours PIP_CACHE_DIR (and PIP_INDEX_URL, ...) from the environment.
# Environment: CASTELLAN_SYNAPSE_VERSION overrides the pinned version.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [PORT]" >&2
  exit 2
fi
mkdir -p "$1"
D=$(cd "$1" && pwd)
PORT=${2:-8008}
VERSION=${CASTELLAN_SYNAPSE_VERSION:-1.163.2}
BASE=http://127.0.0.1:$PORT
ADMIN_USER=admin
ADMIN_PASS=adminpass

log() { echo "start-synapse: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in curl flock python3; do
  command -v "$tool" >/dev/null || die "needs $tool on PATH"
done

# One run at a time per DIR (parallel test binaries share one server). The lock's fd is closed
# for Synapse itself (9>&- below) so the server does not hold it.
exec 9>"$D/.start.lock"
flock 9

healthy() { [ "$(curl -s -m 2 "$BASE/health" 2>/dev/null || true)" = "OK" ]; }

pid_alive() {
  [ -f "$D/synapse.pid" ] || return 1
  local pid
  pid=$(cat "$D/synapse.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'synapse.app.homeserver'
}

# Makes sure the server admin exists. register_new_matrix_user signs with the shared secret
# from homeserver.yaml, so it works while open registration is off.
ensure_admin() {
  local out
  if out=$("$D/venv/bin/register_new_matrix_user" -c "$D/homeserver.yaml" -u "$ADMIN_USER" \
      -p "$ADMIN_PASS" --admin "$BASE" 2>&1); then
    log "created server admin '$ADMIN_USER'"
  elif grep -qi 'already taken\|M_USER_IN_USE' <<<"$out"; then
    :
  else
    die "register_new_matrix_user failed: $out"
  fi
}

# Waits until the SQLite schema's background updates are finished.
wait_background_updates() {
  local n=1 i
  for i in $(seq 1 600); do
    n=$("$D/venv/bin/python" - "$D/homeserver.db" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=30)
print(con.execute("select count(*) from background_updates").fetchone()[0])
PY
)
    [ "$n" = 0 ] && return 0
    sleep 0.5
  done
  die "background updates still pending after 300s ($n left)"
}

# A new test run (CASTELLAN_TEST_RUN, set once by .ci/run) starts from an empty database, so
# users left by earlier runs on a reused machine do not slow listings down. Within one run the
# server is started once and shared by every test binary.
if [ -n "${CASTELLAN_TEST_RUN:-}" ] && [ "$(cat "$D/.test-run" 2>/dev/null)" != "$CASTELLAN_TEST_RUN" ]; then
  if pid_alive; then
    log "new test run: stopping the server of the previous run"
    "$(dirname "$0")/stop-synapse.sh" "$D" 2>/dev/null || true
  fi
  rm -rf "$D/homeserver.db" "$D/homeserver.db-wal" "$D/homeserver.db-shm" "$D/homeserver.db-journal" "$D/media_store"
  echo "$CASTELLAN_TEST_RUN" >"$D/.test-run"
  log "new test run $CASTELLAN_TEST_RUN: fresh database"
fi

if healthy; then
  if [ -f "$D/homeserver.yaml" ] && pid_alive; then
    ensure_admin
    wait_background_updates
    log "already running on $BASE (pid $(cat "$D/synapse.pid"))"
    exit 0
  fi
  die "something else answers on $BASE; choose another port"
fi

# --- install -------------------------------------------------------------------------------
marker="$D/venv/.castellan-synapse-$VERSION"
if [ ! -f "$marker" ]; then
  t0=$(date +%s)
  rm -rf "$D/venv"
  if ! python3 -m venv "$D/venv" 2>"$D/venv.err"; then
    rm -rf "$D/venv"
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      log "python3 -m venv failed; installing Debian's python3-venv"
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -qq
      pyver=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq "python$pyver-venv" >/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq python3-venv >/dev/null
      python3 -m venv "$D/venv" || die "python3 -m venv still fails"
    else
      die "python3 -m venv failed: $(cat "$D/venv.err")"
    fi
  fi
  rm -f "$D/venv.err"
  log "installing matrix-synapse==$VERSION into $D/venv"
  "$D/venv/bin/python" -m pip install -q "matrix-synapse==$VERSION" ||
    die "pip install matrix-synapse==$VERSION failed"
  touch "$marker"
  log "installed in $(($(date +%s) - t0))s"
fi

# --- configure -----------------------------------------------------------------------------
if [ ! -f "$D/homeserver.yaml" ]; then
  (cd "$D" && "$D/venv/bin/python" -m synapse.app.homeserver --server-name localhost \
    --config-path "$D/homeserver.yaml" --data-directory "$D" \
    --generate-config --report-stats=no >/dev/null)
fi
# Applied on every start, so a new PORT takes effect. PyYAML comes with Synapse.
"$D/venv/bin/python" - "$D/homeserver.yaml" "$PORT" <<'PY'
import sys
import yaml

path, port = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    c = yaml.safe_load(f)
c["server_name"] = "localhost"
c["public_baseurl"] = f"http://127.0.0.1:{port}/"
c["listeners"] = [{
    "port": port,
    "bind_addresses": ["127.0.0.1"],
    "type": "http",
    "tls": False,
    "x_forwarded": False,
    "resources": [{"names": ["client"], "compress": False}],
}]
c["trusted_key_servers"] = []
c["suppress_key_server_warning"] = True
c["enable_registration"] = False
c["report_stats"] = False
c["bcrypt_rounds"] = 4  # test server: cheap password hashing
fast = {"per_second": 100000, "burst_count": 100000}
for key in ("rc_message", "rc_registration", "rc_admin_redaction", "rc_3pid_validation",
            "rc_media_create", "rc_delayed_event_mgmt", "rc_reports"):
    c[key] = dict(fast)
c["rc_presence"] = {"per_user": dict(fast)}
c["rc_login"] = {"address": dict(fast), "account": dict(fast), "failed_attempts": dict(fast)}
c["rc_joins"] = {"local": dict(fast), "remote": dict(fast)}
c["rc_invites"] = {"per_room": dict(fast), "per_user": dict(fast), "per_issuer": dict(fast)}
c["background_updates"] = {"sleep_enabled": False, "background_update_duration_ms": 1000}
with open(path, "w") as f:
    f.write("# Castellan test server: generated by scripts/start-synapse.sh\n")
    yaml.safe_dump(c, f, sort_keys=False)
PY

# --- start ---------------------------------------------------------------------------------
t0=$(date +%s)
if pid_alive; then
  log "a Synapse from $D is running but does not answer on $BASE; stopping it"
  kill "$(cat "$D/synapse.pid")" 2>/dev/null || true
  sleep 2
fi
(cd "$D" && exec setsid "$D/venv/bin/python" -m synapse.app.homeserver \
  --config-path "$D/homeserver.yaml" </dev/null >"$D/stdout.log" 2>&1 9>&-) &
echo $! >"$D/synapse.pid"
pid=$(cat "$D/synapse.pid")
for _ in $(seq 1 240); do
  healthy && break
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 40 "$D/stdout.log" "$D/homeserver.log" >&2 2>/dev/null || true
    rm -f "$D/synapse.pid"
    die "Synapse exited while starting (see $D/stdout.log)"
  fi
  sleep 0.5
done
healthy || { tail -n 40 "$D/stdout.log" >&2 || true; die "Synapse does not answer on $BASE/health"; }
log "Synapse $VERSION answers on $BASE after $(($(date +%s) - t0))s (pid $pid)"

ensure_admin
wait_background_updates
log "ready after $(($(date +%s) - t0))s"
