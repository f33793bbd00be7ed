//! Group broadcasts and private messages: who receives them and in what shape.

use serde_json::{json, Value};

use super::support::{bounded, login, member, start, Client};

#[tokio::test]
async fn a_broadcast_reaches_every_member_and_no_one_else() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, alice_cid) = member(addr, "alice", "room").await;
    let (mut bob, _) = member(addr, "bob", "room").await;
    let (mut bob_elsewhere, _) = member(addr, "bob", "lobby").await;
    let (mut carol, _) = member(addr, "carol", "room").await;
    let _bob_joined = alice.recv().await;
    let alice_id = alice.user_id().to_owned();

    alice.broadcast("room", json!({"msg": "hi"})).await;
    let expected = json!({
        "#message": {"msg": "hi"},
        "#user_id": alice_id,
        "#scid": alice_cid,
        "#srid": "room",
    });
    assert_eq!(alice.recv().await, expected);
    assert_eq!(bob.recv().await, expected);
    bob_elsewhere.expect_nothing_pending().await;
    carol.expect_nothing_pending().await;
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn broadcasting_to_a_group_one_is_not_in_is_an_error() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let (mut bob, _) = member(addr, "bob", "lobby").await;
    bob.broadcast("room", json!("intruder")).await;
    let error = bob.recv_error().await;
    assert!(error.contains("room"), "{error}");
    alice.expect_nothing_pending().await;

    let mut outsider = Client::connect(&login(addr, "bob").await).await;
    outsider.broadcast("room", json!("no group at all")).await;
    outsider.recv_error().await;
    alice.expect_nothing_pending().await;
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn a_private_message_reaches_every_connection_of_the_recipient_and_echoes_to_the_sender() {
    let server = start().await;
    let addr = server.local_addr();
    let alice_login = login(addr, "alice").await;
    let bob_login = login(addr, "bob").await;
    let mut alice = Client::connect(&alice_login).await;
    let mut alice_other_tab = Client::connect(&alice_login).await;
    let mut bob_one = Client::connect(&bob_login).await;
    let mut bob_two = Client::connect(&bob_login).await;
    let (mut carol, _) = member(addr, "carol", "room").await;
    // A group join tells alice her own connection id.
    let alice_cid = alice.join_and_learn_cid("dm").await;

    alice
        .send_private(&bob_login.user_id, json!({"text": "psst"}))
        .await;
    let expected = json!({
        "#private": {"text": "psst"},
        "#user_id": alice_login.user_id,
        "#scid": alice_cid,
    });
    assert_eq!(bob_one.recv().await, expected);
    assert_eq!(bob_two.recv().await, expected);
    assert_eq!(
        alice.recv().await,
        expected,
        "the echo to the sending connection"
    );
    alice_other_tab.expect_nothing_pending().await;
    carol.expect_nothing_pending().await;
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn a_private_message_to_oneself_arrives_once_per_connection() {
    let server = start().await;
    let addr = server.local_addr();
    let alice_login = login(addr, "alice").await;
    let mut alice = Client::connect(&alice_login).await;
    let mut alice_other_tab = Client::connect(&alice_login).await;
    alice
        .send_private(&alice_login.user_id, json!("note to self"))
        .await;
    assert_eq!(alice.recv().await["#private"], "note to self");
    assert_eq!(alice_other_tab.recv().await["#private"], "note to self");
    alice.expect_nothing_pending().await;
    alice_other_tab.expect_nothing_pending().await;
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn the_recipient_id_is_matched_without_regard_to_case() {
    let server = start().await;
    let addr = server.local_addr();
    let mut alice = Client::connect(&login(addr, "alice").await).await;
    let mut bob = Client::connect(&login(addr, "bob").await).await;
    let shouted = bob.user_id().to_ascii_uppercase();
    alice.send_private(&shouted, json!("hi")).await;
    assert_eq!(bob.recv().await["#private"], "hi");
    assert_eq!(alice.recv().await["#private"], "hi");
    let alice_shouted = alice.user_id().to_ascii_uppercase();
    alice.send_private(&alice_shouted, json!("me")).await;
    assert_eq!(alice.recv().await["#private"], "me");
    alice.expect_nothing_pending().await;
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn a_recipient_who_is_not_connected_gets_an_error_and_no_echo() {
    let server = start().await;
    let addr = server.local_addr();
    let mut alice = Client::connect(&login(addr, "alice").await).await;
    let bob_id = login(addr, "bob").await.user_id;
    let carol = Client::connect(&login(addr, "carol").await).await;
    // Bob has no connection; carol has one, but in another service.
    for recipient in [bob_id.as_str(), carol.user_id()] {
        alice.send_private(recipient, json!("anyone?")).await;
        assert_eq!(alice.recv_error().await, "Recipient is not connected.");
        alice.expect_nothing_pending().await;
    }
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn percent_signs_are_sent_as_escapes_that_survive_decode_uri() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "100%").await;
    let content = json!({"text": "100% sure, %41 and %%", "100%": ["%E0%A4%A"]});
    alice.broadcast("100%", content.clone()).await;
    let raw = alice.recv_text().await;
    // decodeURI leaves a text without `%` unchanged, and throws on most texts with one.
    assert!(!raw.contains('%'), "{raw}");
    assert!(raw.contains("\\u0025"), "{raw}");
    let frame: Value = serde_json::from_str(&raw).unwrap_or_default();
    assert_eq!(frame["#message"], content);
    assert_eq!(frame["#srid"], "100%");

    let alice_id = alice.user_id().to_owned();
    alice.send_private(&alice_id, json!("50%")).await;
    let raw = alice.recv_text().await;
    assert!(!raw.contains('%'), "{raw}");
    assert_eq!(
        serde_json::from_str::<Value>(&raw).unwrap_or_default()["#private"],
        "50%"
    );
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn falsy_content_is_delivered() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let (mut bob, _) = member(addr, "bob", "room").await;
    let _bob_joined = alice.recv().await;
    let bob_id = bob.user_id().to_owned();
    for falsy in [json!(0), json!(""), json!(false), json!(null)] {
        alice.broadcast("room", falsy.clone()).await;
        for client in [&mut alice, &mut bob] {
            let frame = client.recv().await;
            assert_eq!(frame.get("#message"), Some(&falsy), "{frame}");
        }
        alice.send_private(&bob_id, falsy.clone()).await;
        for client in [&mut bob, &mut alice] {
            let frame = client.recv().await;
            assert_eq!(frame.get("#private"), Some(&falsy), "{frame}");
        }
    }
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn frame_tokens_must_be_valid_and_of_the_connections_user() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let bob = login(addr, "bob").await;
    let alice_login = alice.login.clone();
    let bad_frames = [
        json!({"action": "joinRoom", "rid": "x", "token": bob.access_token}),
        json!({"action": "joinRoom", "rid": "x", "token": alice_login.id_token}),
        json!({"action": "broadcast", "rid": "room", "content": 1, "token": alice_login.access_token}),
        json!({"action": "broadcast", "rid": "room", "content": 1, "token": bob.identity_token()}),
        json!({"action": "broadcast", "rid": "room", "content": 1,
               "token": format!("IdT:{}:{}:null", alice_login.service, alice_login.owner)}),
        json!({"action": "sendMessage", "uid": bob.user_id, "content": 1,
               "token": format!("IdT:ap21other:{}:{}", alice_login.owner, alice_login.id_token)}),
        json!({"action": "rtc", "uid": "cid:abc", "content": {"hungup": alice_login.user_id},
               "token": "garbage"}),
    ];
    for frame in bad_frames {
        alice.send(frame.clone()).await;
        let error = alice.recv_error().await;
        assert!(error.contains("oken"), "{frame} → {error}");
    }
    // Still in "room", and still usable.
    alice.broadcast("room", json!("ok")).await;
    assert_eq!(alice.recv().await["#message"], "ok");
    bounded("shutdown", server.shutdown()).await.ok();
}
