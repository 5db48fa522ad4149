#!/usr/bin/env bash
# The quickstart: builds iot-crr, generates a synthetic fleet of 1000 things (types, a
# group hierarchy, billing groups, policies with versions, certificates) as a snapshot
# file, syncs it to a file replica (showing the plan), then verifies the replica.
# Everything stays in ./demo; no AWS account is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dev profile compiles much faster than release and is fast enough here;
# the tests reuse its build.
cargo build --quiet --bin iot-crr
bin=target/debug/iot-crr
mkdir -p demo
rm -f demo/replica.jsonl
"$bin" gen-fleet --things "${THINGS:-1000}" --seed 42 --output demo/fleet.jsonl
"$bin" sync --source file:demo/fleet.jsonl --target file:demo/replica.jsonl --max-lines 25
"$bin" verify --source file:demo/fleet.jsonl --target file:demo/replica.jsonl
