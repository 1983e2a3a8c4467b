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


@seeds("socketio_packet")
def socketio_packet():
    # First byte: the attachment limit (n % 20; 0xff unlimited, 0xfe none); the rest is the text.
    lim = b"\x10"
    ph = b'{"_placeholder":true,"num":0}'
    return {
        "connect": lim + b"0",
        "connect-nsp": lim + b"0/admin,",
        "connect-auth": lim + b'0{"token":"123"}',
        "connect-nsp-auth": lim + b'0/admin,{"token":"123"}',
        "connect-ok": lim + b'0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}',
        "disconnect": lim + b"1",
        "disconnect-nsp": lim + b"1/admin,",
        "event": lim + b'2["hello",1]',
        "event-nsp-ack": lim + b'2/admin,456["project:delete",123]',
        "event-utf8-escapes": lim + '2["h\\u00e9\\n\\"x\\"",{"a":[1,2.5e3,null,true]},"\u20ac"]'.encode(),
        "ack": lim + b'3/admin,456[]',
        "ack-args": lim + b'31["ok",{"b":2}]',
        "connect-error": lim + b'4{"message":"Not authorized"}',
        "connect-error-string": lim + b'4/admin,"Not authorized"',
        "binary-event": lim + b'51-["hello",' + ph + b"]",
        "binary-event-nsp-ack": lim + b'52-/admin,7["upload",' + ph + b',{"_placeholder":true,"num":1}]',
        "binary-ack": lim + b"61-/admin,456[" + ph + b"]",
        "explicit-root-nsp": lim + b'2/,["a"]',
        "leading-zero-id": lim + b'2007["a"]',
        "bad-unknown-type": lim + b"7",
        "bad-empty-event": lim + b"2[]",
        "bad-ack-without-id": lim + b"3[]",
        "bad-connect-with-id": lim + b"01{}",
        "bad-disconnect-data": lim + b'1{"a":1}',
        "bad-placeholder-range": lim + b'51-["a",{"_placeholder":true,"num":1}]',
        "bad-attachment-count": lim + b'5-["a"]',
        "bad-too-many-attachments": b"\x01" + b'52-["a",' + ph + b"]",
        "bad-id-overflow": lim + b'2123456789012345678901["a"]',
        "bad-json": lim + b'2["a",',
        "bad-utf8": lim + b'2["\xff"]',
        "deep-nesting": lim + b"2[\"a\"," + b"[" * 200 + b"]" * 200 + b"]",
    }


def u16(n):
    return bytes([n & 0xff, n >> 8])


def chunk(data):
    return u16(len(data)) + data


@seeds("socketio_binary")
def socketio_binary():
    # limit byte, max_bytes index (0 1 8 64 1024 1MiB unlimited), timeout byte (x100ms, 0xff max),
    # then the header packet and the attachments, each a u16-LE-prefixed chunk.
    ph = lambda n: b'{"_placeholder":true,"num":%d}' % n
    one = b'51-["up",' + ph(0) + b"]"
    two = b'52-/admin,3["up",' + ph(0) + b"," + ph(1) + b"]"
    return {
        "one-attachment": b"\x10\x04\x64" + chunk(one) + chunk(b"\x01\x02\x03"),
        "two-attachments": b"\x10\x04\x64" + chunk(two) + chunk(b"\x00") + chunk(b"\xff" * 5),
        "binary-ack": b"\x10\x04\x64" + chunk(b"61-9[" + ph(0) + b"]") + chunk(b"abc"),
        "too-large": b"\x10\x02\x64" + chunk(one) + chunk(b"0123456789"),
        "extra-attachment": b"\x10\x04\x64" + chunk(one) + chunk(b"a") + chunk(b"b"),
        "empty-attachment": b"\x10\x01\x01" + chunk(one) + chunk(b""),
        "huge-timeout": b"\x10\x06\xff" + chunk(one) + chunk(b"x"),
        "text-packet-attachment": b"\x10\x04\x64" + chunk(b'2["a"]') + chunk(b"x"),
        "missing-attachments": b"\x10\x04\x64" + chunk(two) + chunk(b"x"),
    }


@seeds("http_head")
def http_head():
    # First byte: limits (below 0x80 the defaults; else small ones); the rest is the buffer.
    d = b"\x00"
    ws = (b"GET /socket.io/?EIO=4&transport=websocket&sid=abc HTTP/1.1\r\nHost: localhost:3000\r\n"
          b"Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    return {
        "handshake": d + b"GET /socket.io/?EIO=4&transport=polling&t=N8hyd6w HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "post": d + b"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 5\r\n\r\n40abc",
        "websocket": d + ws,
        "chunked": d + b"POST /events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "http10-keepalive": d + b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "options-star": d + b"OPTIONS * HTTP/1.1\r\nOrigin: http://localhost:8080\r\nAccess-Control-Request-Method: POST\r\n\r\n",
        "absolute-form": d + b"GET http://example.com/socket.io/?EIO=4 HTTP/1.1\r\n\r\n",
        "percent-path": d + b"GET /a%20b/%E2%82%AC?x=%zz&y=+1 HTTP/1.1\r\n\r\n",
        "bare-lf": d + b"GET / HTTP/1.1\nHost: x\n\n",
        "partial": d + b"GET /socket.io/?EIO=4 HTTP/1.1\r\nHost: x\r\n",
        "bad-version": d + b"GET / HTTP/2.0\r\n\r\n",
        "bad-cl-te": d + b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "bad-cl-mismatch": d + b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "bad-te": d + b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "bad-path-utf8": d + b"GET /%ff HTTP/1.1\r\n\r\n",
        "bad-target": d + b"GET example HTTP/1.1\r\n\r\n",
        "small-limits": b"\x9a" + ws,
        "garbage": d + b"\x00\x01 nonsense\r\n\r\n",
    }


