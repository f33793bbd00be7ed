//! The m2 connector: headers or a base58 `Sec-WebSocket-Protocol`, subscribe frames, and the HTTP actuators
//! that change kvStore values, collections and live config.
//!
//! Credential fields: `api_key`, `organization`, `project`, `world`, `user_id`.
//! Actuators: `kv_upsert` (`user_id`, `store`, `key`, `data`, `scope`), `kv_delete` (`user_id`, `store`, `key`,
//! `scope`), `live_config_put` (`name`, `data`), `live_config_delete` (`name`), `collection_transfer`
//! (`user_id`, `datasource_id`, `object_definition_id`, `change`).

use serde_json::{json, Value};

use super::connect::{ConnectError, Request};
use super::Conn;
use crate::case::CaseError;
use crate::ctx::Ctx;
use crate::target::template::Vars;

/// How the handshake carries the m2 headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// As HTTP headers.
    Headers,
    /// As base58 `key:value` lines in `Sec-WebSocket-Protocol`, with the header names spelled as given.
    Subprotocol(Spelling),
}

/// The two spellings of the m2 header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// `x-m2-organization-id`, `x-m2-project-id`, `x-m2-world-id` (the header parameters).
    Long,
    /// `x-m2-organization`, `x-m2-project`, `x-m2-world` (the document's subprotocol example).
    Short,
}

/// The header names, long spelling, in the order they are sent.
pub const API_KEY: &str = "x-api-key";
pub const ORGANIZATION: &str = "x-m2-organization-id";
pub const PROJECT: &str = "x-m2-project-id";
pub const WORLD: &str = "x-m2-world-id";

/// An m2 handshake to adjust before opening: drop or replace headers, pick how they travel.
#[derive(Debug, Clone)]
pub struct M2Handshake {
    pub who: String,
    /// Header name (long spelling) and value.
    pub headers: Vec<(String, String)>,
    pub via: Via,
}

impl M2Handshake {
    /// Without header `name` (long spelling).
    pub fn without(mut self, name: &str) -> M2Handshake {
        self.headers.retain(|(n, _)| n != name);
        self
    }

    /// With header `name` set to `value` (replacing it if present).
    pub fn with(mut self, name: &str, value: &str) -> M2Handshake {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn via(mut self, via: Via) -> M2Handshake {
        self.via = via;
        self
    }
}

/// The base58 (Bitcoin alphabet) encoding of `key:value` lines joined by `\n`.
pub fn subprotocol_value(lines: &[(String, String)]) -> String {
    let text = lines
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join("\n");
    bs58::encode(text.as_bytes()).into_string()
}

fn short_name(long: &str) -> &str {
    long.strip_suffix("-id")
        .filter(|_| long.starts_with("x-m2-"))
        .unwrap_or(long)
}

/// `{"action":"subscribe","resource":{"type":…,"id":…}}`.
pub fn subscribe_frame(kind: &str, id: &str) -> Value {
    json!({"action": "subscribe", "resource": {"type": kind, "id": id}})
}

/// `{"action":"unsubscribe","resource":{"type":…,"id":…}}`.
pub fn unsubscribe_frame(kind: &str, id: &str) -> Value {
    json!({"action": "unsubscribe", "resource": {"type": kind, "id": id}})
}

/// A kvStore resource id: `<scope>:<store>:<key>`.
pub fn kv_id(scope: &str, store: &str, key: &str) -> String {
    format!("{scope}:{store}:{key}")
}

/// The m2 connector of a case.
pub struct M2<'a> {
    ctx: &'a Ctx,
}

impl<'a> M2<'a> {
    pub(crate) fn new(ctx: &'a Ctx) -> Self {
        M2 { ctx }
    }

    /// The handshake credential set `credential` would make, by headers.
    pub async fn handshake(&self, credential: &str) -> Result<M2Handshake, CaseError> {
        let set = self.ctx.credential(credential).await?;
        let mut headers = Vec::new();
        for (field, header) in [
            ("api_key", API_KEY),
            ("organization", ORGANIZATION),
            ("project", PROJECT),
            ("world", WORLD),
        ] {
            if let Some(value) = set.get(field) {
                headers.push((header.to_owned(), value.to_owned()));
            }
        }
        Ok(M2Handshake {
            who: set.label().to_owned(),
            headers,
            via: Via::Headers,
        })
    }

    /// Opens a handshake; a refused upgrade is returned as the inner error so cases can check its status.
    pub async fn open(
        &self,
        handshake: M2Handshake,
    ) -> Result<Result<Conn, ConnectError>, CaseError> {
        let mut request = Request::new(self.ctx.ws_url()?);
        match handshake.via {
            Via::Headers => {
                for (name, value) in &handshake.headers {
                    request = request.header(name, value);
                }
            }
            Via::Subprotocol(spelling) => {
                let lines: Vec<(String, String)> = handshake
                    .headers
                    .iter()
                    .map(|(n, v)| {
                        let n = match spelling {
                            Spelling::Long => n.as_str(),
                            Spelling::Short => short_name(n),
                        };
                        (n.to_owned(), v.clone())
                    })
                    .collect();
                let offered = subprotocol_value(&lines);
                self.ctx.note(format!(
                    "subprotocol decodes to {:?}",
                    lines
                        .iter()
                        .map(|(k, v)| format!("{k}:{v}"))
                        .collect::<Vec<_>>()
                        .join("\\n")
                ));
                request = request.subprotocol(offered);
            }
        }
        let offered = request.subprotocol.clone();
        let result = self.ctx.open(&handshake.who, request).await;
        if let (Ok(conn), Some(offered)) = (&result, offered) {
            let echoed = conn.handshake().subprotocol.as_deref();
            if echoed != Some(offered.as_str()) {
                return Err(CaseError::fail(format!(
                    "the server selected subprotocol {echoed:?}, not the offered value {offered:?}"
                )));
            }
        }
        Ok(result)
    }

