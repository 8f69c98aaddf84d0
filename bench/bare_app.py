"""(a) The framework ceiling: a bare Flask endpoint that only parses the JSON body and answers 202."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/webhooks/<provider_key>/<connection_key>")
def webhook_receive(provider_key, connection_key):
    """Parse the body as JSON and accept it; nothing is verified or stored."""
    request.get_json()
    return jsonify({"status": "accepted"}), 202


@app.get("/")
def ready():
    """Readiness probe for the bench driver."""
    return "ok"
