//! Authentication: the three `auth` forms, failures, the handshake mode's first frame and timeout, and the
//! token on the URL.

use serde_json::{json, Value};

use super::support::{
    ensure_error, ensure_usable, next_reply, open_before_auth, require_mode, show_uid,
};
use crate::case::{sources, Case, CaseError, CaseResult, Kind, Level, Need, Reference};
use crate::client::directus::AuthMode;
use crate::client::{Conn, Frame};
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::{ensure, fail};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "directus.auth.access-token",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An auth message with an access token is answered status ok with its uid, and the socket may then subscribe",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "`auth` forms: `{\"type\":\"auth\",\"access_token\":\"…\"}`",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(access_token(ctx)),
        },
        Case {
            id: "directus.auth.email-password",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An auth message with email and password is answered status ok with a refresh token",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "(refresh token for email/password and refresh logins; refresh tokens rotate)",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(email_password(ctx)),
        },
        Case {
            id: "directus.auth.refresh-token",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An auth message with a refresh token is answered status ok with a new refresh token",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "`{\"type\":\"auth\",\"refresh_token\":\"…\"}`, each with optional `uid`",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(refresh_token(ctx)),
        },
        Case {
            id: "directus.auth.refresh-token-rotates",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A refresh token that was used once is refused with AUTH_FAILED",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "refresh tokens rotate",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(refresh_token_rotates(ctx)),
        },
        Case {
            id: "directus.auth.invalid-token-refused",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An auth message with an invalid token gets AUTH_FAILED; in handshake mode the socket is then closed, in public mode it stays open",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "Otherwise `{\"type\":\"auth\",\"status\":\"error\",\"error\":{\"code\":\"AUTH_FAILED\",\"message\":\"Authentication handshake failed.\"}}`",
            },
            kind: Kind::Scenario,
            requires: &[],
            run: |ctx| Box::pin(invalid_token_refused(ctx)),
        },
        Case {
            id: "directus.auth.first-frame-not-auth",
            profile: Profile::Directus,
            level: Level::Should,
            title: "In handshake mode a first message other than auth gets AUTH_FAILED and the socket is closed",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "the upgrade succeeds; the first frame must be `auth`",
            },
            kind: Kind::Scenario,
            requires: &[],
            run: |ctx| Box::pin(first_frame_not_auth(ctx)),
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
        Case {
            id: "directus.auth.url-token",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A valid ?access_token= on the URL authenticates at upgrade: the socket may subscribe without an auth message",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "In every mode `?access_token=` on the URL authenticates at upgrade",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(url_token(ctx)),
        },
        Case {
            id: "directus.auth.url-token-invalid-rejected",
            profile: Profile::Directus,
            level: Level::Should,
            title: "An upgrade with an invalid ?access_token= is refused with HTTP 401",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "In every mode `?access_token=` on the URL authenticates at upgrade; a bad one → HTTP 401.",
            },
            kind: Kind::Scenario,
            requires: &[],
            run: |ctx| Box::pin(url_token_invalid(ctx)),
        },
        Case {
            id: "directus.auth.reauth-failure",
            profile: Profile::Directus,
            level: Level::Should,
            title: "A failed re-authentication on an authenticated socket gets AUTH_FAILED with its uid, then a close except in public mode",
            reference: Reference {
                source: sources::DIRECTUS_NOTES,
                quote: "A later failed re-auth: `…\"message\":\"Authentication failed.\"` with the uid, then close (except in public mode).",
            },
            kind: Kind::Scenario,
            requires: &[Need::Credential("primary")],
            run: |ctx| Box::pin(reauth_failure(ctx)),
        },
    ]
}

/// Waits for the `auth` reply to an `auth` message sent with `uid`; it must be `ok` and carry that uid.
async fn auth_ok(ctx: &Ctx, conn: &mut Conn, uid: &str, what: &str) -> Result<Frame, CaseError> {
    let reply = conn
        .expect(json!({"type": "auth"}), ctx.wait())
        .await
        .map_err(|e| e.context(format!("waiting for the reply to {what}")))?;
    ensure!(
        reply.str("/status") == Some("ok"),
        "{what} was refused: {reply}"
    );
    ensure!(
        reply.str("/uid") == Some(uid),
        "the reply to {what} carries uid {}, the message sent {uid:?}: {reply}",
        reply.get("/uid").map_or("none".into(), Value::to_string)
    );
    Ok(reply)
}

