# The corrected app: the same inference route, plus a cheap `GET /health` for
# the probes. It "loads a model" for LOAD_SECONDS (default 5) before it
# listens, which service.fixed.json's startup_check has a budget for.
#
# While the file /tmp/fail exists, /health answers 500 (a fault on demand:
# `docker exec C touch /tmp/fail`). On SIGTERM it exits 0, after vigil's drain
# (VIGIL_DRAIN) has reported it not ready for a while. `GET /orphan` leaves an
# orphan (a grandchild whose parent has exited) that ends 0.5 s later, for the
# init to reap, and answers its pid.
import json
import os
import signal
import sys
import time

from flask import Flask, request

app = Flask(__name__)


@app.route("/", methods=["GET", "POST"])
def predict():
    data = json.loads(request.data or b"null")
    return json.dumps({"result": data})


@app.route("/health")
def health():
    if os.path.exists("/tmp/fail"):
        return "failing: /tmp/fail exists\n", 500
    return "ok\n"


@app.route("/orphan")
def orphan():
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        grandchild = os.fork()
        if grandchild == 0:
            time.sleep(0.5)
            os._exit(0)
        os.write(w, str(grandchild).encode())
        os._exit(0)
    os.close(w)
    os.waitpid(child, 0)
    pid = os.read(r, 32).decode()
    os.close(r)
    return pid + "\n"


def on_term(signum, frame):
    print("app: SIGTERM received, exiting 0", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    load = float(os.environ.get("LOAD_SECONDS", "5"))
    print(f"app: loading the model ({load:g}s)", flush=True)
    time.sleep(load)
    print("app: model loaded, listening on 0.0.0.0:8000", flush=True)
    app.run(host="0.0.0.0", port=8000)
