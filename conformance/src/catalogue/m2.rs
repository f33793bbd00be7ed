//! m2 cases: the M2 Worlds realtime service.

use serde_json::json;

use crate::case::{sources, Case, CaseResult, Kind, Level, Need, Reference};
use crate::client::m2::{kv_id, Spelling, Via};
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::ensure;
use crate::profile::Profile;

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "m2.connect.subprotocol-echo",
            profile: Profile::M2,
            level: Level::Must,
            title: "A handshake carrying the headers as base58 in Sec-WebSocket-Protocol is accepted and the offered value echoed",
            reference: Reference {
                source: sources::M2_NOTES,
                quote: "The server must echo the offered subprotocol value in its 101 response",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(subprotocol_echo(ctx)),
        },
        Case {
            id: "m2.subscribe.missing-resource-warning",
            profile: Profile::M2,
            level: Level::Must,
            title: "Subscribing to a kvStore key that does not exist answers the resource_not_found warning",
            reference: Reference {
                source: sources::M2_SEED,
                quote: "When subscribing if a resource doesn't exist yet a listener will be created",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(missing_resource_warning(ctx)),
        },
        Case {
            id: "m2.subscribe.listener-fires-on-create",
            profile: Profile::M2,
            level: Level::Must,
            title: "A subscription made before a kvStore key exists delivers the value once the key is created",
            reference: Reference {
                source: sources::M2_SEED,
                quote: "a listener will be created and will be triggered when the resource is created",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            run: |ctx| Box::pin(listener_fires_on_create(ctx)),
        },
        Case {
            id: "m2.message.invalid-format-error",
            profile: Profile::M2,
            level: Level::Should,
            title: "A frame that is not a subscribe/unsubscribe message answers {\"error\": …} and the socket stays usable",
            reference: Reference {
                source: sources::M2_SEED,
                quote: "\"error\": \"Invalid message format\"",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(invalid_format_error(ctx)),
        },
    ]
}

async fn subprotocol_echo(ctx: Ctx) -> CaseResult {
    // The document's example spells the names without `-id`; the connector checks the echo on both spellings.
    for spelling in [Spelling::Short, Spelling::Long] {
        let conn = ctx
            .m2()
            .connect_via("primary", Via::Subprotocol(spelling))
            .await
            .map_err(|e| e.context(format!("{spelling:?} header names")))?;
        conn.close().await;
    }
    Ok(())
}

async fn missing_resource_warning(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    let id = kv_id("World", "kvstoreClient", &ctx.unique("missing"));
    ctx.m2().subscribe(&conn, "kvStore", &id).await?;
    let reply = conn.recv(ctx.wait()).await?;
    ensure!(
        reply.str("/warning") == Some("resource_not_found"),
        "expected the resource_not_found warning for {id}, got {reply}"
    );
    Ok(())
}

async fn listener_fires_on_create(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    let key = ctx.unique("created");
    let id = kv_id("World", "kvstoreClient", &key);
    ctx.m2().subscribe(&conn, "kvStore", &id).await?;
    conn.expect(json!({"warning": "resource_not_found"}), ctx.wait())
        .await?;
    let data = json!({"score": 42, "note": key});
    ctx.m2()
        .kv_upsert("primary", "World", "kvstoreClient", &key, data.clone())
        .await?;
    let update = conn
        .expect(
            Pattern::subset(json!({"resource": {"type": "kvStore", "id": id}})),
            ctx.wait(),
        )
        .await?;
    // schemas/m2/NOTES.md m2.kvstore-data: `data` is the stored value itself.
    ensure!(
        update.get("/data") == Some(&data),
        "the update for {id} carries data {}, the write was {data}",
        update.get("/data").cloned().unwrap_or_default()
    );
    Ok(())
}

async fn invalid_format_error(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    conn.send_text_raw(r#"{"action":"dance"}"#).await?;
    let reply = conn.recv(ctx.wait()).await?;
    ensure!(
        reply.get("/error").is_some_and(|e| e.is_string()),
        "expected an {{\"error\": …}} reply to an unknown action, got {reply}"
    );
    let id = kv_id("World", "kvstoreClient", &ctx.unique("after-error"));
    ctx.m2().subscribe(&conn, "kvStore", &id).await?;
    conn.expect(json!({"warning": "resource_not_found"}), ctx.wait())
        .await
        .map_err(|e| e.context("the socket must stay usable after an error"))?;
    Ok(())
}
