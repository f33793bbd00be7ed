//! Change events: create and update carry full items, delete carries keys only.

use serde_json::{json, Value};

use super::support::{
    create_message, elements, event_with_key, event_with_text, same_key, Created,
};
use crate::case::{sources, Case, CaseResult, Kind, Level, Need, Reference};
use crate::client::Frame;
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.events.create-full-item",
            profile: Profile::Directus,
            level: Level::Must,
            title: "Creating an item emits a create event whose data holds the full created item",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "When a change happens to an item in a collection with an active subscription, it will emit a message",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(create_full_item(ctx)),
        },
        Case {
            id: "directus.events.update-full-item",
            profile: Profile::Directus,
            level: Level::Must,
            title: "Updating one field of an item emits an update event whose data holds the full item, unchanged fields included",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "If the event is create or update , the data will contain the full item objects",
            },
            kind: Kind::Scenario,
            requires: &[
                Need::Credential("primary"),
                Need::Actuator("create_item"),
                Need::Actuator("update_item"),
            ],
            run: |ctx| Box::pin(update_full_item(ctx)),
        },
        Case {
            id: "directus.events.delete-ids-only",
            profile: Profile::Directus,
            level: Level::Must,
            title: "Deleting an item emits a delete event whose data is the deleted key, not the item",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "If the event is delete , just the id will be returned.",
            },
            kind: Kind::Scenario,
            requires: &[
                Need::Credential("primary"),
                Need::Actuator("create_item"),
                Need::Actuator("delete_item"),
            ],
            run: |ctx| Box::pin(delete_ids_only(ctx)),
        },
    ]
}

/// The item of `event` whose key is `created.id`; fails unless `data` is an array holding it.
fn item_of<'a>(event: &'a Frame, created: &Created) -> Result<&'a Value, crate::case::CaseError> {
    let Some(data) = event.get("/data") else {
        fail!(
            "the {} event carries no data: {event}",
            event.str("/event").unwrap_or("?")
        );
    };
    ensure!(
        data.is_array(),
        "the data of a collection subscription's event should be an array of items: {event}"
    );
    let found = elements(data)
        .into_iter()
        .find(|item| item.get("id").is_some_and(|id| same_key(id, &created.id)));
    match found {
        Some(item) => Ok(item),
        None => fail!(
            "the event's items hold none with key {} (the full item includes its key): {event}",
            created.id
        ),
    }
}

/// Fails unless `item` has every member of `expected` with an equal value.
fn ensure_full(item: &Value, expected: &Value, event: &Frame) -> CaseResult {
    let Some(expected) = expected.as_object() else {
        return Ok(());
    };
    for (field, value) in expected {
        let got = item.get(field);
        let equal = match (field.as_str(), got) {
            ("id", Some(got)) => same_key(got, value),
            (_, got) => got == Some(value),
        };
        ensure!(
            equal,
            "the event's item should be the full item; field {field:?} is {}, the item has {value}: {event}",
            got.map_or("missing".into(), Value::to_string)
        );
    }
    Ok(())
}

async fn subscribed(ctx: &Ctx, uid: &str) -> Result<crate::client::Conn, crate::case::CaseError> {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    directus
        .subscribe(&mut conn, &collection, Some(uid), json!({}))
        .await?;
    Ok(conn)
}

async fn create_full_item(ctx: Ctx) -> CaseResult {
    let uid = ctx.unique("creates");
    let mut conn = subscribed(&ctx, &uid).await?;
    let text = ctx.unique("full");
    let user = ctx.unique("author");
    let created = create_message(&ctx, &text, &user).await?;
    let event = conn
        .expect(event_with_text("create", Some(&uid), &text), ctx.wait())
        .await?;
    let item = item_of(&event, &created)?;
    let expected = json!({"id": created.id, "text": text, "user": user});
    ensure_full(item, &expected, &event)?;
    ensure_full(item, &created.item, &event)
}

async fn update_full_item(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let user = ctx.unique("author");
    let created = create_message(&ctx, &ctx.unique("before"), &user).await?;
    let uid = ctx.unique("updates");
    let mut conn = subscribed(&ctx, &uid).await?;
    let edited = ctx.unique("after");
    directus
        .update_item(&collection, &created.id, json!({"text": edited}))
        .await?;
    let event = conn
        .expect(event_with_text("update", Some(&uid), &edited), ctx.wait())
        .await?;
    let item = item_of(&event, &created)?;
    ensure_full(
        item,
        &json!({"id": created.id, "text": edited, "user": user}),
        &event,
    )
}

async fn delete_ids_only(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let created = create_message(&ctx, &ctx.unique("doomed"), "delete").await?;
    let uid = ctx.unique("deletes");
    let mut conn = subscribed(&ctx, &uid).await?;
    directus.delete_item(&collection, &created.id).await?;
    let event = conn
        .expect(
            event_with_key("delete", Some(&uid), &created.id),
            ctx.wait(),
        )
        .await?;
    let data = event.get("/data").cloned().unwrap_or(Value::Null);
    let objects = elements(&data).iter().any(|k| k.is_object());
    ensure!(
        !objects,
        "the delete event should carry just the id, it carries item objects: {event}"
    );
    ensure!(
        elements(&data).iter().any(|k| same_key(k, &created.id)),
        "the delete event does not name the deleted key {}: {event}",
        created.id
    );
    Ok(())
}
