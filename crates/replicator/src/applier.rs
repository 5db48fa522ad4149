//! The version-aware, idempotent applier of events.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use iot_crr_engine::{ApplyOptions, ApplyReport, ChangeResult};
use iot_crr_events::{DecodeError, Event, EventKind, decode};
use iot_crr_model::{Resource, ResourceKey};
use iot_crr_reconcile::{
    DeleteBound, KeyedPlan, ReconcileError, ReconcileOptions, apply_fresh, plan_keys,
};
use iot_crr_registry::Registry;
use iot_crr_state::{Applied, DeadLetter, StateError, StateStore};

use crate::input::BadRecord;
use crate::metrics::Metrics;
use crate::overlay::Overlay;

/// One record to apply: the bytes of one event and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InRecord {
    /// Where the record was read (`events.jsonl:12`,
    /// `kinesis:stream/shardId-000000000000/4962...:3`): for a person, the dead
    /// letter's source, and the dead letter's id when the event cannot be decoded (it
    /// has no id of its own then), so it must be unique per record and stable across
    /// re-deliveries.
    pub origin: String,
    /// The event's JSON.
    pub data: Vec<u8>,
}

/// How an [`Applier`] works.
#[derive(Debug, Clone, Default)]
pub struct ApplierOptions {
    /// The filter and ARN rewriting of the reconciles an event makes (`prune` and
    /// `max_delete` are not used: an event deletes only what a delete event names).
    pub reconcile: ReconcileOptions,
    /// How changes are applied.
    pub apply: ApplyOptions,
}

/// Why a batch could not be applied. Nothing of the batch may be checkpointed: it is
/// delivered again (what was applied of it is then found in place).
#[derive(Debug, thiserror::Error)]
pub enum ApplierError {
    /// A fault that may go away (throttling, a 5xx, a dropped connection, a registry
    /// that changed under the reconcile) outlasted the retries.
    #[error("retryable: {0}")]
    Retryable(String),
    /// A registry refused a read for a reason that retrying does not fix (access
    /// denied, a misconfigured location): stop and tell.
    #[error("{0}")]
    Fatal(String),
    /// The state store failed.
    #[error("state store: {0}")]
    State(#[from] StateError),
}

impl ApplierError {
    /// Whether delivering the batch again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApplierError::Retryable(_))
    }
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Records received.
    pub received: usize,
    /// Events whose resources were reconciled (written or found in state).
    pub applied: usize,
    /// Events skipped: a duplicate, a version or time not newer than the one applied,
    /// an event older than a recorded delete, a failed API call.
    pub stale: usize,
    /// Records that went to the dead letters.
    pub dead_lettered: usize,
    /// Changes written to the target.
    pub writes: usize,
    /// Reads made of the two registries.
    pub reads: usize,
}

/// What the events of a batch ask for one resource.
#[derive(Debug)]
struct Intent {
    /// The latest change a full-state or delete event of the batch says (the one to
    /// record once applied), with its state.
    winner: Option<(Applied, Option<Resource>)>,
    /// Whether the resource is to be deleted (the latest event deletes it).
    delete: bool,
    /// The time of the latest thin event (no version) about it.
    thin_time: Option<i64>,
    /// The batch positions of the events behind this intent.
    events: Vec<usize>,
    /// The full-state and delete events among them, with the change each says.
    changes: Vec<(usize, Applied)>,
}

/// A decoded record of the batch.
struct Decoded {
    record: usize,
    event: Event,
}

