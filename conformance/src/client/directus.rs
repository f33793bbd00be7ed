//! The directus connector: authentication in the target's auth mode, subscriptions, and item changes (over the
//! socket by default, or through the target's HTTP actuators).
//!
//! Credential fields: `access_token`, or `email` and `password`.
//! Parameters: `auth_mode` (`public` | `handshake` | `strict`, default `handshake`), `collection` (a collection the
//! primary credential may read and write, default `messages`), `heartbeat`, `auth_timeout`.
//! Actuators (optional; in-protocol `items` frames otherwise): `create_item` (`collection`, `data`; output `id`),
//! `update_item` (`collection`, `id`, `data`), `delete_item` (`collection`, `id`).

use serde_json::{json, Map, Value};

use super::connect::{ConnectError, Request};
use super::{Conn, Frame, Pattern};
use crate::case::CaseError;
use crate::ctx::Ctx;
use crate::target::template::Vars;
use crate::target::Credential;

/// How the server wants sockets authenticated (`WEBSOCKETS_REST_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// No authentication needed; an `auth` frame still upgrades the socket's permissions.
    Public,
    /// The first frame must be `auth`.
    Handshake,
    /// A token at upgrade time (`?access_token=`).
    Strict,
}

/// The credential set item changes are made with unless a case says otherwise.
pub const WRITER: &str = "primary";

/// The directus connector of a case.
pub struct Directus<'a> {
    ctx: &'a Ctx,
}

impl<'a> Directus<'a> {
    pub(crate) fn new(ctx: &'a Ctx) -> Self {
        Directus { ctx }
    }

    pub fn auth_mode(&self) -> Result<AuthMode, CaseError> {
        match self.ctx.parameter_str("auth_mode") {
            Err(CaseError::Skip(_)) => Ok(AuthMode::Handshake),
            Err(e) => Err(e),
            Ok(mode) => match mode.as_str() {
                "public" => Ok(AuthMode::Public),
                "handshake" => Ok(AuthMode::Handshake),
                "strict" => Ok(AuthMode::Strict),
                other => Err(CaseError::harness(format!(
                    "parameter auth_mode = {other:?}; expected public, handshake or strict"
                ))),
            },
        }
    }

    /// The collection cases subscribe to and write into.
    pub fn collection(&self) -> Result<String, CaseError> {
        match self.ctx.parameter_str("collection") {
            Err(CaseError::Skip(_)) => Ok("messages".to_owned()),
            other => other,
        }
    }

    /// The `auth` frame for a credential set: by access token when it has one, else by email and password.
    pub fn auth_frame(credential: &Credential) -> Result<Value, CaseError> {
        if let Some(token) = credential.get("access_token") {
            return Ok(json!({"type": "auth", "access_token": token}));
        }
        match (credential.get("email"), credential.get("password")) {
            (Some(email), Some(password)) => {
                Ok(json!({"type": "auth", "email": email, "password": password}))
            }
            _ => Err(CaseError::skip(format!(
                "directus credential set `{}` has neither `access_token` nor `email` and `password`",
                credential.name
            ))),
        }
    }

    /// Opens a socket without authenticating; a refused upgrade is the inner error.
    pub async fn open(
        &self,
        who: &str,
        request: Request,
    ) -> Result<Result<Conn, ConnectError>, CaseError> {
        Ok(self.ctx.open(who, request).await)
    }

    /// The plain upgrade request (no token).
    pub fn request(&self) -> Result<Request, CaseError> {
        Ok(Request::new(self.ctx.ws_url()?))
    }

    /// Connects and authenticates as credential set `credential`, as the target's auth mode requires:
    /// a token on the URL in strict mode, else an `auth` frame answered by `{"type":"auth","status":"ok"}`.
    pub async fn connect(&self, credential: &str) -> Result<Conn, CaseError> {
        let set = self.ctx.credential(credential).await?;
        let mode = self.auth_mode()?;
        let mut request = self.request()?;
        if mode == AuthMode::Strict {
            let token = set.get("access_token").ok_or_else(|| {
                CaseError::skip(format!(
                    "strict auth mode needs an `access_token` in credential set `{credential}`"
                ))
            })?;
            request = request.query("access_token", token);
        }
        let mut conn = self.ctx.open(set.label(), request).await?;
        if mode != AuthMode::Strict {
            self.authenticate(&mut conn, &set).await?;
        }
        Ok(conn)
    }

    /// Connects with `credential`'s access token on the URL (`?access_token=`), which authenticates at upgrade in
    /// every auth mode; no `auth` frame is sent.
    pub async fn connect_with_url_token(&self, credential: &str) -> Result<Conn, CaseError> {
        let set = self.ctx.credential(credential).await?;
        let token = set.get("access_token").ok_or_else(|| {
            CaseError::skip(format!(
                "directus credential set `{credential}` has no `access_token`"
            ))
        })?;
        Ok(self
            .ctx
            .open(set.label(), self.request()?.query("access_token", token))
            .await?)
    }

