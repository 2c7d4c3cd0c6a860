#!/usr/bin/env python3
"""A stand-in for `dnsfence witness` (built on another branch) for the leaktest end-to-end test.

It serves leaktest's documented API from the query log of an unbound authority:
  POST /runs {"count": N} -> {"run": ID, "probes": [N unique names under ZONE], "answers": [ANSWER]}
  GET /runs/ID            -> {"resolvers": [{"address": A, "names": [...]}], "answers": [ANSWER]}
Usage: fake_witness.py LOGFILE ZONE ANSWER ADDRESS PORT
"""
import json
import re
import secrets
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

log_file, zone, answer, address, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
runs = {}
# unbound log-queries: "[1700000000] unbound[12:0] info: 10.98.3.1 abc.zone. A IN"
line_re = re.compile(r"info: (\S+) (\S+)\. \S+ IN")


class Handler(BaseHTTPRequestHandler):
    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        count = json.loads(self.rfile.read(length) or b"{}").get("count", 1)
        run = secrets.token_hex(4)
        runs[run] = [f"{secrets.token_hex(8)}.{zone}" for _ in range(count)]
        self.reply({"run": run, "probes": runs[run], "answers": [answer]})

    def do_GET(self):
        names = set(runs.get(self.path.rsplit("/", 1)[-1], []))
        seen = {}
        with open(log_file) as f:
            for m in line_re.finditer(f.read()):
                if m.group(2).lower() in names:
                    seen.setdefault(m.group(1), set()).add(m.group(2).lower())
        self.reply({"resolvers": [{"address": a, "names": sorted(n)} for a, n in seen.items()], "answers": [answer]})

    def log_message(self, *args):
        pass


HTTPServer((address, port), Handler).serve_forever()
