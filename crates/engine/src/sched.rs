//! The scheduler: a dependency graph built incrementally as changes arrive, and the
//! choice of what to send next. Synchronous and free of I/O: the driver
//! ([`run`](crate::run)) feeds it submissions and results and sends what it hands out.
//!
//! Data structures (memory stays proportional to the changes not yet finished, a few
//! words each, plus the resources they are about):
//! - `nodes`: every unfinished change by sequence number, with the number of unfinished
//!   things it waits for and the changes waiting for it;
//! - `keys`: per resource with an unfinished change, the last change about it and the
//!   last one of an earlier stage (rules 1 and 2 of [`deps`](crate::deps)); an entry
//!   goes when its last change finishes, since the changes about one resource finish in
//!   order;
//! - `type_groups`: per thing type, the unfinished changes that give things that type,
//!   counted (rule 3); a deprecation closes the group it waits for;
//! - `phases`: runs of changes of one phase class; a change of a phase that is not the
//!   oldest unfinished one is gated until every earlier phase has finished (rule 4);
//! - `apis`: per API operation, the changes ready to send, in the order they became
//!   ready, and how many are in flight.

use std::collections::{BTreeMap, HashMap, VecDeque};

use iot_crr_model::{Action, Change, Name, ResourceKey};

use crate::deps::{PhaseClass, references, type_deprecated, type_given};
use crate::report::ChangeResult;
use crate::run::Submission;

/// A change's position in submission order.
pub(crate) type Seq = u64;

/// A change that is done, with its result, for the driver to report.
pub(crate) struct Finished<'a> {
    /// The caller's index of the change.
    pub index: usize,
    /// The change.
    pub change: Submission<'a>,
    /// What happened.
    pub result: ChangeResult,
    /// Calls made.
    pub attempts: u32,
}

/// Why a resource that later changes depend on is missing.
#[derive(Debug, Clone, Copy)]
enum Missing {
    /// Its create was sent and failed.
    Failed,
    /// Its create was not sent because something it needs is missing.
    Skipped,
}

struct Node<'a> {
    index: usize,
    /// `None` while the change is in flight (the send holds it).
    change: Option<Submission<'a>>,
    /// Unfinished changes (and gates) this one waits for.
    waiting: u32,
    /// Changes waiting for this one.
    dependents: Vec<Seq>,
    phase: u64,
    /// The type group this change counts in, when it gives a thing a type.
    type_group: Option<u64>,
}

/// The changes about one resource that are relevant to later ones.
struct KeyRun {
    /// The last change submitted about the resource (unfinished).
    last: Seq,
    /// Its stage.
    stage: u32,
    /// The last change about the resource before the run of `stage` changes that
    /// `last` ends (it may have finished).
    before: Option<Seq>,
}

struct TypeGroup {
    thing_type: Name,
    unfinished: usize,
    /// Deprecations waiting for the group.
    waiters: Vec<Seq>,
}

struct Phase {
    id: u64,
    class: PhaseClass,
    unfinished: usize,
    /// Changes submitted while an earlier phase was unfinished.
    gated: Vec<Seq>,
}

struct ApiQueue {
    ready: VecDeque<Seq>,
    in_flight: usize,
    cap: usize,
}

/// See the module documentation.
pub(crate) struct Scheduler<'a> {
    concurrency: usize,
    api_caps: BTreeMap<String, usize>,
    next_seq: Seq,
    nodes: HashMap<Seq, Node<'a>>,
    keys: HashMap<ResourceKey, KeyRun>,
    type_groups: HashMap<u64, TypeGroup>,
    open_type_group: HashMap<Name, u64>,
    next_group: u64,
    phases: VecDeque<Phase>,
    next_phase: u64,
    apis: HashMap<&'static str, ApiQueue>,
    in_flight: usize,
    missing: HashMap<ResourceKey, Missing>,
    /// Set when nothing more may be sent: why.
    cut: Option<String>,
    /// Changes whose wait is over, to be queued, skipped or cut.
    work: VecDeque<Seq>,
    finished: Vec<Finished<'a>>,
}

