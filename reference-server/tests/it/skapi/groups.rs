//! Joining, leaving and switching groups; the notices every member receives, the subject included.

use serde_json::json;

use super::support::{assert_notice, bounded, login, member, start, Client};

#[tokio::test]
async fn joining_notifies_every_member_including_the_joiner() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, alice_cid) = member(addr, "alice", "room").await;
    let mut bob = Client::connect(&login(addr, "bob").await).await;
    bob.join(json!("room")).await;
    let bob_id = bob.user_id().to_owned();
    let to_bob = bob.recv().await;
    let bob_cid = to_bob["#scid"].as_str().unwrap_or_default().to_owned();
    assert_notice(&to_bob, "USER_JOINED", &bob_id, &bob_cid, "room");
    assert_ne!(bob_cid, alice_cid);
    assert_notice(
        &alice.recv().await,
        "USER_JOINED",
        &bob_id,
        &bob_cid,
        "room",
    );
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn switching_groups_leaves_the_old_one_and_joins_the_new_one() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, alice_cid) = member(addr, "alice", "room").await;
    let (mut bob, bob_cid) = member(addr, "bob", "room").await;
    let alice_id = alice.user_id().to_owned();
    let _bob_joined = alice.recv().await;

    alice.join(json!("lobby")).await;
    assert_notice(
        &alice.recv().await,
        "USER_LEFT",
        &alice_id,
        &alice_cid,
        "room",
    );
    assert_notice(
        &alice.recv().await,
        "USER_JOINED",
        &alice_id,
        &alice_cid,
        "lobby",
    );
    assert_notice(
        &bob.recv().await,
        "USER_LEFT",
        &alice_id,
        &alice_cid,
        "room",
    );
    // Bob is not in the lobby: he hears nothing of it.
    bob.expect_nothing_pending().await;

    // Messages of the group left no longer reach the leaver.
    bob.broadcast("room", json!("still here?")).await;
    let own = bob.recv().await;
    assert_eq!(own["#message"], "still here?");
    assert_eq!(own["#scid"], bob_cid.as_str());
    alice.expect_nothing_pending().await;
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn null_or_empty_rid_leaves_and_rejoining_the_same_group_changes_nothing() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, alice_cid) = member(addr, "alice", "room").await;
    let (mut bob, _) = member(addr, "bob", "room").await;
    let alice_id = alice.user_id().to_owned();
    let _bob_joined = alice.recv().await;

    alice.join(json!("room")).await;
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;

    alice.join(json!(null)).await;
    assert_notice(
        &alice.recv().await,
        "USER_LEFT",
        &alice_id,
        &alice_cid,
        "room",
    );
    assert_notice(
        &bob.recv().await,
        "USER_LEFT",
        &alice_id,
        &alice_cid,
        "room",
    );

    // Leaving again, now with "", is not an error and notifies nobody.
    alice.join(json!("")).await;
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;

    alice.join(json!("room")).await;
    assert_notice(
        &alice.recv().await,
        "USER_JOINED",
        &alice_id,
        &alice_cid,
        "room",
    );
    alice.join(json!("")).await;
    assert_notice(
        &alice.recv().await,
        "USER_LEFT",
        &alice_id,
        &alice_cid,
        "room",
    );
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn closing_the_socket_notifies_the_group_with_user_disconnected() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let (bob, bob_cid) = member(addr, "bob", "room").await;
    let bob_id = bob.user_id().to_owned();
    let _bob_joined = alice.recv().await;

    bob.close().await;
    assert_notice(
        &alice.recv().await,
        "USER_DISCONNECTED",
        &bob_id,
        &bob_cid,
        "room",
    );
    // Bob is no longer a member: a broadcast reaches alice alone.
    alice.broadcast("room", json!("alone")).await;
    assert_eq!(alice.recv().await["#message"], "alone");
    alice.expect_nothing_pending().await;
    bounded("shutdown", server.shutdown()).await.ok();
}

#[tokio::test]
async fn groups_of_the_same_name_in_two_services_are_distinct() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut alice, _) = member(addr, "alice", "room").await;
    let (mut carol, _) = member(addr, "carol", "room").await;
    alice.expect_nothing_pending().await;
    carol.broadcast("room", json!("other service")).await;
    assert_eq!(carol.recv().await["#message"], "other service");
    alice.expect_nothing_pending().await;
    bounded("shutdown", server.shutdown()).await.ok();
}
