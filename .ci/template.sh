#!/usr/bin/env bash
# The firmware template as a user gets it: copied out of this repository, its
# stackprop dependency pointed at this checkout, linted, built and run in QEMU.
# Fails unless the firmware exits with status 0.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cp -r "$ROOT/templates/firmware" "$WORK/firmware"
rm -rf "$WORK/firmware/target"
cd "$WORK/firmware"
sed -i "s|^stackprop = { path = \"../..\" }|stackprop = { path = \"$ROOT\" }|" Cargo.toml
grep -q "^stackprop = { path = \"$ROOT\" }" Cargo.toml || {
    echo "template.sh: the stackprop dependency line in Cargo.toml was not found" >&2
    exit 1
}
# Its own target directory would rebuild everything; share the checkout's.
export CARGO_TARGET_DIR="$ROOT/target/template"
cargo fmt -- --check
cargo clippy --release -- -D warnings
timeout 600 cargo run --release | tee "$WORK/run.log"
# The lines the README quotes from this run.
for line in "epoch 10  lr 0.049955603  loss 0.23069608  accuracy 2/4" \
    "epoch 38  lr 0.0472169  loss 0.011242902  accuracy 4/4" \
    "trained in 38 epochs; the checkpoint restores it: yes"; do
    grep -qxF "$line" "$WORK/run.log" || {
        echo "template.sh: the output lacks the README's line: $line" >&2
        exit 1
    }
done
echo "template.sh: the out-of-tree firmware template ran and exited 0"
