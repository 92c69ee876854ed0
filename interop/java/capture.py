"""Captures the requests Huawei's Java DIS SDK sends, for huaweicloud-sign's test vectors.

    python3 interop/java/capture.py OUT.json AK SK REGION

Listens on 127.0.0.1 (a free port, printed as `listening on URL`), answers every POST with 200
and an empty SendRecords result, and on SIGTERM writes what it received to OUT.json: the SDK's
requests exactly as they came (method, target, headers in order, body in Base64). Used by
`scripts/interop-huawei-java.sh --vectors`.
"""
import base64
import http.server
import json
import signal
import sys

out, ak, sk, region = sys.argv[1:5]
received = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received.append({
            "method": self.command,
            "target": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_base64": base64.b64encode(body).decode(),
        })
        answer = b'{"failed_record_count":0,"records":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def stop(*_):
    with open(out, "w") as f:
        json.dump({"ak": ak, "sk": sk, "region": region, "vectors": received}, f, indent=1)
        f.write("\n")
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
