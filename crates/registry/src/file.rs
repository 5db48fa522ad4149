//! A registry stored in a snapshot file: the embedded default, also a backup or export.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use iot_crr_model::{
    Change, Origin, Outcome, Related, Resource, ResourceKey, Snapshot, apply_change, format,
};

use crate::memory::filtered;
use crate::{ErrorClass, ReadRequest, Registry, RegistryError, Result};

/// A snapshot file used as a registry.
///
/// Reads parse the file (a missing file is an empty registry). The first change loads a
/// working copy; changes are applied to it with AWS IoT's rules and written back by
/// [`Registry::commit`], atomically (temporary file and rename). A failed run that never
/// commits leaves the file as it was. Until a change is made nothing is held in memory
/// between calls, so comparing two large files costs one parse of each.
#[derive(Debug)]
pub struct FileRegistry {
    path: PathBuf,
    state: Mutex<Option<State>>,
}

#[derive(Debug)]
struct State {
    snapshot: Snapshot,
    dirty: bool,
}

impl FileRegistry {
    /// Names a snapshot file as a registry; nothing is read yet.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if path.is_dir() {
            return Err(RegistryError::new(
                ErrorClass::Invalid,
                format!("{} is a directory, not a snapshot file", path.display()),
            ));
        }
        Ok(FileRegistry {
            path,
            state: Mutex::new(None),
        })
    }

    /// Reads the file; a file that does not exist is an empty registry.
    fn load(&self) -> Result<Snapshot> {
        load_path(&self.path)
    }

    /// The working copy, loaded on first use.
    fn working(&self) -> Result<std::sync::MutexGuard<'_, Option<State>>> {
        let mut st = self.lock();
        if st.is_none() {
            *st = Some(State {
                snapshot: self.load()?,
                dirty: false,
            });
        }
        Ok(st)
    }

    /// Sets the region and account recorded in the file's header (used when a new file
    /// is created as a replica of a known region).
    pub fn set_origin_if_unknown(&self, origin: &Origin) -> Result<()> {
        let mut st = self.working()?;
        let st = st.as_mut().expect("loaded by working()");
        if st.snapshot.origin.region.is_none() && st.snapshot.origin.account_id.is_none() {
            st.snapshot.origin = origin.clone();
        }
        Ok(())
    }

    /// A copy of the current content (including uncommitted changes).
    pub fn snapshot(&self) -> Result<Snapshot> {
        let st = self.working()?;
        Ok(st.as_ref().expect("loaded by working()").snapshot.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<State>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads a snapshot file; a file that does not exist is an empty registry.
fn load_path(path: &Path) -> Result<Snapshot> {
    match format::read_file(path) {
        Ok(s) => Ok(s),
        Err(format::SnapshotError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(Snapshot::new())
        }
        Err(e) => {
            let class = match e {
                format::SnapshotError::Io { .. } => ErrorClass::Other,
                format::SnapshotError::Parse { .. } => ErrorClass::Invalid,
            };
            Err(RegistryError::new(class, e.to_string()))
        }
    }
}

#[async_trait]
impl Registry for FileRegistry {
    fn location(&self) -> String {
        format!("file:{}", self.path.display())
    }

    async fn read(&self, request: &ReadRequest) -> Result<Snapshot> {
        let loaded = {
            let st = self.lock();
            st.as_ref().map(|st| filtered(&st.snapshot, request))
        };
        let s = match loaded {
            Some(s) => s,
            None => {
                // Parsing is CPU work: off the async threads, so that two files are
                // read at the same time.
                let path = self.path.clone();
                let mut s = tokio::task::spawn_blocking(move || load_path(&path))
                    .await
                    .map_err(|e| RegistryError::new(ErrorClass::Other, e.to_string()))??;
                if !request.filter.is_all() {
                    s = filtered(&s, request);
                }
                s
            }
        };
        let counts = s.counts();
        for k in iot_crr_model::Kind::ALL {
            request.report(k, counts.get(k) as u64);
        }
        Ok(s)
    }

    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>> {
        let st = self.working()?;
        Ok(st.as_ref().expect("loaded by working()").snapshot.get(key))
    }

    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>> {
        let st = self.working()?;
        Ok(st
            .as_ref()
            .expect("loaded by working()")
            .snapshot
            .related(query))
    }

    async fn adopt_origin(&self, origin: &Origin) -> Result<()> {
        self.set_origin_if_unknown(origin)
    }

    async fn apply(&self, change: &Change) -> Result<Outcome> {
        let mut st = self.working()?;
        let st = st.as_mut().expect("loaded by working()");
        let out = apply_change(&mut st.snapshot, change)
            .map_err(|e| RegistryError::from(e).with_api(change.api()))?;
        if out == Outcome::Applied {
            st.dirty = true;
        }
        Ok(out)
    }

    async fn commit(&self) -> Result<()> {
        let mut st = self.lock();
        let Some(st) = st.as_mut() else {
            // Nothing was loaded, so nothing changed.
            return Ok(());
        };
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
        assert_eq!(again.snapshot().unwrap().things.len(), 1);
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
        let r = FileRegistry::open(&p).unwrap();
        let e = r.read(&ReadRequest::default()).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Invalid);
        assert!(e.message.contains("bad.jsonl:2:"), "{}", e.message);
    }
}
