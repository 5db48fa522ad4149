//! The structured result of applying a plan.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use iot_crr_model::ResourceKey;
use iot_crr_registry::ErrorClass;
use serde::{Serialize, Serializer};

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "status",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ChangeResult {
    /// The registry was changed.
    Applied,
    /// The registry already was as the change wants it; nothing was written.
    AlreadyInState,
    /// The change was sent and failed (after retries, when the error was retryable).
    Failed {
        /// How the last error was classified.
        #[serde(serialize_with = "class_label")]
        class: ErrorClass,
        /// The API operation that failed (the backend's, or the change's own).
        api: String,
        /// The registry's message.
        message: String,
        /// Calls made for this change, the first one included.
        attempts: u32,
    },
    /// The change was not sent because something it needs is missing.
    Skipped {
        /// Why, for a person (`depends on thingType/sensor, which failed`).
        reason: String,
    },
    /// The deadline passed before the change was sent (or before a retry it needed):
    /// it is unfinished, and applying it later completes the work.
    NotSent {
        /// Why, for a person (`the deadline passed before it was sent`).
        reason: String,
    },
}

fn class_label<S: Serializer>(class: &ErrorClass, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(class.label())
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl ChangeResult {
    /// Whether the change was sent and failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, ChangeResult::Failed { .. })
    }

    /// Whether the change was not sent because something it needs is missing.
    pub fn is_skipped(&self) -> bool {
        matches!(self, ChangeResult::Skipped { .. })
    }

    /// Whether the deadline stopped the change.
    pub fn is_not_sent(&self) -> bool {
        matches!(self, ChangeResult::NotSent { .. })
    }

    /// Whether the target now has the change's effect.
    pub fn is_ok(&self) -> bool {
        matches!(self, ChangeResult::Applied | ChangeResult::AlreadyInState)
    }

    /// A short label for logs and metrics (`applied`, `already_in_state`, `failed`,
    /// `skipped`, `not_sent`).
    pub fn label(&self) -> &'static str {
        match self {
            ChangeResult::Applied => "applied",
            ChangeResult::AlreadyInState => "already_in_state",
            ChangeResult::Failed { .. } => "failed",
            ChangeResult::Skipped { .. } => "skipped",
            ChangeResult::NotSent { .. } => "not_sent",
        }
    }
}

impl fmt::Display for ChangeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeResult::Applied => f.write_str("applied"),
            ChangeResult::AlreadyInState => f.write_str("already in state"),
            ChangeResult::Failed {
                class,
                api,
                message,
                attempts,
            } => {
                let s = if *attempts == 1 { "" } else { "s" };
                write!(
                    f,
                    "{api} failed ({class}, {attempts} attempt{s}): {message}"
                )
            }
            ChangeResult::Skipped { reason } => write!(f, "skipped: {reason}"),
            ChangeResult::NotSent { reason } => write!(f, "not sent: {reason}"),
        }
    }
}

/// One change of the plan with its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRecord {
    /// Position of the change in the plan (0-based).
    pub index: usize,
    /// The change's stage.
    pub stage: u32,
    /// The change's API operation ([`Change::api`](iot_crr_model::Change::api)).
    pub api: &'static str,
    /// The resource the change is about.
    pub key: ResourceKey,
    /// The change, for a person (`create thing sensor-1`).
    pub description: String,
    /// Calls made for this change (0 when skipped or not sent at all).
    pub attempts: u32,
    /// What happened.
    pub result: ChangeResult,
}

/// Number of changes per result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultCounts {
    /// Changes that modified the registry.
    pub applied: usize,
    /// Changes whose effect was already in place.
    pub already_in_state: usize,
    /// Changes that were sent and failed.
    pub failed: usize,
    /// Changes that were not sent because something they need is missing.
    pub skipped: usize,
    /// Changes the deadline stopped.
    pub not_sent: usize,
}

impl ResultCounts {
    /// Counts one result.
    pub fn add(&mut self, result: &ChangeResult) {
        match result {
            ChangeResult::Applied => self.applied += 1,
            ChangeResult::AlreadyInState => self.already_in_state += 1,
            ChangeResult::Failed { .. } => self.failed += 1,
            ChangeResult::Skipped { .. } => self.skipped += 1,
            ChangeResult::NotSent { .. } => self.not_sent += 1,
        }
    }

    /// All changes counted.
    pub fn total(&self) -> usize {
        self.applied + self.already_in_state + self.failed + self.skipped + self.not_sent
    }
}