impl<'a> Scheduler<'a> {
    /// A scheduler sending at most `concurrency` changes at once (at least one), and at
    /// most `api_caps[api]` of one API operation.
    pub(crate) fn new(concurrency: usize, api_caps: &BTreeMap<String, usize>) -> Self {
        Scheduler {
            concurrency: concurrency.max(1),
            api_caps: api_caps.clone(),
            next_seq: 0,
            nodes: HashMap::new(),
            keys: HashMap::new(),
            type_groups: HashMap::new(),
            open_type_group: HashMap::new(),
            next_group: 0,
            phases: VecDeque::new(),
            next_phase: 0,
            apis: HashMap::new(),
            in_flight: 0,
            missing: HashMap::new(),
            cut: None,
            work: VecDeque::new(),
            finished: Vec::new(),
        }
    }

    /// Adds a change after every change submitted so far, waiting for those the rules
    /// say it depends on.
    pub(crate) fn submit(&mut self, index: usize, change: Submission<'a>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let stage = change.stage;
        let c = &change.change;
        let key = c.key();

        // Rule 4: phases.
        let class = PhaseClass::of(stage);
        if self.phases.back().is_none_or(|p| p.class != class) {
            self.phases.push_back(Phase {
                id: self.next_phase,
                class,
                unfinished: 0,
                gated: Vec::new(),
            });
            self.next_phase += 1;
            self.advance_phases();
        }
        let gated = self.phases.len() > 1;
        let phase = self.phases.back_mut().expect("a phase was just ensured");
        phase.unfinished += 1;
        let phase_id = phase.id;
        if gated {
            phase.gated.push(seq);
        }

        // Rules 1 and 2: the last change about the same resource, and the last
        // earlier-stage change about each resource it refers to.
        let mut deps: Vec<Seq> = Vec::new();
        if let Some(run) = self.keys.get(&key) {
            deps.push(run.last);
        }
        for r in references(c) {
            if let Some(run) = self.keys.get(&r) {
                let d = if run.stage == stage {
                    run.before
                } else {
                    Some(run.last)
                };
                deps.extend(d);
            }
        }
        deps.sort_unstable();
        deps.dedup();
        let mut waiting = u32::from(gated);
        for d in deps {
            if let Some(n) = self.nodes.get_mut(&d) {
                n.dependents.push(seq);
                waiting += 1;
            }
        }

        // Rule 3: a deprecation waits for the changes that give things the type, and
        // later ones count in a new group.
        if let Some(ty) = type_deprecated(c)
            && let Some(g) = self.open_type_group.remove(ty)
        {
            let group = self.type_groups.get_mut(&g).expect("open groups exist");
            group.waiters.push(seq);
            waiting += 1;
        }
        let type_group = type_given(c).map(|ty| {
            let g = *self.open_type_group.entry(ty.clone()).or_insert_with(|| {
                let id = self.next_group;
                self.next_group += 1;
                self.type_groups.insert(
                    id,
                    TypeGroup {
                        thing_type: ty.clone(),
                        unfinished: 0,
                        waiters: Vec::new(),
                    },
                );
                id
            });
            self.type_groups
                .get_mut(&g)
                .expect("open groups exist")
                .unfinished += 1;
            g
        });

        match self.keys.get_mut(&key) {
            Some(run) if run.stage == stage => run.last = seq,
            Some(run) => {
                run.before = Some(run.last);
                run.last = seq;
                run.stage = stage;
            }
            None => {
                self.keys.insert(
                    key,
                    KeyRun {
                        last: seq,
                        stage,
                        before: None,
                    },
                );
            }
        }
        self.nodes.insert(
            seq,
            Node {
                index,
                change: Some(change),
                waiting,
                dependents: Vec::new(),
                phase: phase_id,
                type_group,
            },
        );
        if waiting == 0 {
            self.work.push_back(seq);
        }
        self.process();
    }

