#!/usr/bin/env bash
# Usage: scripts/start-wordpress.sh [DIR] [PORT]
#
# Castellan's test harness for WordPress (written from the recipe in
# ../shared/targets/wordpress/run-wordpress.sh). DIR defaults to $CASTELLAN_WORDPRESS_DIR, PORT
# to 18080. It:
#   - installs Debian's `wordpress`, `php-cli`, `php-mysql` and `mariadb-server` when they are
#     missing (apt-get under /var/lock/castellan-apt.lock);
#   - runs a private MariaDB with its data in DIR/db, listening on the socket DIR/mysqld.sock
#     only (no TCP port), with a database `wordpress` and a user whose random password is in
#     DIR/wp-config.php;
#   - writes the site's configuration to DIR/wp-config.php (mode 0600) and links it as
#     /etc/wordpress/config-castellan-PORT.php, which Debian's wp-config.php reads when
#     $_SERVER['WORDPRESS_CONFIG'] is `castellan-PORT` (set by DIR/prepend.php, PHP's
#     auto_prepend_file): WP_HOME http://127.0.0.1:PORT, WP_ENVIRONMENT_TYPE `local` (so
#     Application Passwords work over plain http), no cron, no updates, no outbound HTTP;
#   - sets the site up with scripts/wordpress-setup.php: installs it, with the administrator
#     `admin` (the automation account; password in DIR/admin-password, mode 0600), pretty
#     permalinks, the custom role `castellan_reviewer`, and an Application Password for `admin`
#     in DIR/app-password (mode 0600; kept while it works);
#   - starts PHP's built-in web server on 127.0.0.1:PORT (4 workers, OPcache on) over
#     /usr/share/wordpress: pid in DIR/php.pid, output in DIR/php.log;
#   - waits until the REST API answers.
#
# Idempotent: when our WordPress already answers on PORT it only re-runs the (quick) setup. A new
# CASTELLAN_TEST_RUN (see .ci/run) gets a fresh database; the install and the data dir stay.
# Concurrent runs on the same DIR are serialised with flock(1). Nothing secret is printed.
# scripts/stop-wordpress.sh DIR stops the servers and keeps the data.
#
# Needs: bash, curl, flock (util-linux); root for apt-get and /etc/wordpress.
set -euo pipefail

D=${1:-${CASTELLAN_WORDPRESS_DIR:-}}
if [ -z "$D" ]; then
  echo "usage: $0 DIR [PORT]   (or set CASTELLAN_WORDPRESS_DIR)" >&2
  exit 2
