"""Starts moto's server configured like AWS where it matters to iot-crr.

moto computes a certificate id as the SHA-256 of the PEM text unless its
`iot.use_valid_cert` option is on; AWS IoT uses the SHA-256 of the DER bytes. The
option cannot be set over moto's HTTP API (5.2.x), so it is set here before the server
starts.

DynamoDB conditional writes are atomic on AWS: the condition is evaluated and the item
written as one step. moto (5.2.x) reads the item, evaluates the condition and writes
without a lock, and its server handles requests on many threads, so two racing
conditional writes can both pass their conditions (a lost update). Its DynamoDB
requests are serialised here, one at a time, as AWS's are per item
(iot-crr-state-dynamodb's racing tests depend on it).

moto's IoT backend is not thread-safe either: a request that iterates over the
certificates (AttachThingPrincipal looks a principal up that way) while another
registers one fails with "OrderedDict mutated during iteration", answered as an HTTP
500 HTML page, which AWS never does. Its IoT requests are serialised too.

Arguments are moto_server's (e.g. -H 127.0.0.1 -p 5000).
"""

import sys
import threading

from moto.core.config import default_user_config
from moto.dynamodb.responses import DynamoHandler
from moto.iot.responses import IoTResponse
from moto.server import main

default_user_config.setdefault("iot", {})["use_valid_cert"] = True

_dynamodb_lock = threading.Lock()
_dynamodb_call_action = DynamoHandler.call_action


def _serialised_dynamodb_call_action(self):
    with _dynamodb_lock:
        return _dynamodb_call_action(self)


DynamoHandler.call_action = _serialised_dynamodb_call_action

_iot_lock = threading.Lock()
_iot_call_action = IoTResponse.call_action


def _serialised_iot_call_action(self):
    with _iot_lock:
        return _iot_call_action(self)


IoTResponse.call_action = _serialised_iot_call_action

if __name__ == "__main__":
    main(sys.argv[1:])
