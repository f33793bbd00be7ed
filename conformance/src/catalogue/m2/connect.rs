//! Connecting: the headers, the base58 subprotocol in both spellings and its echo, and the handshakes that must
//! be refused before the upgrade.

use serde_json::json;

use super::support::{
    ensure_data, ensure_usable, ensure_user, expect_refused, note, scenario, seed,
    subscribe_existing,
};
use crate::case::{Case, CaseError, CaseResult, Level, Need};
use crate::client::m2::{
    kv_id, subprotocol_value, Spelling, Via, API_KEY, ORGANIZATION, PROJECT, WORLD,
};
use crate::client::{Conn, ConnectError, Request};
use crate::ctx::Ctx;
use crate::ensure;

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "m2.connect.headers",
            Level::Must,
            "A handshake carrying x-api-key and x-m2-organization-id (with project and world) as HTTP headers is upgraded and the connection answers a subscribe",
            seed("x-m2-organization-idstringRequired"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(headers(ctx)),
        ),
        scenario(
            "m2.connect.project-and-world-optional",
            Level::Must,
            "A handshake without x-m2-world-id, and one without x-m2-project-id and x-m2-world-id, are accepted",
            seed("x-m2-project-idstringOptional"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(project_and_world_optional(ctx)),
        ),
        scenario(
            "m2.connect.subprotocol-echo",
            Level::Must,
            "A handshake carrying the headers as base58 in Sec-WebSocket-Protocol is accepted and the offered value echoed",
            note("The server must echo the offered subprotocol value in its 101 response"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(subprotocol_echo(ctx)),
        ),
        scenario(
            "m2.connect.subprotocol-id-names",
            Level::Must,
            "Headers passed in Sec-WebSocket-Protocol as base58 `name:value` lines with the -id names locate the user's store like HTTP headers",
            seed("Format for the string needs to be a list of headers split by \\n and key value split by : and then encoded into base58"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(subprotocol_locates(ctx, Spelling::Long)),
        ),
        scenario(
            "m2.connect.subprotocol-short-names",
            Level::Must,
            "Headers passed in Sec-WebSocket-Protocol with the document's short names (x-m2-organization, x-m2-project, x-m2-world) locate the user's store",
            seed("x-m2-organization:testOrg x-m2-project:testProj"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(subprotocol_locates(ctx, Spelling::Short)),
        ),
        scenario(
            "m2.connect.subprotocol-mixed-spellings",
            Level::Should,
            "A subprotocol header set mixing the -id names and the short names is accepted and locates the user's store",
            note("uses `x-m2-organization` / `x-m2-project`, not the `-id` names: accept both spellings"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(subprotocol_mixed_spellings(ctx)),
        ),
        scenario(
            "m2.connect.subprotocol-space-separated",
            Level::May,
            "A subprotocol whose pairs are separated by spaces, as the document's example is printed, is accepted and locates the user's store",
            seed("x-m2-organization:testOrg x-m2-project:testProj"),
            &[Need::Credential("primary"), Need::Actuator("kv_upsert")],
            |ctx| Box::pin(subprotocol_space_separated(ctx)),
        ),
        scenario(
            "m2.connect.short-names-as-headers",
            Level::Should,
            "HTTP headers spelled with the subprotocol example's short names do not stand for x-m2-organization-id: the handshake is refused",
            seed("x-m2-organization-idstringRequired"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(short_names_as_headers(ctx)),
        ),
        scenario(
            "m2.connect.subprotocol-without-key",
            Level::Should,
            "The document's subprotocol example as printed, organization and project without x-api-key, is refused before the upgrade",
            seed("you will need to parse all of your headers in through Sec-WebSocket-Protocol"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(subprotocol_without_key(ctx)),
        ),
        scenario(
            "m2.connect.bad-api-key",
            Level::Should,
            "A handshake without x-api-key, or with an unknown one, is refused before the upgrade with 400, 401 or 403",
            note("Missing/invalid credentials, or no organization → reject before the upgrade (HTTP 401/400)"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(bad_api_key(ctx)),
        ),
        scenario(
            "m2.connect.missing-organization",
            Level::Must,
            "A handshake without the required x-m2-organization-id is refused before the upgrade",
            seed("x-m2-organization-idstringRequired"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(missing_organization(ctx)),
        ),
        scenario(
            "m2.connect.foreign-organization",
            Level::Should,
            "A handshake whose API key does not belong to the organization named is refused before the upgrade",
            note("Data and subscriptions are scoped by organization (and project/world)."),
            &[Need::Credential("primary"), Need::Credential("other_tenant")],
            |ctx| Box::pin(foreign_organization(ctx)),
        ),
        scenario(
            "m2.connect.world-without-project",
            Level::Should,
            "A world id without a project id is refused before the upgrade, as HTTP headers and in the subprotocol in either spelling",
            note("If a world (or launch-context) id is given, the project id must be given too"),
            &[Need::Credential("primary")],
            |ctx| Box::pin(world_without_project(ctx)),
        ),
    ]
}

async fn headers(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.m2().connect("primary").await?;
    ensure_usable(&ctx, &mut conn, "the upgrade").await
}

async fn project_and_world_optional(ctx: Ctx) -> CaseResult {
    let m2 = ctx.m2();
    let full = m2.handshake("primary").await?;
    for (what, handshake) in [
        ("without x-m2-world-id", full.clone().without(WORLD)),
        (
            "without x-m2-project-id and x-m2-world-id",
            full.without(WORLD).without(PROJECT),
        ),
    ] {
        let mut conn = m2
            .open(handshake)
            .await?
            .map_err(|e| CaseError::fail(format!("a handshake {what} was refused: {e}")))?;
        ensure_usable(&ctx, &mut conn, &format!("an upgrade {what}")).await?;
        conn.close().await;
    }
    Ok(())
}

async fn subprotocol_echo(ctx: Ctx) -> CaseResult {
    // The connector fails the connection unless the 101 selects exactly the offered value.
    for spelling in [Spelling::Short, Spelling::Long] {
        let conn = ctx
            .m2()
            .connect_via("primary", Via::Subprotocol(spelling))
            .await
            .map_err(|e| e.context(format!("{spelling:?} header names")))?;
        ensure!(
            conn.handshake().subprotocol.is_some(),
            "the 101 to the {spelling:?} spelling selects no subprotocol"
        );
        conn.close().await;
    }
    Ok(())
}

async fn subprotocol_locates(ctx: Ctx, spelling: Spelling) -> CaseResult {
    let mut conn = ctx
        .m2()
        .connect_via("primary", Via::Subprotocol(spelling))
        .await?;
    ensure_locates(
        &ctx,
        &mut conn,
        &format!("a subprotocol with {spelling:?} names"),
    )
    .await
}

/// The credential's header lines, `name:value`, with the names `spell` gives.
async fn header_lines(
    ctx: &Ctx,
    spell: impl Fn(&str) -> String,
) -> Result<Vec<(String, String)>, CaseError> {
    let handshake = ctx.m2().handshake("primary").await?;
    Ok(handshake
        .headers
        .iter()
        .map(|(name, value)| (spell(name), value.clone()))
        .collect())
}

/// Opens a connection offering `offered` as the subprotocol; the 101 must echo it.
async fn open_offering(ctx: &Ctx, offered: &str) -> Result<Result<Conn, ConnectError>, CaseError> {
    let who = ctx.m2().handshake("primary").await?.who;
    let request = Request::new(ctx.ws_url()?).subprotocol(offered);
    match ctx.open(&who, request).await {
        Ok(conn) => {
            let echoed = conn.handshake().subprotocol.clone();
            ensure!(
                echoed.as_deref() == Some(offered),
                "the server selected subprotocol {echoed:?}, not the offered value {offered:?}"
            );
            Ok(Ok(conn))
        }
        Err(refused) => Ok(Err(refused)),
    }
}

/// Writes a value over HTTP, then subscribes over `conn`: the reply must carry it, so the subprotocol's headers
/// located the user's World store.
async fn ensure_locates(ctx: &Ctx, conn: &mut Conn, what: &str) -> CaseResult {
    let key = ctx.unique("located");
    let data = json!({"via": what, "key": key});
    ctx.m2()
        .kv_upsert("primary", "World", "kvstoreClient", &key, data.clone())
        .await?;
    let id = kv_id("World", "kvstoreClient", &key);
    let reply = subscribe_existing(ctx, conn, "kvStore", &id)
        .await
        .map_err(|e| {
            e.context(format!(
                "the headers of {what} must locate the user's World store"
            ))
        })?;
    ensure_user(ctx, &reply, "primary").await?;
    ensure_data(&reply, &data, "the value written over HTTP")
}

async fn subprotocol_mixed_spellings(ctx: Ctx) -> CaseResult {
    // The organization keeps its -id name, project and world take the short one.
    let lines = header_lines(&ctx, |name| match name {
        ORGANIZATION => name.to_owned(),
        other => short_name(other).to_owned(),
    })
    .await?;
    let shown: Vec<String> = lines.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    ctx.note(format!("subprotocol decodes to {:?}", shown.join("\\n")));
    let mut conn = open_offering(&ctx, &subprotocol_value(&lines))
        .await?
        .map_err(|e| {
            CaseError::fail(format!(
                "a subprotocol mixing the spellings was refused: {e}"
            ))
        })?;
    ensure_locates(&ctx, &mut conn, "a subprotocol mixing the spellings").await
}

async fn subprotocol_space_separated(ctx: Ctx) -> CaseResult {
    let lines = header_lines(&ctx, |name| short_name(name).to_owned()).await?;
    let text = lines
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ");
    ctx.note(format!("subprotocol decodes to {text:?}"));
    let offered = bs58::encode(text.as_bytes()).into_string();
    match open_offering(&ctx, &offered).await? {
        Ok(mut conn) => ensure_locates(&ctx, &mut conn, "a space-separated subprotocol").await,
        Err(refused) if refused.status().is_some_and(|s| (400..500).contains(&s)) => {
            Err(CaseError::unsupported(format!(
                "the server takes only newline-separated subprotocol lines: {refused}"
            )))
        }
        Err(other) => Err(other.into()),
    }
}

async fn short_names_as_headers(ctx: Ctx) -> CaseResult {
    let handshake = ctx.m2().handshake("primary").await?;
    let mut renamed = handshake.clone();
    renamed.headers = handshake
        .headers
        .iter()
        .map(|(name, value)| (short_name(name).to_owned(), value.clone()))
        .collect();
    expect_refused(
        &ctx,
        renamed,
        "with x-m2-organization, x-m2-project and x-m2-world HTTP headers instead of the -id names",
    )
    .await
}

/// `x-m2-organization-id` → `x-m2-organization`; other names unchanged.
fn short_name(name: &str) -> &str {
    match name {
        ORGANIZATION | PROJECT | WORLD => name.trim_end_matches("-id"),
        other => other,
    }
}

async fn subprotocol_without_key(ctx: Ctx) -> CaseResult {
    let printed = ctx
        .m2()
        .handshake("primary")
        .await?
        .without(API_KEY)
        .without(WORLD)
        .via(Via::Subprotocol(Spelling::Short));
    expect_refused(
        &ctx,
        printed,
        "whose subprotocol holds only x-m2-organization and x-m2-project",
    )
    .await
}

async fn bad_api_key(ctx: Ctx) -> CaseResult {
    let handshake = ctx.m2().handshake("primary").await?;
    let unknown = ctx.unique("no-such-key");
    expect_refused(
        &ctx,
        handshake.clone().without(API_KEY),
        "without x-api-key",
    )
    .await?;
    expect_refused(
        &ctx,
        handshake.with(API_KEY, &unknown),
        &format!("with the unknown x-api-key {unknown:?}"),
    )
    .await
}

async fn missing_organization(ctx: Ctx) -> CaseResult {
    let handshake = ctx.m2().handshake("primary").await?.without(ORGANIZATION);
    expect_refused(&ctx, handshake, "without x-m2-organization-id").await
}

async fn foreign_organization(ctx: Ctx) -> CaseResult {
    let other = ctx.credential("other_tenant").await?;
    let Some(organization) = other.get("organization") else {
        return Err(CaseError::skip(
            "m2 credential set `other_tenant` has no `organization`",
        ));
    };
    let own = ctx.credential("primary").await?;
    if own.get("organization") == Some(organization) {
        return Err(CaseError::harness(format!(
            "m2 credential sets `primary` and `other_tenant` name the same organization {organization:?}"
        )));
    }
    let handshake = ctx
        .m2()
        .handshake("primary")
        .await?
        .with(ORGANIZATION, organization)
        .without(PROJECT)
        .without(WORLD);
    expect_refused(
        &ctx,
        handshake,
        &format!("with primary's API key and organization {organization:?} of another tenant"),
    )
    .await
}

async fn world_without_project(ctx: Ctx) -> CaseResult {
    let handshake = ctx.m2().handshake("primary").await?;
    if !handshake.headers.iter().any(|(name, _)| name == WORLD) {
        return Err(CaseError::skip(
            "m2 credential set `primary` names no world",
        ));
    }
    let without_project = handshake.without(PROJECT);
    for (via, what) in [
        (
            Via::Headers,
            "with x-m2-world-id and no x-m2-project-id headers",
        ),
        (
            Via::Subprotocol(Spelling::Long),
            "whose subprotocol has x-m2-world-id and no x-m2-project-id",
        ),
        (
            Via::Subprotocol(Spelling::Short),
            "whose subprotocol has x-m2-world and no x-m2-project",
        ),
    ] {
        expect_refused(&ctx, without_project.clone().via(via), what).await?;
    }
    Ok(())
}