    /// The next change to send, if one is ready and the limits allow it: of the API
    /// operations with ready changes and room under their cap, the one with the fewest
    /// changes in flight (ties: the one whose oldest ready change came first), so that
    /// a slow API never holds every slot while others have work.
    pub(crate) fn next_to_send(&mut self) -> Option<(Seq, Submission<'a>)> {
        if self.cut.is_some() || self.in_flight >= self.concurrency {
            return None;
        }
        let api = self
            .apis
            .iter()
            .filter(|(_, q)| !q.ready.is_empty() && q.in_flight < q.cap)
            .min_by_key(|(_, q)| (q.in_flight, q.ready[0]))
            .map(|(api, _)| *api)?;
        let q = self.apis.get_mut(api).expect("just found");
        let seq = q.ready.pop_front().expect("not empty");
        q.in_flight += 1;
        self.in_flight += 1;
        let change = self
            .nodes
            .get_mut(&seq)
            .and_then(|n| n.change.take())
            .expect("a ready change holds its change");
        Some((seq, change))
    }

    /// Records the result of a change handed out by [`next_to_send`](Self::next_to_send).
    pub(crate) fn complete(
        &mut self,
        seq: Seq,
        change: Submission<'a>,
        result: ChangeResult,
        attempts: u32,
    ) {
        if let Some(q) = self.apis.get_mut(change.change.api()) {
            q.in_flight -= 1;
        }
        self.in_flight -= 1;
        self.finish(seq, Some(change), result, attempts);
        self.process();
    }

    /// Sends nothing more: every change that is or becomes ready is finished as
    /// [`ChangeResult::NotSent`] with `reason` (or skipped, when something it needs is
    /// missing). Changes in flight still complete.
    pub(crate) fn cut(&mut self, reason: &str) {
        if self.cut.is_some() {
            return;
        }
        self.cut = Some(reason.to_string());
        let mut queued: Vec<Seq> = self
            .apis
            .values_mut()
            .flat_map(|q| q.ready.drain(..))
            .collect();
        queued.sort_unstable();
        self.work.extend(queued);
        self.process();
    }

    /// Whether [`cut`](Self::cut) was called.
    pub(crate) fn is_cut(&self) -> bool {
        self.cut.is_some()
    }