    /// Connects with credential set `credential` by headers.
    pub async fn connect(&self, credential: &str) -> Result<Conn, CaseError> {
        self.connect_via(credential, Via::Headers).await
    }

    /// Connects with credential set `credential`, the headers travelling as `via` says.
    pub async fn connect_via(&self, credential: &str, via: Via) -> Result<Conn, CaseError> {
        let handshake = self.handshake(credential).await?.via(via);
        Ok(self.open(handshake).await??)
    }

    /// Sends a subscribe frame.
    pub async fn subscribe(&self, conn: &Conn, kind: &str, id: &str) -> Result<(), CaseError> {
        conn.send_json(&subscribe_frame(kind, id)).await
    }

    /// Sends an unsubscribe frame.
    pub async fn unsubscribe(&self, conn: &Conn, kind: &str, id: &str) -> Result<(), CaseError> {
        conn.send_json(&unsubscribe_frame(kind, id)).await
    }

    /// The `user_id` field of a credential set (needed to address its stores and collections).
    pub async fn user_id(&self, credential: &str) -> Result<String, CaseError> {
        self.ctx
            .credential(credential)
            .await?
            .get("user_id")
            .map(str::to_owned)
            .ok_or_else(|| {
                CaseError::skip(format!("m2 credential set `{credential}` has no `user_id`"))
            })
    }

    /// Writes `data` under `key` in `credential`'s `store` (`kvstoreClient` / `kvstoreServer`) at `scope`.
    pub async fn kv_upsert(
        &self,
        credential: &str,
        scope: &str,
        store: &str,
        key: &str,
        data: Value,
    ) -> Result<(), CaseError> {
        let args = self
            .kv_args(credential, scope, store, key)
            .await?
            .into_iter()
            .chain([("data".to_owned(), data)])
            .collect();
        self.ctx
            .actuate("kv_upsert", Some(credential), args)
            .await
            .map(drop)
    }

    /// Deletes `key` from `credential`'s `store` at `scope`.
    pub async fn kv_delete(
        &self,
        credential: &str,
        scope: &str,
        store: &str,
        key: &str,
    ) -> Result<(), CaseError> {
        let args = self.kv_args(credential, scope, store, key).await?;
        self.ctx
            .actuate("kv_delete", Some(credential), args)
            .await
            .map(drop)
    }

    async fn kv_args(
        &self,
        credential: &str,
        scope: &str,
        store: &str,
        key: &str,
    ) -> Result<Vars, CaseError> {
        let user_id = self.user_id(credential).await?;
        Ok(Vars::from([
            ("user_id".to_owned(), Value::String(user_id)),
            ("scope".to_owned(), Value::String(scope.to_owned())),
            ("store".to_owned(), Value::String(store.to_owned())),
            ("key".to_owned(), Value::String(key.to_owned())),
        ]))
    }

    /// Sets live config `name` to `data` in `credential`'s organization/project.
    pub async fn live_config_put(
        &self,
        credential: &str,
        name: &str,
        data: Value,
    ) -> Result<(), CaseError> {
        let args = Vars::from([
            ("name".to_owned(), Value::String(name.to_owned())),
            ("data".to_owned(), data),
        ]);
        self.ctx
            .actuate("live_config_put", Some(credential), args)
            .await
            .map(drop)
    }

    /// Deletes live config `name`.
    pub async fn live_config_delete(&self, credential: &str, name: &str) -> Result<(), CaseError> {
        let args = Vars::from([("name".to_owned(), Value::String(name.to_owned()))]);
        self.ctx
            .actuate("live_config_delete", Some(credential), args)
            .await
            .map(drop)
    }

    /// Changes the count of `object_definition_id` in `credential`'s collection from `datasource_id` by `change`.
    pub async fn collection_transfer(
        &self,
        credential: &str,
        datasource_id: &str,
        object_definition_id: &str,
        change: i64,
    ) -> Result<(), CaseError> {
        let user_id = self.user_id(credential).await?;
        let args = Vars::from([
            ("user_id".to_owned(), Value::String(user_id)),
            (
                "datasource_id".to_owned(),
                Value::String(datasource_id.to_owned()),
            ),
            (
                "object_definition_id".to_owned(),
                Value::String(object_definition_id.to_owned()),
            ),
            ("change".to_owned(), Value::from(change)),
        ]);
        self.ctx
            .actuate("collection_transfer", Some(credential), args)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subprotocol_is_base58_of_newline_joined_lines() {
        let lines = vec![
            ("x-m2-organization".to_owned(), "testOrg".to_owned()),
            ("x-m2-project".to_owned(), "testProj".to_owned()),
        ];
        let encoded = subprotocol_value(&lines);
        let decoded = bs58::decode(&encoded).into_vec().unwrap();
        assert_eq!(decoded, b"x-m2-organization:testOrg\nx-m2-project:testProj");
        assert!(encoded.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn short_names_drop_the_id_suffix_of_m2_headers_only() {
        assert_eq!(short_name(ORGANIZATION), "x-m2-organization");
        assert_eq!(short_name(WORLD), "x-m2-world");
        assert_eq!(short_name(API_KEY), "x-api-key");
    }
}
