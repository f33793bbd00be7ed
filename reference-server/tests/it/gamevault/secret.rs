//! The socket secret of the handshake: both header dialects, each switch, the auth-payload
//! option, and the CONNECT_ERROR a handshake without a valid secret gets.

use serde_json::json;

use super::support::*;

async fn connect_reply(
    addr: std::net::SocketAddr,
    headers: &[(&str, &str)],
    connect: &str,
) -> String {
    let (mut socket, _) = EioSocket::open(addr, headers).await;
    socket.send(connect).await;
    socket.text().await
}

#[tokio::test]
async fn both_header_dialects_are_accepted_by_default() {
    let server = start().await;
    let addr = server.local_addr();
    let alice = Member::join(addr, &v9(ALICE_SECRET)).await;
    let mut bob = Member::join(addr, &v15(BOB_SECRET)).await;
    let mut alice = alice;
    alice
        .socket
        .send("42[\"set-activity\",{\"state\":\"ONLINE\"}]")
        .await;
    assert_eq!(alice.next_activity().await["user_id"], ALICE_ID);
    bob.socket
        .send("42[\"set-activity\",{\"state\":\"BUSY\"}]")
        .await;
    assert_eq!(bob.next_activity().await["user_id"], ALICE_ID);
    assert_eq!(bob.next_activity().await["user_id"], BOB_ID);
    stop(server).await;
}

#[tokio::test]
async fn a_missing_secret_is_refused_with_connect_error_and_the_session_stays() {
    let server = start().await;
    let (mut socket, _) = EioSocket::open(server.local_addr(), &[]).await;
    socket.send("40").await;
    assert_eq!(
        socket.text().await,
        "44{\"message\":\"Missing X-Socket-Secret or X-Api-Key Header.\"}"
    );
    socket.send("40").await;
    assert!(
        socket.text().await.starts_with("44{"),
        "still open, still refused"
    );
    stop(server).await;
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_connect_error() {
    let server = start().await;
    let addr = server.local_addr();
    for headers in [
        v9("not-a-secret"),
        v15("not-a-secret"),
        vec![("X-Socket-Secret", ALICE_SECRET), ("X-Api-Key", BOB_SECRET)],
    ] {
        assert_eq!(
            connect_reply(addr, &headers, "40").await,
            "44{\"message\":\"Invalid socket secret.\"}",
            "{headers:?}"
        );
    }
    stop(server).await;
}

#[tokio::test]
async fn the_socket_secret_header_can_be_switched_off() {
    let server = start_with(|gv| gv.accept_socket_secret_header = false).await;
    let addr = server.local_addr();
    assert_eq!(
        connect_reply(addr, &v9(ALICE_SECRET), "40").await,
        "44{\"message\":\"Missing X-Api-Key Header.\"}"
    );
    assert!(connect_reply(addr, &v15(ALICE_SECRET), "40")
        .await
        .starts_with("40{\"sid\""));
    stop(server).await;
}

#[tokio::test]
async fn the_api_key_header_can_be_switched_off() {
    let server = start_with(|gv| gv.accept_api_key_header = false).await;
    let addr = server.local_addr();
    assert_eq!(
        connect_reply(addr, &v15(ALICE_SECRET), "40").await,
        "44{\"message\":\"Missing X-Socket-Secret Header.\"}"
    );
    assert!(connect_reply(addr, &v9(ALICE_SECRET), "40")
        .await
        .starts_with("40{\"sid\""));
    stop(server).await;
}

#[tokio::test]
async fn the_auth_payload_carries_no_secret_unless_allowed() {
    let server = start().await;
    let connect = format!("40{{\"socket_secret\":\"{ALICE_SECRET}\"}}");
    assert!(connect_reply(server.local_addr(), &[], &connect)
        .await
        .starts_with("44{"));
    stop(server).await;

    let server = start_with(|gv| gv.allow_auth_payload_secret = true).await;
    let addr = server.local_addr();
    assert!(connect_reply(addr, &[], &connect)
        .await
        .starts_with("40{\"sid\""));
    let api_key = format!("40{{\"api_key\":\"{BOB_SECRET}\"}}");
    assert!(connect_reply(addr, &[], &api_key)
        .await
        .starts_with("40{\"sid\""));
    assert_eq!(
        connect_reply(addr, &[], "40{\"socket_secret\":\"wrong\"}").await,
        "44{\"message\":\"Invalid socket secret.\"}"
    );
    assert_eq!(
        connect_reply(addr, &[], "40").await,
        "44{\"message\":\"Missing X-Socket-Secret or X-Api-Key Header, or socket_secret in the CONNECT auth payload.\"}"
    );
    stop(server).await;
}

#[tokio::test]
async fn polling_takes_the_secret_from_the_handshake_request_only() {
    let server = start().await;
    let addr = server.local_addr();
    let (anonymous, _) = Polling::handshake(addr, &[]).await;
    anonymous.post("40").await;
    let packets = anonymous.packets().await;
    assert_eq!(
        packets,
        vec!["44{\"message\":\"Missing X-Socket-Secret or X-Api-Key Header.\"}".to_owned()]
    );

    // Later requests carry no header: the session keeps the user of its handshake.
    let (polling, _) = Polling::handshake(addr, &v15(BOB_SECRET)).await;
    polling.post("40").await;
    let packets = polling.packets().await;
    assert!(packets[0].starts_with("40{\"sid\""), "{packets:?}");
    polling
        .post("42[\"set-activity\",{\"state\":\"ONLINE\"}]")
        .await;
    let activity = argument(&polling.packets().await[0], "activity");
    assert_eq!(activity["user_id"], json!(BOB_ID));
    stop(server).await;
}
