#!/usr/bin/env bash
# Runs every fuzz target in fuzz/fuzz_targets for N seconds each (default 30).
# Skips, successfully, where the nightly toolchain is missing; installs cargo-fuzz if needed.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz smoke skipped: the nightly toolchain is absent (rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

for target in fuzz_targets/*.rs; do
    name="$(basename "$target" .rs)"
    echo "=== fuzzing $name for ${seconds}s"
    cargo +nightly fuzz run "$name" -- -max_total_time="$seconds"
done
