//! A registry stored in a snapshot file: the embedded default, also a backup or export.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use iot_crr_model::{
    Change, Name, Origin, Outcome, Related, Resource, ResourceKey, SameLines, Snapshot,
    apply_change, format,
};

use crate::{ErrorClass, ReadRequest, Registry, RegistryError, Result};

/// A snapshot file used as a registry.
///
/// Reads parse the file. A missing file is an empty registry when opened with
/// [`FileRegistry::open`] (a target, created by the first commit), and an error when
/// opened with [`FileRegistry::open_existing`] (a source). The first change loads a
/// working copy; changes are applied to it with AWS IoT's rules and written back by
/// [`Registry::commit`], atomically (temporary file and rename). A failed run that never
/// commits leaves the file as it was. Until a change is made nothing is held in memory
/// between calls, so comparing two large files costs one parse of each.
#[derive(Debug)]
pub struct FileRegistry {
    path: PathBuf,
    /// Whether a missing file is an error rather than an empty registry.
    must_exist: bool,
    state: Mutex<Option<State>>,
    /// Where the certificates' lines are, from the last read without PEMs, and what
    /// the file looked like then.
    pems: Mutex<Option<(Arc<format::PemIndex>, Option<Stamp>)>>,
}

/// A file's length and modification time: a rewrite changes one of them.
type Stamp = (u64, std::time::SystemTime);

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()?))
}

#[derive(Debug)]
struct State {
    snapshot: Snapshot,
    dirty: bool,
}

