#!/usr/bin/env bash
# Usage: scripts/start-redmine.sh DIR [PORT]
#
# Castellan's test harness for Redmine (written from the recipe in
# ../shared/targets/redmine/run-redmine.sh). It:
#   - installs Debian's `redmine` and `redmine-sqlite` when they are missing (dbconfig-common
#     creates and migrates the SQLite database and loads the default data during the install);
#   - adds `webrick` to /usr/share/redmine/Gemfile.local (Rails 6.1 wants puma otherwise);
#   - gives SQLite a busy timeout in /etc/redmine/default/database.yml (concurrent requests);
#   - with `bin/rails runner`: enables the REST API, turns Redmine's two-factor authentication on
#     as optional (Setting.twofa: "0" disabled, "1" optional, "2" required, "3" required for
#     administrators; see app/models/setting.rb), sets the host name to 127.0.0.1:PORT, gives
#     `admin` the password `adminpass123` (no forced change) and writes its API key to
#     DIR/api-key;
#   - starts Redmine (WEBrick) on 127.0.0.1:PORT in the background, one request at a time
#     (DIR/config.ru adds Rack::Lock, for SQLite): pid in DIR/redmine.pid, output in
#     DIR/redmine.log;
#   - waits until GET /login answers.
#
# Idempotent: when our Redmine already answers on PORT it exits 0 at once. Concurrent runs on
# the same DIR are serialised with flock(1). The database is the Debian package's default
# instance (/var/lib/dbconfig-common/sqlite3/redmine/instances/default), shared by every DIR:
# this is a test server, never a production one.
#
# Needs: bash, curl, flock (util-linux); root (or password-less sudo) for apt-get and to write
# /usr/share/redmine/Gemfile.local and Redmine's files on first use.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [PORT]" >&2
  exit 2
fi
mkdir -p "$1"
D=$(cd "$1" && pwd)
PORT=${2:-3001}
BASE=http://127.0.0.1:$PORT
ADMIN_PASS=adminpass123
APP=/usr/share/redmine

