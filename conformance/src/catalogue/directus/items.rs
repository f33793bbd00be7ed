//! Items over the socket: replies with their uid, the events they fire, and their errors.

use serde_json::{json, Value};

use super::support::{
    elements, ensure_error, ensure_usable, event_with_text, same_key, SYSTEM_COLLECTION,
};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::{Conn, Frame};
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.items.create-reply",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An items create is answered by an items message with the created item, its key and the request's uid",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Reply `{\"type\":\"items\",\"data\":…,\"uid\"?}` (delete returns the ids).",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(create_reply(ctx)),
        },
        Case {
            id: "directus.items.read-update-delete",
            profile: Profile::Directus,
            level: Level::Should,
            title: "Items read, update and delete by id are answered with the item, the updated item and the key; a deleted item then reads as FORBIDDEN",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "create `data` (object or array); read `id`/`ids`/`query`; update `data` with `id`/`ids`/`query`",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(read_update_delete(ctx)),
        },
        Case {
            id: "directus.items.fires-events",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An items create over one socket fires the create event on another socket's subscription",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "They fire the same subscription events as REST writes.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(fires_events(ctx)),
        },
        Case {
            id: "directus.items.delete-without-selector",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An items delete with neither id, ids nor query gets INVALID_PAYLOAD with its uid, and the socket stays usable",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Either 'ids', 'id' or 'query' is required for a DELETE request.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(delete_without_selector(ctx)),
        },
        Case {
            id: "directus.items.system-collection-refused",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An items request on a system collection gets INVALID_COLLECTION with its uid, and the socket stays usable",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "`INVALID_COLLECTION` for system collections",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(system_collection_refused(ctx)),
        },
    ]
}

/// Sends an `items` request with a fresh uid and returns the `items` reply carrying that uid.
async fn request(ctx: &Ctx, conn: &mut Conn, mut frame: Value) -> Result<Frame, CaseError> {
    let uid = ctx.unique("items");
    frame["uid"] = json!(uid);
    conn.send_json(&frame).await?;
    conn.expect(json!({"type": "items", "uid": uid}), ctx.wait())
        .await
        .map_err(|e| e.context(format!("waiting for the reply to {frame}")))
}

/// Fails when the reply is an error.
fn ensure_success(reply: &Frame, what: &str) -> CaseResult {
    ensure!(
        reply.str("/status") != Some("error"),
        "{what} was refused: {reply}"
    );
    Ok(())
}

/// The single item of a reply's `data` (an object, or an array of one).
fn single_item<'a>(reply: &'a Frame, what: &str) -> Result<&'a Value, CaseError> {
    let data = reply.get("/data").unwrap_or(&Value::Null);
    match elements(data).as_slice() {
        [item] if item.is_object() => Ok(item),
        _ => fail!("the reply to {what} should carry one item: {reply}"),
    }
}

async fn create_reply(ctx: Ctx) -> CaseResult {
    let collection = ctx.directus().collection()?;
    let mut conn = ctx.directus().connect("primary").await?;
    let text = ctx.unique("socket-create");
    let reply = request(
        &ctx,
        &mut conn,
        json!({"type": "items", "collection": collection, "action": "create", "data": {"text": text}}),
    )
    .await?;
    ensure_success(&reply, "an items create")?;
    let item = single_item(&reply, "an items create")?;
    ensure!(
        item.get("text") == Some(&json!(text)),
        "the created item in the reply does not carry its text {text:?}: {reply}"
    );
    ensure!(
        item.get("id")
            .is_some_and(|id| id.is_string() || id.is_number()),
        "the created item in the reply carries no key `id`: {reply}"
    );
    Ok(())
}

