#!/usr/bin/env bash
# Builds the Lambda handlers of iot-crr (package iot-crr-lambda) as zips for the
# provided.al2023 runtime, one `bootstrap` binary in each:
#   target/lambda/iot-crr-forwarder/bootstrap.zip    source region
#   target/lambda/iot-crr-applier/bootstrap.zip      destination region
#   target/lambda/iot-crr-reconciler/bootstrap.zip   destination region
# (under $CARGO_TARGET_DIR/lambda when that is set). deploy/README.md says where they go.
#
# Builds with cargo-lambda (a release build, cross-compiled with Zig). A `cargo lambda`
# already on PATH is used; otherwise the pinned cargo-lambda from PyPI (whose package
# brings the Zig toolchain) is installed into a private virtualenv once. The Rust
# target is added with rustup when it is missing.
#
# Usage: scripts/build-lambdas.sh [--x86-64]
#   default: arm64 (Graviton), as the templates declare (Architectures: [arm64]);
#   --x86-64: x86_64 binaries (then change Architectures in both templates to match).
# IOT_CRR_CARGO_LAMBDA_VENV overrides where the virtualenv lives.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LAMBDA_VERSION=1.9.2
PACKAGE=iot-crr-lambda
BINARIES=(iot-crr-forwarder iot-crr-applier iot-crr-reconciler)

arch_flag=--arm64 target=aarch64-unknown-linux-gnu
for arg in "$@"; do
  case "$arg" in
    --x86-64) arch_flag=--x86-64 target=x86_64-unknown-linux-gnu ;;
    --arm64) arch_flag=--arm64 target=aarch64-unknown-linux-gnu ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "build-lambdas.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# --- cargo-lambda
if cargo lambda -V >/dev/null 2>&1; then
  echo "using $(cargo lambda -V) from PATH"
else
  venv="${IOT_CRR_CARGO_LAMBDA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/iot-crr/cargo-lambda-$CARGO_LAMBDA_VERSION}"
  installed=$("$venv/bin/cargo-lambda" lambda --version 2>/dev/null || true)
  if [[ "$installed" != "cargo-lambda $CARGO_LAMBDA_VERSION "* ]]; then
    echo "installing cargo-lambda $CARGO_LAMBDA_VERSION (and Zig) into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
  fi
  # First on PATH: `cargo lambda` finds cargo-lambda there, and cargo-lambda finds Zig
  # through that virtualenv's python3 (the ziglang package).
  export PATH="$venv/bin:$PATH"
  echo "using $(cargo lambda -V) from $venv"
fi

# --- the Rust target
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx "$target"; then
    echo "adding the Rust target $target" >&2
    rustup target add "$target"
  fi
elif [ ! -d "$(rustc --print sysroot)/lib/rustlib/$target" ]; then
  echo "build-lambdas.sh: the Rust toolchain has no standard library for $target and there is" >&2
  echo "no rustup to add it; install the toolchain's $target component" >&2
  exit 1
fi

# --- build
lambda_dir="${CARGO_TARGET_DIR:-target}/lambda"
for binary in "${BINARIES[@]}"; do
  rm -f "$lambda_dir/$binary/bootstrap.zip" # never report a zip of an earlier build
done
echo "== cargo lambda build --release $arch_flag --output-format zip --package $PACKAGE ($target)"
cargo lambda build --release "$arch_flag" --output-format zip --package "$PACKAGE" \
  --lambda-dir "$lambda_dir" --locked

# --- what was built
echo
echo "Lambda zips ($target, provided.al2023):"
missing=0
for binary in "${BINARIES[@]}"; do
  zip="$lambda_dir/$binary/bootstrap.zip"
  if [ -f "$zip" ] && python3 -c 'import sys, zipfile; sys.exit("bootstrap" not in zipfile.ZipFile(sys.argv[1]).namelist())' "$zip"; then
    bytes=$(wc -c <"$zip")
    printf '  %-52s %6.1f MiB\n' "$zip" "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')"
  else
    printf '  %-52s MISSING (or without a bootstrap)\n' "$zip"
    missing=1
  fi
done
if [ "$missing" -ne 0 ]; then
  echo "build-lambdas.sh: not every handler was built (each is a [[bin]] of $PACKAGE)" >&2
  exit 1
fi
if [ "$target" != aarch64-unknown-linux-gnu ]; then
  echo "note: x86_64 binaries; set Architectures: [x86_64] in deploy/*.yaml before deploying them" >&2
fi
echo "Upload them as deploy/README.md shows (applier and reconciler to the destination region's bucket, forwarder to the source region's)."
