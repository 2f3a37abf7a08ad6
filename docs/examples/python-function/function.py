#!/usr/bin/env python3
"""A Hookflow HTTP function in plain Python (standard library only).

It verifies the request's signature, then greets: input {"name": "Ada"}
answers {"greeting": "Hello, Ada!", "idempotency_key": "..."}.

Run it:   HOOKFLOW_SECRET=... python3 function.py [port]
It prints "listening on HOST:PORT" once it accepts connections (port 0
picks a free one). See docs/functions.md for the contract.
"""
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("HOOKFLOW_SECRET", "").encode()
TOLERANCE_SECONDS = 300
MAX_BODY = 1 << 20


def verify(timestamp, signature, body):
    """True when signature is v1=HMAC-SHA256(secret, "timestamp.body")."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - ts) > TOLERANCE_SECONDS:
        return False
    mac = hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256)
    want = "v1=" + mac.hexdigest()
    # Several comma-separated signatures may come during a secret rotation.
    return any(hmac.compare_digest(s.strip(), want) for s in (signature or "").split(","))


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.answer(413, {"error": "input too large"})
        body = self.rfile.read(length)
        # Verify the raw bytes before parsing anything.
        if not verify(self.headers.get("X-Hookflow-Timestamp"), self.headers.get("X-Hookflow-Signature"), body):
            return self.answer(401, {"error": "bad signature"})
        try:
            data = json.loads(body)
        except ValueError:
            return self.answer(400, {"error": "input is not JSON"})
        name = data.get("name") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name:
            return self.answer(422, {"error": "input.name is required"})
        self.answer(200, {
            "greeting": "Hello, %s!" % name,
            "idempotency_key": self.headers.get("X-Hookflow-Idempotency-Key", ""),
        })

    def answer(self, status, obj):
        out = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, fmt, *args):
        # Never log bodies or headers: they may hold personal data.
        sys.stderr.write("%s %s\n" % (self.command, self.path))


def main():
    if not SECRET:
        sys.exit("HOOKFLOW_SECRET is not set")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    host, port = server.server_address[:2]
    print("listening on %s:%d" % (host, port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
