#!/usr/bin/env bash
# Builds one engine module (`cargo rustc` to wasm, then wasm-bindgen) into OUT_DIR, or copies
# it from the module cache when the very same inputs built it before.
#
# Why a cache: cargo decides freshness by file times, so every fresh clone (CI's included)
# recompiles the webverify crate for each of the eight module builds, several minutes each on
# two cores, although every dependency is already built in the shared target directory. The
# key is the content of everything the build reads: the crate's sources, manifest, lock file,
# build script and cargo config, the features, the extra rustc flags, the environment's
# RUSTFLAGS, and the rustc and wasm-bindgen versions and flags. WEBVERIFY_MODULE_CACHE=0 builds
# without it. Entries live in $CARGO_TARGET_DIR/wasm-modules/<key>/; the newest 24 are kept.
#
# Usage: tools/wasm-module.sh FEATURES OUT_NAME EXTRA_RUSTC_FLAGS OUT_DIR [WASM_BINDGEN_FLAGS...]
set -euo pipefail
features=$1 name=$2 rustc_flags=$3 out=$4
shift 4
bindgen_flags=("$@")
target=${CARGO_TARGET_DIR:?set CARGO_TARGET_DIR (the Makefile does)}
cd "$(dirname "$0")/.."

key=$(
  {
    find src build.rs Cargo.toml Cargo.lock .cargo -type f -print0 | sort -z | xargs -0 sha256sum
    printf 'features=%s\nname=%s\nrustc_flags=%s\nRUSTFLAGS=%s\nbindgen=%s\n' \
      "$features" "$name" "$rustc_flags" "${RUSTFLAGS:-}" "${bindgen_flags[*]}"
    rustc -vV
    wasm-bindgen --version
  } | sha256sum | cut -c1-32
)
cache=$target/wasm-modules/$key
mkdir -p "$out"
if [ "${WEBVERIFY_MODULE_CACHE:-1}" != 0 ] && [ -f "$cache/.complete" ]; then
  echo "module $name ($features${rustc_flags:+, $rustc_flags}): built before from the same inputs, copied from $cache"
  find "$cache" -maxdepth 1 -type f ! -name .complete -exec cp {} "$out"/ \;
  touch "$cache/.complete"
  exit 0
fi

# shellcheck disable=SC2086 # rustc_flags is a list of flags
cargo rustc --release --lib --crate-type cdylib --target wasm32-unknown-unknown \
  --no-default-features --features "$features" ${rustc_flags:+-- $rustc_flags}
staging=$(mktemp -d "$target/wasm-modules.tmp.XXXXXX")
wasm-bindgen --target web "${bindgen_flags[@]}" --out-dir "$staging" --out-name "$name" \
  "$target/wasm32-unknown-unknown/release/webverify.wasm"
cp "$staging"/* "$out"/
if [ "${WEBVERIFY_MODULE_CACHE:-1}" != 0 ]; then
  rm -rf "$cache" && mkdir -p "$(dirname "$cache")" && mv "$staging" "$cache" && touch "$cache/.complete"
  # Keep the newest 24 entries (three commits' worth of the eight builds).
  ls -1td "$target"/wasm-modules/*/ | tail -n +25 | xargs -r rm -rf
else
  rm -rf "$staging"
fi
