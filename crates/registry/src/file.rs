//! A registry stored in a snapshot file: the embedded default, also a backup or export.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use iot_crr_model::{Change, Outcome, Resource, ResourceKey, Snapshot, apply_change, format};

use crate::memory::filtered;
use crate::{ErrorClass, ReadRequest, Registry, RegistryError, Result};

/// A snapshot file used as a registry.
///
/// The file is read once when opened (a missing file is an empty registry); changes are
/// applied in memory with AWS IoT's rules and written back by [`Registry::commit`],
/// atomically (temporary file and rename). A failed run that never commits leaves the
/// file as it was.
#[derive(Debug)]
pub struct FileRegistry {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    snapshot: Snapshot,
    dirty: bool,
}

impl FileRegistry {
    /// Opens a snapshot file; a file that does not exist yet is an empty registry.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let snapshot = match std::fs::metadata(&path) {
            Ok(_) => format::read_file(&path).map_err(|e| {
                let class = match e {
                    format::SnapshotError::Io { .. } => ErrorClass::Other,
                    format::SnapshotError::Parse { .. } => ErrorClass::Invalid,
                };
                RegistryError::new(class, e.to_string())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Snapshot::new(),
            Err(e) => {
                return Err(RegistryError::new(
                    ErrorClass::Other,
                    format!("{}: {e}", path.display()),
                ));
            }
        };
        Ok(FileRegistry {
            path,
            state: Mutex::new(State {
                snapshot,
                dirty: false,
            }),
        })
    }

    /// Sets the region and account recorded in the file's header (used when a new file
    /// is created as a replica of a known region).
    pub fn set_origin_if_unknown(&self, origin: &iot_crr_model::Origin) {
        let mut st = self.lock();
        if st.snapshot.origin.region.is_none() && st.snapshot.origin.account_id.is_none() {
            st.snapshot.origin = origin.clone();
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy of the current content (including uncommitted changes).
    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Registry for FileRegistry {
    fn location(&self) -> String {
        format!("file:{}", self.path.display())
    }

    async fn read(&self, request: &ReadRequest) -> Result<Snapshot> {
        let st = self.lock();
        let s = filtered(&st.snapshot, request);
        let counts = s.counts();
        for k in iot_crr_model::Kind::ALL {
            request.report(k, counts.get(k) as u64);
        }
        Ok(s)
    }

    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>> {
        Ok(self.lock().snapshot.get(key))
    }

    async fn apply(&self, change: &Change) -> Result<Outcome> {
        let mut st = self.lock();
        let out = apply_change(&mut st.snapshot, change)
            .map_err(|e| RegistryError::from(e).with_api(change.api()))?;
        if out == Outcome::Applied {
            st.dirty = true;
        }
        Ok(out)
    }

    async fn commit(&self) -> Result<()> {
        let mut st = self.lock();
        if !st.dirty && self.path.exists() {
            return Ok(());
        }
        format::write_file(&st.snapshot, &self.path)
            .map_err(|e| RegistryError::new(ErrorClass::Other, e.to_string()))?;
        st.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changes_land_on_commit_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        let r = FileRegistry::open(&p).unwrap();
        let c = Change::CreateThing {
            thing_name: "t".into(),
            thing_type_name: None,
            attributes: Default::default(),
            billing_group_name: None,
        };
        assert_eq!(r.apply(&c).await.unwrap(), Outcome::Applied);
        assert!(!p.exists());
        r.commit().await.unwrap();
        let again = FileRegistry::open(&p).unwrap();
        assert_eq!(again.snapshot().things.len(), 1);
        assert_eq!(again.location(), format!("file:{}", p.display()));
    }

    #[tokio::test]
    async fn a_malformed_file_is_an_invalid_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.jsonl");
        std::fs::write(
            &p,
            "{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1}\n{oops\n",
        )
        .unwrap();
        let e = FileRegistry::open(&p).unwrap_err();
        assert_eq!(e.class, ErrorClass::Invalid);
        assert!(e.message.contains("bad.jsonl:2:"), "{}", e.message);
    }
}
