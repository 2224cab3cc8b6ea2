"""Drive the official `openai` Python SDK against the proxy's OpenAI-compatible API.

Usage: openai_client.py URL SCENARIO [key=value ...]

Runs one scenario with `openai.OpenAI(base_url=URL + "/v1", api_key=…, max_retries=0)` exactly
as a user would and prints ONE JSON line with what it observed, then exits 0, also when the
call raised: the exception is reported under "error". Exit 2 is a usage error. Retries are off
(they are the proxy's job).

Scenarios (chat.completions.create unless said otherwise):
  create          a user message (`text`, optional `system`): the reply
  stream          create(stream=True) iterated as the SDK yields chunks: content and
                  reasoning_content concatenated, tool calls reassembled by index, the index
                  sequence seen, finish_reason, the usage chunk (stream_options include_usage
                  with include_usage=true), and whether the stream raised
  tools           create with two function tools (get_weather(city), get_time(tz))
  tool_roundtrip  create with the history of a tool loop: the user's question, an assistant
                  message with two tool_calls (call_weather → get_weather {"city":"Paris"},
                  call_time → get_time {"tz":"Europe/Paris"}) and a `tool` result for each
  image           create with a text part and a `data:image/png;base64,…` image_url part
  reasoning       create with reasoning_effort=`effort` (default low)
  embeddings      embeddings.create with `inputs` (a list); `encoding_format` float | base64 |
                  default (not sent: the SDK asks for base64 and decodes it itself); base64
                  strings are decoded here (little-endian f32) into floats
  models_list     models.list(), every item
  rate_limited    runs op=create (default) | stream | embeddings | models_list, expecting an
                  error such as openai.RateLimitError
  model_not_found create with model=… (expecting openai.NotFoundError, code model_not_found)
  bad_n           create with n=2 (expecting openai.BadRequestError naming `n`)

Options (key=value): model (default `us`; embeddings: amazon.titan-embed-text-v2:0), text (Hi),
system, max_tokens (50), api_key (dummy; sent as `Authorization: Bearer <key>`), profile (sent
as ?profile=), include_usage (true|false, stream only), effort (reasoning_effort, any chat
scenario), stream (true: tools/tool_roundtrip/image/reasoning read as a stream, as `stream`
does), image (base64 PNG; default a valid 1×1 PNG), inputs (embeddings texts separated by
`|`; default `alpha|beta gamma`), dimensions, encoding_format, n, op.

Printed keys, always: scenario, ok (no exception), error (null or {class, status, type, code,
param, message, request_id}). Plus, per scenario:
  create and the other chat scenarios: id, object, model, role, text, finish_reason, usage
                  (as the SDK parsed it, prompt_tokens_details included), cached_tokens,
                  reasoning_content, tool_calls ([{id, type, name, arguments}])
  stream (and stream=true): text, reasoning_content, role, chunks, objects (set of chunk
                  `object`s), tool_calls ([{index, id, type, name, arguments}] by index),
                  index_sequence (the index of every tool-call delta, in order),
                  finish_reason, usage (the usage chunk's, or null), usage_chunk_choices (the
                  length of its `choices`), usage_chunks, raised
  embeddings:     object, model, count, indices, dims, embeddings (floats), raw_types (the
                  Python type of each `embedding` the SDK handed back), usage
  models_list:    object, ids, objects, owned_by, created, count
A stream that fails part-way keeps what it had gathered next to "error".
"""

import base64
import json
import struct
import sys

TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
EMBED_MODEL = "amazon.titan-embed-text-v2:0"

DEFAULTS = {
    "model": None,
    "text": "Hi",
    "system": None,
    "max_tokens": "50",
    "api_key": "dummy",
    "profile": None,
    "include_usage": "false",
    "effort": None,
    "stream": "false",
    "image": TINY_PNG,
    "inputs": "alpha|beta gamma",
    "dimensions": None,
    "encoding_format": None,
    "n": None,
    "op": "create",
}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "The local time in a time zone",
            "parameters": {
                "type": "object",
                "properties": {"tz": {"type": "string"}},
                "required": ["tz"],
            },
        },
    },
]


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
    import openai

    return openai.OpenAI(base_url=url.rstrip("/") + "/v1", api_key=opts["api_key"], max_retries=0)


