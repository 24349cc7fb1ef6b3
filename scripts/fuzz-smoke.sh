#!/usr/bin/env bash
# Fuzz smoke test (docs/fuzzing.md): builds every cargo-fuzz target in fuzz/ and runs each one
# for a few seconds on its committed corpus; fails when a target crashes (a panic, a broken
# check, a sanitizer report, a timeout). Works with a stable toolchain only: cargo-fuzz needs
# -Z flags, which RUSTC_BOOTSTRAP=1 allows on stable rustc.
#
# Environment:
#   FUZZ_SECONDS       seconds per target (default 5)
#   FUZZ_SANITIZER     address (default) or none
#   FUZZ_BUILD         dev (default: fuzz/Cargo.toml's dev profile, optimized where inputs are
#                      costly; builds in a third of the time) or release
#   FUZZ_TARGET_DIR    build directory, default /var/cache/castellan/fuzz-target: apart from the
#                      main build's CARGO_TARGET_DIR (which this script overrides), because the
#                      fuzz flags differ and would rebuild everything there
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-5}
sanitizer=${FUZZ_SANITIZER:-address}
case ${FUZZ_BUILD:-dev} in
    dev) build=(--dev) ;;
    release) build=(--release) ;;
    *) echo "FUZZ_BUILD must be dev or release" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-/var/cache/castellan/fuzz-target}
export CARGO_TERM_COLOR=never
# cargo-fuzz passes -Zsanitizer and other unstable flags; stable rustc accepts them with this.
export RUSTC_BOOTSTRAP=1
mkdir -p "$CARGO_TARGET_DIR"
# cargo caches what rustc answered about the target in .rustc_info.json without noting
# RUSTC_BOOTSTRAP: a cache written by a run without it keeps failing with "the option `Z` is
# only accepted on the nightly compiler". The file is only a cache.
if [ -f "$CARGO_TARGET_DIR/.rustc_info.json" ] && ! grep -q sanitizer "$CARGO_TARGET_DIR/.rustc_info.json"; then
    rm -f "$CARGO_TARGET_DIR/.rustc_info.json"
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (into ~/.cargo/bin)"
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

targets=$(cargo fuzz list --fuzz-dir fuzz)
echo "== cargo fuzz build (${build[*]}, sanitizer: $sanitizer): $(echo $targets)"
start=$(date +%s)
cargo fuzz build --fuzz-dir fuzz "${build[@]}" --sanitizer "$sanitizer"
echo "   built in $(( $(date +%s) - start )) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in $targets; do
    dict=()
    case $t in
        otp_uri) dict=(-dict=fuzz/dict/otp.dict) ;;
        mime_parse) dict=(-dict=fuzz/dict/mime.dict) ;;
        smtp_session) dict=(-dict=fuzz/dict/smtp_session.dict) ;;
        api_router | api_bodies) dict=(-dict=fuzz/dict/api.dict) ;;
    esac
    mkdir -p "$scratch/$t" "fuzz/corpus/$t"
    echo "== $t: ${seconds} s on fuzz/corpus/$t ($(ls "fuzz/corpus/$t" | wc -l) inputs)"
    # libFuzzer runs every input of the corpus once before -max_total_time applies: a target's
    # time is that pass plus FUZZ_SECONDS.
    t_start=$(date +%s)
    # New inputs go to the scratch directory (the first one); the committed corpus is only read.
    if ! cargo fuzz run --fuzz-dir fuzz "${build[@]}" --sanitizer "$sanitizer" "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 "${dict[@]}" \
        >"$scratch/$t.log" 2>&1; then
        tail -n 60 "$scratch/$t.log"
        echo "!! $t crashed: the input is in fuzz/artifacts/$t/ (see docs/fuzzing.md to reproduce)"
        failed+=("$t")
    else
        grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units)" "$scratch/$t.log" | tail -n 2 || true
        echo "   $t: $(( $(date +%s) - t_start )) s"
    fi
done
total=$(echo $targets | wc -w)
echo "fuzz-smoke: $(( total - ${#failed[@]} )) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
