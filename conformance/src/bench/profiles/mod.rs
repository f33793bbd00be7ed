//! Benchmark subjects for the four profiles, built from a target file through the harness's connectors: the
//! credentials, URLs and actuators a conformance run uses are the ones a benchmark uses, so any server a target
//! file describes can be measured.
//!
//! | profile | resource all subscribers share | how a change is caused |
//! |---|---|---|
//! | m2 | one kvStore key of the `primary` user | the `kv_upsert` HTTP actuator, one request at a time |
//! | directus | the `collection` parameter, `create` events | `items` create frames on one writer socket, each awaiting its reply (or the `create_item` actuator) |
//! | skapi | one realtime group | a broadcast from one member's socket |
//! | gamevault | every connected socket | `set-activity` from one socket |

mod directus;
mod gamevault;
mod m2;
mod skapi;

use std::sync::Arc;

use serde_json::Value;

use super::subject::Subject;
use super::BenchError;
use crate::ctx::Ctx;
use crate::profile::Profile;
use crate::schema::SchemaSet;
use crate::target::Target;

pub use directus::DirectusSubject;
pub use gamevault::GamevaultSubject;
pub use m2::M2Subject;
pub use skapi::SkapiSubject;

/// The credential set every subject connects and causes changes with.
pub const CREDENTIAL: &str = "primary";

/// The subject of `profile` on `target`; `run` names the run's resources (key, group) and stamps.
pub async fn prepare(
    profile: Profile,
    target: Arc<Target>,
    schemas: Arc<SchemaSet>,
    run: &str,
) -> Result<Box<dyn Subject>, BenchError> {
    let seed = rand::random::<u64>() >> 11;
    let ctx = Ctx::detached("bench", profile, target, schemas, seed);
    Ok(match profile {
        Profile::M2 => Box::new(M2Subject::prepare(ctx, run).await?),
        Profile::Directus => Box::new(DirectusSubject::prepare(ctx, run).await?),
        Profile::Skapi => Box::new(SkapiSubject::prepare(ctx, run).await?),
        Profile::Gamevault => Box::new(GamevaultSubject::prepare(ctx, run).await?),
    })
}

/// The text of a JSON frame subscribers will send, after checking it against the profile's client schemas.
fn client_frame(ctx: &Ctx, value: &Value) -> Result<String, BenchError> {
    ctx.frame_check().outgoing_json(value).map_err(|v| {
        BenchError::setup(
            ctx.profile().name(),
            format!("the frame {value} breaks the client schema: {v}"),
        )
    })?;
    Ok(value.to_string())
}
