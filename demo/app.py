"""A small model-serving app of the EAS kind: loads a "model" for a moment,
then answers on port 8000 (GET / is the health endpoint, POST /predict the
inference). Stops cleanly on SIGTERM. Standard library only."""
import http.server
import json
import os
import signal
import sys
import time

PORT = int(os.environ.get("LISTENING_PORT", "8000"))
LOAD_SECONDS = float(os.environ.get("MODEL_LOAD_SECONDS", "1"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        text = self.rfile.read(length).decode("utf-8", "replace")
        body = json.dumps({"input": text, "label": "positive" if "good" in text else "negative"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("app: " + (fmt % args) + "\n")


def main():
    print(f"app: loading the model ({LOAD_SECONDS}s)", file=sys.stderr, flush=True)
    time.sleep(LOAD_SECONDS)
    server = http.server.HTTPServer(("0.0.0.0", PORT), Handler)

    def stop(signum, _frame):
        print(f"app: got signal {signum}, shutting down", file=sys.stderr, flush=True)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"app: serving on 0.0.0.0:{PORT}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
