#!/usr/bin/env bash
# Runs a command with a moto server (an independent implementation of the AWS APIs) on
# a free loopback port: installs moto[server] when missing, starts it, exports
# IOT_CRR_MOTO_ENDPOINT, runs the command, and stops the server at the end.
# Example: scripts/with-moto.sh cargo bench -p iot-crr-replicator --bench lag
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="${MOTO_VERSION:-5.2.1}"
if ! python3 -c "import moto.server, flask" >/dev/null 2>&1; then
    echo "installing moto[server]==${MOTO_VERSION} (pip)" >&2
    python3 -m pip install --quiet --disable-pip-version-check "moto[server]==${MOTO_VERSION}"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
python3 scripts/moto_server.py -H 127.0.0.1 -p "$port" >target/moto.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT

# Wait until moto answers (it takes a second or two to import).
python3 - "$port" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/moto-api/"
for _ in range(150):
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("moto_server did not start; see target/moto.log")
PY

export IOT_CRR_MOTO_ENDPOINT="http://127.0.0.1:${port}"
echo "moto_server on ${IOT_CRR_MOTO_ENDPOINT}" >&2
"$@"
