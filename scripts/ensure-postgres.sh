#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 with trust auth for user postgres:
# starts the machine's cluster if it is stopped, installs Debian's postgresql if absent.
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 -U postgres 2>/dev/null; }

if command -v pg_isready >/dev/null && ready; then
  exit 0
fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "ensure-postgres: installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq postgresql >/dev/null
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  conf=/etc/postgresql/$ver/main
  # Loopback only, trust auth for the tests (this machine is a sandbox).
  sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" "$conf/postgresql.conf"
  cat > "$conf/pg_hba.conf" <<'HBA'
local   all all                trust
host    all all 127.0.0.1/32   trust
host    all all ::1/128        trust
HBA
fi

ver=$(ls /etc/postgresql | sort -V | tail -1)
echo "ensure-postgres: starting cluster $ver/main" >&2
pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
for _ in $(seq 1 60); do
  if ready; then exit 0; fi
  sleep 0.5
done
echo "ensure-postgres: PostgreSQL does not answer on 127.0.0.1:5432" >&2
exit 1
