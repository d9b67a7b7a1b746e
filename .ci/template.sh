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
timeout 600 cargo run --release
echo "template.sh: the out-of-tree firmware template ran and exited 0"
