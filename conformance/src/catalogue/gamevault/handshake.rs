//! The socket secret: which handshakes are let into `/`, in which header, where the secret comes from, and what
//! a refused socket may see; and activities switched off.

use serde_json::{json, Value};

use crate::case::{sources, Case, CaseError, CaseResult, Level, Need, Reference};
use crate::client::gamevault::SioConn;
use crate::client::sio::SocketType;
use crate::client::Pattern;
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::target::template::Vars;
use crate::{ensure, fail};

use super::session::Session;
use super::support::{
    activity_of_socket, activity_with_game, expect_refusal, first_arg, game_id, scenario,
    socket_kind,
};

/// The seed's sentence on the secret.
const SECRET_RULE: &str = "This secret must be included in the headers (X-Socket-Secret) of every subsequent Socket.IO Handshake request to the server.";

pub(super) fn cases() -> Vec<Case> {
    vec![
        scenario(
            "gamevault.handshake.secret-required",
            Level::Must,
            "A Socket.IO handshake without the socket secret is refused",
            Reference {
                source: sources::GAMEVAULT_SEED,
                quote: SECRET_RULE,
            },
            &[],
            |ctx| Box::pin(secret_required(ctx)),
        ),
        scenario(
            "gamevault.handshake.wrong-secret",
            Level::Must,
            "A Socket.IO handshake whose secret is no user's is refused",
            Reference {
                source: sources::GAMEVAULT_SEED,
                quote: SECRET_RULE,
            },
            &[],
            |ctx| Box::pin(wrong_secret(ctx)),
        ),
        scenario(
            "gamevault.handshake.secret-not-in-auth-payload",
            Level::Must,
            "A secret sent in the CONNECT auth payload instead of the handshake headers does not let the socket in",
            Reference {
                source: sources::GAMEVAULT_SEED,
                quote: "This secret must be included in the headers (X-Socket-Secret)",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(secret_not_in_auth_payload(ctx)),
        ),
        scenario(
            "gamevault.handshake.refused-socket-isolated",
            Level::Must,
            "A socket without a valid secret receives no user's activity and cannot report one",
            Reference {
                source: sources::GAMEVAULT_SEED,
                quote: SECRET_RULE,
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(refused_socket_isolated(ctx)),
        ),
        scenario(
            "gamevault.handshake.dialect-headers",
            Level::Must,
            "The secret is accepted in every header the target declares (`X-Socket-Secret`, `X-Api-Key`)",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "Both header names should be configurable on both sides.",
            },
            &[Need::Credential("primary")],
            |ctx| Box::pin(dialect_headers(ctx)),
        ),
        scenario(
            "gamevault.handshake.secret-from-users-me",
            Level::Must,
            "The socket secret retrieved at /api/users/me opens a socket whose activities carry that user's id",
            Reference {
                source: sources::GAMEVAULT_SEED,
                quote: "Each user is assigned a randomly generated Socket Secret that they can retrieve at /api/users/me.",
            },
            &[Need::Credential("primary"), Need::Actuator("login")],
            |ctx| Box::pin(secret_from_users_me(ctx)),
        ),
        scenario(
            "gamevault.handshake.activities-disabled",
            Level::May,
            "With activities disabled, /socket.io/ answers HTTP 404 and upgrades nothing",
            Reference {
                source: sources::GAMEVAULT_NOTES,
                quote: "`SERVER_ONLINE_ACTIVITIES_DISABLED=true` → no Socket.IO server at all: `/socket.io/` answers HTTP 404, no upgrade.",
            },
            &[
                Need::Credential("primary"),
                Need::Parameter("activities_disabled"),
            ],
            |ctx| Box::pin(activities_disabled(ctx)),
        ),
    ]
}

async fn secret_required(ctx: Ctx) -> CaseResult {
    let header = ctx.gamevault().secret_header()?;
    let request = ctx.gamevault().request()?;
    expect_refusal(
        &ctx,
        "anonymous",
        request,
        None,
        &format!("a handshake without {header}"),
    )
    .await
    .map(|refusal| ctx.note(format!("refused: {refusal}")))
}

async fn wrong_secret(ctx: Ctx) -> CaseResult {
    let header = ctx.gamevault().secret_header()?;
    let secret = ctx.unique("not-a-secret");
    let request = ctx.gamevault().request()?.header(&header, &secret);
    expect_refusal(
        &ctx,
        "stranger",
        request,
        None,
        &format!("a handshake with {header}: {secret}, which is no user's secret"),
    )
    .await
    .map(|refusal| ctx.note(format!("refused: {refusal}")))
}

async fn secret_not_in_auth_payload(ctx: Ctx) -> CaseResult {
    let secret = ctx
        .credential("primary")
        .await?
        .get("secret")
        .map(str::to_owned)
        .ok_or_else(|| CaseError::skip("gamevault credential set `primary` has no `secret`"))?;
    let auth = json!({
        "token": secret,
        "secret": secret,
        "socket_secret": secret,
        "api_key": secret,
        "X-Socket-Secret": secret,
        "X-Api-Key": secret,
    });
    expect_refusal(
        &ctx,
        "anonymous",
        ctx.gamevault().request()?,
        Some(auth),
        "a handshake without the header, the secret in the CONNECT auth payload",
    )
    .await
    .map(|refusal| ctx.note(format!("refused: {refusal}")))
}

async fn refused_socket_isolated(ctx: Ctx) -> CaseResult {
    let gamevault = ctx.gamevault();
    let mut anonymous = match gamevault.open("anonymous", gamevault.request()?).await? {
        Ok(conn) => conn,
        Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {
            ctx.note(format!(
                "the anonymous upgrade was refused ({e}): no socket to leak to"
            ));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    // Whatever the answer to CONNECT (gamevault.handshake.secret-required judges it), nothing may flow.
    let reply = anonymous.connect_namespace(None, ctx.wait()).await?;
    anonymous.note(format!("CONNECT was answered {reply}"));
    let mut alice = Session::open(&ctx, "primary").await?;
    let game = game_id(&ctx);
    alice
        .set_activity(&ctx, json!({"state": "PLAYING", "game_id": game}))
        .await?;
    silent_or_closed(&mut anonymous, activity_with_game(game), &ctx)
        .await
        .map_err(|e| {
            e.context(format!(
                "a socket without a secret must not see {}'s activity",
                alice.conn.label()
            ))
        })?;
    let spoofed = game_id(&ctx);
    if anonymous.closed().is_none() {
        // A closed connection cannot report anything; a send that fails because it closed meanwhile is fine.
        let sent = anonymous
            .emit(
                "set-activity",
                &[json!({"state": "PLAYING", "game_id": spoofed})],
            )
            .await;
        if let Err(e) = sent {
            anonymous.note(format!("set-activity not sent: {e}"));
        }
    }
    alice
        .conn
        .expect_silence_of(activity_with_game(spoofed), ctx.silence())
        .await
        .map_err(|e| {
            e.context(format!(
                "a socket without a secret reported game {spoofed}, and it was broadcast"
            ))
        })?;
    Ok(())
}

/// No frame matching `pattern` arrives within the silence window, or the connection is closed.
async fn silent_or_closed(conn: &mut SioConn, pattern: Pattern, ctx: &Ctx) -> CaseResult {
    if conn.closed().is_some() {
        return Ok(());
    }
    match conn.expect_silence_of(pattern, ctx.silence()).await {
        Err(_) if conn.closed().is_some() => Ok(()),
        other => other,
    }
}

/// The header names the target declares: `secret_headers` (a list), else `secret_header`, else the seed's.
fn declared_headers(ctx: &Ctx) -> Result<Vec<String>, CaseError> {
    match ctx.parameter("secret_headers") {
        Ok(Value::Array(names)) => names
            .iter()
            .map(|n| {
                n.as_str().map(str::to_owned).ok_or_else(|| {
                    CaseError::harness(format!(
                        "parameter `secret_headers` must list header names, holds {n}"
                    ))
                })
            })
            .collect(),
        Ok(other) => Err(CaseError::harness(format!(
            "parameter `secret_headers` must be a list of header names, is {other}"
        ))),
        Err(CaseError::Skip(_)) => Ok(vec![ctx.gamevault().secret_header()?]),
        Err(e) => Err(e),
    }
}

async fn dialect_headers(ctx: Ctx) -> CaseResult {
    let credential = ctx.credential("primary").await?;
    let secret = credential
        .get("secret")
        .ok_or_else(|| CaseError::skip("gamevault credential set `primary` has no `secret`"))?;
    let gamevault = ctx.gamevault();
    for header in declared_headers(&ctx)? {
        let request = gamevault.request()?.header(&header, secret);
        let mut conn = gamevault
            .open(credential.label(), request)
            .await?
            .map_err(|e| CaseError::from(e).context(format!("the secret in {header}")))?;
        let reply = conn.connect_namespace(None, ctx.wait()).await?;
        ensure!(
            socket_kind(&reply) == Some(SocketType::Connect),
            "the secret in {header} was refused: CONNECT was answered {reply}"
        );
        conn.conn.close().await;
    }
    Ok(())
}

async fn secret_from_users_me(ctx: Ctx) -> CaseResult {
    let header = ctx.gamevault().secret_header()?;
    let response = ctx.actuate("login", Some("primary"), Vars::new()).await?;
    let kind = if header.eq_ignore_ascii_case("x-api-key") {
        "users-me-v15"
    } else {
        "users-me-v9"
    };
    ctx.schemas()
        .get(Profile::Gamevault)
        .and_then(|p| p.group("http"))
        .ok_or_else(|| CaseError::harness("no gamevault `http` schemas are loaded"))?
        .check_kind(kind, &response.body)
        .map_err(|v| {
            CaseError::fail(format!("GET /api/users/me answered a body that breaks {v}"))
        })?;
    let Some(Value::String(secret)) = response.outputs.get("secret") else {
        return Err(CaseError::harness(
            "the gamevault `login` actuator's outputs give no string `secret`",
        ));
    };
    let user_id = response.outputs.get("user_id").cloned();
    let request = ctx.gamevault().request()?.header(&header, secret);
    let mut conn = ctx.gamevault().open("me", request).await??;
    let reply = conn.connect_namespace(None, ctx.wait()).await?;
    ensure!(
        socket_kind(&reply) == Some(SocketType::Connect),
        "the secret from /api/users/me was refused: CONNECT was answered {reply}"
    );
    let sid = conn.sid.clone().unwrap_or_default();
    conn.emit("set-activity", &[json!({"state": "ONLINE"})])
        .await?;
    let frame = conn.expect(activity_of_socket(&sid), ctx.wait()).await?;
    if let Some(expected) = user_id {
        let activity = first_arg(&frame);
        ensure!(
            activity.get("user_id") == Some(&expected),
            "the activity {activity} does not carry the id {expected} that /api/users/me gives"
        );
    }
    Ok(())
}

async fn activities_disabled(ctx: Ctx) -> CaseResult {
    match ctx.parameter("activities_disabled")? {
        Value::Bool(true) => {}
        Value::Bool(false) => {
            return Err(CaseError::skip(
                "the target's activities are enabled (parameter `activities_disabled` = false)",
            ))
        }
        other => {
            return Err(CaseError::harness(format!(
                "parameter `activities_disabled` must be true or false, is {other}"
            )))
        }
    }
    let (request, who) = ctx.gamevault().request_for("primary").await?;
    match ctx.gamevault().open(&who, request).await? {
        Ok(_) => fail!("activities are disabled, yet /socket.io/ upgraded the connection"),
        Err(e) => ensure!(
            e.status() == Some(404),
            "activities are disabled: expected HTTP 404 from /socket.io/, got {e}"
        ),
    }
    Ok(())
}
