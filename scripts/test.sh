#!/usr/bin/env bash
# Runs every test: unit, store (SQLite and PostgreSQL), router and end-to-end.
# Starts the services the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
scripts/ensure-postgres.sh

export CASTELLAN_TEST_PG_URL=${CASTELLAN_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
# Two cores: keep test binaries from oversubscribing the machine with Argon2 and servers.
exec cargo test --workspace --locked -- --test-threads="${CASTELLAN_TEST_THREADS:-4}"
