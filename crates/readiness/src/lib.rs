//! Failover readiness: for every device of a source registry, whether a standby
//! registry would accept it and let it do what the source lets it do.
//!
//! `verify` proves two registries equal, which is neither necessary nor sufficient for
//! a failover: a standby synced without rewriting ARNs is equal and refuses every
//! device; a standby with one extra `Deny` on a group differs in one line and locks out
//! every device below that group. This crate answers the operator's question instead,
//! device by device, from two registries read whole (snapshots) and the AWS IoT policy
//! evaluator (`iot-crr-policy`).
//!
//! A **device** is a thing with a certificate principal (one device per thing and
//! certificate), or a certificate attached to no thing. For each, [`Assessor::assess`]
//! decides:
//!
//! - **in the source**: its certificate is `ACTIVE` and a source policy lets it connect
//!   (as its thing's name, or its certificate's common name where a policy uses
//!   certificate variables). A device the source refuses is reported as
//!   [`ReasonCode::NotReadyInSource`] and not counted against the standby.
//! - **authenticate**: the standby holds the certificate with the same id, `ACTIVE`.
//! - **identity**: the standby holds the thing, with the certificate attached (group
//!   policies and thing policy variables depend on it), the same thing type, the same
//!   static groups, and the same values of the attributes its policies read.
//! - **authorize**: the effective policies (the certificate's, and the thing's groups'
//!   with their ancestors' when the client id is the thing's name and the thing is
//!   attached, each at its default version) give the standby's request the decision the
//!   source gives the source's, for probe requests derived from the source's allowing
//!   statements with the device's variables filled in: `iot:Connect` as its client id,
//!   every topic, topic filter, thing and role alias the statements name, and the
//!   classic shadow topics. A source request carries the source's region and account,
//!   the standby's carries the standby's.
//!
//! **Proof instead of probes where it holds.** When the standby's effective policies
//! are the source's, each the source's default document with its ARNs rewritten from
//! the source's region and account to the standby's, every ARN in them anchored at the
//! source's region and account (`arn:P:iot:REGION:ACCOUNT:...` or `*`), every statement
//! decidable, and the identity the same, then every request is decided alike on both
//! sides, so no probe is evaluated in the standby. That is the case of a healthy
//! standby, and what makes a million devices take seconds. Anything else is probed.
//!
//! A statement the evaluator cannot decide that applies to a probe makes the device
//! [`Verdict::CannotDecide`], never ready; so does a policy that does not parse or a
//! certificate PEM that does not parse where a policy reads certificate fields.

mod reason;
mod report;
mod side;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use iot_crr_model::{
    ArnRewrite, CertificateStatus, Filter, Kind, Name, Snapshot, StringMap, Thing,
    principal_certificate_id, same_document,
};
use iot_crr_policy::{
    Action, Attributes, CertificateError, CertificateInfo, Context, Decision, Effect, Policy,
    Request, ThingContext,
};

pub use reason::{Fix, Reason, ReasonCode};
pub use report::{Assessment, DeviceReport, FIRST_DEVICES, ReasonCount, Summary, Verdict};
pub use side::Place;

use side::{Compiled, Side};

/// A device: a thing with one of its certificates, or a certificate attached to no
/// thing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Device {
    /// The thing (`None`: a certificate attached to no thing).
    pub thing: Option<Name>,
    /// The certificate id.
    pub certificate: Name,
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = &self.certificate[..self.certificate.len().min(12)];
        match &self.thing {
            Some(t) => write!(f, "{t} (certificate {short}...)"),
            None => write!(f, "certificate {short}... (no thing)"),
        }
    }
}

/// One request as a device makes it, and the decision each side gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The client id of the connection.
    pub client_id: String,
    /// The action.
    pub action: Action,
    /// The resource after `arn:P:iot:REGION:ACCOUNT:` (`topic/a/b`).
    pub resource: String,
    /// Whether the source allows it.
    pub source_allows: Option<bool>,
    /// Whether the standby allows it (`None`: cannot decide).
    pub target_allows: Option<bool>,
}

/// The client id the probes of a certificate attached to no thing fall back to when
/// no policy names one.
pub const FALLBACK_CLIENT_ID: &str = "iot-crr-readiness-probe";

/// Whether a policy of `snapshot` reads certificate fields (certificate policy
/// variables or condition keys), so that an assessment needs the certificates' PEMs.
pub fn reads_certificates(snapshot: &Snapshot) -> bool {
    snapshot.policies.values().any(|p| {
        p.default_document()
            .and_then(|d| Policy::parse(d).ok())
            .is_some_and(|p| p.uses_certificate())
    })
}

