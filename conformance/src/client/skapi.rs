//! The skapi connector: a logged-in session (literal tokens or the target's `login` actuator), the
//! `?token=` upgrade, and the client frames (joinRoom, broadcast, sendMessage, keepAlive).
//!
//! Credential fields: `user_id`, `access_token`, `id_token`, `service`, `owner` — given literally, or produced by
//! the `login` actuator (its variables: the set's other fields, e.g. `username`, `password`, `service`).
//! Parameters: `max_message_bytes`.

use std::ops::{Deref, DerefMut};

use serde_json::{json, Value};

use super::connect::{ConnectError, Request};
use super::Conn;
use crate::case::CaseError;
use crate::ctx::Ctx;

/// The fields a logged-in skapi user has.
pub const SESSION_FIELDS: [&str; 5] = ["user_id", "access_token", "id_token", "service", "owner"];

/// A logged-in skapi user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub name: String,
    pub label: String,
    pub user_id: String,
    pub access_token: String,
    pub id_token: String,
    pub service: String,
    pub owner: String,
}

impl Session {
    /// The token of broadcast and sendMessage frames: `IdT:<service>:<owner>:<id token>`.
    pub fn identity_token(&self) -> String {
        format!("IdT:{}:{}:{}", self.service, self.owner, self.id_token)
    }
}

/// The skapi connector of a case.
pub struct Skapi<'a> {
    ctx: &'a Ctx,
}

impl<'a> Skapi<'a> {
    pub(crate) fn new(ctx: &'a Ctx) -> Self {
        Skapi { ctx }
    }

    /// The session of credential set `credential`, logging in through the target when needed.
    pub async fn session(&self, credential: &str) -> Result<Session, CaseError> {
        let set = self.ctx.login(credential, &SESSION_FIELDS).await?;
        let field = |name: &str| {
            set.get(name).map(str::to_owned).ok_or_else(|| {
                CaseError::harness(format!(
                    "skapi credential set `{credential}`: `{name}` must be a string"
                ))
            })
        };
        Ok(Session {
            name: credential.to_owned(),
            label: set.label().to_owned(),
            user_id: field("user_id")?,
            access_token: field("access_token")?,
            id_token: field("id_token")?,
            service: field("service")?,
            owner: field("owner")?,
        })
    }

    /// The upgrade request carrying `token` as `?token=`.
    pub fn request(&self, token: &str) -> Result<Request, CaseError> {
        Ok(Request::new(self.ctx.ws_url()?).query("token", token))
    }

    /// Opens a socket with an arbitrary token; a refused upgrade is the inner error.
    pub async fn open_with_token(
        &self,
        who: &str,
        token: &str,
    ) -> Result<Result<Conn, ConnectError>, CaseError> {
        Ok(self.ctx.open(who, self.request(token)?).await)
    }

    /// Connects as credential set `credential`.
    pub async fn connect(&self, credential: &str) -> Result<SkapiConn, CaseError> {
        let session = self.session(credential).await?;
        let conn = self
            .ctx
            .open(&session.label, self.request(&session.access_token)?)
            .await?;
        Ok(SkapiConn { conn, session })
    }
}

/// A skapi connection and the session it was opened with; derefs to [`Conn`].
#[derive(Debug)]
pub struct SkapiConn {
    pub conn: Conn,
    pub session: Session,
}

impl Deref for SkapiConn {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for SkapiConn {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl SkapiConn {
    /// `{"action":"joinRoom","rid":…,"token":<access token>}`.
    pub async fn join(&self, group: &str) -> Result<(), CaseError> {
        self.conn
            .send_json(
                &json!({"action": "joinRoom", "rid": group, "token": self.session.access_token}),
            )
            .await
    }

    /// `{"action":"joinRoom","rid":null,"token":…}`: leaves the current group.
    pub async fn leave(&self) -> Result<(), CaseError> {
        self.conn
            .send_json(
                &json!({"action": "joinRoom", "rid": null, "token": self.session.access_token}),
            )
            .await
    }

    /// `{"action":"broadcast","rid":…,"content":…,"token":"IdT:…"}`.
    pub async fn broadcast(&self, group: &str, content: Value) -> Result<(), CaseError> {
        self.conn
            .send_json(&json!({
                "action": "broadcast",
                "rid": group,
                "content": content,
                "token": self.session.identity_token(),
            }))
            .await
    }

    /// `{"action":"sendMessage","uid":<recipient>,"content":…,"token":"IdT:…"}`.
    pub async fn send_private(&self, recipient: &str, content: Value) -> Result<(), CaseError> {
        self.conn
            .send_json(&json!({
                "action": "sendMessage",
                "uid": recipient,
                "content": content,
                "token": self.session.identity_token(),
            }))
            .await
    }

    /// `{"action":"keepAlive"}`.
    pub async fn keep_alive(&self) -> Result<(), CaseError> {
        self.conn.send_json(&json!({"action": "keepAlive"})).await
    }
}
