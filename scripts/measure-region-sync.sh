#!/usr/bin/env bash
# Measures a region-to-region sync against moto at AWS IoT's default quotas, overlapped
# (the default) and with --no-overlap, and with the quotas lifted: the README's "Region
# to region at the quotas" table. Each sync goes into an empty region of its own.
#   scripts/with-moto.sh scripts/measure-region-sync.sh [THINGS [CERTIFICATE_RATIO]]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${IOT_CRR_MOTO_ENDPOINT:?run under scripts/with-moto.sh}"
things="${1:-424}"
ratio="${2:-0.36}"
cargo build --quiet -p iot-crr
bin="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/iot-crr"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_ENDPOINT_URL="$IOT_CRR_MOTO_ENDPOINT"
unset AWS_PROFILE AWS_SESSION_TOKEN

# Every operation with a default quota, lifted to 1,000 a second.
python3 - "$dir/lifted.json" <<'PY'
import json, re, sys
apis = re.findall(r'\("([A-Za-z]+)", [0-9.]+\)', open("crates/registry/src/rate.rs").read())
json.dump({**{a: 1000 for a in apis}, "*": 1000}, open(sys.argv[1], "w"))
PY

"$bin" gen-fleet --things "$things" --certificate-ratio "$ratio" --seed 3 --output "$dir/fleet.jsonl"
"$bin" sync --source "file:$dir/fleet.jsonl" --target aws:us-west-2 --rewrite-arns \
    --quota-file "$dir/lifted.json" >/dev/null 2>"$dir/load.err" || { cat "$dir/load.err"; exit 1; }

run() { # label target [flags]
    local label=$1 target=$2
    shift 2
    local start end
    start=$(date +%s.%N)
    "$bin" sync --source aws:us-west-2 --target "$target" --rewrite-arns --stats "$@" \
        >"$dir/out" 2>"$dir/err" || { cat "$dir/err"; exit 1; }
    end=$(date +%s.%N)
    echo "== $label: $(python3 -c "print(round($end - $start, 1))") s wall"
    grep -E "change\(s\) to|at the quotas this takes" "$dir/err"
}
run "overlapped (default quotas)" aws:eu-central-1
run "--no-overlap (default quotas)" aws:ap-south-1 --no-overlap
run "overlapped, quotas lifted" aws:sa-east-1 --quota-file "$dir/lifted.json"
"$bin" verify --source aws:us-west-2 --target aws:eu-central-1 --rewrite-arns | head -1
