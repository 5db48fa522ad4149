//! Failover readiness of a standby: both registries read whole (as a comparison reads
//! them, without certificate PEMs), then every device of the source judged by
//! `iot-crr-readiness`; optionally a sample of devices asked of AWS IoT itself
//! (`TestAuthorization`) in both regions, to find where the local evaluator and AWS
//! disagree.

use iot_crr_model::{Filter, Name, Origin, Snapshot};
use iot_crr_readiness::{Assessment, Assessor, Device, Place, Probe, Verdict};
use iot_crr_registry::{AuthorizationAnswer, AuthorizationQuery, ErrorClass, Registry};

use crate::compare::{off_async, read_request, request};
use crate::{Progress, ReconcileError, Result, origin_of};

/// What a readiness run reads and how.
#[derive(Debug, Clone, Default)]
pub struct ReadinessOptions {
    /// Which devices are judged (a thing device by its thing's name, a certificate
    /// attached to no thing by its id); everything they depend on is read whole.
    pub filter: Filter,
    /// The source's region, when the source cannot tell.
    pub source_region: Option<String>,
    /// The source's account.
    pub source_account: Option<String>,
    /// The target's region.
    pub target_region: Option<String>,
    /// The target's account (default: the source's).
    pub target_account: Option<String>,
    /// How many devices to ask AWS IoT's `TestAuthorization` about in both regions
    /// (0: none).
    pub cross_check: usize,
}

/// A readiness run's result.
#[derive(Debug)]
pub struct ReadinessRun {
    /// Every device's verdict.
    pub assessment: Assessment,
    /// Where the source's requests are made.
    pub source: Place,
    /// Where the standby's requests are made.
    pub target: Place,
    /// Certificate PEMs read from the source (only when a policy reads certificate
    /// fields).
    pub pems_read: usize,
    /// The cross-check with AWS IoT, when asked for.
    pub cross_check: Option<CrossCheck>,
}

/// What AWS IoT's own policy engine said about sampled devices' requests.
#[derive(Debug, Default)]
pub struct CrossCheck {
    /// Devices sampled.
    pub devices: usize,
    /// Requests asked (both regions together).
    pub requests: usize,
    /// Each request where AWS and the local evaluator disagree.
    pub disagreements: Vec<Disagreement>,
    /// Requests the local evaluator could not decide, so not compared.
    pub undecided: usize,
    /// Requests `TestAuthorization` cannot take (`iot:RetainPublish`, shadow and role
    /// alias actions), so not compared.
    pub not_testable: usize,
    /// Why a side could not be asked (a snapshot file has no policy engine; moto lacks
    /// `TestAuthorization`).
    pub unavailable: Vec<String>,
}

/// One request AWS and the local evaluator decide differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The device.
    pub device: Device,
    /// `source` or `standby`.
    pub side: &'static str,
    /// The request's client id.
    pub client_id: String,
    /// The action (`iot:Publish`).
    pub action: String,
    /// The resource's ARN in that region.
    pub resource: String,
    /// The local evaluator's answer.
    pub local_allows: bool,
    /// AWS's answer.
    pub aws: AuthorizationAnswer,
}

/// The place (partition, region, account) of a registry for readiness: the given
/// values, else what the registry tells; an unknown region is an error naming the
/// flag that gives it.
fn place(
    origin: &Origin,
    region: &Option<String>,
    account: &Option<String>,
    fallback_account: Option<&str>,
    side: &str,
    location: &str,
) -> Result<Place> {
    let region = region
        .clone()
        .or_else(|| origin.region.clone())
        .ok_or_else(|| {
            ReconcileError::Readiness(format!(
                "the {side}'s region is unknown ({location} does not record one); give \
             --{side}-region"
            ))
        })?;
    let account = account
        .clone()
        .or_else(|| origin.account_id.clone())
        .or_else(|| fallback_account.map(str::to_string))
        .ok_or_else(|| {
            ReconcileError::Readiness(format!(
                "the {side}'s account is unknown ({location} does not record one); give \
                 --{side}-account"
            ))
        })?;
    Ok(Place::new(region, account))
}

/// Reads both registries and judges every device `options.filter` selects.
pub async fn readiness(
    source: &dyn Registry,
    target: &dyn Registry,
    options: &ReadinessOptions,
    progress: &Progress<'_>,
) -> Result<ReadinessRun> {
    options.filter.validate()?;
    // Everything is read: a device depends on policies, groups and types whatever the
    // filter selects.
    let all = Filter::default();
    let (sr, tr) = (
        request(&all, progress.source_read.clone(), true),
        request(&all, progress.target_read.clone(), true),
    );
    let (s, t): (Snapshot, Snapshot) =
        tokio::try_join!(read_request(source, &sr), read_request(target, &tr))?;
    let so = origin_of(source, &s);
    let to = origin_of(target, &t);
    let sp = place(
        &so,
        &options.source_region,
        &options.source_account,
        None,
        "source",
        &source.location(),
    )?;
    let tp = place(
        &to,
        &options.target_region,
        &options.target_account,
        Some(&sp.account),
        "target",
        &target.location(),
    )?;

    let mut pems: Vec<(Name, String)> = Vec::new();
    if iot_crr_readiness::reads_certificates(&s) || iot_crr_readiness::reads_certificates(&t) {
        pems = read_pems(source, &s).await?;
    }
    let pems_read = pems.len();

    let filter = options.filter.clone();
    let sample = options.cross_check;
    let (places, work) = ((sp.clone(), tp.clone()), move || {
        let a = Assessor::new(&s, sp, &t, tp).with_certificates(pems);
        let assessment = a.assess(&filter);
        let sampled = sample_devices(&assessment, sample)
            .into_iter()
            .map(|d| {
                let p = a.probes(&d);
                (d, p)
            })
            .collect::<Vec<_>>();
        (assessment, sampled)
    });
    let (assessment, sampled) = off_async(target, "the readiness assessment", work).await?;
    let cross_check = if sample > 0 {
        Some(cross_check(source, target, &places.0, &places.1, sampled).await?)
    } else {
        None
    };
    Ok(ReadinessRun {
        assessment,
        source: places.0,
        target: places.1,
        pems_read,
        cross_check,
    })
}

