#!/usr/bin/env bash
# The whole test suite: unit, property, CLI and integration tests.
#
# Integration tests talk to moto (an independent implementation of the AWS APIs) in
# server mode: scripts/with-moto.sh installs it when missing, starts it on a free
# loopback port, points the tests at it (IOT_CRR_MOTO_ENDPOINT) and stops it at the end.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p iot-crr-model`).
set -euo pipefail
cd "$(dirname "$0")/.."

# scripts/fault_proxy.py, the fault-injection proxy (throttling, server errors, dropped
# connections, latency) for tests of retry and rate control: its own tests (standard
# library only, a few seconds).
echo "== scripts/tests/test_fault_proxy.py" >&2
python3 scripts/tests/test_fault_proxy.py

# iot-crr-kpl cross-checks its KPL aggregation against the reference Python package.
AWS_KINESIS_AGG_VERSION="${AWS_KINESIS_AGG_VERSION:-1.2.3}"
if ! python3 -c "import aws_kinesis_agg" >/dev/null 2>&1; then
    echo "installing aws-kinesis-agg==${AWS_KINESIS_AGG_VERSION} (pip)" >&2
    python3 -m pip install --quiet --disable-pip-version-check "aws-kinesis-agg==${AWS_KINESIS_AGG_VERSION}"
fi
# aws-kinesis-agg was installed above: the KPL cross-check runs, never skips.
export IOT_CRR_REQUIRE_PYTHON_CROSSCHECK=1
# Debug builds keep the locals of every arm of an async state machine's poll on the
# stack: the AWS backend's apply dispatch (one arm per operation, some thirty kinds of
# change) comes close to the 2 MiB a test thread gets by default. Release builds (the
# binaries, the Lambda handlers) need a fraction of it.
export RUST_MIN_STACK="${RUST_MIN_STACK:-8388608}"
exec scripts/with-moto.sh cargo test --workspace "$@"
