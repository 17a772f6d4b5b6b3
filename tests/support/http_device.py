#!/usr/bin/env python3
"""A device's HTTP endpoint for fleetadm's tests and benchmark (Python 3 stdlib only).

Listens on 127.0.0.1 on a free port and prints "PORT <n>" once it accepts connections.
Uploads (PUT or POST, raw or multipart) are answered with JSON describing what arrived:
the SHA-256 of the body (of the file part for multipart), the Authorization header and the
subject CN of the TLS client certificate. The path chooses the behaviour:

  /status/<code>   answer with that status after reading the body
  /stall           read the body, then never answer
  /drop            close the connection without answering (counted in <state>/drops)
  /slow/<ms>       answer after <ms> milliseconds
  /discard         read and drop the body, answer 200 with no JSON work (benchmark)
  anything else    answer 200 with the JSON above

With --state DIR the server keeps DIR/max_connections (the most connections open at once).
"""
import argparse
import hashlib
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
open_connections = 0
max_connections = 0
drops = 0
args = None


def write_state(name, value):
    if args.state:
        path = os.path.join(args.state, name)
        with open(path + ".tmp", "w") as f:
            f.write(str(value))
        os.replace(path + ".tmp", path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The status line and headers go out in one write and the body in another: with Nagle's
    # algorithm the body waited for the client's delayed ACK (up to 40 ms per answer), which
    # bench/runners.sh measured as the runner's own time.
    disable_nagle_algorithm = True

    def setup(self):
        global open_connections, max_connections
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.request.close()
                raise
        with lock:
            open_connections += 1
            if open_connections > max_connections:
                max_connections = open_connections
                write_state("max_connections", max_connections)
        super().setup()

    def finish(self):
        global open_connections
        super().finish()
        with lock:
            open_connections -= 1

    def log_message(self, format, *log_args):
        pass

    def read_body(self, digest=None):
        """Reads the whole body (Content-Length or chunked), hashing or keeping it."""
        kept = bytearray()
        def take(chunk):
            if digest is not None:
                digest.update(chunk)
            else:
                kept.extend(chunk)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                take(self.rfile.read(size))
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                take(chunk)
                left -= len(chunk)
        return bytes(kept)

    def answer(self, code, body=b"", content_type="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def describe(self):
        """What arrived: SHA-256 of the body or of the multipart file part, and credentials."""
        info = {"method": self.command, "path": self.path,
                "authorization": self.headers.get("Authorization", ""),
                # The header's digest too: fleetadm redacts the credential from what it keeps of
                # the answer, so tests compare this to prove the header arrived intact.
                "authorization_sha256": hashlib.sha256(
                    self.headers.get("Authorization", "").encode()).hexdigest()}
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            boundary = content_type.split("boundary=")[1].strip('"').encode()
            body = self.read_body()
            for part in body.split(b"--" + boundary)[1:-1]:
                head, _, data = part.partition(b"\r\n\r\n")
                info.setdefault("fields", []).append(head.decode(errors="replace"))
                info["sha256"] = hashlib.sha256(data[:-2]).hexdigest()  # minus the part's CRLF
                info["size"] = len(data) - 2
        else:
            digest = hashlib.sha256()
            self.read_body(digest)
            info["sha256"] = digest.hexdigest()
        if isinstance(self.request, ssl.SSLSocket):
            cert = self.request.getpeercert()
            if cert:
                info["client_cn"] = dict(x[0] for x in cert["subject"]).get("commonName", "")
        return info

    def handle_request(self):
        global drops
        parts = self.path.split("/")
        if self.path.startswith("/status/"):
            self.read_body(hashlib.sha256())
            self.answer(int(parts[2]), b'{"error": "as asked"}')
        elif self.path == "/stall":
            self.read_body(hashlib.sha256())
            while self.rfile.read(1):
                pass
            self.close_connection = True
        elif self.path == "/drop":
            with lock:
                drops += 1
                write_state("drops", drops)
            self.close_connection = True
            self.request.shutdown(socket.SHUT_RDWR)
        elif self.path == "/discard":
            self.read_body(hashlib.sha256())
            self.answer(200, b"ok\n", "text/plain")
        else:
            if self.path.startswith("/slow/"):
                time.sleep(int(parts[2]) / 1000)
            info = self.describe()
            self.answer(200, json.dumps(info).encode())

    do_GET = do_PUT = do_POST = handle_request


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", help="server certificate (PEM); enables TLS")
    parser.add_argument("--key", help="server key (PEM)")
    parser.add_argument("--client-ca", help="require a client certificate signed by this CA")
    parser.add_argument("--state", help="directory for counters")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