/// The result of [`apply_plan`](crate::apply_plan) (or an [`ApplyRun`](crate::ApplyRun)):
/// every change's result by index, totals, and whether the target made the changes
/// durable.
///
/// Serialises to JSON (camelCase) for `--report FILE`; [`Display`](fmt::Display) is a
/// summary for people with one line per failed or skipped change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// The target's location ([`Registry::location`](iot_crr_registry::Registry::location)).
    pub target: String,
    /// One record per change, by index (plan order).
    pub changes: Vec<ChangeRecord>,
    /// Totals per result.
    pub counts: ResultCounts,
    /// Wall-clock time of the whole apply, commit included.
    #[serde(rename = "elapsedSeconds", serialize_with = "seconds")]
    pub elapsed: Duration,
    /// Retries made over all changes (attempts beyond the first).
    pub retries: u64,
    /// Why [`Registry::commit`](iot_crr_registry::Registry::commit) failed, when it did.
    /// For a buffering backend (a snapshot file) this means none of the changes landed.
    pub commit_error: Option<String>,
    /// Calls made per API operation, as counted by the registry (empty for backends
    /// that do not count).
    pub api_calls: BTreeMap<String, u64>,
}

/// Why an apply did not fully succeed; see [`ApplyReport::check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyFailure {
    /// The target could not make the changes durable.
    #[error("the target could not commit the changes (nothing may have landed): {0}")]
    Commit(String),
    /// Some changes failed or were skipped.
    #[error("{failed} change(s) failed and {skipped} were skipped")]
    Changes {
        /// Changes that failed.
        failed: usize,
        /// Changes that were not sent because something they need is missing.
        skipped: usize,
    },
    /// The deadline passed before every change was sent; applying the changes not
    /// sent (or reconciling [`ApplyReport::unfinished_keys`]) completes the work.
    #[error("the deadline passed: {not_sent} change(s) were not sent")]
    Unfinished {
        /// Changes not sent.
        not_sent: usize,
    },
}

impl ApplyFailure {
    /// A short label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ApplyFailure::Commit(_) => "commit_failed",
            ApplyFailure::Changes { .. } => "changes_failed",
            ApplyFailure::Unfinished { .. } => "deadline_passed",
        }
    }
}

impl ApplyReport {
    /// Whether every change reached the target and the commit succeeded.
    pub fn is_success(&self) -> bool {
        self.counts.failed == 0
            && self.counts.skipped == 0
            && self.counts.not_sent == 0
            && self.commit_error.is_none()
    }

    /// The changes that were sent and failed, in plan order.
    pub fn failures(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.changes.iter().filter(|c| c.result.is_failed())
    }

    /// The changes that were skipped (something they need is missing), in plan order.
    pub fn skipped(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.changes.iter().filter(|c| c.result.is_skipped())
    }

    /// The changes the deadline stopped, in plan order: a plan of exactly these
    /// changes, in this order, completes the work.
    pub fn not_sent(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.changes.iter().filter(|c| c.result.is_not_sent())
    }

