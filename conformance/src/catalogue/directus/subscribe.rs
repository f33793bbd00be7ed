//! Subscribing: the init confirmation, the `event` filter, `query.fields` and `query.filter`, single-item
//! subscriptions, and uids.

use rand::Rng;
use serde_json::{json, Value};

use super::support::{
    create_message, elements, ensure_none, event_with_key, event_with_text, gather, names_key,
    next_reply, same_key,
};
use crate::case::{sources, Case, CaseResult, Kind, Level, Need, Reference};
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
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
            id: "directus.subscribe.init-bare-with-event-filter",
            profile: Profile::Directus,
            level: Level::Should,
            title: "The init confirmation of a subscribe with an event filter carries no data",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "and sends the bare init when one is",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(init_bare_with_event_filter(ctx)),
        },
        Case {
            id: "directus.subscribe.init-carries-data",
            profile: Profile::Directus,
            level: Level::Should,
            title: "The init confirmation of a subscribe without event filter carries the current items matching the query",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "the real server adds `data` (the current items matching the query, default limit 100, plus `meta` when the query asks) when no `event` filter is given",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(init_carries_data(ctx)),
        },
        Case {
            id: "directus.subscribe.event-filter",
            profile: Profile::Directus,
            level: Level::Must,
            title: "A subscription with an event argument receives only events of that kind",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "Using the optional event argument you can filter for specific create",
            },
            kind: Kind::Scenario,
            requires: &[
                Need::Credential("primary"),
                Need::Actuator("create_item"),
                Need::Actuator("update_item"),
                Need::Actuator("delete_item"),
            ],
            run: |ctx| Box::pin(event_filter(ctx)),
        },
        Case {
            id: "directus.subscribe.query-fields",
            profile: Profile::Directus,
            level: Level::Must,
            title: "With query.fields, create and update events carry only the fields asked for",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "If you only want to return specific fields on subscription events, add the query.fields property when initializing the subscription",
            },
            kind: Kind::Scenario,
            requires: &[
                Need::Credential("primary"),
                Need::Actuator("create_item"),
                Need::Actuator("update_item"),
            ],
            run: |ctx| Box::pin(query_fields(ctx)),
        },
        Case {
            id: "directus.subscribe.query-filter",
            profile: Profile::Directus,
            level: Level::Should,
            title: "With query.filter, a change whose item does not match the filter is not sent at all",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "`query.filter` also applies: an event whose items do not match is not sent at all [run].",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(query_filter(ctx)),
        },
        Case {
            id: "directus.subscribe.single-item",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A subscription to one item gets that item as an object in init and update, its bare key on delete, and nothing about other items",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "`item`: subscribe to one item; then `data` is an object (init/update) or a bare id (delete) [run].",
            },
            kind: Kind::Scenario,
            requires: &[
                Need::Credential("primary"),
                Need::Actuator("create_item"),
                Need::Actuator("update_item"),
                Need::Actuator("delete_item"),
            ],
            run: |ctx| Box::pin(single_item(ctx)),
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
            id: "directus.subscribe.several-at-once",
            profile: Profile::Directus,
            level: Level::Must,
            title: "Several subscriptions on one socket each receive the change, once, tagged with their own uid",
            reference: Reference {
                source: sources::DIRECTUS_SEED,
                quote: "You can have multiple ongoing CRUD operations and subscriptions at a time.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(several_at_once(ctx)),
        },
        Case {
            id: "directus.subscribe.uid-on-every-message",
            profile: Profile::Directus,
            level: Level::Should,
            title: "The uid of a subscription is on its init, create, update and delete events and on the unsubscribe acknowledgement",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "`uid` is echoed on every related message.",
            },
            kind: Kind::Scenario,
            requires: &[
                Need::Credential("primary"),
                Need::Actuator("create_item"),
                Need::Actuator("update_item"),
                Need::Actuator("delete_item"),
            ],
            run: |ctx| Box::pin(uid_on_every_message(ctx)),
        },
        Case {
            id: "directus.subscribe.numeric-uid-as-string",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A numeric subscription uid comes back as a string on init and on events",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "In `subscription` messages a numeric uid comes back as a string (`99` → `\"99\"`) [run].",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(numeric_uid_as_string(ctx)),
        },
        Case {
            id: "directus.subscribe.resubscribe-replaces",
            profile: Profile::Directus,
            level: Level::Should,
            title: "Subscribing again with a uid in use replaces that subscription: one event per change, shaped by the new query",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Re-subscribing with an existing uid replaces that subscription.",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary"), Need::Actuator("create_item")],
            run: |ctx| Box::pin(resubscribe_replaces(ctx)),
        },
    ]
}