log() { echo "start-redmine: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in curl flock; do
  command -v "$tool" >/dev/null || die "needs $tool on PATH"
done
SUDO=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null && sudo -n true 2>/dev/null ||
    die "needs root (or password-less sudo) to install and configure Redmine"
  SUDO="sudo -n"
fi

# One run at a time per DIR (parallel test binaries share one server). The lock's fd is closed
# for Redmine itself (9>&- below) so the server does not hold it.
exec 9>"$D/.start.lock"
flock 9

answers() {
  local code
  code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$BASE/login" 2>/dev/null || true)
  [ "$code" = 200 ]
}

pid_alive() {
  [ -f "$D/redmine.pid" ] || return 1
  local pid
  pid=$(cat "$D/redmine.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'rails'
}

if answers; then
  if pid_alive && [ -s "$D/api-key" ]; then
    log "already running on $BASE (pid $(cat "$D/redmine.pid"))"
    exit 0
  fi
  die "something else answers on $BASE; choose another port"
fi

# --- install -------------------------------------------------------------------------------
installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
if ! installed redmine || ! installed redmine-sqlite; then
  command -v apt-get >/dev/null || die "Redmine is not installed and there is no apt-get"
  t0=$(date +%s)
  if ! apt-cache show redmine >/dev/null 2>&1 || ! apt-cache show redmine-sqlite >/dev/null 2>&1; then
    log "apt-get update (the redmine package is unknown)"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -qq >&2 ||
      die "apt-get update failed"
  fi
  log "installing Debian's redmine and redmine-sqlite (takes a minute or two)"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
    redmine redmine-sqlite >"$D/apt.log" 2>&1 ||
    { tail -n 40 "$D/apt.log" >&2; die "apt-get install redmine redmine-sqlite failed"; }
  log "installed in $(($(date +%s) - t0))s"
fi
[ -x "$APP/bin/rails" ] || die "$APP/bin/rails is missing: is the redmine package broken?"

if ! grep -qs '^gem "webrick"' "$APP/Gemfile.local"; then
  echo 'gem "webrick"  # added by Castellan scripts/start-redmine.sh' |
    $SUDO tee -a "$APP/Gemfile.local" >/dev/null
fi

# --- configure -----------------------------------------------------------------------------
# WEBrick serves requests on several threads; without a busy timeout SQLite answers a second
# writer with "database is locked" (HTTP 500) at once. Debian's dbconfig-common writes the file
# without one; add it (again, if dbconfig-common rewrote the file).
DBYML=/etc/redmine/default/database.yml
if [ -f "$DBYML" ] && grep -q 'adapter: sqlite3' "$DBYML" && ! grep -q '^ *timeout:' "$DBYML"; then
  $SUDO sed -i 's/^\( *\)adapter: sqlite3$/&\n\1timeout: 15000  # added by Castellan scripts\/start-redmine.sh/' "$DBYML"
  grep -q '^ *timeout:' "$DBYML" || die "could not add a busy timeout to $DBYML"
fi

t0=$(date +%s)
# The runner prints the admin's API key last, on a line of its own.
if ! out=$(cd "$APP" && $SUDO env RAILS_ENV=production PORT="$PORT" ADMIN_PASS="$ADMIN_PASS" \
    bin/rails runner '
      Setting.rest_api_enabled = "1"
      Setting.twofa = "1"
      Setting.host_name = "127.0.0.1:#{ENV["PORT"]}"
      u = User.find_by_login("admin")
      u.password = u.password_confirmation = ENV["ADMIN_PASS"]
      u.must_change_passwd = false
      u.status = User::STATUS_ACTIVE
      u.save!
      puts
      puts u.api_key
    ' 2>&1 </dev/null); then
  echo "$out" | tail -n 40 >&2
  die "bin/rails runner (settings, admin password) failed"
fi
key=$(echo "$out" | tail -n 1 | tr -d '[:space:]')
[[ "$key" =~ ^[0-9a-f]{40}$ ]] || { echo "$out" | tail -n 20 >&2; die "no API key from bin/rails runner"; }
umask 077
echo "$key" >"$D/api-key"
umask 022
log "configured in $(($(date +%s) - t0))s (REST API on, 2FA optional, admin/$ADMIN_PASS)"

# --- start ---------------------------------------------------------------------------------
t0=$(date +%s)
if pid_alive; then
  log "a Redmine from $D is running but does not answer on $BASE; stopping it"
  kill "$(cat "$D/redmine.pid")" 2>/dev/null || true
  sleep 2
fi
# Rails refuses to start while its pid file exists.
rm -f "$D/redmine.pid" "$D/rails.pid"
# Redmine's config.ru plus Rack::Lock: one request at a time. WEBrick serves each request on its
# own thread, and SQLite under concurrent Rails transactions answers "database is locked" (HTTP
# 500) even with a busy timeout (a reader upgrading to a writer deadlocks with another writer).
cat >"$D/config.ru" <<RACKUP
# Generated by Castellan scripts/start-redmine.sh: Redmine, serialised for SQLite.
require "$APP/config/environment"
use Rack::Lock
run Rails.application
RACKUP
(cd "$APP" && exec $SUDO setsid env RAILS_ENV=production bin/rails server -u webrick \
  -c "$D/config.ru" -b 127.0.0.1 -p "$PORT" -P "$D/rails.pid" </dev/null >"$D/redmine.log" 2>&1 9>&-) &
echo $! >"$D/redmine.pid"
pid=$(cat "$D/redmine.pid")
for _ in $(seq 1 240); do
  answers && break
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 40 "$D/redmine.log" >&2 || true
    rm -f "$D/redmine.pid"
    die "Redmine exited while starting (see $D/redmine.log)"
  fi
  sleep 0.5
done
answers || { tail -n 40 "$D/redmine.log" >&2 || true; die "Redmine does not answer on $BASE/login"; }
version=$(sed -n 's/^ *\(MAJOR\|MINOR\|TINY\) *= *\([0-9]*\).*/\2/p' "$APP/lib/redmine/version.rb" | paste -sd.)
log "Redmine $version answers on $BASE after $(($(date +%s) - t0))s (pid $pid)"