    /// The resources of the changes the deadline stopped, sorted, each once:
    /// reconciling exactly these resources resumes the apply.
    pub fn unfinished_keys(&self) -> Vec<ResourceKey> {
        self.not_sent()
            .map(|c| c.key.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// `Ok` when [`is_success`](Self::is_success), otherwise the most serious reason:
    /// a failed commit, then failed (or skipped) changes, then the deadline.
    pub fn check(&self) -> Result<(), ApplyFailure> {
        if let Some(e) = &self.commit_error {
            return Err(ApplyFailure::Commit(e.clone()));
        }
        if self.counts.failed > 0 || self.counts.skipped > 0 {
            return Err(ApplyFailure::Changes {
                failed: self.counts.failed,
                skipped: self.counts.skipped,
            });
        }
        if self.counts.not_sent > 0 {
            return Err(ApplyFailure::Unfinished {
                not_sent: self.counts.not_sent,
            });
        }
        Ok(())
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }
}

/// How many changes stopped by the deadline the summary lists (there may be millions).
const NOT_SENT_LISTED: usize = 10;

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        write!(
            f,
            "{} change(s) to {} in {:.1}s: {} applied, {} already in state, {} failed, {} skipped",
            c.total(),
            self.target,
            self.elapsed.as_secs_f64(),
            c.applied,
            c.already_in_state,
            c.failed,
            c.skipped,
        )?;
        if c.not_sent > 0 {
            write!(f, ", {} not sent (deadline)", c.not_sent)?;
        }
        if self.retries > 0 {
            write!(f, " ({} retries)", self.retries)?;
        }
        writeln!(f)?;
        for r in self.changes.iter().filter(|r| !r.result.is_ok()) {
            match &r.result {
                ChangeResult::Failed { .. } => {
                    writeln!(f, "  failed:  {}: {}", r.description, r.result)?
                }
                ChangeResult::Skipped { reason } => {
                    writeln!(f, "  skipped: {}: {reason}", r.description)?
                }
                _ => {}
            }
        }
        if c.not_sent > 0 {
            let keys = self.unfinished_keys().len();
            writeln!(
                f,
                "the deadline passed: {} change(s) not sent, about {keys} resource(s); apply them (or reconcile those resources) to finish",
                c.not_sent
            )?;
            for r in self.not_sent().take(NOT_SENT_LISTED) {
                if let ChangeResult::NotSent { reason } = &r.result {
                    writeln!(f, "  not sent: {}: {reason}", r.description)?;
                }
            }
            if c.not_sent > NOT_SENT_LISTED {
                writeln!(f, "  ... and {} more", c.not_sent - NOT_SENT_LISTED)?;
            }
        }
        if let Some(e) = &self.commit_error {
            writeln!(f, "commit failed, the changes may not have landed: {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iot_crr_model::Kind;

    fn record(index: usize, result: ChangeResult) -> ChangeRecord {
        ChangeRecord {
            index,
            stage: 0,
            api: "CreateThing",
            key: ResourceKey::new(Kind::Thing, format!("t{index}")),
            description: format!("create thing t{index}"),
            attempts: 1,
            result,
        }
    }

    fn report(results: Vec<ChangeResult>) -> ApplyReport {
        let mut counts = ResultCounts::default();
        results.iter().for_each(|r| counts.add(r));
        ApplyReport {
            target: "memory:".into(),
            changes: results
                .into_iter()
                .enumerate()
                .map(|(i, r)| record(i, r))
                .collect(),
            counts,
            elapsed: Duration::from_millis(1500),
            retries: 2,
            commit_error: None,
            api_calls: BTreeMap::from([("CreateThing".to_string(), 4)]),
        }
    }

    #[test]
    fn display_lists_each_failure_and_skip_with_its_reason() {
        let r = report(vec![
            ChangeResult::Applied,
            ChangeResult::Failed {
                class: ErrorClass::NotFound,
                api: "CreateThing".into(),
                message: "billing group b does not exist".into(),
                attempts: 1,
            },
            ChangeResult::Skipped {
                reason: "depends on thing/t1, which failed".into(),
            },
        ]);
        let text = r.to_string();
        assert!(
            text.starts_with("3 change(s) to memory: in 1.5s: 1 applied, 0 already in state, 1 failed, 1 skipped (2 retries)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "failed:  create thing t1: CreateThing failed (not_found, 1 attempt): billing group b does not exist"
            ),
            "{text}"
        );
        assert!(
            text.contains("skipped: create thing t2: depends on thing/t1, which failed"),
            "{text}"
        );
        assert!(!r.is_success());
        assert_eq!(r.failures().count(), 1);
        assert_eq!(r.skipped().count(), 1);
        assert_eq!(
            r.check(),
            Err(ApplyFailure::Changes {
                failed: 1,
                skipped: 1
            })
        );
    }

    #[test]
    fn a_commit_error_is_the_first_reason() {
        let mut r = report(vec![ChangeResult::Applied]);
        assert!(r.is_success());
        assert_eq!(r.check(), Ok(()));
        r.commit_error = Some("disk full".into());
        assert!(!r.is_success());
        let e = r.check().unwrap_err();
        assert_eq!(e.metric_label(), "commit_failed");
        assert!(r.to_string().contains("commit failed"), "{r}");
        assert!(r.to_string().contains("disk full"), "{r}");
    }

    #[test]
    fn json_is_camel_case_with_labels() {
        let r = report(vec![
            ChangeResult::AlreadyInState,
            ChangeResult::Failed {
                class: ErrorClass::Throttled,
                api: "CreateThing".into(),
                message: "slow down".into(),
                attempts: 5,
            },
        ]);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["elapsedSeconds"], 1.5);
        assert_eq!(v["counts"]["alreadyInState"], 1);
        assert_eq!(v["apiCalls"]["CreateThing"], 4);
        assert_eq!(v["commitError"], serde_json::Value::Null);
        assert_eq!(v["changes"][0]["result"]["status"], "alreadyInState");
        let failed = &v["changes"][1];
        assert_eq!(failed["key"]["kind"], "thing");
        assert_eq!(failed["result"]["status"], "failed");
        assert_eq!(failed["result"]["class"], "throttled");
        assert_eq!(failed["result"]["attempts"], 5);
    }
}
