#!/usr/bin/env bash
# Builds static release binaries of vigil and the test app into $1 and proves
# that vigil has no ELF interpreter and no dynamic section.
set -euo pipefail
out=${1:-target/static}
musl=x86_64-unknown-linux-musl
cd "$(dirname "$0")/.."
if ! rustup target list --installed 2>/dev/null | grep -qx "$musl"; then
  echo "static: installing the $musl target" >&2
  rustup target add "$musl" >&2 || true
fi
mkdir -p "$out"
if rustup target list --installed 2>/dev/null | grep -qx "$musl"; then
  cargo build --release --target "$musl" --workspace >&2
  dir=target/$musl/release
else
  echo "static: the $musl target cannot be had here; FALLING BACK to glibc with +crt-static" >&2
  RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" cargo build --release --target x86_64-unknown-linux-gnu --workspace >&2
  dir=target/x86_64-unknown-linux-gnu/release
fi
# Copy then rename: a running copy of the old binary ("Text file busy") keeps
# its inode, and nothing ever sees a half-written file.
for name in vigil vigil-testapp; do
  cp "$dir/$name" "$out/.$name.tmp"
  mv -f "$out/.$name.tmp" "$out/$name"
done
for bin in "$out/vigil" "$out/vigil-testapp"; do
  if readelf -lW "$bin" | grep -q 'INTERP'; then echo "static: $bin has an ELF interpreter" >&2; exit 1; fi
  if readelf -dW "$bin" | grep -q 'Dynamic section'; then echo "static: $bin has a dynamic section" >&2; exit 1; fi
done
echo "static: $out/vigil is static ($(stat -c %s "$out/vigil") bytes)" >&2
