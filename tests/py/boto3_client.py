"""Drive boto3's bedrock-runtime client against a base URL (the proxy, or the fake Bedrock).

Usage: boto3_client.py URL SCENARIO [key=value ...]

Runs one scenario with boto3 exactly as a user would (endpoint_url=URL) and prints ONE JSON
line with what it observed, then exits 0, also when the call raised: the exception is reported
under "error". Exit 2 is a usage error.

Scenarios:
  invoke           invoke_model with an Anthropic Messages body
  invoke_stream    invoke_model_with_response_stream; every event iterated, chunks decoded
  converse         converse
  converse_stream  converse_stream; every event iterated
  count_tokens     count_tokens (form=invoke: base64 InvokeModel body; form=converse)
  throttled        op=invoke (default) | invoke_stream | converse | converse_stream |
                   count_tokens, expecting a ClientError (e.g. ThrottlingException)

Options (key=value): model (default anthropic.claude-3-haiku-20240307-v1:0), text (Hi),
system, max_tokens (50), region (us-east-1), access_key / secret_key (dummy), session_token,
bearer (a Bedrock API key: sent as AWS_BEARER_TOKEN_BEDROCK, so boto3 sends
`Authorization: Bearer …` instead of signing), form, op, trace (X-Amzn-Bedrock-Trace value
for invoke / invoke_stream).

Printed keys, always: scenario, ok (no exception), error (null or {class, code, status,
message, request_id}). Plus, per scenario:
  invoke:          status, request_id, content_type, bedrock_headers, text, stop_reason, usage,
                   model, id
  invoke_stream:   status, request_id, content_type, events, event_types, text, stop_reason,
                   usage, invocation_metrics
  converse:        status, request_id, text, role, stop_reason, usage, metrics
  converse_stream: status, request_id, events, event_types, sequence, text, role, stop_reason,
                   usage, metrics
  count_tokens:    status, request_id, input_tokens
A stream that fails part-way keeps what it had gathered (text, events, ...) next to "error".
Scenario and option names are checked: an unknown one is a usage error.
"""

import json
import os
import sys
from collections import Counter

DEFAULTS = {
    "model": "anthropic.claude-3-haiku-20240307-v1:0",
    "text": "Hi",
    "system": None,
    "max_tokens": "50",
    "region": "us-east-1",
    "access_key": "dummy",
    "secret_key": "dummy",
    "session_token": None,
    "bearer": None,
    "form": "invoke",
    "op": "invoke",
    "trace": None,
}


def usage(message):
    sys.stderr.write(f"{message}\n\n{__doc__}")
    sys.exit(2)


def parse_args(argv):
    if len(argv) < 3:
        usage("need URL and SCENARIO")
    opts = dict(DEFAULTS)
    for arg in argv[3:]:
        key, sep, value = arg.partition("=")
        if not sep or key not in DEFAULTS:
            usage(f"bad option {arg!r}")
        opts[key] = value
    return argv[1], argv[2], opts


def make_client(url, opts):
    if opts["bearer"] is not None:
        os.environ["AWS_BEARER_TOKEN_BEDROCK"] = opts["bearer"]
    else:
        os.environ.pop("AWS_BEARER_TOKEN_BEDROCK", None)
    import boto3
    from botocore.config import Config

    # One attempt: retries are the proxy's job, and a test must see each answer as sent.
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=60,
    )
    kwargs = {"endpoint_url": url, "region_name": opts["region"], "config": config}
    if opts["bearer"] is None:
        kwargs.update(
            aws_access_key_id=opts["access_key"],
            aws_secret_access_key=opts["secret_key"],
            aws_session_token=opts["session_token"],
        )
    return boto3.client("bedrock-runtime", **kwargs)


def anthropic_body(opts):
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": int(opts["max_tokens"]),
        "messages": [{"role": "user", "content": opts["text"]}],
    }
    if opts["system"] is not None:
        body["system"] = opts["system"]
    return body


def converse_args(opts):
    args = {
        "modelId": opts["model"],
        "messages": [{"role": "user", "content": [{"text": opts["text"]}]}],
        "inferenceConfig": {"maxTokens": int(opts["max_tokens"])},
    }
    if opts["system"] is not None:
        args["system"] = [{"text": opts["system"]}]
    return args


def meta(response):
    m = response.get("ResponseMetadata", {})
    return {"status": m.get("HTTPStatusCode"), "request_id": m.get("RequestId")}


