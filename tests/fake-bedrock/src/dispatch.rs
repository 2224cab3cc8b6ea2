//! One request: verify its signature, record it, route it, pop the next scripted
//! [`Behavior`] of its queue and answer (scripted, or the realistic default).

use std::time::SystemTime;

use serde_json::{json, Value};

use crate::control;
use crate::converse_script::ConverseScript;
use crate::http::{peer_gone, write_response, Conn, Request};
use crate::route::{route, Route};
use crate::runtime::{self, echo_source, Embedder};
use crate::script::{Behavior, StreamScript};
use crate::server::{lock, Recorded, Shared};
use crate::sigv4::{self, SigError, SigInfo};
use crate::stream::{script_events, StreamKind};
use crate::tokens::Tokens;
use crate::{BEDROCK_ERROR_NS, CORAL_ERROR_NS};

/// A JSON response to send.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Value,
}

impl Reply {
    /// A 200 answer with no extra headers.
    pub(crate) fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body,
        }
    }
}

pub(crate) fn error_reply(status: u16, error_type: &str, ns: &str, message: &str) -> Reply {
    Reply {
        status,
        headers: vec![("x-amzn-ErrorType".into(), format!("{error_type}:{ns}"))],
        body: json!({ "message": message }),
    }
}

/// `400 ValidationException` with `message`.
pub(crate) fn validation(message: &str) -> Reply {
    error_reply(400, "ValidationException", BEDROCK_ERROR_NS, message)
}

fn unknown_operation() -> Reply {
    error_reply(
        404,
        "UnknownOperationException",
        CORAL_ERROR_NS,
        "Unknown operation",
    )
}

impl Shared {
    /// Verify and record a request: (route, body parsed as JSON, signature result).
    fn record(&self, req: &Request) -> (Route, Option<Value>, Result<SigInfo, SigError>) {
        let sig = sigv4::verify(
            &req.method,
            &req.raw_path,
            &req.raw_query,
            &req.headers,
            &req.body,
            &self.creds,
            SystemTime::now(),
        );
        let route = route(&req.method, &req.raw_path);
        let json: Option<Value> = serde_json::from_slice(&req.body).ok();
        lock(&self.requests).push(Recorded {
            method: req.method.clone(),
            raw_path: req.raw_path.clone(),
            raw_query: req.raw_query.clone(),
            model_id: route.model_id(),
            operation: route.operation().to_string(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            json: json.clone(),
            sig: sig.clone().map_err(|e| e.to_string()),
        });
        (route, json, sig)
    }

    /// Handle one request; returns whether the connection may be reused.
    pub(crate) async fn handle(&self, conn: &mut Conn, req: Request) -> bool {
        let (route, json, sig) = self.record(&req);
        let _in_flight = self.enter(route.model_id().filter(|_| route.is_runtime()));
        let request_id = self.next_request_id();
        let info = match sig {
            Ok(info) => info,
            Err(e) => {
                let reply = error_reply(
                    e.http_status(),
                    e.aws_error_type(),
                    CORAL_ERROR_NS,
                    &e.message(),
                );
                return self.send(conn, reply, &request_id, req.close).await;
            }
        };
        if route == Route::Unknown {
            return self
                .send(conn, unknown_operation(), &request_id, req.close)
                .await;
        }
        let queue = if route.is_runtime() {
            &self.runtime_queue
        } else {
            &self.control_queue
        };
        let mut behavior = lock(queue).pop_front().unwrap_or(Behavior::Default);
        while let Behavior::Delay(d, inner) = behavior {
            if conn.sleep_or_peer_gone(d).await {
                self.disconnect();
                return false;
            }
            behavior = *inner;
        }
        let call = Call {
            route: &route,
            req: &req,
            json: json.as_ref(),
            info: &info,
            request_id: &request_id,
            answer: None,
        };
        self.behave(conn, behavior, &call).await
    }

    /// Answer with a behaviour popped from the queue (delays already waited for).
    async fn behave(&self, conn: &mut Conn, behavior: Behavior, call: &Call<'_>) -> bool {
        let (request_id, close) = (call.request_id, call.req.close);
        match behavior {
            Behavior::Default | Behavior::Delay(..) => self.default_answer(conn, call).await,
            Behavior::Text(text) => {
                let call = Call {
                    answer: Some(&text),
                    ..*call
                };
                self.default_answer(conn, &call).await
            }
            Behavior::Validated(inner) => match self.refusal(call) {
                Some(reply) => self.send(conn, reply, request_id, close).await,
                None => Box::pin(self.behave(conn, *inner, call)).await,
            },
            Behavior::Error {
                status,
                error_type,
                message,
            } => {
                let reply = error_reply(status, &error_type, BEDROCK_ERROR_NS, &message);
                self.send(conn, reply, request_id, close).await
            }
            Behavior::Json {
                status,
                body,
                headers,
            } => {
                let reply = Reply {
                    status,
                    headers,
                    body,
                };
                self.send(conn, reply, request_id, close).await
            }
            Behavior::Hang => {
                peer_gone(&mut conn.rd, &mut conn.buf).await;
                self.disconnect();
                false
            }
            Behavior::CloseWithoutResponse => false,
            Behavior::Converse(script) => self.converse_answer(conn, call, &script).await,
            Behavior::Stream(script) => {
                let model = call.route.model_id().unwrap_or_default();
                let (text, input_tokens) = call.route.echo_source(call.json);
                let kind = call.route.stream_kind();
                let events = script_events(&script, kind, &model, &text, input_tokens);
                self.stream(conn, &script, events, kind, request_id, close)
                    .await
            }
        }
    }

    pub(crate) async fn send(
        &self,
        conn: &mut Conn,
        reply: Reply,
        request_id: &str,
        close: bool,
    ) -> bool {
        let mut headers = Vec::new();
        if !reply
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        if !reply
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("x-amzn-requestid"))
        {
            headers.push(("x-amzn-RequestId".to_string(), request_id.to_string()));
        }
        headers.extend(reply.headers);
        if (200..300).contains(&reply.status) {
            if let Some(usage) = reply.body.get("usage") {
                self.report(Tokens::of_usage(usage));
            }
        }
        let body = reply.body.to_string();
        write_response(conn, reply.status, &headers, body.as_bytes(), close).await
    }

