//! WebRTC signalling: relayed to exactly one connection of the same service.

use serde_json::json;

use super::support::{bounded, member, start};

#[tokio::test]
async fn a_signal_reaches_only_the_target_connection() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, alice_cid) = member(addr, "alice", "call").await;
    let (mut bob_one, _) = member(addr, "bob", "call").await;
    let (mut bob_two, bob_two_cid) = member(addr, "bob", "call").await;
    // Alice saw both of bob's connections join; bob's first saw his second.
    for _ in 0..2 {
        assert_eq!(alice.recv().await["#code"], "USER_JOINED");
    }
    assert_eq!(bob_one.recv().await["#code"], "USER_JOINED");
    let alice_id = alice.user_id().to_owned();

    let offer =
        json!({"sdpoffer": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}});
    alice.rtc(&bob_two_cid, offer.clone()).await;
    assert_eq!(
        bob_two.recv().await,
        json!({"#rtc": offer, "#user_id": alice_id, "#scid": alice_cid})
    );
    bob_one.expect_nothing_pending().await;
    alice.expect_nothing_pending().await;

    let bob_id = bob_two.user_id().to_owned();
    let candidate = json!({"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                                         "sdpMid": "0", "sdpMLineIndex": 0}});
    bob_two.rtc(&alice_cid, candidate.clone()).await;
    let frame = alice.recv().await;
    assert_eq!(frame["#rtc"], candidate);
    assert_eq!(frame["#user_id"], bob_id.as_str());
    assert_eq!(frame["#scid"], bob_two_cid.as_str());
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn unknown_or_foreign_connections_and_bad_signals_are_errors() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "call").await;
    let (mut carol, carol_cid) = member(addr, "carol", "call").await;
    let alice_id = alice.user_id().to_owned();
    let hungup = json!({"hungup": alice_id});

    alice.rtc("NoSuchConnection", hungup.clone()).await;
    let error = alice.recv_error().await;
    assert!(error.contains("not connected"), "{error}");

    // Carol's connection is in another service: as good as unknown.
    alice.rtc(&carol_cid, hungup.clone()).await;
    let error = alice.recv_error().await;
    assert!(error.contains("not connected"), "{error}");
    carol.expect_nothing_pending().await;

    for bad in [
        json!("ring"),
        json!({}),
        json!({"sdpoffer": {"type": "answer", "sdp": ""}}),
        json!({"pickup": alice_id, "hungup": alice_id}),
    ] {
        alice.rtc(&carol_cid, bad.clone()).await;
        let error = alice.recv_error().await;
        assert!(error.contains("rtc content"), "{bad} → {error}");
    }
    let token = alice.login.access_token.clone();
    alice
        .send(json!({"action": "rtc", "uid": alice_id, "content": hungup, "token": token}))
        .await;
    let error = alice.recv_error().await;
    assert!(error.contains("cid:"), "{error}");
    bounded("shutdown", server.shutdown()).await.ok();
}
