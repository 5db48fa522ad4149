//! What every resource kind provides: [`KindSpec`] for its resource type, [`KindChange`]
//! for the changes it owns.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::apply::{ApplyError, Outcome};
use crate::collections::StringMap;
use crate::constraints::Violation;
use crate::plan::Action;
use crate::resource::{Kind, Name, Resource, ResourceKey, ResourceRef};
use crate::snapshot::{Counts, Snapshot};
use crate::view::View;

/// A resource kind: its resource type and the facts the shared machinery (snapshot files,
/// filters, messages, ARNs, tags) needs about it. The resource struct implements it.
pub trait KindSpec:
    Clone + Eq + fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The kind.
    const KIND: Kind;
    /// The `kind` field of its snapshot lines and plan keys (`billingGroup`).
    const TAG: &'static str;
    /// The noun in messages (`billing group`).
    const NOUN: &'static str;
    /// The plural in summaries (`billing groups`).
    const PLURAL: &'static str;
    /// The JSON field that holds its name (`billingGroupName`).
    const NAME_FIELD: &'static str;
    /// The resource type in its ARN (`billinggroup`; `cert` for certificates).
    const ARN_TYPE: &'static str;
    /// Whether AWS IoT lets it carry tags (`TagResource`).
    const TAGGABLE: bool;
    /// Other singular spellings a command line may use, lowercase without dashes
    /// (`cert`); [`KindSpec::TAG`] in any case, kebab-case or plural is always accepted.
    const ALIASES: &'static [&'static str] = &[];

    /// Its name (the key of its map in a [`Snapshot`]).
    fn name(&self) -> &Name;
    /// Its map in a snapshot.
    fn map(s: &Snapshot) -> &BTreeMap<Name, Self>;
    /// Its map in a snapshot, to change.
    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self>;
    /// Its tags, for a taggable kind.
    fn tags_mut(&mut self) -> Option<&mut StringMap> {
        None
    }
    /// Its count in [`Counts`].
    fn count(c: &Counts) -> usize;
    /// Its count in [`Counts`], to change.
    fn count_mut(c: &mut Counts) -> &mut usize;
    /// As one resource of any kind.
    fn into_resource(self) -> Resource;
    /// Borrowed as one resource of any kind (serialised as its snapshot line).
    fn as_resource(&self) -> ResourceRef<'_>;
    /// Looks it up in one side of a comparison. Kinds without a [`View`] method of their
    /// own are held in the view's [`View::plain`] snapshot.
    fn in_view<'v, V: View + ?Sized>(v: &'v V, name: &str) -> Option<&'v Self> {
        Self::map(v.plain(Self::KIND, name)).get(name)
    }
    /// Whether its snapshot lines are written and read by hand (things, certificates)
    /// rather than by serde.
    const FAST_LINE: bool = false;
    /// Whether it is one of the six kinds every fingerprint hashes even when empty;
    /// kinds added later count only when they hold something, so that fingerprints (and
    /// the plans that record them) stay what they were for registries without them.
    const ALWAYS_FINGERPRINTED: bool = false;
    /// Checks it against AWS IoT's documented constraints.
    fn check(&self) -> Result<(), Violation>;
}

/// The changes of one kind: a serde enum tagged by `op`, whose variants carry the full
/// operation names (`CreateBillingGroup`), so that plan files read the same whichever
/// module owns an operation.
pub trait KindChange:
    Clone + Eq + fmt::Debug + fmt::Display + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The `op` values it owns, as plan files spell them (`createBillingGroup`).
    const OPS: &'static [&'static str];

    /// The AWS IoT API operation that performs it.
    fn api(&self) -> &'static str;
    /// The resource it is about.
    fn key(&self) -> ResourceKey;
    /// Its broad effect.
    fn action(&self) -> Action;
    /// Whether it deletes a resource (what `--max-deletes` counts).
    fn deletes_resource(&self) -> bool {
        self.action() == Action::Delete
    }
    /// The resources other than [`KindChange::key`] that must exist for it to succeed.
    fn requires(&self, _out: &mut Vec<ResourceKey>) {}
    /// Checks what it would send against AWS IoT's documented constraints.
    fn check(&self) -> Result<(), Violation>;
    /// Applies it to a snapshot with AWS IoT's preconditions (the reference semantics
    /// every registry follows).
    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError>;
}
