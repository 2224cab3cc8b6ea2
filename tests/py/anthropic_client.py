"""Drive the official `anthropic` Python SDK against a base URL (the proxy, or the fake Bedrock).

Usage: anthropic_client.py URL SCENARIO [key=value ...]

Runs one scenario with the SDK exactly as a user would and prints ONE JSON line with what it
observed, then exits 0, also when the call raised: the exception is reported under "error".
Exit 2 is a usage error. Clients are built with max_retries=0 (retries are the proxy's job).

Scenarios with `anthropic.Anthropic(base_url=URL, api_key=…)` (the Messages API):
  create        messages.create
  stream        messages.stream: text reassembled from text_stream, then get_final_message()
  stream_raw    messages.create(stream=True) read as raw SSE lines (sees `ping`, which the SDK's
                own stream parser drops)
  count_tokens  messages.count_tokens
  models_list   models.list(), every page followed
  tools_stream  messages.stream with a `get_weather` tool: the input_json_delta pieces, the
                final blocks (the tool_use input parsed), stop_reason
  thinking_turns messages.create with thinking, then again with the first answer's blocks
                (thinking signature included) sent back as the assistant turn
  rate_limited  runs op=create (default) | stream | count_tokens | models_list, expecting an
                error such as anthropic.RateLimitError
Scenarios with `anthropic.AnthropicBedrock(base_url=URL, …)` (Bedrock-native routes: POST
/model/{model}/invoke and /invoke-with-response-stream, SigV4-signed, or `Authorization:
Bearer` with bearer=KEY):
  bedrock_create   messages.create
  bedrock_stream   messages.stream as for `stream`

Options (key=value): model (default `us` for the Messages API, anthropic.claude-3-haiku-
20240307-v1:0 for bedrock_*), text (Hi), system, max_tokens (50), api_key (dummy; this SDK
sends it as `Authorization: Bearer <key>`), auth_token (also `Authorization: Bearer`),
x_api_key (sent only as an `x-api-key` header, the way older SDKs and Claude Code send a key),
beta (anthropic-beta header), region (us-east-1), access_key / secret_key (dummy),
session_token, bearer (AnthropicBedrock api_key), limit (models_list page size), op, extra
(a JSON object merged into the body, e.g. {"context_management": {…}}).

Printed keys, always: scenario, ok (no exception), error (null or {class, status, type,
message, request_id}). Plus, per scenario:
  create / bedrock_create: id, type, role, model, text, stop_reason, usage
  stream / bedrock_stream: text (from text_stream), final_text, stop_reason, usage, model, id
  stream_raw:   status, content_type, events (count, incl. ping), event_types, sequence,
                text, stop_reason, usage, error_events
  count_tokens: input_tokens
  models_list:  ids, display_names, types, count, pages
A stream that fails part-way keeps what it had gathered next to "error".
"""

import json
import sys
from collections import Counter

BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"