/// The PEM of every certificate of the source (what certificate policy variables
/// read): one `DescribeCertificate` each on AWS, a line of the file for a snapshot.
async fn read_pems(source: &dyn Registry, s: &Snapshot) -> Result<Vec<(Name, String)>> {
    use futures::{StreamExt, TryStreamExt, stream};
    let ids: Vec<Name> = s.certificates.keys().cloned().collect();
    let found: Vec<Option<(Name, String)>> = stream::iter(ids)
        .map(|id| async move {
            let pem = source.certificate_pem(&id).await?;
            Ok::<_, iot_crr_registry::RegistryError>(
                pem.filter(|(p, _)| !p.is_empty()).map(|(p, _)| (id, p)),
            )
        })
        .buffer_unordered(8)
        .try_collect()
        .await
        .map_err(|e| ReconcileError::Read {
            location: source.location(),
            source: e,
        })?;
    Ok(found.into_iter().flatten().collect())
}

/// Up to `n` devices the source accepts, spread evenly over them (deterministic).
fn sample_devices(a: &Assessment, n: usize) -> Vec<Device> {
    let judged: Vec<&Device> = a
        .devices
        .iter()
        .filter(|d| d.verdict != Verdict::NotReadyInSource)
        .map(|d| &d.device)
        .collect();
    if n == 0 || judged.is_empty() {
        return Vec::new();
    }
    let n = n.min(judged.len());
    (0..n)
        .map(|i| judged[i * judged.len() / n].clone())
        .collect()
}

/// Asks AWS IoT about the sampled devices' probes in both regions.
async fn cross_check(
    source: &dyn Registry,
    target: &dyn Registry,
    sp: &Place,
    tp: &Place,
    sampled: Vec<(Device, Vec<Probe>)>,
) -> Result<CrossCheck> {
    let mut out = CrossCheck {
        devices: sampled.len(),
        ..CrossCheck::default()
    };
    let sides: [(&dyn Registry, &Place, &'static str); 2] =
        [(source, sp, "source"), (target, tp, "standby")];
    let mut dead = [false, false];
    for (device, probes) in &sampled {
        // One query per side and client id.
        let mut by_client: std::collections::BTreeMap<&str, Vec<&Probe>> = Default::default();
        for p in probes {
            let testable = matches!(
                p.action,
                iot_crr_policy::Action::Connect
                    | iot_crr_policy::Action::Publish
                    | iot_crr_policy::Action::Subscribe
                    | iot_crr_policy::Action::Receive
            );
            if !testable {
                out.not_testable += 1;
                continue;
            }
            by_client.entry(p.client_id.as_str()).or_default().push(p);
        }
        for (client_id, ps) in by_client {
            for (i, (registry, place, label)) in sides.iter().enumerate() {
                if dead[i] {
                    continue;
                }
                let local: Vec<Option<bool>> = ps
                    .iter()
                    .map(|p| {
                        if i == 0 {
                            p.source_allows
                        } else {
                            p.target_allows
                        }
                    })
                    .collect();
                let asked: Vec<(&Probe, bool)> = ps
                    .iter()
                    .zip(&local)
                    .filter_map(|(p, l)| l.map(|l| (*p, l)))
                    .collect();
                out.undecided += ps.len() - asked.len();
                if asked.is_empty() {
                    continue;
                }
                let query = AuthorizationQuery {
                    certificate_id: device.certificate.to_string(),
                    client_id: client_id.to_string(),
                    checks: asked
                        .iter()
                        .map(|(p, _)| (p.action.as_str().to_string(), place.arn(&p.resource)))
                        .collect(),
                };
                match registry.test_authorization(&query).await {
                    Ok(answers) => {
                        out.requests += answers.len();
                        for (((p, l), a), (_, arn)) in asked.iter().zip(answers).zip(&query.checks)
                        {
                            if a.is_allowed() != *l {
                                out.disagreements.push(Disagreement {
                                    device: device.clone(),
                                    side: label,
                                    client_id: client_id.to_string(),
                                    action: p.action.as_str().to_string(),
                                    resource: arn.clone(),
                                    local_allows: *l,
                                    aws: a,
                                });
                            }
                        }
                    }
                    Err(e) if e.class == ErrorClass::Unsupported => {
                        dead[i] = true;
                        out.unavailable.push(format!("{label}: {e}"));
                    }
                    Err(e) => {
                        return Err(ReconcileError::Read {
                            location: registry.location(),
                            source: e,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}