async fn read_update_delete(ctx: Ctx) -> CaseResult {
    let collection = ctx.directus().collection()?;
    let mut conn = ctx.directus().connect("primary").await?;
    let text = ctx.unique("crud");
    let created = request(
        &ctx,
        &mut conn,
        json!({"type": "items", "collection": collection, "action": "create", "data": {"text": text}}),
    )
    .await?;
    ensure_success(&created, "an items create")?;
    let Some(id) = single_item(&created, "an items create")?.get("id").cloned() else {
        fail!("the created item in the reply carries no key `id`: {created}");
    };

    let read = request(
        &ctx,
        &mut conn,
        json!({"type": "items", "collection": collection, "action": "read", "id": id}),
    )
    .await?;
    ensure_success(&read, "an items read by id")?;
    let item = single_item(&read, "an items read by id")?;
    ensure!(
        item.get("id").is_some_and(|got| same_key(got, &id))
            && item.get("text") == Some(&json!(text)),
        "reading item {id} should give it back with text {text:?}: {read}"
    );

    let edited = ctx.unique("crud-edited");
    let updated = request(
        &ctx,
        &mut conn,
        json!({"type": "items", "collection": collection, "action": "update", "id": id, "data": {"text": edited}}),
    )
    .await?;
    ensure_success(&updated, "an items update by id")?;
    let item = single_item(&updated, "an items update by id")?;
    ensure!(
        item.get("text") == Some(&json!(edited)),
        "the reply to updating item {id} should carry the updated item with text {edited:?}: {updated}"
    );

    let deleted = request(
        &ctx,
        &mut conn,
        json!({"type": "items", "collection": collection, "action": "delete", "id": id}),
    )
    .await?;
    ensure_success(&deleted, "an items delete by id")?;
    let data = deleted.get("/data").cloned().unwrap_or(Value::Null);
    ensure!(
        elements(&data).iter().any(|k| same_key(k, &id)),
        "the reply to deleting item {id} should return its key: {deleted}"
    );

    let gone = request(
        &ctx,
        &mut conn,
        json!({"type": "items", "collection": collection, "action": "read", "id": id}),
    )
    .await?;
    ensure_error(&gone, "items", "FORBIDDEN", "reading a deleted item")
}

async fn fires_events(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut subscriber = directus.connect("primary").await?;
    let uid = ctx.unique("watch");
    directus
        .subscribe(
            &mut subscriber,
            &collection,
            Some(&uid),
            json!({"event": "create"}),
        )
        .await?;
    let mut writer = directus.connect("primary").await?;
    let text = ctx.unique("from-socket");
    let reply = request(
        &ctx,
        &mut writer,
        json!({"type": "items", "collection": collection, "action": "create", "data": {"text": text}}),
    )
    .await?;
    ensure_success(&reply, "an items create")?;
    subscriber
        .expect(event_with_text("create", Some(&uid), &text), ctx.wait())
        .await
        .map_err(|e| e.context("after an items create on another socket"))?;
    Ok(())
}

async fn delete_without_selector(ctx: Ctx) -> CaseResult {
    let collection = ctx.directus().collection()?;
    let mut conn = ctx.directus().connect("primary").await?;
    let uid = ctx.unique("no-selector");
    let frame = json!({"type": "items", "collection": collection, "action": "delete", "uid": uid});
    conn.send_text_raw(&frame.to_string()).await?;
    let reply = conn
        .expect(json!({"type": "items", "uid": uid}), ctx.wait())
        .await?;
    ensure_error(
        &reply,
        "items",
        "INVALID_PAYLOAD",
        "an items delete without id, ids or query",
    )?;
    ensure_usable(&ctx, &mut conn, "an items delete without selector").await
}

async fn system_collection_refused(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect("primary").await?;
    let uid = ctx.unique("system");
    conn.send_json(
        &json!({"type": "items", "collection": SYSTEM_COLLECTION, "action": "read", "uid": uid}),
    )
    .await?;
    let reply = conn
        .expect(json!({"type": "items", "uid": uid}), ctx.wait())
        .await?;
    ensure_error(
        &reply,
        "items",
        "INVALID_COLLECTION",
        &format!("an items read on {SYSTEM_COLLECTION}"),
    )?;
    ensure_usable(&ctx, &mut conn, "an items request on a system collection").await
}
