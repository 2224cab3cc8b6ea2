//! Answering Converse and ConverseStream: validate for the model, count usage (with the
//! prompt cache), then send the [`ConverseScript`]'s answer or stream its events.

use serde_json::Value;

use crate::converse_script::{ConverseScript, ConverseUsage};
use crate::dispatch::{error_reply, validation, Call, Reply};
use crate::http::Conn;
use crate::route::Route;
use crate::runtime::{self, cache, converse_echo_source};
use crate::server::{lock, Shared};
use crate::stream::{insert_large_event, StreamKind};
use crate::CORAL_ERROR_NS;

impl Shared {
    /// Answer a Converse / ConverseStream request with `script`.
    pub(crate) async fn converse_answer(
        &self,
        conn: &mut Conn,
        call: &Call<'_>,
        script: &ConverseScript,
    ) -> bool {
        let (request_id, close) = (call.request_id, call.req.close);
        let streamed = match call.route {
            Route::Converse(_) => false,
            Route::ConverseStream(_) => true,
            other => {
                let message = format!(
                    "FakeBedrock: Behavior::Converse was queued, but this request is {}",
                    other.operation()
                );
                let reply = error_reply(500, "InternalServerException", CORAL_ERROR_NS, &message);
                return self.send(conn, reply, request_id, close).await;
            }
        };
        let model = call.route.model_id().unwrap_or_default();
        let body = match runtime::validate_converse_request(&model, &call.req.body) {
            Ok(body) => body,
            Err(msg) => return self.send(conn, validation(&msg), request_id, close).await,
        };
        let (text, _) = converse_echo_source(Some(&body));
        let usage = script
            .usage
            .unwrap_or_else(|| self.converse_usage(&model, &body, script.output_tokens(&text)));
        if !streamed {
            let reply = Reply::ok(script.converse_body(&text, usage));
            return self.send(conn, reply, request_id, close).await;
        }
        let mut events = script.stream_events(&text, usage);
        if script.faults.extra_large_event {
            insert_large_event(&mut events, StreamKind::Converse);
        }
        self.stream(
            conn,
            &script.faults,
            events,
            StreamKind::Converse,
            request_id,
            close,
        )
        .await
    }

    /// Usage of a Converse answer to `body`: the input the fake counts, less what the prompt
    /// cache reads or writes (which learns the request's prefixes).
    fn converse_usage(&self, model: &str, body: &Value, output_tokens: u64) -> ConverseUsage {
        let (_, total) = converse_echo_source(Some(body));
        let points = cache::checkpoints(model, body);
        let (read, write) = cache::account(&mut lock(&self.prompt_cache), &points);
        ConverseUsage {
            input_tokens: cache::uncached(total, read, write),
            output_tokens,
            cache_read_input_tokens: read,
            cache_write_input_tokens: write,
        }
    }
}