/// Applies events to a target registry.
///
/// Each event is a hint that resources changed. With a source, every resource an event
/// names is re-read from the source and reconciled into the target with the keyed
/// reconcile (`iot_crr_reconcile::plan_keys`), so that events in any order converge to
/// the source; without one, the states that thing, thing group and thing type events
/// carry are laid over the target and reconciled the same way, and events that carry
/// no state go to the dead letters (they need a source to re-read). In both modes:
///
/// - a full-state event applies only when it supersedes the last change recorded for
///   its resource ([`Applied::supersedes`]): a duplicate or an older version makes no
///   read and no write;
/// - a delete is recorded as a tombstone, and an event older than it is ignored, so a
///   late update never resurrects a deleted resource;
/// - the resources of a batch are reconciled together, so the engine creates parents
///   before children and types before their things, whatever the event order;
/// - only a delete event deletes, and only what it names (bounded by the number of
///   delete events); a resource the source no longer has is never deleted because an
///   update event about it arrived;
/// - an event that cannot be decoded, that needs a source when there is none, whose
///   resource the source no longer has, or whose change the target refuses for good is
///   put in the dead letters with its reason and bytes, and the rest of the batch is
///   applied; a retryable fault fails the whole batch ([`ApplierError::Retryable`]) so
///   that it is delivered again, and nothing is dead-lettered for it.
pub struct Applier {
    source: Option<Arc<dyn Registry>>,
    target: Arc<dyn Registry>,
    state: Arc<dyn StateStore>,
    options: ApplierOptions,
    metrics: Arc<Metrics>,
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Applier {
    /// An applier of events into `target`, re-reading from `source` when given.
    pub fn new(
        source: Option<Arc<dyn Registry>>,
        target: Arc<dyn Registry>,
        state: Arc<dyn StateStore>,
        options: ApplierOptions,
    ) -> Self {
        Applier {
            source,
            target,
            state,
            options,
            metrics: Arc::new(Metrics::default()),
        }
    }

    /// Uses these metrics (shared with an exporter).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The metrics this applier counts into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The target registry.
    pub fn target(&self) -> &Arc<dyn Registry> {
        &self.target
    }

    /// The source registry, when there is one.
    pub fn source(&self) -> Option<&Arc<dyn Registry>> {
        self.source.as_ref()
    }

    /// The state store.
    pub fn state(&self) -> &Arc<dyn StateStore> {
        &self.state
    }

    async fn dead_letter(
        &self,
        record: &InRecord,
        id: &str,
        reason: String,
    ) -> Result<(), StateError> {
        tracing::warn!(origin = %record.origin, id, %reason, "dead letter");
        self.state
            .put_dead_letter(DeadLetter {
                id: id.to_owned(),
                reason,
                raw: record.data.clone(),
                source: record.origin.clone(),
                time_millis: now_millis(),
            })
            .await
    }

    /// Puts a Kinesis record that could not be split into events (a bad KPL record) in
    /// the dead letters, whole, and counts it as received and dead-lettered. An error
    /// means it could not be stored: the record must be delivered again.
    pub async fn dead_letter_record(&self, bad: BadRecord) -> Result<(), StateError> {
        tracing::warn!(origin = %bad.origin, reason = %bad.reason, "dead letter");
        self.state
            .put_dead_letter(DeadLetter {
                id: bad.origin.clone(),
                reason: bad.reason,
                raw: bad.data,
                source: bad.origin,
                time_millis: now_millis(),
            })
            .await?;
        self.metrics.received(1);
        self.metrics.dead_lettered_records(1);
        Ok(())
    }

    /// Applies a batch of records: see [`Applier`]. Returns what it did; an error means
    /// the batch must be delivered again (nothing was dead-lettered for that error).
    pub async fn apply_batch(&self, records: &[InRecord]) -> Result<BatchOutcome, ApplierError> {
        let mut out = BatchOutcome {
            received: records.len(),
            ..Default::default()
        };
        self.metrics.received(records.len() as u64);

        // 1. Decode; what does not decode is a dead letter.
        let mut decoded = Vec::new();
        let mut seen_ids = HashSet::new();
        let mut undecodable: Vec<(usize, DecodeError)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            match decode(&r.data) {
                Ok(event) => {
                    if seen_ids.insert(event.id.clone()) {
                        decoded.push(Decoded { record: i, event });
                    } else {
                        out.stale += 1;
                    }
                }
                Err(e) => undecodable.push((i, e)),
            }
        }
        for (i, e) in undecodable {
            let r = &records[i];
            self.dead_letter(r, &r.origin, format!("cannot decode the event: {e}"))
                .await?;
            out.dead_lettered += 1;
        }

        // 2. Gate each event against what was applied, and gather intents per key.
        let mut intents: BTreeMap<ResourceKey, Intent> = BTreeMap::new();
        let mut stored: BTreeMap<ResourceKey, Option<Applied>> = BTreeMap::new();
        let mut needs_source: Vec<usize> = Vec::new();
        let mut live_events: BTreeSet<usize> = BTreeSet::new();
        for (pos, d) in decoded.iter().enumerate() {
            let e = &d.event;
            if let EventKind::ApiCall {
                error_code: Some(_),
                ..
            } = &e.kind
            {
                // A failed call changed nothing.
                out.stale += 1;
                continue;
            }
            let change = self.change_of(e);
            let mut live = false;
            for (k, key) in e.keys.iter().enumerate() {
                let last = match stored.get(key) {
                    Some(s) => *s,
                    None => {
                        let s = self.state.last_applied(key).await?;
                        stored.insert(key.clone(), s);
                        s
                    }
                };
                let primary = k == 0;
                match (primary, change) {
                    (true, Some(applied)) => {
                        if last.is_some_and(|s| !applied.supersedes(&s)) {
                            continue;
                        }
                        live = true;
                        let intent = intents.entry(key.clone()).or_insert_with(new_intent);
                        intent.events.push(pos);
                        intent.changes.push((pos, applied));
                        let state = e
                            .state
                            .as_ref()
                            .filter(|s| &s.key == key)
                            .and_then(|s| s.resource.clone());
                        let newer = intent
                            .winner
                            .as_ref()
                            .is_none_or(|(w, _)| applied.supersedes(w));
                        if newer {
                            intent.winner = Some((applied, state));
                            intent.delete = applied.deleted
                                && intent.thin_time.is_none_or(|t| t <= applied.time_millis);
                        }
                    }
                    _ => {
                        // A thin hint: ignored when a recorded delete is at or after it.
                        if last.is_some_and(|s| s.deleted && e.time_millis <= s.time_millis) {
                            continue;
                        }
                        live = true;
                        let intent = intents.entry(key.clone()).or_insert_with(new_intent);
                        intent.events.push(pos);
                        intent.thin_time = Some(
                            intent
                                .thin_time
                                .map_or(e.time_millis, |t| t.max(e.time_millis)),
                        );
                        if let Some((w, _)) = &intent.winner
                            && w.deleted
                            && e.time_millis > w.time_millis
                        {
                            intent.delete = false;
                        }
                        if self.source.is_none() {
                            needs_source.push(pos);
                        }
                    }
                }
            }
            if live {
                live_events.insert(pos);
            } else {
                out.stale += 1;
            }
        }

        // Full-state events that another event of the batch supersedes are stale too.
        for intent in intents.values_mut() {
            let Some((winner, _)) = &intent.winner else {
                continue;
            };
            for (pos, applied) in &intent.changes {
                if applied != winner && live_events.remove(pos) {
                    out.stale += 1;
                    intent.events.retain(|p| p != pos);
                }
            }
        }

        // 3. Without a source, events that carry no state cannot be applied.
        let mut dead: BTreeSet<usize> = BTreeSet::new();
        needs_source.sort_unstable();
        needs_source.dedup();
        for pos in needs_source {
            dead.insert(pos);
            let d = &decoded[pos];
            self.dead_letter(
                &records[d.record],
                &d.event.id,
                "the event carries no state and there is no source to re-read the resource \
                 from (give --source)"
                    .into(),
            )
            .await?;
        }
        intents.retain(|_, i| {
            i.events.retain(|p| !dead.contains(p));
            !i.events.is_empty() && (i.winner.is_some() || self.source.is_some())
        });

        // 4. Reconcile: what stays first, then what goes (a type in use must lose its
        //    things before it can go).
        let (deletes, upserts): (BTreeMap<_, _>, BTreeMap<_, _>) =
            intents.into_iter().partition(|(_, i)| i.delete);
        let mut failed: BTreeMap<usize, String> = BTreeMap::new();
        let mut done: Vec<(ResourceKey, Applied)> = Vec::new();
        for (pass, set) in [(Pass::Upsert, upserts), (Pass::Delete, deletes)] {
            if set.is_empty() {
                continue;
            }
            let result = self.reconcile_pass(pass, &set, &mut out).await?;
            for (key, reason) in result {
                for p in &set[&key].events {
                    failed.entry(*p).or_insert_with(|| reason.clone());
                }
            }
            for (key, intent) in set {
                let ok = intent.events.iter().all(|p| !failed.contains_key(p));
                if ok && let Some((applied, _)) = intent.winner {
                    done.push((key, applied));
                }
            }
        }

        // 5. Record what was applied; dead-letter what failed for good.
        for (key, applied) in done {
            self.state.record_applied(&key, applied).await?;
        }
        for (pos, reason) in &failed {
            let d = &decoded[*pos];
            self.dead_letter(&records[d.record], &d.event.id, reason.clone())
                .await?;
        }
        out.dead_lettered += failed.len() + dead.len();
        let now = now_millis();
        for pos in live_events {
            if !failed.contains_key(&pos) && !dead.contains(&pos) {
                out.applied += 1;
                let lag = now - decoded[pos].event.time_millis;
                self.metrics.lag(lag.max(0) as u64);
            }
        }
        self.metrics.record_batch(&out);
        Ok(out)
    }

