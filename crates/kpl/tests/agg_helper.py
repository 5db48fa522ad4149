#!/usr/bin/env python3
"""Cross-check helper for iot-crr-kpl: runs the reference Python `aws-kinesis-agg` package.

Lines on stdin and stdout are tab-separated hex fields; "-" stands for "no explicit hash key".

  agg_helper.py aggregate [MAX_SIZE]
      in:  PK_HEX EHK_HEX|- DATA_HEX          (one user record per line)
      out: PK_HEX EHK_HEX|- DATA_HEX          (one Kinesis record per line, from RecordAggregator)
  agg_helper.py deaggregate
      in:  PK_HEX DATA_HEX                    (one Kinesis record per line)
      out: INPUT_LINE SUB_SEQ PK_HEX EHK_HEX|- DATA_HEX AGGREGATED(0|1)   (one user record per line)
"""
import base64
import sys

from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import iter_deaggregate_records


def unhex(field):
    return bytes.fromhex(field)


def key(field):
    return None if field == "-" else unhex(field).decode("utf-8")


def enc_key(value):
    if value is None:
        return "-"
    if isinstance(value, str):
        value = value.encode("utf-8")
    return value.hex()


def lines():
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line:
            yield line.split("\t")


def aggregate(max_size):
    agg = RecordAggregator(max_size) if max_size else RecordAggregator()
    out = []
    for pk, ehk, data in lines():
        done = agg.add_user_record(key(pk), unhex(data), key(ehk))
        if done is not None:
            out.append(done)
    last = agg.clear_and_get()
    if last is not None:
        out.append(last)
    for record in out:
        pk, ehk, data = record.get_contents()
        print("\t".join([enc_key(pk), enc_key(ehk), data.hex()]))


def deaggregate():
    for n, (pk, data) in enumerate(lines()):
        record = {
            "SequenceNumber": str(n),
            "PartitionKey": unhex(pk).decode("utf-8"),
            "ApproximateArrivalTimestamp": 0,
            "Data": unhex(data),
        }
        for sub, user in enumerate(iter_deaggregate_records([record], data_format="Boto3")):
            k = user["kinesis"]
            aggregated = bool(k.get("aggregated"))
            # Aggregated user records come back base64-encoded, plain ones as they went in.
            payload = base64.b64decode(k["data"]) if aggregated else k["data"]
            print("\t".join([
                str(n),
                str(k.get("subSequenceNumber", sub)),
                enc_key(k["partitionKey"]),
                enc_key(k.get("explicitHashKey")),
                payload.hex(),
                "1" if aggregated else "0",
            ]))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "aggregate":
        aggregate(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    elif sys.argv[1] == "deaggregate":
        deaggregate()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
