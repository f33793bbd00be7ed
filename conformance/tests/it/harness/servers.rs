//! Small in-test servers, each wrong in one chosen way, on 127.0.0.1 ephemeral ports. They share no code with the
//! reference server; they speak just enough of a profile for one case. Their tasks end with the test's runtime.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096)
}

/// Binds an ephemeral loopback port and hands every accepted TCP stream to `serve`; returns the base URL.
async fn listen<F, Fut>(serve: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    format!("http://{addr}")
}

// The callback signature is tungstenite's, large error type included.
#[allow(clippy::result_large_err)]
fn unchanged(_: &Request, response: Response) -> Result<Response, ErrorResponse> {
    Ok(response)
}

#[allow(clippy::result_large_err)]
fn without_subprotocol(_: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    response.headers_mut().remove("sec-websocket-protocol");
    Ok(response)
}

/// Accepts the upgrade unchanged.
async fn accept(stream: TcpStream) -> Option<WebSocketStream<TcpStream>> {
    tokio_tungstenite::accept_hdr_async_with_config(stream, unchanged, Some(config()))
        .await
        .ok()
}

/// The one way a directus-ish server is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectusFlaw {
    /// Change events lack the subscription's uid.
    NoUidOnEvents,
    /// Unsubscribing acknowledges but keeps delivering events.
    LeakAfterUnsubscribe,
    /// Sends `{"type":"subscription","event":"teleport"}`, which no schema allows, before each init.
    UnknownFrameBeforeInit,
    /// Never confirms a subscription.
    NoInit,
    /// Sends `{"type":"subscription","event":"teleport"}` right after each init.
    UnknownFrameAfterInit,
}

struct Subscription {
    conn: u64,
    uid: String,
    out: mpsc::UnboundedSender<String>,
}

#[derive(Default)]
struct DirectusState {
    subscriptions: Mutex<Vec<Subscription>>,
    next_id: AtomicU64,
    next_conn: AtomicU64,
}

/// A server speaking enough Directus for the subscribe, unsubscribe and items-create cases, with one flaw.
pub async fn directus(flaw: DirectusFlaw) -> String {
    let state = Arc::new(DirectusState::default());
    listen(move |stream| directus_connection(stream, flaw, state.clone())).await
}

async fn directus_connection(stream: TcpStream, flaw: DirectusFlaw, state: Arc<DirectusState>) {
    let Some(socket) = accept(stream).await else {
        return;
    };
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut source) = socket.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
    });
    let send = |value: Value| {
        let _ = out.send(value.to_string());
    };
    while let Some(Ok(message)) = source.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let uid = frame
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match frame.get("type").and_then(Value::as_str) {
            Some("auth") => send(json!({"type": "auth", "status": "ok"})),
            Some("subscribe") => {
                if flaw == DirectusFlaw::UnknownFrameBeforeInit {
                    send(json!({"type": "subscription", "event": "teleport", "uid": uid}));
                }
                state.subscriptions.lock().unwrap().push(Subscription {
                    conn,
                    uid: uid.clone(),
                    out: out.clone(),
                });
                if flaw != DirectusFlaw::NoInit {
                    send(json!({"type": "subscription", "event": "init", "uid": uid}));
                }
                if flaw == DirectusFlaw::UnknownFrameAfterInit {
                    send(json!({"type": "subscription", "event": "teleport", "uid": uid}));
                }
            }
            Some("unsubscribe") => {
                if flaw != DirectusFlaw::LeakAfterUnsubscribe {
                    state
                        .subscriptions
                        .lock()
                        .unwrap()
                        .retain(|s| !(s.conn == conn && s.uid == uid));
                }
                send(json!({"type": "subscription", "event": "unsubscribe", "uid": uid}));
            }
            Some("items") if frame.get("action") == Some(&json!("create")) => {
                let id = state.next_id.fetch_add(1, Ordering::Relaxed) + 1;
                let mut item = frame.get("data").cloned().unwrap_or(json!({}));
                if let Value::Object(fields) = &mut item {
                    fields.insert("id".into(), json!(id));
                }
                send(json!({"type": "items", "data": [item], "uid": uid}));
                for subscription in state.subscriptions.lock().unwrap().iter() {
                    let mut event =
                        json!({"type": "subscription", "event": "create", "data": [item]});
                    if flaw != DirectusFlaw::NoUidOnEvents {
                        event["uid"] = json!(subscription.uid);
                    }
                    let _ = subscription.out.send(event.to_string());
                }
            }
            _ => {}
        }
    }
    state
        .subscriptions
        .lock()
        .unwrap()
        .retain(|s| s.conn != conn);
}

/// An m2-ish server that accepts any upgrade but never echoes the offered subprotocol.
pub async fn m2_without_subprotocol_echo() -> String {
    listen(|stream| async move {
        let upgraded = tokio_tungstenite::accept_hdr_async_with_config(
            stream,
            without_subprotocol,
            Some(config()),
        )
        .await;
        if let Ok(mut socket) = upgraded {
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await
}

/// A skapi-ish server that accepts every token.
pub async fn skapi_accepting_any_token() -> String {
    listen(|stream| async move {
        if let Some(mut socket) = accept(stream).await {
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await
}

/// A gamevault-ish server whose open packet lacks `upgrades`.
pub async fn gamevault_open_without_upgrades() -> String {
    listen(|stream| async move {
        if let Some(mut socket) = accept(stream).await {
            let open = r#"0{"sid":"AAAAAAAAAAAAAAAAAAAA","pingInterval":300,"pingTimeout":200,"maxPayload":1000}"#;
            let _ = socket.send(Message::text(open)).await;
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await
}

/// A gamevault-ish server that pings right after the open packet and lets a CONNECT in only once the ping was
/// answered; `answered` records whether it was.
pub async fn gamevault_pinging(answered: Arc<AtomicBool>) -> String {
    listen(move |stream| {
        let answered = answered.clone();
        async move {
            let Some(mut socket) = accept(stream).await else {
                return;
            };
            let open = r#"0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}"#;
            let _ = socket.send(Message::text(open)).await;
            let _ = socket.send(Message::text("2")).await;
            while let Some(Ok(Message::Text(text))) = socket.next().await {
                match text.as_str() {
                    "3" => answered.store(true, Ordering::Relaxed),
                    "40" if answered.load(Ordering::Relaxed) => {
                        let _ = socket
                            .send(Message::text(r#"40{"sid":"BBBBBBBBBBBBBBBBBBBB"}"#))
                            .await;
                    }
                    "40" => {
                        let _ = socket
                            .send(Message::text(r#"44{"message":"ping not answered"}"#))
                            .await;
                    }
                    _ => {}
                }
            }
        }
    })
    .await
}

/// An HTTP server answering every request `400 {"code":0,"message":"Transport unknown"}`, as a WebSocket-only
/// Engine.IO server answers a polling handshake.
pub async fn http_transport_unknown() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    listen(|mut stream| async move {
        let mut request = vec![0u8; 4096];
        let _ = stream.read(&mut request).await;
        let body = r#"{"code":0,"message":"Transport unknown"}"#;
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await
}