/// The classic shadow's MQTT operations, as a device uses them.
const SHADOW_OPERATIONS: [&str; 3] = ["update", "get", "delete"];

/// The two registries prepared for assessment.
pub struct Assessor<'a> {
    source: Side<'a>,
    target: Side<'a>,
    /// Source policies whose standby counterpart decides every request alike.
    equivalent: side::FastSet<&'a str>,
    /// Parsed source certificates, for certificate variables.
    certificates: HashMap<Name, Result<CertificateInfo, CertificateError>>,
    /// Whether any policy on either side reads certificate fields.
    uses_certificates: bool,
}

/// The policies of one connection: the source's and the standby's (names, sorted).
type PolicySets<'a> = (Vec<&'a str>, Vec<&'a str>);

/// Thing attributes as the evaluator reads them.
struct Attrs<'a>(&'a StringMap);

impl Attributes for Attrs<'_> {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }
}

/// Accumulates a device's reasons, one per code and subject, counting requests.
#[derive(Default)]
struct Reasons {
    by_key: BTreeMap<(ReasonCode, String), (String, usize)>,
}

impl Reasons {
    fn add(
        &mut self,
        code: ReasonCode,
        subject: impl Into<String>,
        detail: impl FnOnce() -> String,
    ) {
        self.by_key
            .entry((code, subject.into()))
            .and_modify(|e| e.1 += 1)
            .or_insert_with(|| (detail(), 1));
    }

    fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    fn into_vec(self) -> Vec<Reason> {
        self.by_key
            .into_iter()
            .map(|((code, _), (detail, n))| {
                let detail = if n > 1 {
                    format!("{detail} (and {} more request(s) alike)", n - 1)
                } else {
                    detail
                };
                Reason::new(code, detail)
            })
            .collect()
    }
}

impl<'a> Assessor<'a> {
    /// Prepares `source` (at `source_place`) and `target` (at `target_place`): parses
    /// every policy's default version once and finds which source policies the
    /// standby holds as rewritten equals.
    pub fn new(
        source: &'a Snapshot,
        source_place: Place,
        target: &'a Snapshot,
        target_place: Place,
    ) -> Self {
        let (source, target) = rayon::join(
            || Side::new(source, source_place),
            || Side::new(target, target_place),
        );
        let rewrite = ArnRewrite {
            from_region: Some(source.place.region.clone()),
            to_region: Some(target.place.region.clone()),
            from_account: Some(source.place.account.clone()),
            to_account: Some(target.place.account.clone()),
            map: Default::default(),
        };
        let same_partition = source.place.partition == target.place.partition;
        let mut equivalent = side::FastSet::default();
        for (name, c) in &source.policies {
            let (Some(doc), Ok(p)) = (c.document, &c.policy) else {
                continue;
            };
            let Some(t) = target.policies.get(name) else {
                continue;
            };
            let Some(tdoc) = t.document else { continue };
            let anchored = p.is_decidable()
                && p.arns_anchored_at(
                    &source.place.partition,
                    &source.place.region,
                    &source.place.account,
                );
            let expected = rewrite.rewrite(doc);
            let expected = expected.as_deref().unwrap_or(doc);
            if same_partition && anchored && same_document(expected, tdoc) {
                equivalent.insert(*name);
            }
        }
        let uses_certificates = [&source, &target].iter().any(|s| {
            s.policies
                .values()
                .any(|c| c.policy.as_ref().is_ok_and(Policy::uses_certificate))
        });
        Assessor {
            source,
            target,
            equivalent,
            certificates: HashMap::new(),
            uses_certificates,
        }
    }

    /// Whether a policy on either side reads certificate fields (variables or
    /// condition keys): then the devices' certificate PEMs are needed
    /// ([`Assessor::with_certificates`]).
    pub fn needs_certificates(&self) -> bool {
        self.uses_certificates
    }

    /// Gives the source's certificate PEMs (by certificate id), for the policies that
    /// read certificate fields; each is parsed once. A PEM that does not parse makes
    /// the devices whose policies read it [`Verdict::CannotDecide`].
    pub fn with_certificates(mut self, pems: impl IntoIterator<Item = (Name, String)>) -> Self {
        use rayon::prelude::*;
        let pems: Vec<(Name, String)> = pems.into_iter().collect();
        self.certificates = pems
            .into_par_iter()
            .map(|(id, pem)| {
                let info = CertificateInfo::from_pem(&pem);
                (id, info)
            })
            .collect();
        self
    }

