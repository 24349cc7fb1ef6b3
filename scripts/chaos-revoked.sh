#!/usr/bin/env bash
# Usage: scripts/chaos-revoked.sh [ROUNDS] [SEED]
#
# The "revoked means revoked" randomized check, run by hand for many rounds (CI runs 3 as part of
# `cargo test`): a real `castellan serve` drives a real Synapse through a fault-injecting proxy;
# each round makes random grant changes (share as user or admin, revoke), kills the server with
# SIGKILL at a random moment in two rounds out of three, restarts it, waits until the bot is
# quiet and checks that Synapse equals the current grants, that every job completed or was
# superseded, and that no write reached Synapse twice in a row for one user.
# Prints the seed first; replay a failure with the same SEED. Output also goes to
# target/chaos-revoked.log. Results of long runs: docs/revoked-means-revoked.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-100}
export CASTELLAN_CHAOS_ROUNDS=$ROUNDS
if [ $# -ge 2 ]; then export CASTELLAN_CHAOS_SEED=$2; fi
export CASTELLAN_SYNAPSE_DIR=${CASTELLAN_SYNAPSE_DIR:-/var/cache/castellan/synapse}
mkdir -p target
start=$(date +%s)
cargo test -p castellan --test revoked random_kills -- --nocapture --test-threads=1 2>&1 \
  | tee target/chaos-revoked.log | grep -E "^chaos:|panicked|test result"
echo "chaos-revoked: $ROUNDS rounds in $(( $(date +%s) - start )) s"