def request_options(opts):
    return {} if opts["profile"] is None else {"extra_query": {"profile": opts["profile"]}}


def user_messages(opts, content=None):
    messages = []
    if opts["system"] is not None:
        messages.append({"role": "system", "content": opts["system"]})
    messages.append({"role": "user", "content": opts["text"] if content is None else content})
    return messages


def chat_args(opts, messages, **more):
    args = {
        "model": opts["model"] or "us",
        "max_tokens": int(opts["max_tokens"]),
        "messages": messages,
    }
    if opts["effort"] is not None:
        args["reasoning_effort"] = opts["effort"]
    if opts["n"] is not None:
        args["n"] = int(opts["n"])
    args.update(request_options(opts))
    args.update(more)
    return args


def dump(model):
    return None if model is None else model.model_dump(exclude_none=True)


def completion_fields(completion, out):
    choice = completion.choices[0]
    message = choice.message
    out["id"] = completion.id
    out["object"] = completion.object
    out["model"] = completion.model
    out["role"] = message.role
    out["text"] = message.content
    out["finish_reason"] = choice.finish_reason
    out["usage"] = dump(completion.usage)
    details = completion.usage.prompt_tokens_details if completion.usage else None
    out["cached_tokens"] = None if details is None else details.cached_tokens
    out["reasoning_content"] = getattr(message, "reasoning_content", None)
    out["tool_calls"] = [
        {
            "id": call.id,
            "type": call.type,
            "name": call.function.name,
            "arguments": call.function.arguments,
        }
        for call in (message.tool_calls or [])
    ]


def run_chat(client, opts, out, args):
    if opts["stream"] == "true":
        read_stream(client, opts, out, args)
    else:
        completion_fields(client.chat.completions.create(**args), out)


def create(client, opts, out):
    run_chat(client, opts, out, chat_args(opts, user_messages(opts)))


def read_stream(client, opts, out, args):
    if opts["include_usage"] == "true":
        args["stream_options"] = {"include_usage": True}
    out.update(
        text="",
        reasoning_content="",
        role=None,
        chunks=0,
        objects=[],
        tool_calls=[],
        index_sequence=[],
        finish_reason=None,
        usage=None,
        usage_chunk_choices=None,
        usage_chunks=0,
        raised=False,
    )
    calls = {}
    try:
        for chunk in client.chat.completions.create(stream=True, **args):
            out["chunks"] += 1
            if chunk.object not in out["objects"]:
                out["objects"].append(chunk.object)
            if chunk.usage is not None:
                out["usage_chunks"] += 1
                out["usage"] = dump(chunk.usage)
                out["usage_chunk_choices"] = len(chunk.choices)
            for choice in chunk.choices:
                delta = choice.delta
                if delta.role is not None and out["role"] is None:
                    out["role"] = delta.role
                if delta.content:
                    out["text"] += delta.content
                reasoning = getattr(delta, "reasoning_content", None)
                if reasoning:
                    out["reasoning_content"] += reasoning
                for call in delta.tool_calls or []:
                    out["index_sequence"].append(call.index)
                    entry = calls.setdefault(
                        call.index,
                        {"index": call.index, "id": None, "type": None, "name": None, "arguments": ""},
                    )
                    if call.id:
                        entry["id"] = call.id
                    if call.type:
                        entry["type"] = call.type
                    if call.function is not None:
                        if call.function.name:
                            entry["name"] = call.function.name
                        if call.function.arguments:
                            entry["arguments"] += call.function.arguments
                if choice.finish_reason is not None:
                    out["finish_reason"] = choice.finish_reason
    except Exception:
        out["raised"] = True
        raise
    finally:
        out["tool_calls"] = [calls[i] for i in sorted(calls)]


def stream(client, opts, out):
    read_stream(client, opts, out, chat_args(opts, user_messages(opts)))