    /// Problems of policy documents, per side and policy: a default version that does
    /// not parse or is missing, naming the statement.
    pub fn policy_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (label, side) in [("source", &self.source), ("standby", &self.target)] {
            let mut names: Vec<&&str> = side.policies.keys().collect();
            names.sort();
            for n in names {
                if let Err(e) = &side.policies[*n].policy {
                    out.push(format!("{label} policy {n}: {}", describe_error(e)));
                }
            }
        }
        out
    }

    /// The devices of the source that `filter` selects (a thing device by its thing's
    /// name, a certificate attached to no thing by its id), in name order: things
    /// first, then unattached certificates.
    pub fn devices(&self, filter: &Filter) -> Vec<Device> {
        let snap = self.source.snapshot;
        let compiled = filter.compile();
        let mut attached: side::FastSet<&str> = side::FastSet::default();
        let mut out = Vec::new();
        for (name, t) in &snap.things {
            let wanted = compiled.matches(Kind::Thing, name);
            for p in t.principals.iter() {
                if let Some(id) = principal_certificate_id(p) {
                    attached.insert(id);
                    if wanted {
                        out.push(Device {
                            thing: Some(name.clone()),
                            certificate: Name::from(id),
                        });
                    }
                }
            }
        }
        for id in snap.certificates.keys() {
            if !attached.contains(id.as_str()) && compiled.matches(Kind::Certificate, id) {
                out.push(Device {
                    thing: None,
                    certificate: id.clone(),
                });
            }
        }
        out
    }

    /// Assesses every device `filter` selects, in parallel.
    pub fn assess(&self, filter: &Filter) -> Assessment {
        use rayon::prelude::*;
        let devices = self.devices(filter);
        let reports = devices
            .into_par_iter()
            .with_min_len(256)
            .map(|d| self.assess_device(d))
            .collect();
        Assessment {
            devices: reports,
            policy_problems: self.policy_problems(),
        }
    }

    /// Assesses one device.
    pub fn assess_device(&self, device: Device) -> DeviceReport {
        let (verdict, reasons) = self.judge(&device, &mut |_| {});
        DeviceReport {
            device,
            verdict,
            reasons,
        }
    }

    /// The probe requests of one device with both sides' decisions (what
    /// `--cross-check` asks AWS IoT's `TestAuthorization` about). Empty for a device
    /// whose certificate the source does not hold.
    pub fn probes(&self, device: &Device) -> Vec<Probe> {
        let mut out = Vec::new();
        let mut collect = |p: &Probe| out.push(p.clone());
        self.judge_probing_all(device, &mut collect);
        out
    }

    fn certificate_info(&self, id: &str) -> (Option<&CertificateInfo>, Option<&CertificateError>) {
        match self.certificates.get(id) {
            Some(Ok(i)) => (Some(i), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        }
    }

    /// The client ids a device connects with, most likely first.
    fn client_ids(
        &self,
        device: &Device,
        held: &side::Held<'a>,
        info: Option<&CertificateInfo>,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let cn = info.and_then(CertificateInfo::common_name);
        if let Some(t) = &device.thing {
            out.push(t.to_string());
            if self.uses_certificates
                && let Some(cn) = cn
                && cn != t.as_str()
            {
                out.push(cn.to_string());
            }
            return out;
        }
        if let Some(cn) = cn {
            out.push(cn.to_string());
        }
        // Client ids the certificate's policies name literally.
        let names = self.source.effective(held, &device.certificate, "");
        for n in names {
            let Some(Ok(p)) = self.source.policies.get(n).map(|c| c.policy.as_ref()) else {
                continue;
            };
            for st in p.statements() {
                if st.effect() != Effect::Allow
                    || st.is_not_action()
                    || st.is_not_resource()
                    || !st.actions().contains(&Action::Connect)
                {
                    continue;
                }
                for r in st.resources() {
                    let raw = r.raw();
                    if raw.contains("${") {
                        continue;
                    }
                    if let Some(tail) = arn_tail(raw).and_then(|t| t.strip_prefix("client/")) {
                        let id: String = tail
                            .chars()
                            .filter(|c| *c != '*')
                            .map(|c| if c == '?' { '0' } else { c })
                            .collect();
                        if !id.is_empty() && !out.contains(&id) {
                            out.push(id);
                        }
                    }
                }
            }
        }
        out.push(FALLBACK_CLIENT_ID.to_string());
        out
    }

    fn judge(&self, device: &Device, seen: &mut dyn FnMut(&Probe)) -> (Verdict, Vec<Reason>) {
        self.judge_with(device, seen, false)
    }

    fn judge_probing_all(&self, device: &Device, seen: &mut dyn FnMut(&Probe)) {
        self.judge_with(device, seen, true);
    }

    /// Decides a device; `seen` hears every probe evaluated. With `probe_all`, the
    /// shortcut for equivalent policies is not taken (every probe is evaluated).
    fn judge_with(
        &self,
        device: &Device,
        seen: &mut dyn FnMut(&Probe),
        probe_all: bool,
    ) -> (Verdict, Vec<Reason>) {
        let id = device.certificate.as_str();
        let src = &self.source;
        let tgt = &self.target;
        let thing = device.thing.as_deref();
        let src_held = src.held(id, thing);
        let Some(src_cert) = src_held.certificate else {
            return in_source_only(format!("the source holds no certificate {id}"));
        };
        if src_cert.status != CertificateStatus::Active {
            return in_source_only(format!(
                "the certificate is {} in the source",
                src_cert.status
            ));
        }
        let (info, cert_error) = self.certificate_info(id);
        let mut reasons = Reasons::default();

        // In the source: the client ids it lets the device connect with.
        let mut connecting: Vec<(String, Vec<&'a str>)> = Vec::new();
        let mut source_doubt: Option<String> = None;
        let mut source_refusal: Option<String> = None;
        for client_id in self.client_ids(device, &src_held, info) {
            let names = src.effective(&src_held, id, &client_id);
            let (policies, problems) = compiled_of(src, &names);
            let ctx = context(&src_held, id, &client_id, info);
            let tail = format!("client/{client_id}");
            let decision = evaluate_at(&policies, Action::Connect, &src.place.arn(&tail), &ctx);
            match decision {
                Decision::Allowed { .. } => connecting.push((client_id, names)),
                Decision::Undecidable {
                    policy,
                    statement,
                    reason,
                } => {
                    source_doubt.get_or_insert_with(|| {
                        statement_doubt("source", &policies, policy, statement, &reason)
                    });
                }
                other => {
                    if let Some(p) = problems.first() {
                        source_doubt.get_or_insert_with(|| format!("source {p}"));
                    }
                    source_refusal.get_or_insert_with(|| {
                        format!(
                            "the source refuses iot:Connect as client id {client_id:?}: {}",
                            refusal(&policies, &other)
                        )
                    });
                }
            }
        }
        if connecting.is_empty() {
            if let Some(d) = source_doubt {
                return (
                    Verdict::CannotDecide,
                    vec![Reason::new(ReasonCode::CannotDecide, d)],
                );
            }
            return in_source_only(
                source_refusal.unwrap_or_else(|| "the source allows no connection".into()),
            );
        }

        // Authenticate.
        let tgt_held = tgt.held(id, thing);
        let mut authenticated = true;
        match tgt_held.certificate {
            None => {
                authenticated = false;
                reasons.add(ReasonCode::CertificateMissing, "", || {
                    format!("the standby holds no certificate {id}")
                });
            }
            Some(c) if c.status != CertificateStatus::Active => {
                authenticated = false;
                reasons.add(ReasonCode::CertificateInactive, "", || {
                    format!(
                        "the certificate is {} in the standby, ACTIVE in the source",
                        c.status
                    )
                });
            }
            Some(_) => {}
        }
        // A certificate registered with a CA needs that CA, active, where it is known.
        if let Some(ca) = tgt_held
            .certificate
            .and_then(|c| c.ca_certificate_id.as_ref())
            && !tgt.snapshot.unlisted.contains(&Kind::CaCertificate)
        {
            match tgt.snapshot.ca_certificates.get(ca) {
                None => {
                    authenticated = false;
                    reasons.add(ReasonCode::CaCertificateMissing, ca.as_str(), || {
                        format!(
                            "the standby holds no CA certificate {ca}, which its certificate \
                             was registered with"
                        )
                    });
                }
                Some(c) if c.status != iot_crr_model::CaStatus::Active => {
                    authenticated = false;
                    reasons.add(ReasonCode::CaCertificateInactive, ca.as_str(), || {
                        format!(
                            "the CA certificate {ca} its certificate was registered with is {} \
                             in the standby",
                            c.status.as_str()
                        )
                    });
                }
                Some(_) => {}
            }
        }

        // The policies of each connection, on both sides.
        let (connecting, sets): (Vec<String>, Vec<PolicySets<'_>>) = connecting
            .into_iter()
            .map(|(c, names)| {
                let t = tgt.effective(&tgt_held, id, &c);
                (c, (names, t))
            })
            .unzip();

        // Identity.
        let mut identity_same = true;
        if let Some(t) = thing {
            match (src_held.thing, tgt_held.thing) {
                (_, None) => {
                    identity_same = false;
                    reasons.add(ReasonCode::ThingMissing, "", || {
                        format!("the standby holds no thing {t}")
                    });
                }
                (Some(s), Some(d)) => {
                    identity_same = self.same_identity(s, d, id, &sets, &mut reasons);
                }
                (None, Some(_)) => {}
            }
        }

        // Authorize.
        if authenticated {
            for (client_id, (src_names, tgt_names)) in connecting.iter().zip(&sets) {
                let proven = !probe_all
                    && identity_same
                    && cert_error.is_none()
                    && src_names == tgt_names
                    && src_names.iter().all(|n| self.equivalent.contains(n));
                if proven {
                    continue;
                }
                self.probe(
                    device,
                    client_id,
                    (src_names, tgt_names),
                    (&src_held, &tgt_held),
                    identity_same,
                    (info, cert_error),
                    &mut reasons,
                    seen,
                );
            }
        }

        // The role aliases it may assume, which the policies name but do not hold.
        if authenticated && !src.snapshot.role_aliases.is_empty() {
            self.role_aliases(device, &connecting, &sets, &src_held, info, &mut reasons);
        }

        if reasons.is_empty() {
            return (Verdict::Ready, Vec::new());
        }
        let reasons = reasons.into_vec();
        let verdict = if reasons.iter().all(|r| r.code == ReasonCode::CannotDecide) {
            Verdict::CannotDecide
        } else {
            Verdict::NotReady
        };
        (verdict, reasons)
    }

    /// Adds a reason for each role alias of the source that the device's source
    /// policies let it assume and the standby lacks. The policies alone cannot show
    /// it: an `iot:AssumeRoleWithCertificate` allowed on a missing alias is allowed
    /// all the same, and the credentials provider then refuses the device.
    fn role_aliases(
        &self,
        device: &Device,
        connecting: &[String],
        sets: &[PolicySets<'a>],
        src_held: &side::Held<'a>,
        info: Option<&CertificateInfo>,
        reasons: &mut Reasons,
    ) {
        let (src, tgt) = (&self.source, &self.target);
        let id = device.certificate.as_str();
        let missing: Vec<&Name> = src
            .snapshot
            .role_aliases
            .keys()
            .filter(|a| !tgt.snapshot.role_aliases.contains_key(*a))
            .collect();
        if missing.is_empty() {
            return;
        }
        for (client_id, (src_names, _)) in connecting.iter().zip(sets) {
            let (policies, _) = compiled_of(src, src_names);
            let ctx = context(src_held, id, client_id, info);
            for alias in &missing {
                let arn = src.place.arn(&format!("rolealias/{alias}"));
                let decision =
                    evaluate_at(&policies, Action::AssumeRoleWithCertificate, &arn, &ctx);
                if matches!(decision, Decision::Allowed { .. }) {
                    reasons.add(ReasonCode::RoleAliasMissing, alias.as_str(), || {
                        format!(
                            "the standby holds no role alias {alias}, which the source lets \
                             the device assume (iot:AssumeRoleWithCertificate)"
                        )
                    });
                }
            }
        }
    }

    /// Compares a thing's identity on both sides; `false` when it differs.
    fn same_identity(
        &self,
        s: &Thing,
        d: &Thing,
        certificate: &str,
        sets: &[PolicySets<'a>],
        reasons: &mut Reasons,
    ) -> bool {
        let mut same = true;
        let t = s.thing_name.as_str();
        let attached = |x: &Thing| {
            x.principals
                .iter()
                .any(|p| principal_certificate_id(p) == Some(certificate))
        };
        if !attached(d) {
            same = false;
            reasons.add(ReasonCode::CertificateNotAttached, "", || {
                format!("the standby's thing {t} does not have the certificate attached")
            });
        }
        if s.thing_type_name != d.thing_type_name {
            same = false;
            reasons.add(ReasonCode::ThingTypeDiffers, "", || {
                format!(
                    "thing type {} in the source, {} in the standby",
                    shown(s.thing_type_name.as_deref()),
                    shown(d.thing_type_name.as_deref())
                )
            });
        }
        if s.thing_groups != d.thing_groups {
            same = false;
            let missing: Vec<&str> = s
                .thing_groups
                .iter()
                .filter(|g| !d.thing_groups.contains(g))
                .map(Name::as_str)
                .collect();
            let extra: Vec<&str> = d
                .thing_groups
                .iter()
                .filter(|g| !s.thing_groups.contains(g))
                .map(Name::as_str)
                .collect();
            reasons.add(ReasonCode::GroupsDiffer, "", || {
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("not in {} in the standby", missing.join(", ")));
                }
                if !extra.is_empty() {
                    parts.push(format!("in {} only in the standby", extra.join(", ")));
                }
                parts.join("; ")
            });
        }
        // The attributes the policies read, on either side.
        let mut used: BTreeSet<&str> = BTreeSet::new();
        for (sn, tn) in sets {
            used.extend(self.source.attributes_read(sn));
            used.extend(self.target.attributes_read(tn));
        }
        for a in used {
            let (sv, dv) = (s.attributes.get(a), d.attributes.get(a));
            if sv != dv {
                same = false;
                reasons.add(ReasonCode::AttributeDiffers, a, || {
                    format!(
                        "attribute {a} (read by a policy) is {} in the source, {} in the standby",
                        shown(sv),
                        shown(dv)
                    )
                });
            }
        }
        same
    }

    /// Evaluates the probe requests of one connection on both sides.
    #[allow(clippy::too_many_arguments)]
    fn probe(
        &self,
        device: &Device,
        client_id: &str,
        (src_names, tgt_names): (&[&'a str], &[&'a str]),
        (src_held, tgt_held): (&side::Held<'a>, &side::Held<'a>),
        identity_same: bool,
        (info, cert_error): (Option<&CertificateInfo>, Option<&CertificateError>),
        reasons: &mut Reasons,
        seen: &mut dyn FnMut(&Probe),
    ) {
        let (src, tgt) = (&self.source, &self.target);
        let id = device.certificate.as_str();
        let thing = device.thing.as_deref();
        let (src_policies, src_problems) = compiled_of(src, src_names);
        let (tgt_policies, tgt_problems) = compiled_of(tgt, tgt_names);
        for p in &src_problems {
            reasons.add(ReasonCode::CannotDecide, format!("source {p}"), || {
                format!("source {p}")
            });
        }
        for p in &tgt_problems {
            reasons.add(ReasonCode::CannotDecide, format!("standby {p}"), || {
                format!("standby {p}")
            });
        }
        let src_owner = context(src_held, id, client_id, info);
        let tgt_owner = context(tgt_held, id, client_id, info);
        let (src_ctx, tgt_ctx) = (src_owner.get(), tgt_owner.get());
        let uses_cert = src_policies
            .iter()
            .chain(tgt_policies.iter())
            .any(|(_, p)| p.uses_certificate());
        if let (true, Some(e)) = (uses_cert, cert_error) {
            reasons.add(ReasonCode::CannotDecide, "pem", || {
                format!("the certificate's PEM does not parse ({e}), and a policy reads its fields")
            });
        }

        let mut probes: BTreeSet<(Action, String)> = BTreeSet::new();
        probes.insert((Action::Connect, format!("client/{client_id}")));
        for (_, p) in &src_policies {
            for st in p.statements() {
                if st.effect() != Effect::Allow || st.is_not_action() || st.is_not_resource() {
                    continue;
                }
                let actions = st.actions();
                for r in st.resources() {
                    let Some(full) = r.substitute(&src_ctx) else {
                        continue;
                    };
                    let Some(tail) = arn_tail(&full) else {
                        continue;
                    };
                    for a in &actions {
                        if *a == Action::Connect {
                            continue;
                        }
                        let ty = a.resource_type();
                        if tail.len() > ty.len()
                            && tail.starts_with(ty)
                            && tail.as_bytes()[ty.len()] == b'/'
                        {
                            probes.insert((*a, tail.to_string()));
                        }
                    }
                }
            }
        }
        if let Some(t) = thing.filter(|t| *t == client_id) {
            for op in SHADOW_OPERATIONS {
                let base = format!("$aws/things/{t}/shadow/{op}");
                probes.insert((Action::Publish, format!("topic/{base}")));
                for answer in ["accepted", "rejected"] {
                    probes.insert((Action::Subscribe, format!("topicfilter/{base}/{answer}")));
                    probes.insert((Action::Receive, format!("topic/{base}/{answer}")));
                }
            }
            for extra in ["update/delta", "update/documents"] {
                let base = format!("$aws/things/{t}/shadow/{extra}");
                probes.insert((Action::Subscribe, format!("topicfilter/{base}")));
                probes.insert((Action::Receive, format!("topic/{base}")));
            }
        }

        let src_refs: Vec<&Policy> = src_policies.iter().map(|(_, p)| *p).collect();
        let tgt_refs: Vec<&Policy> = tgt_policies.iter().map(|(_, p)| *p).collect();
        for (action, tail) in probes {
            let src_decision = iot_crr_policy::evaluate(
                &src_refs,
                &Request {
                    action,
                    resource: &src.place.arn(&tail),
                    context: &src_ctx,
                },
            );
            let request = || format!("{} on {tail}", action.as_str());
            let allowing = match src_decision {
                Decision::Allowed { policy, .. } => src_policies[policy].0,
                Decision::Undecidable {
                    policy,
                    statement,
                    reason,
                } => {
                    let what = statement_doubt("source", &src_policies, policy, statement, &reason);
                    reasons.add(ReasonCode::CannotDecide, what.clone(), || {
                        format!("{}: {what}", request())
                    });
                    seen(&Probe {
                        client_id: client_id.to_string(),
                        action,
                        resource: tail.clone(),
                        source_allows: None,
                        target_allows: None,
                    });
                    continue;
                }
                _ => {
                    // Not something the device may do in the source.
                    continue;
                }
            };
            let tgt_decision = iot_crr_policy::evaluate(
                &tgt_refs,
                &Request {
                    action,
                    resource: &tgt.place.arn(&tail),
                    context: &tgt_ctx,
                },
            );
            seen(&Probe {
                client_id: client_id.to_string(),
                action,
                resource: tail.clone(),
                source_allows: Some(true),
                target_allows: match &tgt_decision {
                    Decision::Allowed { .. } => Some(true),
                    Decision::Undecidable { .. } => None,
                    _ => Some(false),
                },
            });
            match tgt_decision {
                Decision::Allowed { .. } => {}
                Decision::Undecidable {
                    policy,
                    statement,
                    reason,
                } => {
                    let what =
                        statement_doubt("standby", &tgt_policies, policy, statement, &reason);
                    reasons.add(ReasonCode::CannotDecide, what.clone(), || {
                        format!("{}: {what}", request())
                    });
                }
                Decision::ExplicitDeny { policy, statement } => {
                    let name = tgt_policies[policy].0;
                    let st = statement_label(tgt_policies[policy].1, statement);
                    if src_names.contains(&name) {
                        reasons.add(ReasonCode::PolicyDiffers, name, || {
                            format!(
                                "{}: denied by the standby's {name} ({st}), which the source's does not deny",
                                request()
                            )
                        });
                    } else {
                        reasons.add(ReasonCode::Denied, name, || {
                            let holder = self.holder(name, tgt_held);
                            format!(
                                "{}: denied by policy {name} ({st}), attached in the standby to {holder}; the source does not apply it to this device",
                                request()
                            )
                        });
                    }
                }
                Decision::ImplicitDeny => {
                    self.diagnose(allowing, tgt_names, identity_same, &request(), reasons);
                }
            }
        }
    }

    /// Where the standby attaches policy `name` for a device: its certificate, or the
    /// group (the thing's or an ancestor) that holds it.
    fn holder(&self, name: &str, held: &side::Held<'_>) -> String {
        let t = self.target.snapshot;
        if let Some(c) = held.certificate.filter(|c| c.policies.contains(name)) {
            return format!("certificate {}", c.certificate_id);
        }
        if let Some(th) = held.thing {
            for g in th.thing_groups.iter() {
                let mut at = Some(g);
                let mut hops = 0;
                while let Some(group) = at.and_then(|n| t.thing_groups.get(n)) {
                    if group.policies.contains(name) {
                        return format!("thing group {}", group.thing_group_name);
                    }
                    at = group.parent_group_name.as_ref();
                    hops += 1;
                    if hops > 64 {
                        break;
                    }
                }
            }
        }
        "this device".into()
    }

    /// Why the standby does not allow a request the source's policy `allowing` allows.
    fn diagnose(
        &self,
        allowing: &str,
        tgt_names: &[&str],
        identity_same: bool,
        request: &str,
        reasons: &mut Reasons,
    ) {
        let tgt = &self.target;
        let Some(t) = tgt.policies.get(allowing) else {
            reasons.add(ReasonCode::PolicyMissing, allowing, || {
                format!("{request}: allowed in the source by policy {allowing}, which the standby does not hold")
            });
            return;
        };
        if !tgt_names.contains(&allowing) {
            reasons.add(ReasonCode::PolicyNotAttached, allowing, || {
                format!(
                    "{request}: allowed in the source by policy {allowing}, which the standby does not attach to this device's certificate or groups"
                )
            });
            return;
        }
        if self.equivalent.contains(allowing) && !identity_same {
            // The policy decides alike; the identity it reads differs, and that reason
            // is reported already.
            return;
        }
        let src_doc = self.source.policies.get(allowing).and_then(|c| c.document);
        let moved = self.source.place != tgt.place;
        if let (Some(s), Some(d), true) = (src_doc, t.document, moved)
            && same_document(s, d)
            && s.contains("arn:")
        {
            reasons.add(ReasonCode::ArnsNotRewritten, allowing, || {
                format!(
                    "{request}: the standby's policy {allowing} names the source's region or account ({}, {}) in its ARNs",
                    self.source.place.region, self.source.place.account
                )
            });
            return;
        }
        reasons.add(ReasonCode::PolicyDiffers, allowing, || {
            format!(
                "{request}: the standby's default version of policy {allowing} does not allow it"
            )
        });
    }
}

/// The resource after `arn:P:S:REGION:ACCOUNT:` of an ARN.
fn arn_tail(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let mut at = 0;
    for _ in 0..4 {
        at += rest[at..].find(':')? + 1;
    }
    Some(&rest[at..])
}

fn shown(v: Option<&str>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "none".into(),
    }
}

fn in_source_only(detail: String) -> (Verdict, Vec<Reason>) {
    (
        Verdict::NotReadyInSource,
        vec![Reason::new(ReasonCode::NotReadyInSource, detail)],
    )
}

fn describe_error(e: &iot_crr_policy::PolicyError) -> String {
    match (e.statement, &e.sid) {
        (Some(i), Some(sid)) => format!("statement {} (Sid {sid}): {}", i + 1, e.message),
        (Some(i), None) => format!("statement {}: {}", i + 1, e.message),
        _ => e.message.clone(),
    }
}

/// The parsed policies of `names` on a side, and a note for each that is missing from
/// the registry's policies or does not parse.
fn compiled_of<'s>(
    side: &'s Side<'_>,
    names: &[&'s str],
) -> (Vec<(&'s str, &'s Policy)>, Vec<String>) {
    let mut ok = Vec::with_capacity(names.len());
    let mut problems = Vec::new();
    for n in names {
        match side.policies.get(n) {
            Some(Compiled { policy: Ok(p), .. }) => ok.push((*n, p)),
            Some(Compiled { policy: Err(e), .. }) => {
                problems.push(format!("policy {n} does not parse: {}", describe_error(e)))
            }
            // Attached but not held: AWS would not allow it; nothing to evaluate.
            None => {}
        }
    }
    (ok, problems)
}

fn statement_label(p: &Policy, statement: usize) -> String {
    match p.statements().get(statement).and_then(|s| s.sid()) {
        Some(sid) => format!("statement {} (Sid {sid})", statement + 1),
        None => format!("statement {}", statement + 1),
    }
}

fn statement_doubt(
    side: &str,
    policies: &[(&str, &Policy)],
    policy: usize,
    statement: usize,
    reason: &str,
) -> String {
    match policies.get(policy) {
        Some((name, p)) => format!(
            "{side} policy {name}, {}: {reason}",
            statement_label(p, statement)
        ),
        None => format!("{side}: {reason}"),
    }
}

fn refusal(policies: &[(&str, &Policy)], d: &Decision) -> String {
    match d {
        Decision::ExplicitDeny { policy, statement } => match policies.get(*policy) {
            Some((n, p)) => format!("denied by policy {n} ({})", statement_label(p, *statement)),
            None => "denied".into(),
        },
        _ if policies.is_empty() => "no policy is attached".into(),
        _ => "no policy allows it".into(),
    }
}

/// The variables of a connection of `certificate` with `client_id` on a side.
fn context<'c>(
    held: &side::Held<'c>,
    certificate: &str,
    client_id: &'c str,
    info: Option<&'c CertificateInfo>,
) -> ContextOwner<'c> {
    let thing = held.connected_thing(certificate, client_id);
    ContextOwner {
        client_id,
        thing: thing.map(|t| (t, Attrs(&t.attributes))),
        info,
    }
}

/// What a [`Context`] borrows.
struct ContextOwner<'c> {
    client_id: &'c str,
    thing: Option<(&'c Thing, Attrs<'c>)>,
    info: Option<&'c CertificateInfo>,
}

impl ContextOwner<'_> {
    fn get(&self) -> Context<'_> {
        Context {
            client_id: self.client_id,
            thing: self.thing.as_ref().map(|(t, a)| ThingContext {
                name: t.thing_name.as_str(),
                type_name: t.thing_type_name.as_deref(),
                attributes: a,
            }),
            certificate: self.info,
        }
    }
}

fn evaluate_at(
    policies: &[(&str, &Policy)],
    action: Action,
    resource: &str,
    ctx: &ContextOwner<'_>,
) -> Decision {
    let refs: Vec<&Policy> = policies.iter().map(|(_, p)| *p).collect();
    iot_crr_policy::evaluate(
        &refs,
        &Request {
            action,
            resource,
            context: &ctx.get(),
        },
    )
}

#[cfg(test)]
mod tests;