    /// The change a full-state or delete event records: its version, time and whether
    /// it deletes. `None` for a thin event (it records nothing).
    fn change_of(&self, e: &Event) -> Option<Applied> {
        if let Some(s) = &e.state {
            return Some(Applied {
                version: s.version,
                time_millis: e.time_millis,
                deleted: s.deleted,
            });
        }
        match &e.kind {
            EventKind::ApiCall { call, .. } if call.is_delete() => Some(Applied {
                version: None,
                time_millis: e.time_millis,
                deleted: true,
            }),
            _ => None,
        }
    }

    /// Plans and applies one pass for a set of keys; returns the keys that failed for
    /// good with the reason. Keys the source no longer has are taken out and the rest
    /// planned again; a pass with another failure is retried key by key, so that one
    /// refused resource does not hold back the others.
    async fn reconcile_pass(
        &self,
        pass: Pass,
        set: &BTreeMap<ResourceKey, Intent>,
        out: &mut BatchOutcome,
    ) -> Result<Vec<(ResourceKey, String)>, ApplierError> {
        let mut keys: BTreeSet<ResourceKey> = set.keys().cloned().collect();
        let mut failed = Vec::new();
        while !keys.is_empty() {
            match self.reconcile_once(pass, &keys, set, out).await? {
                Once::Done => break,
                Once::Absent(absent) => {
                    for k in absent {
                        keys.remove(&k);
                        let reason = self.absent_reason(&k);
                        failed.push((k, reason));
                    }
                }
                Once::Refused(reason) if keys.len() == 1 => {
                    failed.extend(keys.into_iter().map(|k| (k, reason.clone())));
                    break;
                }
                Once::Refused(_) => {
                    for key in std::mem::take(&mut keys) {
                        let one: BTreeSet<ResourceKey> = [key.clone()].into_iter().collect();
                        match self.reconcile_once(pass, &one, set, out).await? {
                            Once::Done => {}
                            Once::Refused(reason) => failed.push((key, reason)),
                            Once::Absent(_) => {
                                let reason = self.absent_reason(&key);
                                failed.push((key, reason));
                            }
                        }
                    }
                }
            }
        }
        Ok(failed)
    }

