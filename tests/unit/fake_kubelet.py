#!/usr/bin/env python3
"""A fake kubelet (and API server) over HTTPS on 127.0.0.1, for pod_source_test.cc.

Serves GET /pods and GET /api/v1/pods?fieldSelector=spec.nodeName=<node>. Each request first
checks "Authorization: Bearer <token>" (401 otherwise), then reads the mode file (default "ok"):
  ok             200, the PodList file (re-read per request)
  forbidden      403
  status500      500 with a Status object
  garbage        200, an HTML page
  malformed      200, JSON cut in the middle of an item
  truncated      200, Content-Length larger than what is sent, then the connection closes
  stall          10 s of silence, then the PodList
  huge           200, a valid PodList of --huge-bytes bytes with Content-Length
  huge_nolength  the same without Content-Length (read until close)
Writes the chosen port to --port-file once listening. Exits when its parent process goes away.
"""
import argparse
import http.server
import json
import ssl
import sys
import time

from test_server_util import QuietServer, serve_until_parent_exits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--podlist", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--node", default="lab-node-1")
    ap.add_argument("--huge-bytes", type=int, default=2 << 20)
    args = ap.parse_args()

    def huge_body():
        pad = "x" * args.huge_bytes
        return json.dumps({"kind": "PodList", "apiVersion": "v1", "items": [
            {"metadata": {"uid": "huge", "annotations": {"pad": pad}}}]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def send_body(self, code, body, content_type="application/json", length=None):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.headers.get("Authorization") != "Bearer " + args.token:
                self.send_body(401, b'{"kind":"Status","status":"Failure","code":401}')
                return
            node_query = "/api/v1/pods?fieldSelector=spec.nodeName=" + args.node
            if self.path not in ("/pods", node_query):
                self.send_body(404, b"404 page not found\n", "text/plain")
                return
            try:
                with open(args.mode_file) as f:
                    mode = f.read().strip() or "ok"
            except OSError:
                mode = "ok"
            with open(args.podlist, "rb") as f:
                podlist = f.read()
            if mode == "ok":
                self.send_body(200, podlist)
            elif mode == "forbidden":
                self.send_body(403, b'{"kind":"Status","status":"Failure","code":403}')
            elif mode == "status500":
                self.send_body(500, b'{"kind":"Status","status":"Failure","code":500}')
            elif mode == "garbage":
                self.send_body(200, b"<html><body>hello</body></html>", "text/html")
            elif mode == "malformed":
                self.send_body(200, podlist[: len(podlist) // 2])
            elif mode == "truncated":
                self.send_body(200, podlist[: len(podlist) // 2], length=len(podlist) + 1000)
                self.close_connection = True
            elif mode == "stall":
                time.sleep(10)
                self.send_body(200, podlist)
            elif mode == "huge":
                self.send_body(200, huge_body())
            elif mode == "huge_nolength":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(huge_body())
                self.close_connection = True
            else:
                self.send_body(500, b"unknown mode\n", "text/plain")

    server = QuietServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)

    serve_until_parent_exits(server, args.port_file)


if __name__ == "__main__":
    sys.exit(main())