    /// The 400 Bedrock would answer a runtime request with before running the model: a
    /// profile-only model called by its bare id, an InvokeModel body it refuses.
    fn refusal(&self, call: &Call<'_>) -> Option<Reply> {
        if let Some(reply) = self.on_demand_refusal(call) {
            return Some(reply);
        }
        match call.route {
            Route::Invoke(m) | Route::InvokeStream(m) if Embedder::of(m).is_none() => {
                runtime::validate_invoke_body(m, &call.req.body)
                    .err()
                    .map(|msg| validation(&msg))
            }
            _ => None,
        }
    }

    /// Bedrock's 400 for a profile-only model called by its bare id (not for CountTokens,
    /// which takes foundation-model ids).
    fn on_demand_refusal(&self, call: &Call<'_>) -> Option<Reply> {
        let model = call.route.model_id().filter(|_| call.route.is_runtime())?;
        let extras = lock(&self.extra_models).clone();
        let counting = matches!(call.route, Route::CountTokens(_));
        (!counting && control::profile_only(&model, &extras))
            .then(|| validation(&crate::claude::on_demand_refusal(&model)))
    }

    /// The realistic answer when no behaviour is scripted.
    async fn default_answer(&self, conn: &mut Conn, call: &Call<'_>) -> bool {
        let (req, request_id) = (call.req, call.request_id);
        let region = &call.info.region;
        if let Some(reply) = self.on_demand_refusal(call) {
            return self.send(conn, reply, request_id, req.close).await;
        }
        let extras = lock(&self.extra_models).clone();
        let reply = match call.route {
            Route::Invoke(model) => match Embedder::of(model) {
                Some(e) => runtime::embed_reply(e, &req.body, request_id)
                    .unwrap_or_else(|msg| validation(&msg)),
                None => match runtime::validate_invoke_body(model, &req.body) {
                    Err(msg) => validation(&msg),
                    Ok(body) => runtime::invoke_reply(model, &body, request_id, call.answer),
                },
            },
            Route::InvokeStream(model) if Embedder::of(model).is_some() => {
                validation("The model is unsupported for streaming.")
            }
            Route::InvokeStream(model) => match runtime::validate_invoke_body(model, &req.body) {
                Err(msg) => validation(&msg),
                Ok(body) => {
                    let (text, input_tokens) = echo_source(Some(&body));
                    return self
                        .default_stream(
                            conn,
                            call,
                            StreamKind::InvokeChunks,
                            model,
                            &text,
                            input_tokens,
                        )
                        .await;
                }
            },
            Route::Converse(_) | Route::ConverseStream(_) => {
                return self
                    .converse_answer(
                        conn,
                        call,
                        &call.answer.map(ConverseScript::text).unwrap_or_default(),
                    )
                    .await
            }
            Route::CountTokens(model) => match runtime::count_tokens(model, &req.body) {
                Err(msg) => validation(&msg),
                Ok(n) => Reply::ok(json!({ "inputTokens": n })),
            },
            Route::ListFoundationModels => {
                control::list_foundation_models(region, &req.raw_query, &extras)
            }
            Route::GetFoundationModel(id) => control::get_foundation_model(region, id, &extras),
            Route::ListInferenceProfiles => {
                control::list_inference_profiles(region, &req.raw_query, &extras)
            }
            Route::GetInferenceProfile(id) => control::get_inference_profile(region, id, &extras),
            Route::Unknown => unknown_operation(),
        };
        self.send(conn, reply, request_id, req.close).await
    }

    /// The default echo stream (no faults).
    async fn default_stream(
        &self,
        conn: &mut Conn,
        call: &Call<'_>,
        kind: StreamKind,
        model: &str,
        text: &str,
        input_tokens: u64,
    ) -> bool {
        let script = StreamScript {
            chunks: call.answer.map(|a| vec![a.to_string()]),
            ..Default::default()
        };
        let events = script_events(&script, kind, model, text, input_tokens);
        self.stream(conn, &script, events, kind, call.request_id, call.req.close)
            .await
    }
}

/// What one request handler needs to know about the request being answered.
pub(crate) struct Call<'a> {
    pub(crate) route: &'a Route,
    pub(crate) req: &'a Request,
    pub(crate) json: Option<&'a Value>,
    pub(crate) info: &'a SigInfo,
    pub(crate) request_id: &'a str,
    /// The text the default answer gives instead of the echo (`Behavior::Text`).
    pub(crate) answer: Option<&'a str>,
}