    /// Why an event about `key` is a dead letter when the source no longer has it.
    fn absent_reason(&self, key: &ResourceKey) -> String {
        let source = self
            .source
            .as_ref()
            .map(|s| s.location())
            .unwrap_or_default();
        format!(
            "the source {source} no longer has {key}: the event is about a resource deleted \
             since (its delete event removes it from the target, and so does the periodic \
             reconcile)"
        )
    }

    /// One plan and apply over `keys`. An error fails the batch.
    async fn reconcile_once(
        &self,
        pass: Pass,
        keys: &BTreeSet<ResourceKey>,
        set: &BTreeMap<ResourceKey, Intent>,
        out: &mut BatchOutcome,
    ) -> Result<Once, ApplierError> {
        let mut options = self.options.reconcile.clone();
        options.prune = pass == Pass::Delete;
        options.max_delete = DeleteBound::Count(if pass == Pass::Delete {
            keys.len() as u64
        } else {
            0
        });
        let target = self.target.as_ref();
        let overlay;
        let source: &dyn Registry = match &self.source {
            Some(source) => source.as_ref(),
            None => {
                let mut overrides = BTreeMap::new();
                for k in keys {
                    let Some((_, state)) = &set[k].winner else {
                        continue;
                    };
                    let current = target.read_resource(k).await.map_err(|e| {
                        let msg = format!("reading {k} from {}: {e}", target.location());
                        if e.class.is_retryable() {
                            ApplierError::Retryable(msg)
                        } else {
                            ApplierError::Fatal(msg)
                        }
                    })?;
                    let laid = state
                        .as_ref()
                        .map(|r| iot_crr_events::merge_carried(r, current.as_ref()));
                    overrides.insert(k.clone(), laid);
                }
                overlay = Overlay::new(target, overrides);
                &overlay
            }
        };
        let planned: Result<KeyedPlan, ReconcileError> =
            plan_keys(source, target, keys, &options).await;
        let planned = match planned {
            Ok(p) => p,
            Err(e) => return fail_or_refuse(e),
        };
        out.reads += planned.reads;
        self.metrics.reads(planned.reads as u64);
        if pass == Pass::Upsert && !planned.source_absent.is_empty() {
            // An update about a resource the source no longer has is never a reason to
            // delete it here.
            return Ok(Once::Absent(planned.source_absent));
        }
        if planned.plan.is_empty() {
            return Ok(Once::Done);
        }
        let report = match apply_fresh(
            target,
            &planned.plan,
            source,
            &planned.source_origin,
            &options.max_delete,
            &self.options.apply,
            None,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => return fail_or_refuse(e),
        };
        out.writes += report.counts.applied;
        self.metrics.writes(&report);
        judge(&report)
    }
}

