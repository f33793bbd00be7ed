//! The HTTP face of the engine: one handler for `/socket.io/` that validates the query and
//! dispatches to the handshake, the long-polling GET and POST, or a WebSocket upgrade.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{mpsc, oneshot};

use super::request::{EngineError, EngineRequest, TransportKind};
use super::session::{Command, PollReply, Session, SessionContext};
use super::{AppFactory, CloseReason, Engine};
use crate::ws;

/// How long an HTTP request waits to hand its command to a busy session.
const COMMAND_WAIT: Duration = Duration::from_secs(5);

pub(super) async fn entry<F: AppFactory>(
    State(engine): State<Arc<Engine<F>>>,
    method: Method,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    body: Body,
) -> Response {
    let Ok(Query(query)) = query else {
        return EngineError::BadRequest.into_response();
    };
    let request = match EngineRequest::parse(&query) {
        Ok(request) => request,
        Err(err) => return err.into_response(),
    };
    match (request.transport, request.sid) {
        (TransportKind::Polling, None) if method == Method::GET => {
            polling_handshake(&engine, &headers)
        }
        (TransportKind::Polling, None) => EngineError::BadHandshakeMethod.into_response(),
        (TransportKind::Polling, Some(sid)) => {
            let Some(session) = engine.sessions.get(&sid) else {
                return EngineError::UnknownSid.into_response();
            };
            match method {
                Method::GET => poll(session).await,
                Method::POST => post(&engine, session, &headers, body).await,
                _ => EngineError::BadRequest.into_response(),
            }
        }
        (TransportKind::WebSocket, sid) => {
            let Ok(upgrade) = upgrade else {
                return EngineError::BadRequest.into_response();
            };
            let upgrade =
                ws::with_limits(upgrade, &engine.config.limits, engine.config.max_payload);
            match sid {
                None => websocket_handshake(engine, &headers, upgrade),
                Some(sid) => match engine.sessions.get(&sid) {
                    Some(session) => probe(session, upgrade),
                    None => EngineError::UnknownSid.into_response(),
                },
            }
        }
    }
}

fn context<F>(engine: &Engine<F>) -> SessionContext {
    SessionContext {
        config: engine.config.clone(),
        sessions: engine.sessions.clone(),
        shutdown: engine.shutdown.clone(),
    }
}

fn polling_handshake<F: AppFactory>(engine: &Engine<F>, headers: &HeaderMap) -> Response {
    let app = engine.factory.create(headers);
    let Some((session, open)) = Session::open(app, context(engine), TransportKind::Polling) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    tokio::spawn(session.run_polling());
    text_response(open.encode())
}

fn websocket_handshake<F: AppFactory>(
    engine: Arc<Engine<F>>,
    headers: &HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let app = engine.factory.create(headers);
    upgrade.on_upgrade(move |socket| async move {
        // Registered only now that the upgrade succeeded, so a failed one leaves nothing behind.
        match Session::open(app, context(&engine), TransportKind::WebSocket) {
            Some((session, open)) => session.run_websocket(socket, open).await,
            None => super::websocket::close(socket, &CloseReason::Overflow).await,
        }
    })
}

fn probe(session: mpsc::Sender<Command>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| async move {
        if let Err(mpsc::error::SendError(Command::Probe(socket))) =
            session.send(Command::Probe(Box::new(socket))).await
        {
            super::websocket::close(*socket, &CloseReason::protocol("session closed")).await;
        }
    })
}

async fn poll(session: mpsc::Sender<Command>) -> Response {
    let (reply, answer) = oneshot::channel();
    if !send(&session, Command::Poll(reply)).await {
        return EngineError::UnknownSid.into_response();
    }
    match answer.await {
        Ok(PollReply::Payload(body)) => text_response(body),
        Ok(PollReply::Refused(err)) => err.into_response(),
        Err(_) => EngineError::UnknownSid.into_response(),
    }
}

async fn post<F>(
    engine: &Engine<F>,
    session: mpsc::Sender<Command>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let limit = engine.config.max_payload;
    let declared_too_large = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > limit as u64);
    let bytes = match declared_too_large {
        true => None,
        false => axum::body::to_bytes(body, limit).await.ok(),
    };
    let Some(bytes) = bytes else {
        let _ = session.try_send(Command::Abort(CloseReason::TooLarge));
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let Ok(text) = String::from_utf8(bytes.to_vec()) else {
        let _ = session.try_send(Command::Abort(CloseReason::protocol(
            "invalid UTF-8 in a polling body",
        )));
        return EngineError::BadRequest.into_response();
    };
    let (reply, answer) = oneshot::channel();
    if !send(&session, Command::Post(text, reply)).await {
        return EngineError::UnknownSid.into_response();
    }
    match answer.await {
        Ok(Ok(())) => text_response("ok"),
        Ok(Err(err)) => err.into_response(),
        Err(_) => EngineError::UnknownSid.into_response(),
    }
}

async fn send(session: &mpsc::Sender<Command>, command: Command) -> bool {
    matches!(
        tokio::time::timeout(COMMAND_WAIT, session.send(command)).await,
        Ok(Ok(()))
    )
}

fn text_response(body: impl Into<Body>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
        body.into(),
    )
        .into_response()
}
