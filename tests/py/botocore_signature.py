"""Recompute a SigV4 signature with botocore, AWS's own Python implementation.

Reads one request as JSON on stdin (method, url, signed headers, base64 body, credentials,
region, x-amz-date) and prints the signature botocore computes for it.
"""
import base64
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

r = json.load(sys.stdin)
request = AWSRequest(
    method=r["method"],
    url=r["url"],
    data=base64.b64decode(r["body"]),
    headers=r["headers"],
)
request.context["timestamp"] = r["amz_date"]
auth = SigV4Auth(
    Credentials(r["access_key"], r["secret_key"], r.get("session_token")),
    "bedrock",
    r["region"],
)
canonical = auth.canonical_request(request)
string_to_sign = auth.string_to_sign(request, canonical)
print(auth.signature(string_to_sign, request))
