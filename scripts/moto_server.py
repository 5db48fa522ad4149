"""Starts moto's server configured like AWS IoT where it matters to iot-crr.

moto computes a certificate id as the SHA-256 of the PEM text unless its
`iot.use_valid_cert` option is on; AWS IoT uses the SHA-256 of the DER bytes. The
option cannot be set over moto's HTTP API (5.2.x), so it is set here before the server
starts. Arguments are moto_server's (e.g. -H 127.0.0.1 -p 5000).
"""

import sys

from moto.core.config import default_user_config
from moto.server import main

default_user_config.setdefault("iot", {})["use_valid_cert"] = True

if __name__ == "__main__":
    main(sys.argv[1:])
