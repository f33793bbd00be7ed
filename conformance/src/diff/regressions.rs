//! Model regressions during a diff: each live side reads and writes a folder of its own, holding a copy of the
//! committed regressions. Both sides then replay the same saved failures, and a failure one side finds and
//! saves is neither replayed by the other side (which would make their transcripts differ) nor written into
//! the source tree.

use std::path::{Path, PathBuf};

use crate::profile::Profile;

/// A side's regression folder; removed when dropped if this diff created it.
#[derive(Debug)]
pub struct SideRegressions {
    pub dir: PathBuf,
    temporary: bool,
}

impl SideRegressions {
    /// The folder of side `side` (`a` or `b`): under `base` when given, else a new folder under the system's
    /// temporary directory; filled with the committed regressions of `profiles` found next to `schemas`.
    pub fn prepare(
        base: Option<&Path>,
        side: &str,
        schemas: &Path,
        profiles: &[Profile],
    ) -> std::io::Result<SideRegressions> {
        let (dir, temporary) = match base {
            Some(base) => (base.join(side), false),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default();
                let name = format!("conformance-diff-{}-{nanos}-{side}", std::process::id());
                (std::env::temp_dir().join(name), true)
            }
        };
        for profile in profiles {
            let committed = schemas
                .join("../fixtures")
                .join(profile.name())
                .join("regressions");
            let copy = dir.join(profile.name()).join("regressions");
            std::fs::create_dir_all(&copy)?;
            let Ok(entries) = std::fs::read_dir(&committed) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "json") {
                    std::fs::copy(&path, copy.join(entry.file_name()))?;
                }
            }
        }
        Ok(SideRegressions { dir, temporary })
    }
}

impl Drop for SideRegressions {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_gets_a_copy_of_the_committed_regressions() {
        let root = std::env::temp_dir().join(format!("regressions-test-{}", std::process::id()));
        let committed = root.join("fixtures/m2/regressions");
        std::fs::create_dir_all(&committed).unwrap_or_default();
        std::fs::create_dir_all(root.join("schemas")).unwrap_or_default();
        std::fs::write(committed.join("m2.model.x-1.json"), "{}").unwrap_or_default();
        let base = root.join("sides");
        let a = SideRegressions::prepare(Some(&base), "a", &root.join("schemas"), &[Profile::M2]);
        let b = SideRegressions::prepare(Some(&base), "b", &root.join("schemas"), &[Profile::M2]);
        let (a, b) = (a.map(|s| s.dir.clone()), b.map(|s| s.dir.clone()));
        assert!(matches!(&a, Ok(dir) if dir.join("m2/regressions/m2.model.x-1.json").exists()));
        assert!(matches!(&b, Ok(dir) if dir.join("m2/regressions/m2.model.x-1.json").exists()));
        assert_ne!(a.ok(), b.ok());
        let _ = std::fs::remove_dir_all(&root);
    }
}
