//! The conformance suite (`iot_crr_state::conformance`), run against every store of
//! this crate, and checks specific to SQLite.

use std::sync::Arc;

use iot_crr_model::{Kind, ResourceKey};
use iot_crr_state::{
    Applied, DeadLetter, MemoryStore, SqliteStore, StateError, StateStore, conformance,
};

fn key(name: &str) -> ResourceKey {
    ResourceKey::new(Kind::Thing, name)
}

fn upd(version: Option<i64>, time_millis: i64) -> Applied {
    Applied {
        version,
        time_millis,
        deleted: false,
    }
}

fn del(version: Option<i64>, time_millis: i64) -> Applied {
    Applied {
        version,
        time_millis,
        deleted: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store() {
    conformance::run(Arc::new(MemoryStore::new()), Default::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_in_memory() {
    conformance::run(
        Arc::new(SqliteStore::open_in_memory().unwrap()),
        Default::default(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_file() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(
        Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap()),
        Default::default(),
    )
    .await;
}

/// Whatever was written is there after the store is dropped without any close (and
/// with the WAL not checkpointed into the main file) and the file reopened.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_survives_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.put_checkpoint("st", "sh", "42").await.unwrap();
        s.finish_shard("st", "closed").await.unwrap();
        s.record_applied(&key("x"), upd(Some(3), 9)).await.unwrap();
        s.record_applied(&key("y"), del(None, 8)).await.unwrap();
        s.put_dead_letter(DeadLetter {
            id: "d".into(),
            reason: "r".into(),
            raw: vec![0, 1, 2],
            source: "s".into(),
            time_millis: 1,
        })
        .await
        .unwrap();
        // Leak a clone so the connection is never closed cleanly (no WAL checkpoint on
        // close), as a killed process would leave it.
        std::mem::forget(s.clone());
    }
    assert!(dir.path().join("state.db-wal").exists());
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        s.get_checkpoint("st", "sh").await.unwrap().as_deref(),
        Some("42")
    );
    assert_eq!(
        s.last_applied(&key("x")).await.unwrap(),
        Some(upd(Some(3), 9))
    );
    assert!(s.is_tombstoned(&key("y"), 8).await.unwrap());
    assert!(s.is_shard_finished("st", "closed").await.unwrap());
    assert!(!s.is_shard_finished("st", "sh").await.unwrap());
    assert_eq!(s.list_dead_letters(5).await.unwrap()[0].raw, vec![0, 1, 2]);
    // Two stores on one file (two processes) see each other's writes.
    let other = SqliteStore::open(&path).unwrap();
    assert!(other.put_checkpoint("st", "sh", "43").await.unwrap());
    assert!(!s.put_checkpoint("st", "sh", "43").await.unwrap());
}

#[test]
fn sqlite_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE schema_version SET version = 99", [])
        .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).err().unwrap();
    assert!(
        matches!(err, StateError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn supersedes_rules() {
    // Both versions: higher wins, delete wins at equal, equal refused.
    assert!(upd(Some(2), 0).supersedes(&upd(Some(1), 9)));
    assert!(!upd(Some(1), 9).supersedes(&upd(Some(1), 0)));
    assert!(del(Some(1), 0).supersedes(&upd(Some(1), 0)));
    // Mixed or no versions: time decides.
    assert!(upd(Some(1), 5).supersedes(&upd(None, 4)));
    assert!(!upd(None, 4).supersedes(&upd(Some(1), 4)));
    assert!(del(None, 4).supersedes(&upd(Some(1), 4)));
    // After a delete: strictly later only.
    assert!(!del(Some(5), 4).supersedes(&del(Some(1), 4)));
    assert!(upd(Some(1), 5).supersedes(&del(Some(7), 4)));
}
