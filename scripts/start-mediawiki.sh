#!/usr/bin/env bash
# Usage: scripts/start-mediawiki.sh [DIR] [PORT]
#
# Castellan's test harness for MediaWiki (written from the recipe in
# ../shared/targets/mediawiki/run-mediawiki.sh). It:
#   - installs Debian's `mediawiki` with PHP's SQLite, intl, mbstring, XML and CLI packages when
#     they are missing (apt-get serialised with the other agents by /var/lock/castellan-apt.lock);
#   - on first use, installs a wiki in DIR with maintenance/install.php: SQLite database in
#     DIR/data, configuration in DIR/LocalSettings.php (MediaWiki reads it from the
#     MW_CONFIG_FILE environment variable, so several DIRs can share the Debian code), which
#     includes DIR/CastellanSettings.php;
#   - writes the test settings to DIR/CastellanSettings.php at every start: e-mail on but never
#     sent (the AlternateUserMailer hook swallows every mail, so addresses are stored and no
#     mail leaves), no e-mail confirmation, no uploads, no account-creation or password-attempt
#     throttles, no rate limits, cheap password hashing, and only administrators may create
#     accounts;
#   - makes sure the automation account `Admin` / `adminpass123` exists in the groups `sysop`
#     and `bureaucrat` (maintenance/createAndPromote.php --force, idempotent);
#   - serves the wiki with PHP's built-in server on 127.0.0.1:PORT (four workers) in the
#     background: pid in DIR/php.pid, output in DIR/php-server.log;
#   - waits until api.php answers.
#
# DIR defaults to $CASTELLAN_MEDIAWIKI_DIR (CI: /var/cache/castellan/mediawiki), PORT to 18081.
# A new CASTELLAN_TEST_RUN (CI sets one per run) gets a new wiki; the packages are kept.
# Idempotent: when our wiki already answers on PORT it exits 0 at once. Concurrent runs on the
# same DIR are serialised with flock(1). This is a test wiki, never a production one.
#
# Needs: bash, curl, flock (util-linux); root (or password-less sudo) for apt-get on first use.
set -euo pipefail

D=${1:-${CASTELLAN_MEDIAWIKI_DIR:-}}
if [ -z "$D" ]; then
  echo "usage: $0 DIR [PORT] (or set CASTELLAN_MEDIAWIKI_DIR)" >&2
  exit 2
fi
mkdir -p "$D"
D=$(cd "$D" && pwd)
PORT=${2:-18081}
BASE=http://127.0.0.1:$PORT
ADMIN=Admin
ADMIN_PASS=adminpass123
MW=/usr/share/mediawiki
export MW_CONFIG_FILE=$D/LocalSettings.php

