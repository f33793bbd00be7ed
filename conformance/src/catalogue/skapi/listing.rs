//! The `get-ws-group` HTTP companion, when the target gives actuators for it: the connections of a group and
//! the groups of a service, each scoped to the caller's service.

use serde_json::{json, Value};

use super::case;
use super::group::{pair_in_group, Pair};
use super::support::{self, notice_about};
use crate::case::{sources, Case, CaseError, CaseResult, Level, Need, Reference};
use crate::ctx::Ctx;
use crate::ensure;
use crate::target::template::Vars;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "skapi.listing.group-users",
            Level::May,
            "get-ws-group lists the connections of a group as `<service>#<user id>` with their connection ids, and drops a closed one",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "{\"list\":[{\"uid\":\"<service>#<user_id>\",\"cid\":\"<conn id>\"}],\"endOfList\":true}",
            },
            &[
                Need::Credential("primary"),
                Need::Credential("secondary"),
                Need::Actuator("realtime_users"),
            ],
            |ctx| Box::pin(group_users(ctx)),
        ),
        case(
            "skapi.listing.groups",
            Level::May,
            "get-ws-group lists the groups of the caller's service as `<service>#<group>` with their member counts, and never another service's",
            Reference {
                source: sources::SKAPI_NOTES,
                quote: "groups `{\"list\":[{\"rid\":\"<service>#<group>\",\"cnt\":N}]}`",
            },
            &[
                Need::Credential("primary"),
                Need::Credential("secondary"),
                Need::Credential("other_tenant"),
                Need::Actuator("realtime_groups"),
            ],
            |ctx| Box::pin(groups(ctx)),
        ),
    ]
}

/// Calls actuator `name` as credential set `who`, checks the answer against `http/<kind>.json` and returns its list.
async fn listing(
    ctx: &Ctx,
    name: &str,
    kind: &str,
    who: &str,
    group: &str,
) -> Result<Vec<Value>, CaseError> {
    let mut vars = Vars::new();
    vars.insert("group".into(), json!(group));
    let response = ctx.actuate(name, Some(who), vars).await?;
    support::check_http_body(ctx, kind, &response.body)?;
    let list = response
        .body
        .get("list")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(list)
}

/// Fails unless `wanted` is among the listed entries.
fn listed(list: &[Value], wanted: &Value) -> CaseResult {
    ensure!(
        list.contains(wanted),
        "get-ws-group does not list {wanted}: {}",
        Value::Array(list.to_vec())
    );
    Ok(())
}

async fn group_users(ctx: Ctx) -> CaseResult {
    let Pair {
        group,
        mut alice,
        bob,
        alice_cid,
        bob_cid,
    } = pair_in_group(&ctx).await?;
    let service = alice.session.service.clone();
    let entry =
        |user_id: &str, cid: &str| json!({"uid": format!("{service}#{user_id}"), "cid": cid});
    let alice_entry = entry(&alice.session.user_id, &alice_cid);
    let bob_entry = entry(&bob.session.user_id, &bob_cid);
    let list = listing(&ctx, "realtime_users", "realtime-users", "primary", &group).await?;
    listed(&list, &alice_entry)?;
    listed(&list, &bob_entry)?;
    ensure!(
        list.len() == 2,
        "group {group:?} has two connections, get-ws-group lists {}: {}",
        list.len(),
        Value::Array(list.clone())
    );

    let bob_id = bob.session.user_id.clone();
    bob.conn.close().await;
    alice
        .expect(notice_about(&bob_id), ctx.wait())
        .await
        .map_err(|e| e.context("the USER_DISCONNECTED that marks the member's removal"))?;
    let list = listing(&ctx, "realtime_users", "realtime-users", "primary", &group).await?;
    ensure!(
        list == vec![alice_entry.clone()],
        "after {bob_entry} closed its connection, get-ws-group should list only {alice_entry}, it lists {}",
        Value::Array(list)
    );
    Ok(())
}

async fn groups(ctx: Ctx) -> CaseResult {
    // Bob stays connected (bound, not dropped) so that the group has two members.
    let Pair {
        group,
        alice,
        bob: _bob,
        ..
    } = pair_in_group(&ctx).await?;
    let mut carol = ctx.skapi().connect("other_tenant").await?;
    support::ensure_other_service(&alice, &carol)?;
    support::join(&ctx, &mut carol, &group).await?;
    let ours = json!({"rid": format!("{}#{group}", alice.session.service), "cnt": 2});
    let list = listing(
        &ctx,
        "realtime_groups",
        "realtime-groups",
        "primary",
        &group,
    )
    .await?;
    listed(&list, &ours)?;
    let theirs = json!({"rid": format!("{}#{group}", carol.session.service), "cnt": 1});
    let list = listing(
        &ctx,
        "realtime_groups",
        "realtime-groups",
        "other_tenant",
        &group,
    )
    .await?;
    listed(&list, &theirs)?;
    let leaked = list
        .iter()
        .find(|g| g.get("rid").and_then(Value::as_str) == ours.get("rid").and_then(Value::as_str));
    ensure!(
        leaked.is_none(),
        "get-ws-group called as a user of service {:?} lists a group of service {:?}: {}",
        carol.session.service,
        alice.session.service,
        leaked.cloned().unwrap_or_default()
    );
    Ok(())
}