async fn init_confirmation(ctx: Ctx) -> CaseResult {
    let collection = ctx.directus().collection()?;
    let mut conn = ctx.directus().connect("primary").await?;
    conn.send_json(&json!({"type": "subscribe", "collection": collection}))
        .await?;
    let reply = next_reply(&ctx, &mut conn).await?;
    ensure!(
        reply.str("/type") == Some("subscription") && reply.str("/event") == Some("init"),
        "expected {{\"type\":\"subscription\",\"event\":\"init\"}} in reply to subscribe, got {reply}"
    );
    Ok(())
}

async fn init_bare_with_event_filter(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let uid = ctx.unique("bare");
    let init = directus
        .subscribe(
            &mut conn,
            &collection,
            Some(&uid),
            json!({"event": "create"}),
        )
        .await?;
    ensure!(
        init.get("/data").is_none() && init.get("/meta").is_none(),
        "the init of a subscribe with an event filter carries data: {init}"
    );
    Ok(())
}

async fn init_carries_data(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let text = ctx.unique("present");
    let created = create_message(&ctx, &text, "init").await?;
    let mut conn = directus.connect("primary").await?;
    let uid = ctx.unique("with-data");
    let query = json!({"query": {"filter": {"text": {"_eq": text}}}});
    let init = directus
        .subscribe(&mut conn, &collection, Some(&uid), query)
        .await?;
    let Some(data) = init.get("/data") else {
        fail!("the init of a subscribe without event filter carries no data: {init}");
    };
    ensure!(
        data.is_array(),
        "the init data of a collection subscription is not an array of items: {init}"
    );
    let found = elements(data)
        .into_iter()
        .find(|item| item.get("id").is_some_and(|id| same_key(id, &created.id)));
    let Some(item) = found else {
        fail!(
            "the init data does not hold the item {} created before the subscribe (text {text:?}): {init}",
            created.id
        );
    };
    ensure!(
        item.get("text") == Some(&json!(text)),
        "the item in the init data does not carry its text {text:?}: {item}"
    );
    Ok(())
}

async fn event_filter(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let [creates, updates, deletes] = ["creates", "updates", "deletes"].map(|p| ctx.unique(p));
    for (uid, event) in [
        (&creates, "create"),
        (&updates, "update"),
        (&deletes, "delete"),
    ] {
        directus
            .subscribe(&mut conn, &collection, Some(uid), json!({"event": event}))
            .await?;
    }
    let text = ctx.unique("filtered");
    let edited = ctx.unique("filtered-edited");
    let created = create_message(&ctx, &text, "filter").await?;
    directus
        .update_item(&collection, &created.id, json!({"text": edited}))
        .await?;
    directus.delete_item(&collection, &created.id).await?;
    let gathered = gather(
        &ctx,
        &mut conn,
        &[
            event_with_text("create", Some(&creates), &text),
            event_with_text("update", Some(&updates), &edited),
            event_with_key("delete", Some(&deletes), &created.id),
        ],
    )
    .await?;
    for (uid, event) in [
        (&creates, "create"),
        (&updates, "update"),
        (&deletes, "delete"),
    ] {
        let (uid, event) = (uid.clone(), event.to_owned());
        let other = Pattern::when("", move |f| {
            f.str("/type") == Some("subscription")
                && f.str("/uid") == Some(uid.as_str())
                && !matches!(f.str("/event"), Some("init") | Some("unsubscribe"))
                && f.str("/event") != Some(event.as_str())
        });
        ensure_none(
            &gathered,
            &other,
            "a subscription filtered to one event received another kind",
        )?;
    }
    Ok(())
}

/// Fails unless every item of the event has exactly the members in `fields`.
fn ensure_only_fields(event: &crate::client::Frame, fields: &[&str]) -> CaseResult {
    for item in event.get("/data").map(elements).unwrap_or_default() {
        let Some(members) = item.as_object() else {
            fail!("the event's data holds a non-object where items belong: {event}");
        };
        let extra: Vec<&String> = members
            .keys()
            .filter(|k| !fields.contains(&k.as_str()))
            .collect();
        ensure!(
            extra.is_empty(),
            "query.fields {fields:?} asked for only those fields, the event's item also carries {extra:?}: {event}"
        );
    }
    Ok(())
}

async fn query_fields(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let uid = ctx.unique("fields");
    directus
        .subscribe(
            &mut conn,
            &collection,
            Some(&uid),
            json!({"query": {"fields": ["text"]}}),
        )
        .await?;
    let text = ctx.unique("only-text");
    let created = create_message(&ctx, &text, "hidden-user").await?;
    let create = conn
        .expect(event_with_text("create", Some(&uid), &text), ctx.wait())
        .await?;
    ensure_only_fields(&create, &["text"])?;
    let edited = ctx.unique("only-text-edited");
    directus
        .update_item(&collection, &created.id, json!({"text": edited}))
        .await?;
    let update = conn
        .expect(event_with_text("update", Some(&uid), &edited), ctx.wait())
        .await?;
    ensure_only_fields(&update, &["text"])
}