fi
PORT=${2:-18080}
mkdir -p "$D"
D=$(cd "$D" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=http://127.0.0.1:$PORT
CONFIG_NAME=castellan-$PORT
SOCK=$D/mysqld.sock
WP=/usr/share/wordpress

log() { echo "start-wordpress: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in curl flock; do
  command -v "$tool" >/dev/null || die "needs $tool on PATH"
done
[ "$(id -u)" = 0 ] || die "needs root (to install packages and write /etc/wordpress)"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "PORT must be a number, not $PORT"
# A Unix socket path holds at most 107 bytes.
[ ${#SOCK} -le 100 ] || die "DIR is too long for MariaDB's socket path ($SOCK); choose a shorter DIR"

# One run at a time per DIR (parallel test binaries share one server). The servers started
# below get the lock's fd closed (9>&-) so they do not hold it.
exec 9>"$D/.start.lock"
flock 9

# --- install -------------------------------------------------------------------------------
installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
need=()
for p in wordpress php-cli php-mysql mariadb-server; do
  installed "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "${need[*]} missing and there is no apt-get"
  t0=$(date +%s)
  log "installing ${need[*]} (takes a minute)"
  {
    flock 8
    if ! apt-cache show "${need[@]}" >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  } 8>/var/lock/castellan-apt.lock >"$D/apt.log" 2>&1 9>&- ||
    { tail -n 40 "$D/apt.log" >&2; die "apt-get install ${need[*]} failed"; }
  log "installed in $(($(date +%s) - t0))s"
fi
[ -f $WP/wp-load.php ] || die "$WP/wp-load.php is missing: is the wordpress package broken?"

# Only signal or trust a pid that is still ours (pids get reused).
alive() { # FILE PATTERN
  [ -f "$1" ] || return 1
  local pid
  pid=$(cat "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}
db_alive() { alive "$D/mariadb.pid" "mariadbd .*--datadir=$D/db"; }
php_alive() { alive "$D/php.pid" "127.0.0.1:$PORT"; }
answers() {
  curl -s -m 10 "$BASE/?rest_route=/" 2>/dev/null | grep -q '"namespaces"'
}
sql() { mariadb --no-defaults -S "$SOCK" -uroot "$@"; }

# Refuse early, before touching MariaDB or /etc/wordpress, when another server holds the port
# (another DIR's WordPress included: its configuration link must stay).
if ! php_alive && curl -s -o /dev/null -m 5 "$BASE/" 2>/dev/null; then
  die "something else answers on $BASE; choose another port"
fi

# --- MariaDB ----------------------------------------------------------------------------------
# Started unless it answers on its socket (or is starting: its pid is alive).
if ! sql -e 'select 1' >/dev/null 2>&1 && ! db_alive; then
  if [ ! -d "$D/db/mysql" ]; then
    log "initialising MariaDB in $D/db"
    mariadb-install-db --no-defaults --datadir="$D/db" --user=root \
      --auth-root-authentication-method=normal --skip-test-db >"$D/mariadb-init.log" 2>&1 ||
      { tail -n 20 "$D/mariadb-init.log" >&2; die "mariadb-install-db failed"; }
  fi
  rm -f "$SOCK"
  setsid mariadbd --no-defaults --datadir="$D/db" --socket="$SOCK" --skip-networking \
    --user=root --skip-name-resolve --pid-file="$D/mariadbd.pid" \
    --log-error="$D/mariadb.err" </dev/null >/dev/null 2>&1 9>&- &
  echo $! >"$D/mariadb.pid"
fi
for _ in $(seq 1 120); do
  sql -e 'select 1' >/dev/null 2>&1 && break
  db_alive || { tail -n 20 "$D/mariadb.err" >&2 || true; die "MariaDB exited (see $D/mariadb.err)"; }
  sleep 0.25
done
sql -e 'select 1' >/dev/null 2>&1 || die "MariaDB does not answer on $SOCK (see $D/mariadb.err)"

# --- configuration ------------------------------------------------------------------------------
if [ ! -s "$D/wp-config.php" ]; then
  rnd() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
  umask 077
  {
    echo "<?php"
    echo "// Generated by Castellan scripts/start-wordpress.sh for $BASE. Test site only."
    echo "define('DB_NAME', 'wordpress');"
    echo "define('DB_USER', 'wordpress');"
    echo "define('DB_PASSWORD', '$(rnd 32)');"
    echo "define('DB_HOST', 'localhost:$SOCK');"
    echo "define('WP_CONTENT_DIR', '$D/wp-content');"
    echo "define('WP_HOME', '$BASE');"
    echo "define('WP_SITEURL', '$BASE');"
    echo "define('WP_ENVIRONMENT_TYPE', 'local'); // Application Passwords over plain http"
    echo "define('AUTOMATIC_UPDATER_DISABLED', true);"
    echo "define('DISABLE_WP_CRON', true);"
    echo "define('WP_HTTP_BLOCK_EXTERNAL', true);"
    for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
      echo "define('$k', '$(rnd 40)');"
    done
  } >"$D/wp-config.php"
  umask 022
fi
grep -q "'$BASE'" "$D/wp-config.php" ||
  die "$D/wp-config.php was made for another port; use another DIR for port $PORT"
# A new test run (CASTELLAN_TEST_RUN, set once by .ci/run) starts from an empty database (the
# setup below installs the site again), so users left by earlier runs on a reused machine do not
# slow listings down. Within one run the site is started once and shared by every test binary.
if [ -n "${CASTELLAN_TEST_RUN:-}" ] && [ "$(cat "$D/.test-run" 2>/dev/null)" != "$CASTELLAN_TEST_RUN" ]; then
  sql -e "DROP DATABASE IF EXISTS wordpress"
  echo "$CASTELLAN_TEST_RUN" >"$D/.test-run"
  log "new test run $CASTELLAN_TEST_RUN: fresh database"
fi
dbpass=$(sed -n "s/^define('DB_PASSWORD', '\(.*\)');$/\1/p" "$D/wp-config.php")
sql -e "CREATE DATABASE IF NOT EXISTS wordpress CHARACTER SET utf8mb4;
  CREATE USER IF NOT EXISTS 'wordpress'@'localhost' IDENTIFIED BY '$dbpass';
  ALTER USER 'wordpress'@'localhost' IDENTIFIED BY '$dbpass';
  GRANT ALL ON wordpress.* TO 'wordpress'@'localhost';"
mkdir -p "$D/wp-content/plugins" "$D/wp-content/themes" "$D/wp-content/uploads" /etc/wordpress
# Mail: WordPress sends over SMTP (PHPMailer, as an SMTP plugin would) to the receiver a test
# names for the recipient in $D/mail-routes/<address> (one line, HOST:PORT: e.g. Castellan's own
# SMTP receiver for an automation account's managed address); mail to anyone else is not sent.
mkdir -p "$D/wp-content/mu-plugins" "$D/mail-routes"
sed "s|@ROUTES@|$D/mail-routes|" "$HERE/wordpress-mail.php" >"$D/wp-content/mu-plugins/castellan-test-mail.php"
ln -sfn "$D/wp-config.php" "/etc/wordpress/config-$CONFIG_NAME.php"
echo "<?php \$_SERVER['WORDPRESS_CONFIG'] = '$CONFIG_NAME';" >"$D/prepend.php"

# --- the site (install, admin, role, application password) ---------------------------------------
t0=$(date +%s)
php "$HERE/wordpress-setup.php" "$CONFIG_NAME" "127.0.0.1:$PORT" "$D" </dev/null >"$D/setup.log" 2>&1 ||
  { tail -n 30 "$D/setup.log" >&2; die "scripts/wordpress-setup.php failed (see $D/setup.log)"; }
sed 's/^/start-wordpress: /' "$D/setup.log" >&2

# --- PHP's built-in web server -------------------------------------------------------------------
if answers && php_alive; then
  log "already running on $BASE (pid $(cat "$D/php.pid"))"
  exit 0
fi
if php_alive; then
  log "our PHP server does not answer on $BASE; restarting it"
  kill -TERM -- "-$(cat "$D/php.pid")" 2>/dev/null || true
  sleep 1
fi
PHP_CLI_SERVER_WORKERS=4 setsid php -d auto_prepend_file="$D/prepend.php" \
  -d opcache.enable_cli=1 -d memory_limit=256M \
  -S "127.0.0.1:$PORT" -t "$WP" </dev/null >"$D/php.log" 2>&1 9>&- &
echo $! >"$D/php.pid"
for _ in $(seq 1 120); do
  answers && break
  php_alive || { tail -n 20 "$D/php.log" >&2 || true; die "PHP's server exited (see $D/php.log)"; }
  sleep 0.25
done
answers || { tail -n 20 "$D/php.log" >&2 || true; die "WordPress does not answer on $BASE"; }
log "WordPress $(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" $WP/wp-includes/version.php) answers on $BASE after $(($(date +%s) - t0))s (pid $(cat "$D/php.pid"))"