DEFAULTS = {
    "model": None,
    "text": "Hi",
    "system": None,
    "max_tokens": "50",
    "api_key": "dummy",
    "auth_token": None,
    "x_api_key": None,
    "beta": None,
    "region": "us-east-1",
    "access_key": "dummy",
    "secret_key": "dummy",
    "session_token": None,
    "bearer": None,
    "limit": None,
    "op": "create",
    "extra": None,
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


def direct_client(url, opts):
    import anthropic

    if opts["auth_token"] is not None:
        return anthropic.Anthropic(
            base_url=url, api_key=None, auth_token=opts["auth_token"], max_retries=0
        )
    if opts["x_api_key"] is not None:
        return anthropic.Anthropic(
            base_url=url,
            api_key=None,
            default_headers={"x-api-key": opts["x_api_key"]},
            max_retries=0,
        )
    return anthropic.Anthropic(base_url=url, api_key=opts["api_key"], max_retries=0)


def bedrock_client(url, opts):
    import anthropic

    if opts["bearer"] is not None:
        return anthropic.AnthropicBedrock(
            base_url=url, api_key=opts["bearer"], aws_region=opts["region"], max_retries=0
        )
    return anthropic.AnthropicBedrock(
        base_url=url,
        aws_access_key=opts["access_key"],
        aws_secret_key=opts["secret_key"],
        aws_session_token=opts["session_token"],
        aws_region=opts["region"],
        max_retries=0,
    )


def message_args(opts, default_model):
    args = {
        "model": opts["model"] or default_model,
        "max_tokens": int(opts["max_tokens"]),
        "messages": [{"role": "user", "content": opts["text"]}],
    }
    if opts["system"] is not None:
        args["system"] = opts["system"]
    if opts["beta"] is not None:
        args["extra_headers"] = {"anthropic-beta": opts["beta"]}
    if opts["extra"] is not None:
        args["extra_body"] = json.loads(opts["extra"])
    return args


def usage_dict(u):
    return None if u is None else {k: v for k, v in u.model_dump().items() if v is not None}


def message_fields(message, out):
    out["id"] = message.id
    out["type"] = message.type
    out["role"] = message.role
    out["model"] = message.model
    out["text"] = "".join(b.text for b in message.content if b.type == "text")
    out["stop_reason"] = message.stop_reason
    out["usage"] = usage_dict(message.usage)


def create(client, opts, out, default_model="us"):
    message_fields(client.messages.create(**message_args(opts, default_model)), out)


def stream(client, opts, out, default_model="us"):
    out["text"] = ""
    with client.messages.stream(**message_args(opts, default_model)) as s:
        for text in s.text_stream:
            out["text"] += text
        final = s.get_final_message()
    out["final_text"] = "".join(b.text for b in final.content if b.type == "text")
    out["stop_reason"] = final.stop_reason
    out["usage"] = usage_dict(final.usage)
    out["model"] = final.model
    out["id"] = final.id


def stream_raw(client, opts, out):
    args = message_args(opts, "us")
    types = Counter()
    out.update(events=0, event_types=types, sequence=[], text="", stop_reason=None, usage={})
    out["error_events"] = []
    with client.messages.with_streaming_response.create(stream=True, **args) as response:
        out["status"] = response.status_code
        out["content_type"] = response.headers.get("content-type")
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:") and name is not None:
                data = json.loads(line[len("data:") :].strip())
                out["events"] += 1
                types[name] += 1
                out["sequence"].append(name)
                if name == "message_start":
                    out["usage"].update(data["message"].get("usage") or {})
                elif name == "content_block_delta" and data["delta"].get("type") == "text_delta":
                    out["text"] += data["delta"]["text"]
                elif name == "message_delta":
                    out["stop_reason"] = data["delta"].get("stop_reason")
                    out["usage"].update(data.get("usage") or {})
                elif name == "error":
                    out["error_events"].append(data)
                name = None


def count_tokens(client, opts, out):
    args = message_args(opts, "us")
    args.pop("max_tokens")
    out["input_tokens"] = client.messages.count_tokens(**args).input_tokens


def models_list(client, opts, out):
    kwargs = {} if opts["limit"] is None else {"limit": int(opts["limit"])}
    first = client.models.list(**kwargs)
    out.update(ids=[], display_names=[], types=[], pages=0)
    for page in first.iter_pages():
        out["pages"] += 1
        for model in page.data:
            out["ids"].append(model.id)
            out["display_names"].append(model.display_name)
            out["types"].append(model.type)
    out["count"] = len(out["ids"])


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def tools_stream(client, opts, out):
    args = message_args(opts, "us")
    args["tools"] = [WEATHER_TOOL]
    deltas = []
    with client.messages.stream(**args) as s:
        for event in s:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                deltas.append(event.delta.partial_json)
        final = s.get_final_message()
    out["input_json_deltas"] = deltas
    out["blocks"] = [b.model_dump(exclude_none=True) for b in final.content]
    out["stop_reason"] = final.stop_reason


def thinking_turns(client, opts, out):
    args = message_args(opts, "us")
    args["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    first = client.messages.create(**args)
    out["first_blocks"] = [b.model_dump(exclude_none=True) for b in first.content]
    args["messages"] = args["messages"] + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": "And then?"},
    ]
    second = client.messages.create(**args)
    out["text"] = "".join(b.text for b in second.content if b.type == "text")


DIRECT = {
    "tools_stream": tools_stream,
    "thinking_turns": thinking_turns,
    "create": create,
    "stream": stream,
    "stream_raw": stream_raw,
    "count_tokens": count_tokens,
    "models_list": models_list,
}


def bedrock_create(client, opts, out):
    create(client, opts, out, BEDROCK_MODEL)


def bedrock_stream(client, opts, out):
    stream(client, opts, out, BEDROCK_MODEL)


BEDROCK = {"bedrock_create": bedrock_create, "bedrock_stream": bedrock_stream}


def describe(exc):
    import anthropic

    err = {
        "class": type(exc).__name__,
        "status": None,
        "type": None,
        "message": str(exc),
        "request_id": None,
    }
    if isinstance(exc, anthropic.APIStatusError):
        err["status"] = exc.status_code
        err["request_id"] = exc.request_id
        body = exc.body if isinstance(exc.body, dict) else {}
        inner = body.get("error") if isinstance(body.get("error"), dict) else {}
        err["type"] = inner.get("type")
        err["message"] = inner.get("message", exc.message)
    return err


def main():
    url, scenario, opts = parse_args(sys.argv)
    if scenario == "rate_limited":
        name = opts["op"]
    else:
        name = scenario
    if name in DIRECT:
        make, run = direct_client, DIRECT[name]
    elif name in BEDROCK:
        make, run = bedrock_client, BEDROCK[name]
    else:
        usage(f"unknown scenario {name!r}")
    out = {"scenario": scenario, "ok": True, "error": None}
    try:
        run(make(url, opts), opts, out)
    except Exception as exc:  # reported, not raised: the caller asserts on it
        out["ok"] = False
        out["error"] = describe(exc)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