@seeds("http_chunked")
def http_chunked():
    # max_body index (0 1 7 64 4096 1MiB unlimited), stride index (1 2 3 5 8 13 64 4096), input.
    return {
        "two-chunks": b"\x04\x00" + b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        "extensions-trailers": b"\x04\x02" + b"5;name=val\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
        "pipelined-rest": b"\x04\x07" + b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "hex-upper": b"\x04\x01" + b"A\r\n0123456789\r\n0\r\n\r\n",
        "too-large": b"\x02\x03" + b"8\r\n01234567\r\n0\r\n\r\n",
        "empty": b"\x00\x00" + b"0\r\n\r\n",
        "partial": b"\x05\x04" + b"10\r\nabc",
        "bad-bare-lf": b"\x04\x00" + b"3\nabc\n0\n\n",
        "bad-size": b"\x04\x00" + b"zz\r\n",
        "bad-overflow": b"\x06\x00" + b"fffffffffffffffff\r\n",
        "bad-missing-crlf": b"\x04\x00" + b"3\r\nabcd\r\n",
    }


@seeds("http_reader")
def http_reader():
    # body limit index (0 1 5 64 4096 1MiB), stride index (1 2 3 7 16 64 4096), connection bytes.
    return {
        "pipelined": b"\x03\x00" + b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n",
        "too-large-length": b"\x02\x02" + b"POST /a HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world",
        "too-large-chunked": b"\x02\x03" + b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n0\r\n\r\n",
        "upgrade-then-frames": b"\x03\x04" + b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\x81\x05hello",
        "garbage": b"\x03\x00" + b"\x00\x01 nonsense\r\n\r\n",
        "partial-body": b"\x04\x05" + b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
        "bad-chunked": b"\x04\x01" + b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nx\r\n",
    }


# ---- engine: a script of operations, encoded as engine_run.rs reads it --------------------
MESSAGES = ["2probe", "3probe", "5", "3", "2", "6", "1", "40", "40/admin,", "40/custom,{}",
            "40{}", "41", "41/admin,", "42[message]", "421[message-with-ack]", "42/admin,7",
            "430", "431", "451-", "452-3", "461-0", "44", "4hello raw", "4", "7"]


def msg(prefix):
    return MESSAGES.index(prefix)


def handshake(ws=False, raw=False, slot=0):
    return bytes([0, 1 if ws else 0, 0 if raw else 1, slot, 1])


def poll(slot=1, sid=0):
    return bytes([2, sid, 2, slot, 1])


def post(messages, slot=0, sid=0):
    out = bytes([3, sid, 2, 0, len(messages) - 1])
    for m in messages:
        out += bytes([2, msg(m)])
    return out + bytes([slot, 1])


def post_raw(body, slot=0, sid=0):
    return bytes([3, sid, 2, 1]) + chunk(body) + bytes([slot, 1])


def upgrade(slot=2, sid=0):
    return bytes([5, sid, 2, slot, 1])


def ws(m, conn=0):
    return bytes([7, conn, 2, msg(m)])


def ws_raw(text, conn=0):
    return bytes([7, conn, 0]) + chunk(text)


def ws_ack_reply(conn=0):
    return bytes([7, conn, 1])


def ws_bin(data, conn=0):
    return bytes([9, conn]) + chunk(data)


def fire():
    return bytes([13, 2])


def wait_ms(ms):
    return bytes([13, 0]) + u16(ms)


def close_http(slot):
    return bytes([11, 0, slot])


def close_ws(conn=0):
    return bytes([11, 1, conn])


def emit_all(nsp=0, room=None):
    out = bytes([15, 0, 0, nsp])
    out += bytes([1, room]) if room is not None else bytes([0])
    return out + bytes([0, 1, 1, 0])


def emit_to(ack_ms=None, binary=False):
    out = bytes([15, 0, 2, 0, 2 if binary else 1, 0])
    return out + (bytes([1]) + u16(ack_ms) if ack_ms is not None else bytes([0]))


def join(room=0):
    return bytes([15, 0, 5, room])


def disconnect():
    return bytes([15, 0, 7])


def close_session():
    return bytes([15, 0, 9, 0])