def invoke(client, opts, out):
    kwargs = {
        "modelId": opts["model"],
        "body": json.dumps(anthropic_body(opts)).encode(),
        "contentType": "application/json",
        "accept": "application/json",
    }
    if opts["trace"] is not None:
        kwargs["trace"] = opts["trace"]
    response = client.invoke_model(**kwargs)
    out.update(meta(response))
    headers = response["ResponseMetadata"].get("HTTPHeaders", {})
    out["content_type"] = response.get("contentType")
    out["bedrock_headers"] = {
        k: v for k, v in headers.items() if k.lower().startswith("x-amzn-bedrock-")
    }
    body = json.loads(response["body"].read())
    out["text"] = "".join(
        b.get("text", "") for b in body.get("content", []) if b.get("type") == "text"
    )
    out["stop_reason"] = body.get("stop_reason")
    out["usage"] = body.get("usage")
    out["model"] = body.get("model")
    out["id"] = body.get("id")


def invoke_stream(client, opts, out):
    kwargs = {
        "modelId": opts["model"],
        "body": json.dumps(anthropic_body(opts)).encode(),
        "contentType": "application/json",
        "accept": "application/json",
    }
    if opts["trace"] is not None:
        kwargs["trace"] = opts["trace"]
    response = client.invoke_model_with_response_stream(**kwargs)
    out.update(meta(response))
    out["content_type"] = response.get("contentType")
    types = Counter()
    out.update(events=0, event_types=types, text="", stop_reason=None, usage={})
    out["invocation_metrics"] = None
    for event in response["body"]:
        out["events"] += 1
        if "chunk" not in event:
            # Modeled exceptions raise; anything else is an unexpected member.
            types["<" + ",".join(sorted(event)) + ">"] += 1
            continue
        data = json.loads(event["chunk"]["bytes"])
        kind = data.get("type")
        types[kind] += 1
        if kind == "message_start":
            out["usage"].update(data["message"].get("usage", {}))
        elif kind == "content_block_delta" and data["delta"].get("type") == "text_delta":
            out["text"] += data["delta"]["text"]
        elif kind == "message_delta":
            out["stop_reason"] = data["delta"].get("stop_reason")
            out["usage"].update(data.get("usage", {}))
        elif kind == "message_stop":
            out["invocation_metrics"] = data.get("amazon-bedrock-invocationMetrics")


def converse(client, opts, out):
    response = client.converse(**converse_args(opts))
    out.update(meta(response))
    message = response["output"]["message"]
    out["role"] = message["role"]
    out["text"] = "".join(b.get("text", "") for b in message["content"])
    out["stop_reason"] = response["stopReason"]
    out["usage"] = response["usage"]
    out["metrics"] = response["metrics"]


def converse_stream(client, opts, out):
    response = client.converse_stream(**converse_args(opts))
    out.update(meta(response))
    types = Counter()
    out.update(events=0, event_types=types, sequence=[], text="", role=None)
    out.update(stop_reason=None, usage=None, metrics=None)
    for event in response["stream"]:
        out["events"] += 1
        (kind, payload), = event.items()
        types[kind] += 1
        out["sequence"].append(kind)
        if kind == "messageStart":
            out["role"] = payload["role"]
        elif kind == "contentBlockDelta":
            out["text"] += payload["delta"].get("text", "")
        elif kind == "messageStop":
            out["stop_reason"] = payload["stopReason"]
        elif kind == "metadata":
            out["usage"] = payload["usage"]
            out["metrics"] = payload["metrics"]


def count_tokens(client, opts, out):
    if opts["form"] == "invoke":
        body = json.dumps(anthropic_body(opts)).encode()
        payload = {"invokeModel": {"body": body}}
    elif opts["form"] == "converse":
        args = converse_args(opts)
        payload = {"converse": {"messages": args["messages"]}}
        if "system" in args:
            payload["converse"]["system"] = args["system"]
    else:
        usage(f"form must be invoke or converse, not {opts['form']!r}")
    response = client.count_tokens(modelId=opts["model"], input=payload)
    out.update(meta(response))
    out["input_tokens"] = response["inputTokens"]


SCENARIOS = {
    "invoke": invoke,
    "invoke_stream": invoke_stream,
    "converse": converse,
    "converse_stream": converse_stream,
    "count_tokens": count_tokens,
}


def describe(exc):
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        m = exc.response.get("ResponseMetadata", {})
        return {
            "class": type(exc).__name__,
            "code": err.get("Code"),
            "status": m.get("HTTPStatusCode"),
            "message": err.get("Message"),
            "request_id": m.get("RequestId"),
        }
    return {
        "class": type(exc).__name__,
        "code": None,
        "status": None,
        "message": str(exc),
        "request_id": None,
    }


def main():
    url, scenario, opts = parse_args(sys.argv)
    if scenario == "throttled":
        run = SCENARIOS.get(opts["op"]) or usage(f"unknown op {opts['op']!r}")
    else:
        run = SCENARIOS.get(scenario) or usage(f"unknown scenario {scenario!r}")
    out = {"scenario": scenario, "ok": True, "error": None}
    try:
        run(make_client(url, opts), opts, out)
    except Exception as exc:  # reported, not raised: the caller asserts on it
        out["ok"] = False
        out["error"] = describe(exc)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