    /// Finishes every unfinished change that is not in flight as not sent, whatever it
    /// waits for: the way out should the scheduler ever find nothing to do while changes
    /// still wait (the rules make that impossible: every wait is on an earlier change).
    pub(crate) fn abandon(&mut self, reason: &str) {
        self.cut(reason);
        let mut waiting: Vec<Seq> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.change.is_some())
            .map(|(s, _)| *s)
            .collect();
        waiting.sort_unstable();
        for seq in waiting {
            if self.nodes.contains_key(&seq) {
                let result = ChangeResult::NotSent {
                    reason: reason.to_string(),
                };
                self.finish(seq, None, result, 0);
            }
        }
        self.work.clear();
    }

    /// Whether every submitted change has finished.
    pub(crate) fn is_idle(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Changes in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Changes that finished since the last call, in the order they finished.
    pub(crate) fn take_finished(&mut self) -> Vec<Finished<'a>> {
        std::mem::take(&mut self.finished)
    }

    /// Decides about the changes whose wait is over: skipped when something they need
    /// is missing, not sent after a cut, otherwise queued to be sent.
    fn process(&mut self) {
        while let Some(seq) = self.work.pop_front() {
            let Some(node) = self.nodes.get(&seq) else {
                continue;
            };
            let change = &node
                .change
                .as_ref()
                .expect("a waiting change holds its change")
                .change;
            let verdict = match self.blocked(change) {
                Some(reason) => Some(ChangeResult::Skipped { reason }),
                None => self.cut.as_ref().map(|reason| ChangeResult::NotSent {
                    reason: reason.clone(),
                }),
            };
            match verdict {
                Some(result) => self.finish(seq, None, result, 0),
                None => {
                    let api = change.api();
                    let cap = self.api_caps.get(api).map_or(usize::MAX, |c| (*c).max(1));
                    self.apis
                        .entry(api)
                        .or_insert_with(|| ApiQueue {
                            ready: VecDeque::new(),
                            in_flight: 0,
                            cap,
                        })
                        .ready
                        .push_back(seq);
                }
            }
        }
    }

    /// Why `change` must not be sent, if it must not: its own resource or one it
    /// requires failed to be created (or was not, because of such a failure).
    fn blocked(&self, change: &Change) -> Option<String> {
        if self.missing.is_empty() {
            return None;
        }
        std::iter::once(change.key())
            .chain(change.requires())
            .find_map(|k| {
                self.missing.get(&k).map(|m| match m {
                    Missing::Failed => format!("depends on {k}, which failed"),
                    Missing::Skipped => format!("depends on {k}, which was skipped"),
                })
            })
    }

    /// Removes a finished change and releases what waited for it.
    fn finish(
        &mut self,
        seq: Seq,
        change: Option<Submission<'a>>,
        result: ChangeResult,
        attempts: u32,
    ) {
        let node = self.nodes.remove(&seq).expect("finished once");
        let change = change
            .or(node.change)
            .expect("a finished change is held by the node or the send");
        let key = change.change.key();
        let missing = match result {
            ChangeResult::Failed { .. } => Some(Missing::Failed),
            ChangeResult::Skipped { .. } => Some(Missing::Skipped),
            _ => None,
        };
        if let Some(m) = missing
            && change.change.action() == Action::Create
        {
            self.missing.entry(key.clone()).or_insert(m);
        }
        if self.keys.get(&key).is_some_and(|run| run.last == seq) {
            self.keys.remove(&key);
        }
        if let Some(g) = node.type_group {
            let group = self.type_groups.get_mut(&g).expect("counted groups exist");
            group.unfinished -= 1;
            if group.unfinished == 0 {
                let group = self.type_groups.remove(&g).expect("just seen");
                if self.open_type_group.get(&group.thing_type) == Some(&g) {
                    self.open_type_group.remove(&group.thing_type);
                }
                for w in group.waiters {
                    self.release(w);
                }
            }
        }
        for d in node.dependents {
            self.release(d);
        }
        let front = self.phases.front().map_or(0, |p| p.id);
        if let Some(p) = self.phases.get_mut((node.phase - front) as usize) {
            p.unfinished -= 1;
        }
        self.advance_phases();
        self.finished.push(Finished {
            index: node.index,
            change,
            result,
            attempts,
        });
    }

    fn release(&mut self, seq: Seq) {
        if let Some(n) = self.nodes.get_mut(&seq) {
            n.waiting -= 1;
            if n.waiting == 0 {
                self.work.push_back(seq);
            }
        }
    }

    /// Drops finished phases from the front and opens the next one.
    fn advance_phases(&mut self) {
        while self.phases.len() > 1 && self.phases[0].unfinished == 0 {
            self.phases.pop_front();
            let gated = std::mem::take(&mut self.phases[0].gated);
            for seq in gated {
                self.release(seq);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iot_crr_model::{PlannedChange, PolicyTarget, ThingGroup, ThingType};
    use iot_crr_registry::ErrorClass;

    /// Drives a scheduler over a plan, by plan index (submitted in plan order, so the
    /// sequence number is the index).
    struct Harness<'a> {
        s: Scheduler<'a>,
        flying: HashMap<usize, Submission<'a>>,
    }

    impl<'a> Harness<'a> {
        fn new(plan: &'a [PlannedChange]) -> Self {
            Self::with(plan, 1000, &BTreeMap::new())
        }

        fn with(
            plan: &'a [PlannedChange],
            concurrency: usize,
            caps: &BTreeMap<String, usize>,
        ) -> Self {
            let mut s = Scheduler::new(concurrency, caps);
            for (i, c) in plan.iter().enumerate() {
                s.submit(i, Submission::Borrowed(c));
            }
            Harness {
                s,
                flying: HashMap::new(),
            }
        }

        /// Takes everything the scheduler hands out now; returns the new indices.
        fn send(&mut self) -> Vec<usize> {
            let mut out = Vec::new();
            while let Some((seq, c)) = self.s.next_to_send() {
                out.push(seq as usize);
                self.flying.insert(seq as usize, c);
            }
            out.sort_unstable();
            out
        }

        fn finish(&mut self, i: usize, result: ChangeResult) {
            let c = self.flying.remove(&i).expect("in flight");
            self.s.complete(i as Seq, c, result, 1);
        }

        fn done(&mut self, i: usize) {
            self.finish(i, ChangeResult::Applied);
        }

        /// Results of changes finished since the last call, by index.
        fn results(&mut self) -> Vec<(usize, ChangeResult)> {
            let mut out: Vec<_> = self
                .s
                .take_finished()
                .into_iter()
                .map(|f| (f.index, f.result))
                .collect();
            out.sort_by_key(|(i, _)| *i);
            out
        }
    }

    fn at(stage: u32, change: Change) -> PlannedChange {
        PlannedChange { stage, change }
    }

    fn create_thing(name: &str, ty: Option<&str>) -> Change {
        Change::CreateThing {
            thing_name: name.into(),
            thing_type_name: ty.map(Into::into),
            attributes: Default::default(),
            billing_group_name: None,
        }
    }

    fn update_thing(name: &str, ty: Option<&str>) -> Change {
        Change::UpdateThing {
            thing_name: name.into(),
            thing_type_name: ty.map(Into::into),
            attributes: Default::default(),
        }
    }

    fn create_group(name: &str, parent: Option<&str>) -> Change {
        Change::CreateThingGroup {
            thing_group: ThingGroup {
                thing_group_name: name.into(),
                parent_group_name: parent.map(Into::into),
                ..Default::default()
            },
        }
    }

    fn register(id: &str) -> Change {
        Change::RegisterCertificate {
            certificate_id: id.into(),
            certificate_pem: String::new(),
            status: iot_crr_model::CertificateStatus::Active,
            ca_certificate_id: None,
        }
    }

    fn attach_principal(thing: &str, cert: &str) -> Change {
        Change::AttachThingPrincipal {
            thing_name: thing.into(),
            principal: format!("cert/{cert}").into(),
        }
    }

    fn add_to_group(thing: &str, group: &str) -> Change {
        Change::AddThingToThingGroup {
            thing_name: thing.into(),
            thing_group_name: group.into(),
        }
    }

    fn deprecate(ty: &str, undo: bool) -> Change {
        Change::DeprecateThingType {
            thing_type_name: ty.into(),
            undo_deprecate: undo,
        }
    }

    fn delete_group(name: &str) -> Change {
        Change::DeleteThingGroup {
            thing_group_name: name.into(),
        }
    }

    #[test]
    fn changes_to_one_resource_run_in_submission_order() {
        let plan = [
            at(5000, create_thing("t", None)),
            at(5000, update_thing("t", None)),
            at(7000, add_to_group("t", "g")),
            at(5000, create_thing("u", None)),
        ];
        let mut h = Harness::new(&plan);
        assert_eq!(h.send(), vec![0, 3]);
        h.done(0);
        assert_eq!(h.send(), vec![1]);
        h.done(1);
        assert_eq!(h.send(), vec![2]);
    }

    #[test]
    fn a_change_waits_for_the_earlier_stage_changes_about_what_it_uses() {
        let plan = [
            at(3000, register("c1")),
            at(4000, create_group("g", None)),
            at(4001, create_group("child", Some("g"))),
            at(5000, create_thing("t", None)),
            at(5000, create_thing("u", None)),
            at(7000, attach_principal("t", "c1")),
            at(7000, add_to_group("u", "child")),
        ];
        let mut h = Harness::new(&plan);
        // The certificate, the root group and both things go at once; the child group
        // waits for its parent, the relations for what they name.
        assert_eq!(h.send(), vec![0, 1, 3, 4]);
        h.done(3);
        h.done(4);
        assert_eq!(h.send(), Vec::<usize>::new());
        h.done(1);
        assert_eq!(h.send(), vec![2]);
        h.done(2);
        assert_eq!(h.send(), vec![6], "u joins child; t still waits for c1");
        h.done(0);
        assert_eq!(h.send(), vec![5]);
    }

    #[test]
    fn same_stage_changes_about_a_used_resource_are_not_waited_for() {
        let policy = || Change::CreatePolicy {
            policy_name: "p".into(),
            policy_document: "{}".into(),
            tags: Default::default(),
        };
        let tag = Change::TagResource {
            resource: ResourceKey::new(iot_crr_model::Kind::Policy, "p"),
            tags: [("k", "v")].into_iter().collect(),
        };
        let attach = Change::AttachPolicy {
            policy_name: "p".into(),
            target: PolicyTarget::ThingGroup("g".into()),
        };
        let plan = [at(3000, policy()), at(7000, tag), at(7000, attach)];
        let mut h = Harness::new(&plan);
        assert_eq!(h.send(), vec![0]);
        h.done(0);
        // The attachment waits for the policy's create, not for its tags.
        assert_eq!(h.send(), vec![1, 2]);
    }

    #[test]
    fn a_deprecation_waits_for_the_things_given_the_type() {
        let plan = [
            at(3000, deprecate("ty", true)),
            at(5000, create_thing("t1", Some("ty"))),
            at(5000, update_thing("t2", Some("ty"))),
            at(5000, create_thing("t3", Some("other"))),
            at(8000, deprecate("ty", false)),
            // A later plan's thing of that type comes after the deprecation (and does
            // not hold it back).
            at(5000, create_thing("t4", Some("ty"))),
        ];
        let mut h = Harness::new(&plan);
        assert_eq!(h.send(), vec![0, 3]);
        h.done(0);
        assert_eq!(h.send(), vec![1, 2]);
        h.done(1);
        assert_eq!(h.send(), Vec::<usize>::new());
        h.done(2);
        assert_eq!(h.send(), vec![4]);
        h.done(4);
        assert_eq!(h.send(), vec![5]);
    }

    #[test]
    fn the_early_stages_are_full_barriers() {
        let plan = [
            at(
                1000,
                Change::DetachPolicy {
                    policy_name: "p".into(),
                    target: PolicyTarget::ThingGroup("g".into()),
                },
            ),
            at(2997, delete_group("grandchild")),
            at(2997, delete_group("other-grandchild")),
            at(2998, delete_group("child")),
            at(3000, register("c1")),
            at(5000, create_thing("t", None)),
        ];
        let mut h = Harness::new(&plan);
        assert_eq!(h.send(), vec![0]);
        h.done(0);
        assert_eq!(h.send(), vec![1, 2]);
        h.done(1);
        assert_eq!(h.send(), Vec::<usize>::new());
        h.done(2);
        assert_eq!(h.send(), vec![3]);
        h.done(3);
        assert_eq!(h.send(), vec![4, 5]);
    }

    #[test]
    fn the_prune_stages_wait_for_everything_before_them() {
        let plan = [
            at(5000, create_thing("t", None)),
            at(7000, add_to_group("t", "g")),
            at(
                9000,
                Change::DetachThingPrincipal {
                    thing_name: "u".into(),
                    principal: "cert/c".into(),
                },
            ),
            at(
                9000,
                Change::DeletePolicyVersion {
                    policy_name: "p".into(),
                    policy_version_id: "2".into(),
                },
            ),
            at(
                10_000,
                Change::DeleteThing {
                    thing_name: "u".into(),
                },
            ),
            at(
                12_000,
                Change::DeleteCertificate {
                    certificate_id: "c".into(),
                },
            ),
            // A later plan's change waits for the prune before it.
            at(3000, register("d")),
        ];
        let mut h = Harness::new(&plan);
        assert_eq!(h.send(), vec![0]);
        h.done(0);
        assert_eq!(h.send(), vec![1]);
        h.done(1);
        assert_eq!(h.send(), vec![2, 3]);
        h.done(3);
        assert_eq!(h.send(), Vec::<usize>::new());
        h.done(2);
        assert_eq!(h.send(), vec![4]);
        h.done(4);
        assert_eq!(h.send(), vec![5]);
        h.done(5);
        assert_eq!(h.send(), vec![6]);
    }

    #[test]
    fn dependents_of_a_failed_create_are_skipped() {
        let plan = [
            at(4000, create_group("g", None)),
            at(5000, create_thing("t", None)),
            at(7000, add_to_group("t", "g")),
            at(7000, add_to_group("t", "h")),
        ];
        let mut h = Harness::new(&plan);
        assert_eq!(h.send(), vec![0, 1]);
        h.finish(
            0,
            ChangeResult::Failed {
                class: ErrorClass::Invalid,
                api: "CreateThingGroup".into(),
                message: "no".into(),
                attempts: 1,
            },
        );
        h.done(1);
        assert_eq!(h.send(), vec![3]);
        let results = h.results();
        assert_eq!(
            results[2],
            (
                2,
                ChangeResult::Skipped {
                    reason: "depends on thingGroup/g, which failed".into()
                }
            )
        );
    }

    #[test]
    fn after_a_cut_nothing_more_is_sent() {
        let plan = [
            at(3000, register("c1")),
            at(5000, create_thing("t", None)),
            at(7000, attach_principal("t", "c1")),
            at(5000, create_thing("u", None)),
        ];
        let mut h = Harness::with(&plan, 1, &BTreeMap::new());
        assert_eq!(h.send(), vec![0]);
        h.s.cut("deadline");
        assert_eq!(h.send(), Vec::<usize>::new());
        // t and u were ready: not sent. The attachment waits for the certificate in
        // flight, then is not sent either.
        let results = h.results();
        assert_eq!(
            results.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert!(!h.s.is_idle());
        h.done(0);
        let results = h.results();
        assert_eq!(results[0], (0, ChangeResult::Applied));
        assert!(results[1].1.is_not_sent(), "{:?}", results[1]);
        assert!(h.s.is_idle());
    }

    #[test]
    fn free_slots_go_to_the_api_with_the_fewest_in_flight() {
        let mut plan: Vec<PlannedChange> = (0..4)
            .map(|i| at(3000, register(&format!("c{i}"))))
            .collect();
        plan.extend((0..4).map(|i| at(5000, create_thing(&format!("t{i}"), None))));
        plan.push(at(
            3000,
            Change::CreateThingType {
                thing_type: ThingType {
                    thing_type_name: "ty".into(),
                    ..Default::default()
                },
            },
        ));
        let mut h = Harness::with(&plan, 3, &BTreeMap::new());
        // One of each API operation, not the first three certificates.
        assert_eq!(h.send(), vec![0, 4, 8]);
        // A thing finishes: the slot goes to things again (the certificates have one in
        // flight, things none), not to the next certificate.
        h.done(4);
        assert_eq!(h.send(), vec![5]);
        h.done(8);
        assert_eq!(h.send(), vec![1]);

        // A cap per API operation.
        let caps = BTreeMap::from([("RegisterCertificate".to_string(), 1)]);
        let mut h = Harness::with(&plan[..4], 10, &caps);
        assert_eq!(h.send(), vec![0]);
        h.done(0);
        assert_eq!(h.send(), vec![1]);
    }

    #[test]
    fn memory_goes_with_the_finished_changes() {
        let plan: Vec<PlannedChange> = (0..50)
            .flat_map(|i| {
                let t = format!("t{i}");
                [
                    at(5000, create_thing(&t, Some("ty"))),
                    at(7000, add_to_group(&t, "g")),
                ]
            })
            .chain([at(8000, deprecate("ty", false))])
            .collect();
        let mut h = Harness::new(&plan);
        loop {
            let sent = h.send();
            if sent.is_empty() {
                break;
            }
            for i in sent {
                h.done(i);
            }
        }
        assert!(h.s.is_idle());
        assert_eq!(h.results().len(), plan.len());
        assert!(h.s.keys.is_empty());
        assert!(h.s.type_groups.is_empty() && h.s.open_type_group.is_empty());
        assert_eq!(h.s.phases.len(), 1);
        assert_eq!(h.s.in_flight(), 0);
    }
}