def any_request(method, path, pairs, ws=False, body=b"", slot=0):
    out = bytes([6, method, path, len(pairs)])
    for kind, value in pairs:
        out += bytes([kind, value])
    return out + bytes([1 if ws else 0]) + chunk(body) + bytes([slot, 1])


@seeds("engine")
def engine():
    polling = (handshake() + poll() + post(["40"]) + poll() + post(["42[message]", "421[message-with-ack]"])
               + fire() + poll() + post(["3"]) + fire() + fire())
    websocket = (handshake(ws=True) + ws("40") + ws("42[message]") + ws("421[message-with-ack]")
                 + ws("2") + fire() + ws("3") + fire() + ws("41") + ws("1"))
    upgrade_flow = (handshake() + post(["40"]) + upgrade() + ws("2probe") + poll() + ws("5")
                    + ws("42[message]") + fire() + ws("3") + fire())
    binary = (handshake(ws=True) + ws("40") + ws("451-") + ws_bin(b"\x01\x02") + ws("452-3")
              + ws_bin(b"a") + ws_bin(b"b") + ws("461-0") + ws_bin(b"x"))
    commands = (handshake(ws=True) + ws("40") + emit_to(ack_ms=500) + ws_ack_reply() + emit_to(ack_ms=20)
                + emit_to(binary=True) + join(0) + emit_all(0, room=0) + emit_all() + fire()
                + disconnect() + close_session())
    bad = (any_request(0, 0, [(0, 1), (1, 0)]) + any_request(1, 0, [(0, 0), (1, 0)])
           + any_request(0, 0, [(0, 0), (1, 2)]) + any_request(0, 3, []) + any_request(1, 3, [])
           + any_request(2, 0, [], body=b"") + any_request(0, 4, []) + any_request(0, 0, [(0, 0), (1, 1)])
           + any_request(0, 0, [(0, 0), (1, 0), (2, 0xf1)]) + any_request(7, 5, [(4, 0)], body=b"xyz"))
    bad_payloads = (handshake() + post_raw(b"40\x1e\x1e42") + handshake() + post_raw(b"bAQ!")
                    + handshake() + post(["40"]) + post_raw(b"4" * 2000) + handshake() + post(["7"]))
    closes = (handshake() + poll(slot=1) + close_http(1) + handshake(ws=True) + close_ws()
              + handshake() + upgrade() + close_ws() + poll() + wait_ms(60000))
    overlap = handshake() + poll(slot=1) + poll(slot=2) + handshake() + upgrade() + upgrade(slot=3)
    return {
        "polling": b"\x00" + polling,
        "websocket": b"\x00" + websocket,
        "upgrade": b"\x00" + upgrade_flow,
        "binary": b"\x00" + binary,
        "commands": b"\x00" + commands,
        "bad-requests": b"\x00" + bad,
        "bad-payloads": b"\x00" + bad_payloads,
        "closes": b"\x00" + closes,
        "overlap": b"\x00" + overlap,
        "conformance-websocket": b"\x01" + websocket + commands,
        "conformance-polling": b"\x01" + polling + upgrade_flow,
        "tight-binary": b"\x02" + binary + fire() * 4,
        "tight-commands": b"\x02" + commands + wait_ms(100) + fire() * 4,
        "raw-engineio": b"\x03" + handshake(ws=True, raw=True) + ws("4hello raw") + ws_bin(b"\x00")
                        + handshake(raw=True) + post(["4hello raw"]) + poll() + fire(),
    }


@seeds("client")
def client():
    # Byte layout (fuzz/src/client.rs): the transport, then steps of [pick a live connection:
    # 1, index][input kind][details]. Kind 6 + 0 + n sends dictionary message n as text.
    def text(n, conn_index=0):
        return bytes([1, conn_index, 6, 0, n])

    def kind(k, conn_index=0):
        return bytes([1, conn_index, k])

    wait = kind(0) + bytes([0xF4, 0x01])
    websocket = (b"\x00" + kind(2) + text(0) + text(5) + text(8) + text(1) + kind(5, 0) + bytes([0])
                 + text(10) + text(11) + kind(4) + bytes([1, 0, 7]) + wait + kind(3) + wait * 8)
    polling = (b"\x01" + kind(1) + bytes([0, 0, 0]) + kind(1, 1) + bytes([0, 0, 5]) + kind(1, 1)
               + bytes([0, 0, 1]) + wait * 4)
    upgrade = (b"\x02" + kind(1) + bytes([0, 0, 0]) + kind(2, 1) + text(2, 1) + kind(1, 2)
               + bytes([0, 0, 5]) + kind(1, 0) + bytes([0, 0, 4]) + wait * 3)
    garbage = b"\x00" + kind(2) + text(0) + text(5) + kind(6) + bytes([1, 3, 0, 0xff, 0xfe, 0x00]) + wait * 3
    refused = b"\x00" + kind(2) + text(0) + text(7) + text(6) + text(12) + wait * 2
    return {
        "websocket": websocket,
        "polling": polling,
        "upgrade": upgrade,
        "garbage": garbage,
        "refused": refused,
        "empty": b"",
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
