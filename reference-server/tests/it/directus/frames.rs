//! Frames the WebSocket layer refuses (bad UTF-8, unmasked, reserved opcode, oversized), the
//! connection and origin limits, rate limiting, and shutdown.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use super::support::{bounded, refused, Client, Frame, Server, ADMIN};

/// Opens `/websocket` (token in the URL) over a bare TCP stream, so that arbitrary bytes can follow.
async fn raw_socket(server: &Server) -> TcpStream {
    let mut stream = bounded("a TCP connection", TcpStream::connect(server.addr))
        .await
        .unwrap_or_else(|err| panic!("connect failed: {err}"));
    let request = format!(
        "GET /websocket?access_token={ADMIN} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    bounded("the upgrade request", stream.write_all(request.as_bytes()))
        .await
        .unwrap_or_else(|err| panic!("write failed: {err}"));
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = bounded("the upgrade response", stream.read(&mut byte))
            .await
            .unwrap_or_else(|err| panic!("read failed: {err}"));
        assert_eq!(n, 1, "connection closed during the upgrade");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// Writes `b64` (one frame, from the recording) and returns the close code the server answers with.
async fn close_code_after(server: &Server, b64: &str) -> u16 {
    let mut stream = raw_socket(server).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|err| panic!("bad base64: {err}"));
    bounded("the raw frame", stream.write_all(&bytes))
        .await
        .unwrap_or_else(|err| panic!("write failed: {err}"));
    let mut received = Vec::new();
    loop {
        let mut chunk = [0u8; 256];
        let n = bounded("the close frame", stream.read(&mut chunk))
            .await
            .unwrap_or_else(|err| panic!("read failed: {err}"));
        assert!(n > 0, "closed without a close frame");
        received.extend_from_slice(&chunk[..n]);
        // A close frame from the server: 0x88, payload length < 126, then the 2-byte code.
        if let [0x88, len, hi, lo, ..] = received[..] {
            assert!(len >= 2, "close frame without a code");
            return u16::from_be_bytes([hi, lo]);
        }
        assert!(received.len() < 4096, "no close frame in {received:?}");
    }
}

#[tokio::test]
async fn malformed_frames_close_with_the_matching_code() {
    let server = Server::start().await;
    // The recording's frames: a masked text frame with invalid UTF-8, an unmasked text frame, and
    // a frame with the reserved opcode 0x3.
    assert_eq!(close_code_after(&server, "gYIBAgMEwio=").await, 1007);
    assert_eq!(close_code_after(&server, "gQJ7fQ==").await, 1002);
    assert_eq!(close_code_after(&server, "g4ABAgME").await, 1002);
    server.stop().await;
}

#[tokio::test]
async fn binary_frames_are_read_as_text() {
    let server = Server::start().await;
    let mut socket = server.client(ADMIN).await;
    socket
        .send_message(Message::binary(br#"{"type":"ping","uid":"bin"}"#.to_vec()))
        .await;
    socket.expect(json!({"type": "pong", "uid": "bin"})).await;
    socket
        .send_message(Message::binary(vec![0xff, 0x00, 0x13, 0x37]))
        .await;
    socket
        .expect(json!({"type": "server", "status": "error", "error": {"code": "INVALID_PAYLOAD", "message": "Unable to parse the incoming message."}}))
        .await;
    socket.quiet().await;
    socket.close().await;
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let server = Server::with(|c| c.max_message_bytes = Some(1024)).await;
    let mut socket = server.client(ADMIN).await;
    let fits = json!({"type": "ping", "uid": "fits", "pad": "x".repeat(900)});
    socket.send(fits).await;
    socket.expect(json!({"type": "pong", "uid": "fits"})).await;
    let too_big = json!({"type": "ping", "uid": "big", "pad": "x".repeat(2000)});
    socket.send(too_big).await;
    let (frames, end) = socket.closed().await;
    assert!(frames.is_empty(), "{frames:?}");
    assert_eq!(end, Frame::Close(Some(1009)));
    server.stop().await;
}

#[tokio::test]
async fn connection_limit_refuses_with_403_and_frees_slots() {
    let server = Server::with(|c| c.max_connections = Some(2)).await;
    let first = server.client(ADMIN).await;
    let mut second = server.client(ADMIN).await;
    let url = server.ws_url("/websocket");
    assert_eq!(refused(&url, &[]).await, 403);
    first.close().await;
    // The slot frees once the server has seen the close; retry until then, bounded.
    bounded("a free slot", async {
        loop {
            match Client::try_connect(&url, &[]).await {
                Ok(client) => return client,
                Err(403) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(status) => panic!("refused with {status}"),
            }
        }
    })
    .await
    .close()
    .await;
    second.quiet().await;
    server.stop().await;
}

#[tokio::test]
async fn origins_outside_the_allow_list_are_refused() {
    let server = Server::with(|c| c.allowed_origins = vec!["http://app.example".into()]).await;
    let url = server.ws_url("/websocket");
    assert_eq!(
        refused(&url, &[("Origin", "http://evil.example")]).await,
        403
    );
    let allowed = Client::try_connect(&url, &[("Origin", "http://app.example")]).await;
    assert!(allowed.is_ok());
    let own = format!("http://{}", server.addr);
    assert!(Client::try_connect(&url, &[("Origin", &own)]).await.is_ok());
    assert!(Client::try_connect(&url, &[]).await.is_ok());
    server.stop().await;

    let open = Server::with(|c| c.allowed_origins = vec!["*".into()]).await;
    let url = open.ws_url("/websocket");
    assert!(
        Client::try_connect(&url, &[("Origin", "http://evil.example")])
            .await
            .is_ok()
    );
    open.stop().await;
}

#[tokio::test]
async fn rate_limited_messages_get_requests_exceeded() {
    let server = Server::with(|c| {
        c.rate_limit = Some(reference_server::directus::config::RateLimitConfig {
            points: 5,
            duration: Duration::from_secs(60),
        })
    })
    .await;
    let mut socket =
        Client::connect(&server.ws_url(&format!("/websocket?access_token={ADMIN}"))).await;
    for uid in 0..8 {
        socket.send(json!({"type": "ping", "uid": uid})).await;
    }
    let mut pongs = Vec::new();
    let mut refusals = 0;
    for _ in 0..8 {
        let frame = socket.recv().await;
        if frame["type"] == "pong" {
            pongs.push(frame["uid"].clone());
        } else {
            assert_eq!(frame["error"]["code"], "REQUESTS_EXCEEDED", "{frame}");
            let message = frame["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.starts_with("Too many messages, retry after "),
                "{message}"
            );
            refusals += 1;
        }
    }
    assert_eq!(pongs, (0..5).map(Value::from).collect::<Vec<_>>());
    assert_eq!(refusals, 3);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1001() {
    let server = Server::start().await;
    let mut socket = server.client(ADMIN).await;
    let stopping = tokio::spawn(server.stop());
    let (frames, end) = socket.closed().await;
    assert!(frames.is_empty(), "{frames:?}");
    assert_eq!(end, Frame::Close(Some(1001)));
    bounded("the server to stop", stopping)
        .await
        .unwrap_or_else(|err| panic!("stop task failed: {err}"));
}
