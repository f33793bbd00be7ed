//! directus cases: Directus WebSocket subscriptions.

use serde_json::{json, Value};

use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::directus::AuthMode;
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.subscribe.init-confirmation",
            profile: Profile::Directus,
            level: Level::Must,
            title: "A subscribe is confirmed by a subscription message with event init",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "In return, you will receive a message to confirm that your subscription has been initialized",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(init_confirmation(ctx)),
        },
        Case {
            id: "directus.subscribe.uid-echo",
            profile: Profile::Directus,
            level: Level::Must,
            title: "Change events of a subscription made with a uid carry that uid",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "When you receive responses, the same uid will be included as a property",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(uid_echo(ctx)),
        },
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
            id: "directus.auth.handshake-timeout",
            profile: Profile::Directus,
            level: Level::Should,
            title: "In handshake mode a socket that sends no auth within the auth timeout gets AUTH_FAILED and is closed",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "the first frame must be `auth` within the auth timeout (10 s)",
            },
            kind: Kind::Scenario,
            requires: &[Need::Parameter("auth_timeout")],
            run: |ctx| Box::pin(handshake_timeout(ctx)),
        },
    ]
}

async fn handshake_timeout(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    if directus.auth_mode()? != AuthMode::Handshake {
        return Err(CaseError::skip("the target's auth_mode is not handshake"));
    }
    let timeout = ctx.parameter_duration("auth_timeout")?;
    let mut conn = directus.open("anonymous", directus.request()?).await??;
    let error = conn
        .expect(
            json!({"type": "auth", "status": "error"}),
            timeout + ctx.wait(),
        )
        .await?;
    ensure!(
        error.str("/error/code") == Some("AUTH_FAILED"),
        "the timeout's auth error has code {:?}, not AUTH_FAILED: {error}",
        error.str("/error/code")
    );
    conn.expect_close(ctx.wait()).await?;
    Ok(())
}

async fn init_confirmation(ctx: Ctx) -> CaseResult {
    let collection = ctx.directus().collection()?;
    let mut conn = ctx.directus().connect("primary").await?;
    conn.send_json(&json!({"type": "subscribe", "collection": collection}))
        .await?;
    let reply = conn.recv(ctx.wait()).await?;
    ensure!(
        reply.str("/type") == Some("subscription") && reply.str("/event") == Some("init"),
        "expected {{\"type\":\"subscription\",\"event\":\"init\"}} in reply to subscribe, got {reply}"
    );
    Ok(())
}

async fn uid_echo(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let uid = ctx.unique("sub");
    let mut conn = directus.connect("primary").await?;
    directus
        .subscribe(&mut conn, &collection, Some(&uid), json!({}))
        .await?;
    let text = ctx.unique("uid-echo");
    directus
        .create_item(&collection, json!({"text": text}))
        .await?;
    let event = conn
        .expect(
            json!({"type": "subscription", "event": "create"}),
            ctx.wait(),
        )
        .await?;
    match event.get("/uid") {
        Some(Value::String(got)) if *got == uid => Ok(()),
        Some(other) => {
            fail!("the create event carries uid {other}, the subscription's uid is {uid:?}")
        }
        None => {
            fail!("the create event carries no uid; the subscription's uid is {uid:?}: {event}")
        }
    }
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
    conn.send_json(&json!({"type": "unsubscribe", "uid": stopped}))
        .await?;
    // The acknowledgement is not in the document; wait for it when it comes so the write below follows it.
    let _ = conn
        .expect(
            json!({"type": "subscription", "event": "unsubscribe"}),
            ctx.silence(),
        )
        .await;
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
            fail!("a create event reached subscription {stopped:?} after it was unsubscribed: {event}");
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