/// Subscribing to the case collection succeeds: the socket acts as an authenticated user.
async fn ensure_subscribes(ctx: &Ctx, conn: &mut Conn, after: &str) -> CaseResult {
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let uid = ctx.unique("after-auth");
    directus
        .subscribe(conn, &collection, Some(&uid), json!({"event": "create"}))
        .await
        .map(drop)
        .map_err(|e| e.context(format!("subscribing to {collection:?} after {after}")))
}

/// The refresh token of an `ok` reply; fails when it has none or an empty one.
fn refresh_token_of(reply: &Frame, what: &str) -> Result<String, CaseError> {
    match reply.str("/refresh_token") {
        Some(token) if !token.is_empty() => Ok(token.to_owned()),
        _ => fail!("the reply to {what} carries no refresh_token: {reply}"),
    }
}

/// Logs in by email and password on a fresh socket and returns the refresh token of the reply.
async fn login_by_password(ctx: &Ctx) -> Result<(Conn, String), CaseError> {
    let credential = ctx.credential("primary").await?;
    let (Some(email), Some(password)) = (credential.get("email"), credential.get("password"))
    else {
        return Err(CaseError::skip(
            "credential set `primary` has no `email` and `password`",
        ));
    };
    let mut conn = open_before_auth(ctx, credential.label(), "primary").await?;
    let uid = ctx.unique("login");
    conn.send_json(&json!({"type": "auth", "email": email, "password": password, "uid": uid}))
        .await?;
    let reply = auth_ok(ctx, &mut conn, &uid, "the email/password auth").await?;
    let token = refresh_token_of(&reply, "the email/password auth")?;
    Ok((conn, token))
}

async fn access_token(ctx: Ctx) -> CaseResult {
    let credential = ctx.credential("primary").await?;
    let token = credential
        .get("access_token")
        .ok_or_else(|| CaseError::skip("credential set `primary` has no `access_token`"))?;
    let mut conn = open_before_auth(&ctx, credential.label(), "primary").await?;
    let uid = ctx.unique("auth");
    conn.send_json(&json!({"type": "auth", "access_token": token, "uid": uid}))
        .await?;
    auth_ok(&ctx, &mut conn, &uid, "the access-token auth").await?;
    ensure_subscribes(&ctx, &mut conn, "the access-token auth").await
}

async fn email_password(ctx: Ctx) -> CaseResult {
    let (mut conn, _) = login_by_password(&ctx).await?;
    ensure_subscribes(&ctx, &mut conn, "the email/password auth").await
}

async fn refresh_token(ctx: Ctx) -> CaseResult {
    let (first, token) = login_by_password(&ctx).await?;
    first.close().await;
    let label = ctx.credential("primary").await?.label().to_owned();
    let mut conn = open_before_auth(&ctx, &label, "primary").await?;
    let uid = ctx.unique("refresh");
    conn.send_json(&json!({"type": "auth", "refresh_token": token, "uid": uid}))
        .await?;
    let reply = auth_ok(&ctx, &mut conn, &uid, "the refresh-token auth").await?;
    let rotated = refresh_token_of(&reply, "the refresh-token auth")?;
    ensure!(
        rotated != token,
        "the refresh-token auth returned the same refresh token it was given; refresh tokens rotate: {reply}"
    );
    ensure_subscribes(&ctx, &mut conn, "the refresh-token auth").await
}

async fn refresh_token_rotates(ctx: Ctx) -> CaseResult {
    let (first, token) = login_by_password(&ctx).await?;
    first.close().await;
    let label = ctx.credential("primary").await?.label().to_owned();
    let mut second = open_before_auth(&ctx, &label, "primary").await?;
    let uid = ctx.unique("refresh");
    second
        .send_json(&json!({"type": "auth", "refresh_token": token, "uid": uid}))
        .await?;
    auth_ok(
        &ctx,
        &mut second,
        &uid,
        "the first use of the refresh token",
    )
    .await?;
    second.close().await;
    let mut third = open_before_auth(&ctx, &label, "primary").await?;
    third
        .send_json(&json!({"type": "auth", "refresh_token": token}))
        .await?;
    let reply = third
        .expect(json!({"type": "auth"}), ctx.wait())
        .await
        .map_err(|e| e.context("waiting for the reply to the second use of the refresh token"))?;
    ensure_error(
        &reply,
        "auth",
        "AUTH_FAILED",
        "a second use of an already used refresh token",
    )
}

