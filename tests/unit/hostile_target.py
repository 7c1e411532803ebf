#!/usr/bin/env python3
"""Metrics targets, friendly and hostile, over HTTP on 127.0.0.1, for relay_test.cc.

The path picks the behaviour (each fake pod gets its own path through its annotation):
  /file/<name>       200 with the contents of <dir>/<name> (re-read per request); 503 if missing
  /ok/<tag>          200, a small valid exposition whose series carry target="<tag>"
  /stall             10 s of silence, then a valid exposition
  /huge              200, 50 MiB of valid comment lines with Content-Length
  /huge_chunked      the same, chunked (no Content-Length), streamed
  /gzip_bomb         200, Content-Encoding: gzip, 50 MiB of comment lines in 300 KiB
  /malformed         200, valid lines, then one broken line, then more valid lines
  /many              200, 100,000 valid series (about 3 MiB)
  /reset             200 with Content-Length 1 MiB, 64 KiB of it, then a TCP reset
  /status500         500
Writes the chosen port to --port-file once listening. Exits when its parent process goes away.
"""
import argparse
import gzip
import http.server
import os
import socket
import struct
import sys
import time

from test_server_util import QuietServer, serve_until_parent_exits

MIB = 1 << 20

GOOD = """# HELP demo_requests_total Requests.
# TYPE demo_requests_total counter
demo_requests_total{{code="200",target="{tag}"}} 123456789012
demo_requests_total{{code="500",target="{tag}"}} 3
# HELP demo_latency_seconds Latency.
# TYPE demo_latency_seconds histogram
demo_latency_seconds_bucket{{target="{tag}",le="0.1"}} 5
demo_latency_seconds_bucket{{target="{tag}",le="+Inf"}} 7
demo_latency_seconds_sum{{target="{tag}"}} 0.30000000000000004
demo_latency_seconds_count{{target="{tag}"}} 7
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()

    bomb = gzip.compress((b"# " + b"z" * 1021 + b"\n") * 50 * 1024, 1)  # 0.1 s

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def head(self, code, length=None, extra=()):
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            if length is not None:
                self.send_header("Content-Length", str(length))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()

        def body(self, code, data):
            self.head(code, len(data))
            self.wfile.write(data)

        def do_GET(self):
            path = self.path
            if path.startswith("/file/"):
                name = os.path.basename(path[len("/file/"):])
                try:
                    with open(os.path.join(args.dir, name), "rb") as f:
                        data = f.read()
                except OSError:
                    self.body(503, b"not now\n")
                    return
                self.body(200, data)
            elif path.startswith("/ok/"):
                self.body(200, GOOD.format(tag=path[len("/ok/"):]).encode())
            elif path == "/stall":
                time.sleep(10)
                self.body(200, GOOD.format(tag="late").encode())
            elif path in ("/huge", "/huge_chunked"):
                line = b"# " + b"x" * 1021 + b"\n"  # 1 KiB
                chunk = line * 1024  # 1 MiB
                if path == "/huge":
                    self.head(200, 50 * MIB)
                    for _ in range(50):
                        self.wfile.write(chunk)
                else:
                    self.head(200, extra=[("Transfer-Encoding", "chunked")])
                    for _ in range(50):
                        self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
            elif path == "/gzip_bomb":
                self.head(200, len(bomb), extra=[("Content-Encoding", "gzip")])
                self.wfile.write(bomb)
            elif path == "/malformed":
                data = GOOD.format(tag="m") + "demo_broken{code=\"200\" 1\n" + "after_total 1\n"
                self.body(200, data.encode())
            elif path == "/many":
                lines = ["# TYPE many_total counter\n"]
                lines += ['many_total{i="%d"} %d\n' % (i, i) for i in range(100000)]
                self.body(200, "".join(lines).encode())
            elif path == "/reset":
                self.head(200, MIB)
                self.wfile.write(b"# " + b"y" * (64 * 1024 - 3) + b"\n")
                self.wfile.flush()
                time.sleep(0.05)
                sock = self.connection
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()  # RST: linger on with a zero timeout
                self.close_connection = True
            elif path == "/status500":
                self.body(500, b"oops\n")
            else:
                self.body(404, b"no such target\n")

    server = QuietServer(("127.0.0.1", 0), Handler)
    serve_until_parent_exits(server, args.port_file)


if __name__ == "__main__":
    sys.exit(main())
