//! Minimal failing inputs kept as files, `fixtures/<profile>/regressions/<case-id>-<seed>.json`, and replayed
//! before anything new is generated.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::ctx::Ctx;
use crate::schema::SchemaSet;

use super::settings::Settings;

/// One saved failure.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Regression {
    /// The case id.
    pub case: String,
    /// The seed of the generated case the failure was found with.
    pub seed: u64,
    /// Why it failed when it was saved.
    pub failure: String,
    /// The minimal failing input, as the case serialises it.
    pub input: Value,
}

/// The folder regressions of `ctx`'s profile live in.
pub fn folder(ctx: &Ctx) -> PathBuf {
    let base = Settings::of(ctx.target()).regressions.unwrap_or_else(|| {
        let root = &ctx.schemas().root;
        let tree = if root.as_os_str().is_empty() {
            SchemaSet::default_root()
        } else {
            root.clone()
        };
        let fixtures = tree.join("../fixtures");
        fixtures.canonicalize().unwrap_or(fixtures)
    });
    base.join(ctx.profile().name()).join("regressions")
}

fn file_name(case: &str, seed: u64) -> String {
    format!("{case}-{seed}.json")
}

/// Every regression saved for `case` in `folder`, oldest name first; a file that cannot be read is returned as
/// its error so the case can say so.
pub fn load(folder: &Path, case: &str) -> Vec<(PathBuf, Result<Regression, String>)> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let prefix = format!("{case}-");
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(".json"))
                    .is_some_and(|seed| seed.parse::<u64>().is_ok())
            })
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let loaded = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()));
            (path, loaded)
        })
        .collect()
}

/// Saves `regression` in `folder`; returns the file written.
pub fn save(folder: &Path, regression: &Regression) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(folder)?;
    let path = folder.join(file_name(&regression.case, regression.seed));
    let mut text = serde_json::to_string_pretty(regression).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn saved_regressions_load_back_by_case_id() {
        let folder =
            std::env::temp_dir().join(format!("ws-conformance-regressions-{}", std::process::id()));
        let regression = Regression {
            case: "m2.model.subscriptions".into(),
            seed: 42,
            failure: "an event after unsubscribe".into(),
            input: json!({"steps": []}),
        };
        let path = save(&folder, &regression).unwrap();
        assert!(path.ends_with("m2.model.subscriptions-42.json"));
        std::fs::write(folder.join("m2.model.subscriptions-x.json"), "not ours").unwrap();
        let loaded = load(&folder, "m2.model.subscriptions");
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].1.as_ref().unwrap(), &regression);
        assert!(load(&folder, "m2.model").is_empty());
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
