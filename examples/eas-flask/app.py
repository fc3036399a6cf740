# The Flask app of the EAS health-check documentation, as it is deployed: one
# route `/` for GET and POST that parses the request body as JSON and answers
# `result`. The liveness probe of service.json is a GET / without a body, so
# json.loads raises and Flask answers 500 with its "Internal Server Error"
# page: every probe fails, and after 4 failures the app is stopped.
import json

from flask import Flask, request

app = Flask(__name__)


@app.route("/", methods=["GET", "POST"])
def predict():
    data = json.loads(request.data)
    return json.dumps({"result": data})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000)