impl FileRegistry {
    /// Names a snapshot file that must exist, such as a source: reading it fails with
    /// a [`ErrorClass::NotFound`] error naming the path when it does not. Nothing is
    /// read yet.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self> {
        let mut r = FileRegistry::open(path)?;
        r.must_exist = true;
        Ok(r)
    }

    /// Names a snapshot file as a registry that may not exist yet, such as a target:
    /// a missing file reads as an empty registry and is created by the first commit.
    /// Nothing is read yet.
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
            must_exist: false,
            state: Mutex::new(None),
            pems: Mutex::new(None),
        })
    }

    /// Reads the file; a file that does not exist is an empty registry unless it must
    /// exist.
    fn load(&self) -> Result<Snapshot> {
        load_path(&self.path, self.must_exist)
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

    /// Reads two snapshot files side by side for a comparison, without PEMs, each
    /// with what its request selects (see [`iot_crr_model::pair`]): the source's and
    /// the target's snapshots of what differs, and the things and certificates both
    /// hold alike. Each registry keeps the index of its certificates' lines, as a read
    /// without PEMs does, and each request's progress hears the counts of the whole
    /// side.
    ///
    /// `None` when this way does not apply: a working copy is loaded (changes were
    /// made), a file does not exist, the requests differ in what they select, or a
    /// file is not in the writer's form and order (a file edited by hand). Then read
    /// each with [`Registry::read`], which reads any file or reports its exact error.
    pub async fn read_pair(
        source: &FileRegistry,
        target: &FileRegistry,
        source_request: &ReadRequest,
        target_request: &ReadRequest,
    ) -> Result<Option<(Snapshot, Snapshot, SameLines)>> {
        if source.lock().is_some()
            || target.lock().is_some()
            || source_request.filter != target_request.filter
            || !source.path.is_file()
            || !target.path.is_file()
        {
            return Ok(None);
        }
        let (sp, tp) = (source.path.clone(), target.path.clone());
        let filter = source_request.filter.clone();
        let read = tokio::task::spawn_blocking(move || {
            let stamps = (stamp(&sp), stamp(&tp));
            iot_crr_model::read_pair_without_pems(&sp, &tp, &filter).map(|p| (p, stamps))
        })
        .await
        .map_err(|e| RegistryError::new(ErrorClass::Other, e.to_string()))?;
        let (pair, (s_at, t_at)) = match read {
            Ok(read) => read,
            Err(aside) => {
                tracing::info!(
                    reason = %aside,
                    "snapshot files compared one at a time, not side by side"
                );
                return Ok(None);
            }
        };
        *source.lock_pems() = Some((Arc::new(pair.source_pems), s_at));
        *target.lock_pems() = Some((Arc::new(pair.target_pems), t_at));
        let f = source_request.filter.compile();
        let same = pair.same.selected_counts(&f);
        for (request, snap) in [
            (source_request, &pair.source),
            (target_request, &pair.target),
        ] {
            request.report_counts(&(snap.counts() + same));
        }
        Ok(Some((pair.source, pair.target, pair.same)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<State>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_pems(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<(Arc<format::PemIndex>, Option<Stamp>)>> {
        self.pems.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The index of the certificates' lines: the last read's unless `stale` and the
    /// file changed since, else a new read's (of the whole file, PEMs left out). Also
    /// whether it is new.
    async fn pem_index(&self, stale: bool) -> Result<(Arc<format::PemIndex>, bool)> {
        if let Some((i, at)) = self.lock_pems().clone()
            && !(stale && at.is_none_or(|at| stamp(&self.path) != Some(at)))
        {
            return Ok((i, false));
        }
        let (path, must_exist) = (self.path.clone(), self.must_exist);
        let (index, at) = tokio::task::spawn_blocking(move || {
            let before = stamp(&path);
            load_without_pems(&path, must_exist).map(|(_, i)| (i, before))
        })
        .await
        .map_err(|e| RegistryError::new(ErrorClass::Other, e.to_string()))??;
        let index = Arc::new(index.unwrap_or_default());
        *self.lock_pems() = Some((index.clone(), at));
        Ok((index, true))
    }
}

/// Reads a snapshot file; a file that does not exist is an empty registry, or an error
/// when it must exist.
fn load_path(path: &Path, must_exist: bool) -> Result<Snapshot> {
    read_or_empty(path, must_exist, format::read_file)
}

/// [`load_path`] without the PEMs, with the index that reads them from the file.
fn load_without_pems(
    path: &Path,
    must_exist: bool,
) -> Result<(Snapshot, Option<format::PemIndex>)> {
    read_or_empty(path, must_exist, |p| {
        format::read_file_without_pems(p).map(|(s, i)| (s, Some(i)))
    })
}

/// Reads with `read`; a file that does not exist is empty, or an error when it must exist.
fn read_or_empty<T: Default>(
    path: &Path,
    must_exist: bool,
    read: impl FnOnce(&Path) -> std::result::Result<T, format::SnapshotError>,
) -> Result<T> {
    match read(path) {
        Ok(s) => Ok(s),
        Err(format::SnapshotError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            if must_exist {
                Err(RegistryError::new(
                    ErrorClass::NotFound,
                    format!(
                        "no such snapshot file: {}; a source must exist (a missing target \
                         is created)",
                        path.display()
                    ),
                ))
            } else {
                Ok(T::default())
            }
        }
        Err(e) => Err(snapshot_error(e)),
    }
}

fn snapshot_error(e: format::SnapshotError) -> RegistryError {
    let class = match e {
        format::SnapshotError::Io { .. } => ErrorClass::Other,
        format::SnapshotError::Parse { .. } => ErrorClass::Invalid,
    };
    RegistryError::new(class, e.to_string())
}

#[async_trait]
impl Registry for FileRegistry {
    fn location(&self) -> String {
        format!("file:{}", self.path.display())
    }

    fn as_file(&self) -> Option<&FileRegistry> {
        Some(self)
    }

    async fn read(&self, request: &ReadRequest) -> Result<Snapshot> {
        let loaded = {
            let st = self.lock();
            st.as_ref().map(|st| st.snapshot.filtered(&request.filter))
        };
        let s = match loaded {
            Some(s) => s,
            None => {
                // Parsing is CPU work: off the async threads, so that two files are
                // read at the same time.
                let (path, must_exist) = (self.path.clone(), self.must_exist);
                let skip = request.skip_certificate_pems;
                let (mut s, index) = tokio::task::spawn_blocking(move || {
                    if skip {
                        let before = stamp(&path);
                        load_without_pems(&path, must_exist)
                            .map(|(s, i)| (s, i.map(|i| (Arc::new(i), before))))
                    } else {
                        load_path(&path, must_exist).map(|s| (s, None))
                    }
                })
                .await
                .map_err(|e| RegistryError::new(ErrorClass::Other, e.to_string()))??;
                if index.is_some() {
                    *self.lock_pems() = index;
                }
                s.retain_selected(&request.filter);
                s
            }
        };
        request.report_counts(&s.counts());
        Ok(s)
    }

    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>> {
        let st = self.working()?;
        Ok(st.as_ref().expect("loaded by working()").snapshot.get(key))
    }

    async fn list_keys(
        &self,
        kind: iot_crr_model::Kind,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<crate::KeyPage> {
        let st = self.working()?;
        let snapshot = &st.as_ref().expect("loaded by working()").snapshot;
        Ok(crate::key_page(snapshot, kind, cursor, limit))
    }

    /// From the working copy once changes were made; otherwise from the file, at the
    /// line a read without PEMs indexed (a comparison's), so that the PEMs of a large
    /// file are never all in memory. When the certificate is not at its line and the
    /// file changed since it was indexed, it is indexed again.
    async fn certificate_pem(&self, id: &str) -> Result<Option<(String, Option<Name>)>> {
        {
            let st = self.lock();
            if let Some(st) = st.as_ref() {
                return Ok(st
                    .snapshot
                    .certificates
                    .get(id)
                    .map(|c| (c.certificate_pem.clone(), c.ca_certificate_id.clone())));
            }
        }
        for stale in [false, true] {
            let (index, new) = self.pem_index(stale).await?;
            if stale && !new {
                break;
            }
            let id = id.to_string();
            let found = tokio::task::spawn_blocking(move || index.certificate(&id))
                .await
                .map_err(|e| RegistryError::new(ErrorClass::Other, e.to_string()))?
                .map_err(snapshot_error)?;
            if let Some(c) = found {
                return Ok(Some((c.certificate_pem, c.ca_certificate_id)));
            }
        }
        Ok(None)
    }

    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>> {
        let st = self.working()?;
        Ok(st
            .as_ref()
            .expect("loaded by working()")
            .snapshot
            .related(query))
    }

    fn origin(&self) -> Origin {
        // Known once the file was loaded (a plain read does not keep it).
        self.lock()
            .as_ref()
            .map(|st| st.snapshot.origin.clone())
            .unwrap_or_default()
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
    async fn a_missing_source_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nowhere.jsonl");
        let r = FileRegistry::open_existing(&p).unwrap();
        let e = r.read(&ReadRequest::default()).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::NotFound);
        assert_eq!(
            e.message,
            format!(
                "no such snapshot file: {}; a source must exist (a missing target is created)",
                p.display()
            )
        );
        // Every other way in loads the file too, and fails the same way.
        let e = r.snapshot().unwrap_err();
        assert_eq!(e.class, ErrorClass::NotFound);
        let e = r
            .read_resource(&ResourceKey::new(iot_crr_model::Kind::Thing, "t"))
            .await
            .unwrap_err();
        assert!(e.message.contains("nowhere.jsonl"), "{}", e.message);
        assert!(!p.exists());
    }

    #[tokio::test]
    async fn a_missing_target_is_empty_and_created_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.jsonl");
        let r = FileRegistry::open(&p).unwrap();
        assert_eq!(
            r.read(&ReadRequest::default()).await.unwrap(),
            Snapshot::new()
        );
        let c = Change::CreateThing {
            thing_name: "t".into(),
            thing_type_name: None,
            attributes: Default::default(),
            billing_group_name: None,
        };
        r.apply(&c).await.unwrap();
        r.commit().await.unwrap();
        // Now it exists, it opens as a source as well.
        let source = FileRegistry::open_existing(&p).unwrap();
        let s = source.read(&ReadRequest::default()).await.unwrap();
        assert_eq!(s.things.len(), 1);
    }

    #[tokio::test]
    async fn a_directory_is_refused_either_way() {
        let dir = tempfile::tempdir().unwrap();
        for r in [
            FileRegistry::open(dir.path()),
            FileRegistry::open_existing(dir.path()),
        ] {
            assert_eq!(r.unwrap_err().class, ErrorClass::Invalid);
        }
    }

    #[tokio::test]
    async fn a_filtered_read_keeps_the_principal_coverage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.jsonl");
        std::fs::write(
            &p,
            "{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1,\"principals\":\"certificatesOnly\"}\n\
             {\"kind\":\"thing\",\"thingName\":\"a\"}\n{\"kind\":\"thing\",\"thingName\":\"b\"}\n",
        )
        .unwrap();
        let request = ReadRequest {
            filter: iot_crr_model::Filter {
                include: vec!["thing:a".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let r = FileRegistry::open_existing(&p).unwrap();
        // Read from the file, then from the loaded working copy.
        let cold = r.read(&request).await.unwrap();
        r.snapshot().unwrap();
        let warm = r.read(&request).await.unwrap();
        for s in [cold, warm] {
            assert_eq!(s.things.keys().collect::<Vec<_>>(), ["a"]);
            assert_eq!(
                s.principal_coverage,
                iot_crr_model::PrincipalCoverage::CertificatesOnly
            );
        }
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

    fn certificate(id: char, pem: &str) -> iot_crr_model::Certificate {
        iot_crr_model::Certificate {
            certificate_id: id.to_string().repeat(64).into(),
            certificate_pem: format!("-----BEGIN CERTIFICATE-----\n{pem}\n"),
            status: iot_crr_model::CertificateStatus::Active,
            ca_certificate_id: None,
            policies: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_comparison_read_holds_no_pem_and_each_is_read_from_the_file_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.jsonl");
        let mut s = Snapshot::new();
        for (id, pem) in [('a', "A"), ('b', "B")] {
            s.insert(Resource::Certificate(certificate(id, pem)));
        }
        format::write_file(&s, &p).unwrap();
        let r = FileRegistry::open_existing(&p).unwrap();
        let read = r
            .read(&ReadRequest {
                skip_certificate_pems: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            read.certificates
                .values()
                .all(|c| c.certificate_pem.is_empty())
        );
        let a = "a".repeat(64);
        assert_eq!(
            r.certificate_pem(&a).await.unwrap(),
            Some((certificate('a', "A").certificate_pem, None))
        );
        assert_eq!(r.certificate_pem(&"c".repeat(64)).await.unwrap(), None);
        // Rewritten since the read (another line order): indexed again.
        s.certificates.remove(a.as_str());
        s.insert(Resource::Certificate(certificate('0', "Z")));
        format::write_file(&s, &p).unwrap();
        assert_eq!(
            r.certificate_pem(&"b".repeat(64)).await.unwrap(),
            Some((certificate('b', "B").certificate_pem, None))
        );
        assert_eq!(r.certificate_pem(&a).await.unwrap(), None);
        // A full read keeps the PEMs.
        let full = r.read(&ReadRequest::default()).await.unwrap();
        assert_eq!(full, s);
    }
}
