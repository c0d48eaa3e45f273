"""Reading what a handler returned, as API Gateway would."""

import json


def response_json(response: dict) -> dict:
    return json.loads(response["body"]) if response.get("body") else {}