log() { echo "start-mediawiki: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in curl flock; do
  command -v "$tool" >/dev/null || die "needs $tool on PATH"
done
SUDO=
if [ "$(id -u)" != 0 ]; then
  SUDO="sudo -n"
fi

# One run at a time per DIR (parallel test binaries share one wiki). The lock's fd is closed
# for PHP itself (9>&- below) so the server does not hold it.
exec 9>"$D/.start.lock"
flock 9

# Our wiki answers: siteinfo names the server we configured.
answers() {
  local out
  out=$(curl -s -m 5 "$BASE/api.php?action=query&meta=siteinfo&format=json" 2>/dev/null || true)
  [[ $out == *"\"server\":\"$BASE\""* ]]
}

pid_alive() {
  [ -f "$D/php.pid" ] || return 1
  local pid
  pid=$(cat "$D/php.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "php -S 127.0.0.1:$PORT"
}

# A new test run (CASTELLAN_TEST_RUN, set once by .ci/run) starts from a new wiki, so users and
# invitation records left by earlier runs on a reused machine do not slow listings down. Within
# one run the wiki is started once and shared by every test binary.
if [ -n "${CASTELLAN_TEST_RUN:-}" ] && [ "$(cat "$D/.test-run" 2>/dev/null)" != "$CASTELLAN_TEST_RUN" ]; then
  if pid_alive; then
    log "new test run: stopping the wiki of the previous run"
    "$(dirname "$0")/stop-mediawiki.sh" "$D" 2>/dev/null || true
  fi
  rm -rf "$D/LocalSettings.php" "$D/CastellanSettings.php" "$D/data" "$D/cache"
  echo "$CASTELLAN_TEST_RUN" >"$D/.test-run"
  log "new test run $CASTELLAN_TEST_RUN: a new wiki"
fi

if answers && pid_alive; then
  log "already running on $BASE (pid $(cat "$D/php.pid"))"
  exit 0
fi
if curl -s -o /dev/null -m 2 "$BASE/" 2>/dev/null; then
  die "something else answers on $BASE; choose another port"
fi

# --- install the packages --------------------------------------------------------------------
PKGS=(mediawiki php-sqlite3 php-intl php-mbstring php-xml php-cli)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "${missing[*]} missing and there is no apt-get"
  t0=$(date +%s)
  # One apt-get at a time on a shared machine (the lock file), and dpkg's own lock awaited.
  apt() {
    $SUDO flock /var/lock/castellan-apt.lock env DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout=900 "$@"
  }
  if ! apt-cache show mediawiki >/dev/null 2>&1; then
    log "apt-get update (the mediawiki package is unknown)"
    apt update -qq >&2 || die "apt-get update failed"
  fi
  log "installing ${missing[*]}"
  apt install -y -qq --no-install-recommends "${missing[@]}" >"$D/apt.log" 2>&1 ||
    { tail -n 40 "$D/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
  log "installed in $(($(date +%s) - t0))s"
fi
[ -f "$MW/maintenance/install.php" ] || die "$MW/maintenance/install.php is missing"

# --- install the wiki ------------------------------------------------------------------------
if [ ! -f "$D/LocalSettings.php" ]; then
  t0=$(date +%s)
  rm -rf "$D/data" "$D/cache" "$D/tmp-conf"
  mkdir -p "$D/data" "$D/cache" "$D/tmp-conf"
  # install.php writes LocalSettings.php to --confpath; it is only kept once complete.
  if ! php "$MW/maintenance/install.php" --dbtype sqlite --dbpath "$D/data" --dbname wiki \
      --server "$BASE" --scriptpath "" --lang en --pass "$ADMIN_PASS" --confpath "$D/tmp-conf" \
      --skins Vector "Castellan test wiki" "$ADMIN" >"$D/install.log" 2>&1 </dev/null; then
    tail -n 40 "$D/install.log" >&2
    die "maintenance/install.php failed (see $D/install.log)"
  fi
  [ -f "$D/tmp-conf/LocalSettings.php" ] ||
    { tail -n 20 "$D/install.log" >&2; die "maintenance/install.php wrote no LocalSettings.php"; }
  cat >>"$D/tmp-conf/LocalSettings.php" <<'PHP'

# Castellan's test settings, rewritten by scripts/start-mediawiki.sh at every start.
require __DIR__ . '/CastellanSettings.php';
PHP
  mv "$D/tmp-conf/LocalSettings.php" "$D/LocalSettings.php"
  rmdir "$D/tmp-conf" 2>/dev/null || true
  log "installed the wiki in $D in $(($(date +%s) - t0))s"
fi

# The test settings (rewritten at every start, so an older wiki gets the current ones).
cat >"$D/CastellanSettings.php" <<PHP
<?php
# Written by Castellan scripts/start-mediawiki.sh: a test wiki, never a production one.
\$wgCacheDirectory = "$D/cache";
\$wgEnableUploads = false;
# E-mail on, so accounts keep the address they are created with, but never sent: the hook
# answers every mail as handled. No confirmation mail, no mail between users.
\$wgEnableEmail = true;
\$wgEmailAuthentication = false;
\$wgEnableUserEmail = false;
\$wgHooks['AlternateUserMailer'][] = static function () {
	return false;
};
# Tests create many accounts and sign in often (also with wrong passwords) from 127.0.0.1.
\$wgAccountCreationThrottle = [];
\$wgPasswordAttemptThrottle = [];
\$wgRateLimits = [];
# Cheap password hashing (PBKDF2 with 1000 rounds, not 30000): tests make hundreds of accounts.
\$wgPasswordConfig['pbkdf2']['cost'] = '1000';
# Only administrators create accounts (Castellan invites people).
\$wgGroupPermissions['*']['createaccount'] = false;
PHP

# The automation account, in sysop and bureaucrat, with the known password.
if ! out=$(php "$MW/maintenance/createAndPromote.php" --force --sysop --bureaucrat \
    "$ADMIN" "$ADMIN_PASS" 2>&1 </dev/null); then
  echo "$out" | tail -n 20 >&2
  die "maintenance/createAndPromote.php $ADMIN failed"
fi

# --- start -----------------------------------------------------------------------------------
t0=$(date +%s)
if pid_alive; then
  log "a wiki from $D is running but does not answer on $BASE; stopping it"
  "$(dirname "$0")/stop-mediawiki.sh" "$D" 2>/dev/null || true
fi
rm -f "$D/php.pid"
(cd "$D" && PHP_CLI_SERVER_WORKERS=4 exec setsid php -S "127.0.0.1:$PORT" -t "$MW" \
  </dev/null >"$D/php-server.log" 2>&1 9>&-) &
echo $! >"$D/php.pid"
pid=$(cat "$D/php.pid")
for _ in $(seq 1 120); do
  answers && break
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 40 "$D/php-server.log" >&2 || true
    rm -f "$D/php.pid"
    die "php -S exited while starting (see $D/php-server.log)"
  fi
  sleep 0.25
done
answers || { tail -n 40 "$D/php-server.log" >&2 || true; die "the wiki does not answer on $BASE/api.php"; }
version=$(curl -s "$BASE/api.php?action=query&meta=siteinfo&format=json" | sed -n 's/.*"generator":"\([^"]*\)".*/\1/p')
log "$version answers on $BASE after $(($(date +%s) - t0))s (pid $pid)"
