//! Unsubscribing by uid, acknowledgements, and unsubscribing everything at once.

use serde_json::{json, Value};

use super::support::{create_message, event_with_text, next_reply, show_uid};
use crate::case::{sources, Case, CaseResult, Kind, Level, Need, Reference};
use crate::client::{Conn, Pattern};
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.unsubscribe.uid-stops-events",
            profile: Profile::Directus,
            level: Level::Must,
            title: "After unsubscribe with a uid, that subscription receives no more change events",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "To stop change events being sent from a specific subscription, send the following message",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(uid_stops_events(ctx)),
        },
        Case {
            id: "directus.unsubscribe.acknowledged",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An unsubscribe is acknowledged with event unsubscribe and its uid, for an unknown uid too",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Unsubscribing an unknown uid is still acknowledged.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(acknowledged(ctx)),
        },
        Case {
            id: "directus.unsubscribe.all",
            profile: Profile::Directus,
            level: Level::Must,
            title: "An unsubscribe without uid stops every subscription of the socket, those with and without uid",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "You can also omit uid to stop all subscriptions at once.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(all(ctx)),
        },
        Case {
            id: "directus.unsubscribe.other-socket-unaffected",
            profile: Profile::Directus,
            level: Level::Should,
            title: "Unsubscribing on one socket leaves another socket's subscription with the same uid in place",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "(removes all on the socket)",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(other_socket_unaffected(ctx)),
        },
    ]
}

/// Sends an unsubscribe and waits for its acknowledgement when one comes: the document promises none, but the
/// change a case makes next must follow the unsubscribe's handling.
async fn unsubscribe_settled(ctx: &Ctx, conn: &mut Conn, uid: Option<&str>) -> CaseResult {
    let frame = match uid {
        Some(uid) => json!({"type": "unsubscribe", "uid": uid}),
        None => json!({"type": "unsubscribe"}),
    };
    conn.send_json(&frame).await?;
    let _ = conn
        .expect(
            json!({"type": "subscription", "event": "unsubscribe"}),
            ctx.silence(),
        )
        .await;
    Ok(())
}

async fn uid_stops_events(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let stopped = ctx.unique("stopped");
    let control = ctx.unique("control");
    let mut conn = directus.connect("primary").await?;
    directus
        .subscribe(&mut conn, &collection, Some(&stopped), json!({}))
        .await?;
    directus
        .subscribe(&mut conn, &collection, Some(&control), json!({}))
        .await?;
    unsubscribe_settled(&ctx, &mut conn, Some(&stopped)).await?;
    directus
        .create_item(
            &collection,
            json!({"text": ctx.unique("after-unsubscribe")}),
        )
        .await?;
    // The control subscription proves the event was emitted; the stopped one must not see it.
    loop {
        let event = conn
            .expect(
                json!({"type": "subscription", "event": "create"}),
                ctx.wait(),
            )
            .await
            .map_err(|e| e.context(format!("the subscription {control:?} left in place")))?;
        if event.str("/uid") == Some(stopped.as_str()) {
            fail!(
                "a create event reached subscription {stopped:?} after it was unsubscribed: {event}"
            );
        }
        if event.str("/uid") == Some(control.as_str()) {
            break;
        }
    }
    conn.expect_silence_of(
        json!({"type": "subscription", "event": "create", "uid": stopped}),
        ctx.silence(),
    )
    .await
    .map_err(|e| e.context(format!("after unsubscribing uid {stopped:?}")))
}

async fn acknowledged(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let known = ctx.unique("known");
    directus
        .subscribe(
            &mut conn,
            &collection,
            Some(&known),
            json!({"event": "create"}),
        )
        .await?;
    let unknown = ctx.unique("never-subscribed");
    for uid in [&known, &unknown] {
        conn.send_json(&json!({"type": "unsubscribe", "uid": uid}))
            .await?;
        let ack = next_reply(&ctx, &mut conn).await.map_err(|e| {
            e.context(format!(
                "waiting for the acknowledgement of unsubscribing {uid:?}"
            ))
        })?;
        ensure!(
            ack.str("/type") == Some("subscription")
                && ack.str("/event") == Some("unsubscribe")
                && ack.str("/uid") == Some(uid.as_str()),
            "unsubscribing {} expected {{\"type\":\"subscription\",\"event\":\"unsubscribe\",\"uid\":{uid:?}}}, got {ack}",
            show_uid(Some(uid))
        );
    }
    conn.send_json(&json!({"type": "unsubscribe"})).await?;
    let ack = next_reply(&ctx, &mut conn)
        .await
        .map_err(|e| e.context("waiting for the acknowledgement of an unsubscribe without uid"))?;
    ensure!(
        ack.str("/type") == Some("subscription") && ack.str("/event") == Some("unsubscribe"),
        "an unsubscribe without uid expected {{\"type\":\"subscription\",\"event\":\"unsubscribe\"}}, got {ack}"
    );
    ensure!(
        ack.get("/uid").is_none(),
        "the acknowledgement of an unsubscribe without uid carries uid {}",
        ack.get("/uid").map_or(String::new(), Value::to_string)
    );
    Ok(())
}

async fn all(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let with_uid = ctx.unique("named");
    directus
        .subscribe(&mut conn, &collection, Some(&with_uid), json!({}))
        .await?;
    directus
        .subscribe(&mut conn, &collection, None, json!({}))
        .await?;
    let mut control = directus.connect("primary").await?;
    let control_uid = ctx.unique("control");
    directus
        .subscribe(&mut control, &collection, Some(&control_uid), json!({}))
        .await?;
    unsubscribe_settled(&ctx, &mut conn, None).await?;
    let text = ctx.unique("after-unsubscribe-all");
    create_message(&ctx, &text, "all").await?;
    control
        .expect(
            event_with_text("create", Some(&control_uid), &text),
            ctx.wait(),
        )
        .await
        .map_err(|e| e.context("the control subscription on another socket"))?;
    let leak = Pattern::when(format!("subscription event about {text:?}"), {
        let text = text.clone();
        move |f| {
            f.str("/type") == Some("subscription") && f.text().is_some_and(|t| t.contains(&text))
        }
    });
    conn.expect_silence_of(leak, ctx.silence())
        .await
        .map_err(|e| e.context("after an unsubscribe without uid"))
}

async fn other_socket_unaffected(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let uid = ctx.unique("shared-uid");
    let mut leaving = directus.connect("primary").await?;
    let mut staying = directus.connect("primary").await?;
    for conn in [&mut leaving, &mut staying] {
        directus
            .subscribe(conn, &collection, Some(&uid), json!({"event": "create"}))
            .await?;
    }
    unsubscribe_settled(&ctx, &mut leaving, Some(&uid)).await?;
    unsubscribe_settled(&ctx, &mut leaving, None).await?;
    let text = ctx.unique("still-watched");
    create_message(&ctx, &text, "isolation").await?;
    staying
        .expect(event_with_text("create", Some(&uid), &text), ctx.wait())
        .await
        .map_err(|e| {
            e.context(format!(
                "the subscription {uid:?} of a socket that did not unsubscribe"
            ))
        })?;
    leaving
        .expect_silence_of(event_with_text("create", Some(&uid), &text), ctx.silence())
        .await
        .map_err(|e| e.context("the socket that unsubscribed"))
}
