//! The default runtime answers: the echo of the last user text (InvokeModel's Messages
//! answer, Converse's answer) and the input token counts they report.

use serde_json::{json, Value};

use crate::dispatch::Reply;
use crate::eventstream;

/// Text of a message's content: the string, or its text blocks concatenated.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect(),
        _ => String::new(),
    }
}

/// (text of the last user message, approximate input token count).
pub(crate) fn echo_source(body: Option<&Value>) -> (String, u64) {
    let Some(body) = body else {
        return (String::new(), 1);
    };
    let empty = Vec::new();
    let messages = body["messages"].as_array().unwrap_or(&empty);
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| content_text(&m["content"]))
        .or_else(|| body["inputText"].as_str().map(str::to_string))
        .or_else(|| body["prompt"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut all = content_text(&body["system"]);
    for m in messages {
        all.push(' ');
        all.push_str(&content_text(&m["content"]));
    }
    (last_user, eventstream::approx_tokens(&all))
}

/// InvokeModel's answer: `answer`, or the echo of the last user text.
pub(crate) fn invoke_reply(
    model: &str,
    body: &Value,
    request_id: &str,
    answer: Option<&str>,
) -> Reply {
    let (text, input_tokens) = echo_source(Some(body));
    let answer = answer.map_or_else(|| format!("echo: {text}"), str::to_string);
    let output_tokens = eventstream::approx_tokens(&answer);
    let id: String = request_id.chars().filter(|c| *c != '-').take(24).collect();
    Reply {
        status: 200,
        headers: vec![
            (
                "X-Amzn-Bedrock-Input-Token-Count".into(),
                input_tokens.to_string(),
            ),
            (
                "X-Amzn-Bedrock-Output-Token-Count".into(),
                output_tokens.to_string(),
            ),
            ("X-Amzn-Bedrock-Invocation-Latency".into(), "321".into()),
        ],
        body: json!({
            "id": format!("msg_bdrk_{id}"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{ "type": "text", "text": answer }],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": { "input_tokens": input_tokens, "output_tokens": output_tokens }
        }),
    }
}

/// Text of a Converse message's content: its `text` blocks concatenated.
pub fn converse_content_text(content: &Value) -> String {
    content
        .as_array()
        .map(|blocks| blocks.iter().filter_map(|b| b["text"].as_str()).collect())
        .unwrap_or_default()
}

/// (text of the last user message, input token count) of a Converse body:
/// the tokens are the words of every system and message text, the same count
/// `echo_source` gives the equivalent InvokeModel body.
pub(crate) fn converse_echo_source(body: Option<&Value>) -> (String, u64) {
    let Some(body) = body else {
        return (String::new(), 1);
    };
    let empty = Vec::new();
    let messages = body["messages"].as_array().unwrap_or(&empty);
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| converse_content_text(&m["content"]))
        .unwrap_or_default();
    let mut all = converse_content_text(&body["system"]);
    for m in messages {
        all.push(' ');
        all.push_str(&converse_content_text(&m["content"]));
    }
    (last_user, eventstream::approx_tokens(&all))
}

/// The Converse answer: `echo: <last user text>`.
#[cfg(test)]
fn converse_reply(body: &Value) -> Reply {
    use crate::converse_script::{ConverseScript, ConverseUsage};
    let (text, input_tokens) = converse_echo_source(Some(body));
    let script = ConverseScript::default();
    let usage = ConverseUsage {
        input_tokens,
        output_tokens: script.output_tokens(&text),
        ..Default::default()
    };
    Reply::ok(script.converse_body(&text, usage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn echo_uses_last_user_message_text() {
        let body = json!({"messages":[
            {"role":"user","content":"first"},
            {"role":"assistant","content":"ok"},
            {"role":"user","content":[{"type":"text","text":"a"},{"type":"image"},{"type":"text","text":"b"}]}
        ]});
        let (text, tokens) = echo_source(Some(&body));
        assert_eq!(text, "ab");
        assert!(tokens >= 3);
    }

    #[test]
    fn converse_reply_echoes_the_last_user_text() {
        let body = json!({
            "system": [{"text": "be very brief"}],
            "messages": [
                {"role": "user", "content": [{"text": "first one"}]},
                {"role": "assistant", "content": [{"text": "ok"}]},
                {"role": "user", "content": [{"text": "Hi"}, {"image": {}}, {"text": " there"}]}
            ],
            "inferenceConfig": {"maxTokens": 10}
        });
        let reply = converse_reply(&body);
        assert_eq!(reply.status, 200);
        let b = &reply.body;
        assert_eq!(b["output"]["message"]["role"], "assistant");
        assert_eq!(
            b["output"]["message"]["content"][0]["text"],
            "echo: Hi there"
        );
        assert_eq!(b["stopReason"], "end_turn");
        // be very brief | first one | ok | Hi there
        assert_eq!(b["usage"]["inputTokens"], 8);
        assert_eq!(b["usage"]["outputTokens"], 3);
        assert_eq!(b["usage"]["totalTokens"], 11);
        assert!(b["metrics"]["latencyMs"].is_u64());
    }
}
