#!/usr/bin/env python3
"""Write the hand-made seed files into fuzz/corpus/<target>/seed-<name>.

Run from anywhere: `python3 fuzz/tools/seeds.py [target ...]`. Seeds are small, readable inputs
(valid packets of every kind, the protocol spec examples, some malformed ones). Re-run after
`cargo fuzz cmin`, which may drop seeds that add no coverage of their own.
"""
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
SEEDS = {}


def seeds(target):
    def register(fn):
        SEEDS[target] = fn
        return fn
    return register


@seeds("engineio_packet")
def engineio_packet():
    open_json = b'{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
    return {
        "open": b"0" + open_json,
        "close": b"1",
        "ping": b"2",
        "ping-probe": b"2probe",
        "pong-probe": b"3probe",
        "message": b"4hello",
        "message-utf8": "4h\u00e9llo \u20ac \U0001f600".encode(),
        "message-sio-event": b'42["chat","hi"]',
        "message-empty": b"4",
        "upgrade": b"5",
        "noop": b"6",
        "bad-type-7": b"7",
        "bad-type-b64": b"bAQIDBA==",
        "bad-utf8": b"4\xff\xfe",
        "bad-trailing-close": b"1x",
        "bad-trailing-upgrade": b"5probe",
        "binary-bytes": bytes([1, 2, 3, 4, 0, 0xff]),
        "empty": b"",
    }


@seeds("engineio_payload")
def engineio_payload():
    # First byte: the frame limit (0xff = unlimited, otherwise low 6 bits); the rest is the body.
    unlimited = b"\xff"
    return {
        "spec-example": unlimited + "4hello\x1e4\u20ac\x1ebAQIDBA==".encode(),
        "single": b"\x01" + b"4hello",
        "probe-and-message": unlimited + b"2probe\x1e4hi\x1ebAA==",
        "empty-binary": unlimited + b"b//////8=\x1e4ab\x1eb",
        "every-type": unlimited + b"0{}\x1e1\x1e2\x1e3\x1e4x\x1e5\x1e6",
        "sio-events": unlimited + b'42["a",1]\x1e42/admin,7["b",{"c":[1,2]}]',
        "over-limit": b"\x02" + b"4a\x1e4b\x1e4c",
        "zero-limit": b"\x00" + b"6",
        "bad-empty-segment": unlimited + b"4a\x1e\x1e4b",
        "bad-trailing-separator": unlimited + b"4a\x1e",
        "bad-base64": unlimited + b"bAQID!A==",
        "bad-base64-unpadded": unlimited + b"bAQIDBA",
        "bad-base64-trailing-bits": unlimited + b"bAQIDBB==",
        "bad-utf8": unlimited + b"4ok\x1e4\xc3\x28",
        "only-separator": unlimited + b"\x1e",
        "empty-body": unlimited,
    }


def main(targets):
    for target in targets or sorted(SEEDS):
        directory = os.path.join(ROOT, target)
        os.makedirs(directory, exist_ok=True)
        for name, data in SEEDS[target]().items():
            with open(os.path.join(directory, "seed-" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main(sys.argv[1:])