/// What one plan and apply did.
enum Once {
    /// Everything applied (or already in state).
    Done,
    /// Keys asked for that the source does not have (nothing was applied).
    Absent(BTreeSet<ResourceKey>),
    /// The target refused a change for good, or the plan was refused (the delete
    /// bound): the reason.
    Refused(String),
}

/// A reconcile error as the batch's failure (retryable faults, reads refused) or a
/// refusal of these keys.
fn fail_or_refuse(e: ReconcileError) -> Result<Once, ApplierError> {
    let msg = e.to_string();
    match &e {
        ReconcileError::Read { source, .. } if source.class.is_retryable() => {
            Err(ApplierError::Retryable(msg))
        }
        ReconcileError::Unsettled { .. } => Err(ApplierError::Retryable(msg)),
        ReconcileError::Read { .. } | ReconcileError::Open { .. } => Err(ApplierError::Fatal(msg)),
        _ => Ok(Once::Refused(msg)),
    }
}

/// Whether an apply succeeded, failed for good (the inner error, with the first
/// failure), or must be retried (a retryable failure that outlasted the retries, a
/// commit that failed).
fn judge(report: &ApplyReport) -> Result<Once, ApplierError> {
    if let Some(e) = &report.commit_error {
        return Err(ApplierError::Retryable(format!(
            "committing {}: {e}",
            report.target
        )));
    }
    let mut permanent = None;
    for c in &report.changes {
        match &c.result {
            ChangeResult::Failed { class, .. } if class.is_retryable() => {
                return Err(ApplierError::Retryable(format!(
                    "{}: {}",
                    c.description, c.result
                )));
            }
            ChangeResult::NotSent { .. } => {
                return Err(ApplierError::Retryable(format!(
                    "{}: {}",
                    c.description, c.result
                )));
            }
            ChangeResult::Failed { .. } | ChangeResult::Skipped { .. } => {
                permanent.get_or_insert_with(|| {
                    format!(
                        "the target {} refused {}: {}",
                        report.target, c.description, c.result
                    )
                });
            }
            _ => {}
        }
    }
    Ok(match permanent {
        Some(reason) => Once::Refused(reason),
        None => Once::Done,
    })
}

fn new_intent() -> Intent {
    Intent {
        winner: None,
        delete: false,
        thin_time: None,
        events: Vec::new(),
        changes: Vec::new(),
    }
}

/// The two passes of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Create and update (no deletes).
    Upsert,
    /// Delete what delete events name.
    Delete,
}