async fn query_filter(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let uid = ctx.unique("filter");
    let wanted_user = ctx.unique("wanted");
    directus
        .subscribe(
            &mut conn,
            &collection,
            Some(&uid),
            json!({"event": "create", "query": {"filter": {"user": {"_eq": wanted_user}}}}),
        )
        .await?;
    let skipped = ctx.unique("not-matching");
    let matching = ctx.unique("matching");
    create_message(&ctx, &skipped, &ctx.unique("other")).await?;
    create_message(&ctx, &matching, &wanted_user).await?;
    let gathered = gather(
        &ctx,
        &mut conn,
        &[event_with_text("create", Some(&uid), &matching)],
    )
    .await?;
    let leaked = Pattern::when("", move |f| {
        f.str("/type") == Some("subscription") && f.text().is_some_and(|t| t.contains(&skipped))
    });
    ensure_none(
        &gathered,
        &leaked,
        "an item the subscription's query.filter excludes was sent",
    )
}

async fn single_item(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let watched = create_message(&ctx, &ctx.unique("watched"), "item").await?;
    let other = create_message(&ctx, &ctx.unique("other"), "item").await?;
    let mut conn = directus.connect("primary").await?;
    let uid = ctx.unique("one");
    let init = directus
        .subscribe(
            &mut conn,
            &collection,
            Some(&uid),
            json!({"item": watched.id}),
        )
        .await?;
    match init.get("/data") {
        Some(item @ Value::Object(_))
            if item.get("id").is_some_and(|id| same_key(id, &watched.id)) => {}
        _ => fail!(
            "the init of a subscription to item {} should carry that item as an object: {init}",
            watched.id
        ),
    }
    let other_text = ctx.unique("other-edited");
    directus
        .update_item(&collection, &other.id, json!({"text": other_text}))
        .await?;
    let watched_text = ctx.unique("watched-edited");
    directus
        .update_item(&collection, &watched.id, json!({"text": watched_text}))
        .await?;
    let gathered = gather(
        &ctx,
        &mut conn,
        &[event_with_text("update", Some(&uid), &watched_text)],
    )
    .await?;
    let about_other = Pattern::when("", move |f| {
        f.text().is_some_and(|t| t.contains(&other_text))
    });
    ensure_none(
        &gathered,
        &about_other,
        "a subscription to one item received a change of another item",
    )?;
    if let Some(update) = gathered.first(&event_with_text("update", Some(&uid), &watched_text)) {
        ensure!(
            update.get("/data").is_some_and(Value::is_object),
            "the update event of a single-item subscription should carry the item as an object: {update}"
        );
    }
    directus.delete_item(&collection, &watched.id).await?;
    let delete = conn
        .expect(
            event_with_key("delete", Some(&uid), &watched.id),
            ctx.wait(),
        )
        .await?;
    ensure!(
        delete
            .get("/data")
            .is_some_and(|d| same_key(d, &watched.id)),
        "the delete event of a single-item subscription should carry the bare key {}: {delete}",
        watched.id
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
            Pattern::when(format!("a `create` event for the item {text:?}"), {
                let text = text.clone();
                move |f| {
                    is_event_any_uid(f, "create") && f.text().is_some_and(|t| t.contains(&text))
                }
            }),
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

async fn several_at_once(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let [first, second] = ["first", "second"].map(|p| ctx.unique(p));
    directus
        .subscribe(&mut conn, &collection, Some(&first), json!({}))
        .await?;
    directus
        .subscribe(
            &mut conn,
            &collection,
            Some(&second),
            json!({"event": "create"}),
        )
        .await?;
    let text = ctx.unique("shared");
    create_message(&ctx, &text, "several").await?;
    let to_first = event_with_text("create", Some(&first), &text);
    let to_second = event_with_text("create", Some(&second), &text);
    let gathered = gather(
        &ctx,
        &mut conn,
        &[
            event_with_text("create", Some(&first), &text),
            event_with_text("create", Some(&second), &text),
        ],
    )
    .await?;
    for (uid, pattern) in [(&first, &to_first), (&second, &to_second)] {
        let count = gathered.count(pattern);
        ensure!(
            count == 1,
            "one create reached subscription {uid:?} {count} times; each subscription gets each change once"
        );
    }
    Ok(())
}

async fn uid_on_every_message(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let uid = ctx.unique("every");
    directus
        .subscribe(&mut conn, &collection, Some(&uid), json!({}))
        .await?;
    let text = ctx.unique("tagged");
    let created = create_message(&ctx, &text, "uid").await?;
    expect_tagged(&ctx, &mut conn, "create", &uid, move |f| {
        f.text().is_some_and(|t| t.contains(&text))
    })
    .await?;
    let edited = ctx.unique("tagged-edited");
    directus
        .update_item(&collection, &created.id, json!({"text": edited}))
        .await?;
    expect_tagged(&ctx, &mut conn, "update", &uid, move |f| {
        f.text().is_some_and(|t| t.contains(&edited))
    })
    .await?;
    directus.delete_item(&collection, &created.id).await?;
    let key = created.id.clone();
    expect_tagged(&ctx, &mut conn, "delete", &uid, move |f| names_key(f, &key)).await?;
    conn.send_json(&json!({"type": "unsubscribe", "uid": uid}))
        .await?;
    expect_tagged(&ctx, &mut conn, "unsubscribe", &uid, |_| true).await
}

/// Waits for the `event` message about the case's change (`about`) and fails unless it carries `uid`.
async fn expect_tagged(
    ctx: &Ctx,
    conn: &mut crate::client::Conn,
    event: &str,
    uid: &str,
    about: impl Fn(&crate::client::Frame) -> bool + Send + Sync + 'static,
) -> CaseResult {
    let wanted = event.to_owned();
    let pattern = Pattern::when(format!("a `{event}` subscription message"), move |f| {
        f.str("/type") == Some("subscription")
            && f.str("/event") == Some(wanted.as_str())
            && about(f)
    });
    let frame = conn.expect(pattern, ctx.wait()).await?;
    ensure!(
        frame.str("/uid") == Some(uid),
        "the `{event}` message carries uid {}, the subscription's uid is {uid:?}: {frame}",
        frame.get("/uid").map_or("none".into(), Value::to_string)
    );
    Ok(())
}

async fn numeric_uid_as_string(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let number = ctx.with_rng(|rng| rng.random_range(1..1_000_000_000u64));
    let as_text = number.to_string();
    conn.send_json(
        &json!({"type": "subscribe", "collection": collection, "event": "create", "uid": number}),
    )
    .await?;
    let init = conn
        .expect(json!({"type": "subscription", "event": "init"}), ctx.wait())
        .await?;
    ensure!(
        init.get("/uid") == Some(&json!(as_text)),
        "the init of a subscribe with uid {number} should carry uid \"{number}\" (a string), got {}",
        init.get("/uid").map_or("none".into(), Value::to_string)
    );
    let text = ctx.unique("numeric");
    create_message(&ctx, &text, "numeric").await?;
    let event = conn
        .expect(
            Pattern::when(format!("a `create` event for the item {text:?}"), {
                let text = text.clone();
                move |f| {
                    is_event_any_uid(f, "create") && f.text().is_some_and(|t| t.contains(&text))
                }
            }),
            ctx.wait(),
        )
        .await?;
    ensure!(
        event.get("/uid") == Some(&json!(as_text)),
        "the create event of a subscription with uid {number} should carry uid \"{number}\" (a string), got {}",
        event.get("/uid").map_or("none".into(), Value::to_string)
    );
    Ok(())
}

fn is_event_any_uid(frame: &crate::client::Frame, event: &str) -> bool {
    frame.str("/type") == Some("subscription") && frame.str("/event") == Some(event)
}

async fn resubscribe_replaces(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.connect("primary").await?;
    let uid = ctx.unique("again");
    directus
        .subscribe(
            &mut conn,
            &collection,
            Some(&uid),
            json!({"event": "create"}),
        )
        .await?;
    directus
        .subscribe(
            &mut conn,
            &collection,
            Some(&uid),
            json!({"event": "create", "query": {"fields": ["id", "text"]}}),
        )
        .await?;
    let text = ctx.unique("once");
    create_message(&ctx, &text, "replaced").await?;
    let ours = event_with_text("create", Some(&uid), &text);
    let gathered = gather(
        &ctx,
        &mut conn,
        &[event_with_text("create", Some(&uid), &text)],
    )
    .await?;
    let count = gathered.count(&ours);
    ensure!(
        count == 1,
        "one change reached the re-subscribed uid {uid:?} {count} times; the second subscribe should replace the first"
    );
    if let Some(event) = gathered.first(&ours) {
        let shaped = event
            .get("/data")
            .map(elements)
            .unwrap_or_default()
            .iter()
            .all(|item| item.get("user").is_none());
        ensure!(
            shaped,
            "the event follows the first subscription's query, not the replacing one's (fields id, text): {event}"
        );
    }
    Ok(())
}