    /// Sends the `auth` frame of `credential` and waits for the `ok`.
    pub async fn authenticate(
        &self,
        conn: &mut Conn,
        credential: &Credential,
    ) -> Result<Frame, CaseError> {
        conn.send_json(&Self::auth_frame(credential)?).await?;
        let reply = conn
            .expect(json!({"type": "auth"}), self.ctx.wait())
            .await
            .map_err(|e| e.context("authenticating"))?;
        crate::ensure!(
            reply.str("/status") == Some("ok"),
            "authentication as `{}` was refused: {reply}",
            credential.name
        );
        Ok(reply)
    }

    /// The subscribe frame for `collection` with an optional `uid` and extra members (`query`, `event`, `item`).
    pub fn subscribe_frame(collection: &str, uid: Option<&str>, extra: Value) -> Value {
        let mut frame = Map::new();
        frame.insert("type".into(), json!("subscribe"));
        frame.insert("collection".into(), json!(collection));
        if let Some(uid) = uid {
            frame.insert("uid".into(), json!(uid));
        }
        if let Value::Object(extra) = extra {
            frame.extend(extra);
        }
        Value::Object(frame)
    }

    /// Subscribes and waits for the `init` confirmation (with this `uid` when one is given).
    pub async fn subscribe(
        &self,
        conn: &mut Conn,
        collection: &str,
        uid: Option<&str>,
        extra: Value,
    ) -> Result<Frame, CaseError> {
        conn.send_json(&Self::subscribe_frame(collection, uid, extra))
            .await?;
        let pattern = Pattern::subset(json!({"type": "subscription", "event": "init"}));
        let init = conn.expect(pattern, self.ctx.wait()).await?;
        if let Some(uid) = uid {
            crate::ensure!(
                init.str("/uid") == Some(uid),
                "the init confirmation carries uid {}, the subscribe sent {uid:?}",
                init.get("/uid")
                    .map(Value::to_string)
                    .unwrap_or_else(|| "none".into())
            );
        }
        Ok(init)
    }

    /// Creates an item in `collection` as [`WRITER`]; returns the created item.
    pub async fn create_item(&self, collection: &str, data: Value) -> Result<Value, CaseError> {
        if self.ctx.has_actuator("create_item") {
            let args = Vars::from([
                ("collection".to_owned(), json!(collection)),
                ("data".to_owned(), data),
            ]);
            let response = self.ctx.actuate("create_item", Some(WRITER), args).await?;
            return Ok(response.body.get("data").cloned().unwrap_or(response.body));
        }
        self.items(collection, json!({"action": "create", "data": data}))
            .await
    }

    /// Updates item `id` of `collection` as [`WRITER`]; returns the updated item.
    pub async fn update_item(
        &self,
        collection: &str,
        id: &Value,
        data: Value,
    ) -> Result<Value, CaseError> {
        if self.ctx.has_actuator("update_item") {
            let args = Vars::from([
                ("collection".to_owned(), json!(collection)),
                ("id".to_owned(), id.clone()),
                ("data".to_owned(), data),
            ]);
            let response = self.ctx.actuate("update_item", Some(WRITER), args).await?;
            return Ok(response.body.get("data").cloned().unwrap_or(response.body));
        }
        self.items(
            collection,
            json!({"action": "update", "id": id, "data": data}),
        )
        .await
    }

    /// Deletes item `id` of `collection` as [`WRITER`].
    pub async fn delete_item(&self, collection: &str, id: &Value) -> Result<(), CaseError> {
        if self.ctx.has_actuator("delete_item") {
            let args = Vars::from([
                ("collection".to_owned(), json!(collection)),
                ("id".to_owned(), id.clone()),
            ]);
            return self
                .ctx
                .actuate("delete_item", Some(WRITER), args)
                .await
                .map(drop);
        }
        self.items(collection, json!({"action": "delete", "id": id}))
            .await
            .map(drop)
    }

    /// One `items` request over a fresh writer socket; returns the reply's `data`.
    async fn items(&self, collection: &str, request: Value) -> Result<Value, CaseError> {
        let mut writer = self
            .connect(WRITER)
            .await
            .map_err(|e| e.context("opening the writer socket"))?;
        let uid = self.ctx.unique("items");
        let mut frame = json!({"type": "items", "collection": collection, "uid": uid});
        if let (Value::Object(frame), Value::Object(request)) = (&mut frame, request) {
            frame.extend(request);
        }
        writer.send_json(&frame).await?;
        let reply = writer
            .expect(json!({"type": "items", "uid": uid}), self.ctx.wait())
            .await
            .map_err(|e| e.context("waiting for the items reply"))?;
        writer.close().await;
        crate::ensure!(
            reply.get("/status").and_then(Value::as_str) != Some("error"),
            "the server refused the harness's {} (needed to cause an event): {reply}",
            frame
        );
        Ok(reply.get("/data").cloned().unwrap_or(Value::Null))
    }
}