async fn invalid_token_refused(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let mode = directus.auth_mode()?;
    if mode == AuthMode::Strict {
        return Err(CaseError::skip(
            "strict mode authenticates at upgrade (see directus.auth.url-token-invalid-rejected)",
        ));
    }
    let mut conn = directus.open("anonymous", directus.request()?).await??;
    conn.send_json(&json!({"type": "auth", "access_token": ctx.unique("not-a-token")}))
        .await?;
    let reply = conn
        .expect(json!({"type": "auth"}), ctx.wait())
        .await
        .map_err(|e| e.context("waiting for the reply to an auth with an invalid token"))?;
    ensure_error(
        &reply,
        "auth",
        "AUTH_FAILED",
        "an auth with an invalid token",
    )?;
    if mode == AuthMode::Public {
        return ensure_usable(&ctx, &mut conn, "a failed auth in public mode").await;
    }
    conn.expect_close(ctx.wait())
        .await
        .map_err(|e| e.context("after AUTH_FAILED in handshake mode"))?;
    Ok(())
}

async fn first_frame_not_auth(ctx: Ctx) -> CaseResult {
    require_mode(&ctx, AuthMode::Handshake)?;
    let directus = ctx.directus();
    let collection = directus.collection()?;
    let mut conn = directus.open("anonymous", directus.request()?).await??;
    let uid = ctx.unique("too-early");
    conn.send_json(&json!({"type": "subscribe", "collection": collection, "uid": uid}))
        .await?;
    let reply = next_reply(&ctx, &mut conn)
        .await
        .map_err(|e| e.context("waiting for the answer to a subscribe sent before auth"))?;
    ensure_error(
        &reply,
        "auth",
        "AUTH_FAILED",
        "a subscribe sent as the first message",
    )?;
    conn.expect_close(ctx.wait())
        .await
        .map_err(|e| e.context("after AUTH_FAILED for a first message other than auth"))?;
    Ok(())
}

async fn handshake_timeout(ctx: Ctx) -> CaseResult {
    require_mode(&ctx, AuthMode::Handshake)?;
    let directus = ctx.directus();
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

async fn url_token(ctx: Ctx) -> CaseResult {
    let mut conn = ctx.directus().connect_with_url_token("primary").await?;
    ensure_subscribes(
        &ctx,
        &mut conn,
        "an upgrade with ?access_token= and no auth message",
    )
    .await
}

async fn url_token_invalid(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let request = directus
        .request()?
        .query("access_token", &ctx.unique("not-a-token"));
    match directus.open("anonymous", request).await? {
        Err(refused) if refused.status() == Some(401) => Ok(()),
        Err(refused) => fail!("expected HTTP 401 for an invalid ?access_token=, got: {refused}"),
        Ok(_) => fail!(
            "the server accepted the upgrade with an invalid ?access_token=; expected HTTP 401"
        ),
    }
}

async fn reauth_failure(ctx: Ctx) -> CaseResult {
    let directus = ctx.directus();
    let mut conn = directus.connect("primary").await?;
    let uid = ctx.unique("reauth");
    conn.send_json(&json!({"type": "auth", "access_token": ctx.unique("not-a-token"), "uid": uid}))
        .await?;
    let reply = conn
        .expect(json!({"type": "auth"}), ctx.wait())
        .await
        .map_err(|e| e.context("waiting for the reply to a re-auth with an invalid token"))?;
    ensure_error(
        &reply,
        "auth",
        "AUTH_FAILED",
        "a re-auth with an invalid token",
    )?;
    ensure!(
        reply.str("/uid") == Some(uid.as_str()),
        "the failed re-auth's error carries uid {}, the auth message sent {}",
        reply.get("/uid").map_or("none".into(), Value::to_string),
        show_uid(Some(&uid))
    );
    if directus.auth_mode()? == AuthMode::Public {
        return ensure_usable(&ctx, &mut conn, "a failed re-auth in public mode").await;
    }
    conn.expect_close(ctx.wait())
        .await
        .map_err(|e| e.context("after a failed re-auth"))?;
    Ok(())
}