def tools(client, opts, out):
    run_chat(client, opts, out, chat_args(opts, user_messages(opts), tools=TOOLS))


def tool_roundtrip(client, opts, out):
    messages = user_messages(opts) + [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_weather",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
                },
                {
                    "id": "call_time",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": json.dumps({"tz": "Europe/Paris"})},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_weather", "content": "18C and sunny"},
        {"role": "tool", "tool_call_id": "call_time", "content": "14:05"},
    ]
    run_chat(client, opts, out, chat_args(opts, messages, tools=TOOLS))


def image(client, opts, out):
    content = [
        {"type": "text", "text": opts["text"]},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + opts["image"]}},
    ]
    run_chat(client, opts, out, chat_args(opts, user_messages(opts, content)))


def reasoning(client, opts, out):
    if opts["effort"] is None:
        opts = dict(opts, effort="low")
    run_chat(client, opts, out, chat_args(opts, user_messages(opts)))


def decode_base64(s):
    raw = base64.b64decode(s)
    return list(struct.unpack("<%df" % (len(raw) // 4), raw))


def embeddings(client, opts, out):
    args = {"model": opts["model"] or EMBED_MODEL, "input": opts["inputs"].split("|")}
    if opts["dimensions"] is not None:
        args["dimensions"] = int(opts["dimensions"])
    if opts["encoding_format"] not in (None, "default"):
        args["encoding_format"] = opts["encoding_format"]
    args.update(request_options(opts))
    response = client.embeddings.create(**args)
    out["object"] = response.object
    out["model"] = response.model
    out["count"] = len(response.data)
    out["indices"] = [d.index for d in response.data]
    out["raw_types"] = [type(d.embedding).__name__ for d in response.data]
    vectors = [
        decode_base64(d.embedding) if isinstance(d.embedding, str) else list(d.embedding)
        for d in response.data
    ]
    out["dims"] = [len(v) for v in vectors]
    out["embeddings"] = vectors
    out["usage"] = dump(response.usage)


def models_list(client, opts, out):
    out.update(ids=[], objects=[], owned_by=[], created=[])
    page = client.models.list(**request_options(opts))
    out["object"] = getattr(page, "object", None)
    for model in page:
        out["ids"].append(model.id)
        out["objects"].append(getattr(model, "object", None))
        out["owned_by"].append(getattr(model, "owned_by", None))
        out["created"].append(getattr(model, "created", None))
    out["count"] = len(out["ids"])


def model_not_found(client, opts, out):
    create(client, opts, out)


def bad_n(client, opts, out):
    if opts["n"] is None:
        opts = dict(opts, n="2")
    create(client, opts, out)


SCENARIOS = {
    "create": create,
    "stream": stream,
    "tools": tools,
    "tool_roundtrip": tool_roundtrip,
    "image": image,
    "reasoning": reasoning,
    "embeddings": embeddings,
    "models_list": models_list,
    "model_not_found": model_not_found,
    "bad_n": bad_n,
}


def describe(exc):
    import openai

    err = {
        "class": type(exc).__name__,
        "status": None,
        "type": None,
        "code": None,
        "param": None,
        "message": str(exc),
        "request_id": None,
    }
    if isinstance(exc, openai.APIError):
        err["type"] = exc.type
        err["code"] = exc.code
        err["param"] = exc.param
        body = exc.body if isinstance(exc.body, dict) else {}
        err["message"] = body.get("message", exc.message)
    if isinstance(exc, openai.APIStatusError):
        err["status"] = exc.status_code
        err["request_id"] = exc.request_id
    return err


def main():
    url, scenario, opts = parse_args(sys.argv)
    name = opts["op"] if scenario == "rate_limited" else scenario
    if name not in SCENARIOS:
        usage(f"unknown scenario {name!r}")
    out = {"scenario": scenario, "ok": True, "error": None}
    try:
        SCENARIOS[name](make_client(url, opts), opts, out)
    except Exception as exc:  # reported, not raised: the caller asserts on it
        out["ok"] = False
        out["error"] = describe(exc)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
