#!/usr/bin/env bash
# The quickstart: builds iot-crr, generates a synthetic fleet of 1000 things (types, a
# group hierarchy, billing groups, policies with versions, certificates) as a snapshot
# file, syncs it to a file replica (showing the plan), then verifies the replica. Then
# the event path: a thing changes in the source and its registry event (as an IoT rule
# forwards it) is applied to the replica with apply-events, which re-reads the thing
# from the source; verify confirms the replica follows. Last, the fleet is synced to a
# standby in another region (ARNs rewritten) and readiness judges every device there.
# Everything stays in ./demo; no AWS account is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dev profile compiles much faster than release and is fast enough here;
# the tests reuse its build.
cargo build --quiet --bin iot-crr
bin="${CARGO_TARGET_DIR:-target}/debug/iot-crr"
mkdir -p demo
rm -f demo/replica.jsonl demo/state.db demo/state.db-wal demo/state.db-shm
"$bin" gen-fleet --things "${THINGS:-1000}" --seed 42 --output demo/fleet.jsonl
"$bin" sync --source file:demo/fleet.jsonl --target file:demo/replica.jsonl --max-lines 25
"$bin" verify --source file:demo/fleet.jsonl --target file:demo/replica.jsonl

echo
echo "== the event path: sensor-000001 gets firmware 4.0.0 in the source =="
# The change in the source (what an UpdateThing call does in AWS IoT)...
sed '/"thingName":"sensor-000001"/s/"firmware":"[^"]*"/"firmware":"4.0.0"/' \
    demo/fleet.jsonl >demo/fleet.jsonl.new
mv demo/fleet.jsonl.new demo/fleet.jsonl
# ...and the registry event AWS IoT publishes for it, as the IoT rule
# SELECT *, topic() AS topic FROM '$aws/events/#' forwards it.
now_ms=$(($(date +%s) * 1000))
cat >demo/events.jsonl <<JSON
{"eventType":"THING_EVENT","eventId":"demo-1","timestamp":${now_ms},"operation":"UPDATED","accountId":"123456789012","thingId":"6f1c0c1e-demo","thingName":"sensor-000001","versionNumber":2,"attributes":{"firmware":"4.0.0"},"topic":"\$aws/events/thing/sensor-000001/updated"}
JSON
"$bin" apply-events --source file:demo/fleet.jsonl --target file:demo/replica.jsonl \
    --state sqlite:demo/state.db --input demo/events.jsonl
# Delivered twice (Kinesis delivers at least once): the second time changes nothing.
"$bin" apply-events --source file:demo/fleet.jsonl --target file:demo/replica.jsonl \
    --state sqlite:demo/state.db --input demo/events.jsonl
"$bin" verify --source file:demo/fleet.jsonl --target file:demo/replica.jsonl

echo
echo "== failover readiness: the fleet synced to a standby in eu-west-1, judged device by device =="
rm -f demo/standby.jsonl
"$bin" sync --source file:demo/fleet.jsonl --target file:demo/standby.jsonl \
    --rewrite-arns --target-region eu-west-1 --max-lines 0 >/dev/null
"$bin" readiness --source file:demo/fleet.jsonl --target file:demo/standby.jsonl --max-devices 2
