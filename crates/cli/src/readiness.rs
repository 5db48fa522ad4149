//! `iot-crr readiness`: which devices the target, as a standby, would accept; the
//! command and its text and JSON renderings.

use std::io::Write;

use anyhow::{Result, bail};

use crate::args::{Format, ReadinessArgs};
use crate::sides::ReadBars;
use crate::{Status, filter_of, open_both, stats};

/// Runs `readiness`: exit 0 when every device the source accepts is ready, 1 when not.
pub async fn readiness(a: ReadinessArgs) -> Result<Status> {
    let filter = filter_of(&a.filter)?;
    if let iot_crr_registry::Location::File(path) = &a.target.target
        && !path.exists()
    {
        bail!(
            "no such snapshot file {}: the standby to judge must exist",
            path.display()
        );
    }
    let sides = open_both(&a.source, &a.target, &a.aws).await?;
    let (source, target) = (sides.source.as_ref(), sides.target.as_ref());
    let options = iot_crr_reconcile::ReadinessOptions {
        filter,
        source_region: a.source_region.clone(),
        source_account: a.source_account.clone(),
        target_region: a.target_region.clone(),
        target_account: a.target_account.clone(),
        cross_check: a.cross_check,
    };
    let bars = ReadBars::new(source, target);
    let run = iot_crr_reconcile::readiness(source, target, &options, &bars.progress(None)).await;
    bars.finish();
    let run = run?;
    if run.pems_read > 0 {
        eprintln!(
            "read {} certificate PEM(s) from the source: a policy reads certificate fields",
            run.pems_read
        );
    }
    let fix = readiness_fix(
        &run.assessment.summary(),
        &source.location(),
        &target.location(),
        a.rewrite_arns,
    );
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            for d in &run.assessment.devices {
                writeln!(out, "{}", serde_json::to_string(d)?)?;
            }
            writeln!(
                out,
                "{}",
                readiness_summary_json(&run, &source.location(), &target.location(), &fix)
            )?;
        }
        Format::Text => write!(
            out,
            "{}",
            readiness_text(
                &run,
                &source.location(),
                &target.location(),
                &fix,
                a.max_devices
            )
        )?,
    }
    drop(out);
    stats(&a.aws, &[source, target]);
    Ok(if run.assessment.all_ready() {
        Status::Ok
    } else {
        Status::Incomplete
    })
}

/// The sync that would fix the standby's devices (`None` when no sync would: every
/// reason is the source's own, or needs a person).
pub fn readiness_fix(
    summary: &iot_crr_readiness::Summary,
    source: &str,
    target: &str,
    rewrite_arns: bool,
) -> Option<String> {
    use iot_crr_readiness::Fix;
    let fixes = &summary.fixes;
    let syncs = fixes
        .iter()
        .any(|f| matches!(f, Fix::Sync | Fix::SyncRewritingArns));
    if !syncs {
        return None;
    }
    let mut cmd = format!("iot-crr sync --source {source} --target {target}");
    if rewrite_arns || fixes.contains(&Fix::SyncRewritingArns) {
        cmd.push_str(" --rewrite-arns");
    }
    Some(cmd)
}

/// `readiness`'s text output: the count, the reasons with their devices, the fix.
pub fn readiness_text(
    run: &iot_crr_reconcile::ReadinessRun,
    source: &str,
    target: &str,
    fix: &Option<String>,
    max_devices: usize,
) -> String {
    use std::fmt::Write;
    let s = run.assessment.summary_naming(max_devices);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "readiness of {target} ({}, {}) as a standby for {source} ({}, {})",
        run.target.region, run.target.account, run.source.region, run.source.account
    );
    let _ = writeln!(out, "{} of {} devices ready", s.ready, s.devices);
    if s.cannot_decide > 0 {
        let _ = writeln!(
            out,
            "  {} cannot be decided (counted as not ready)",
            s.cannot_decide
        );
    }
    if s.not_ready_in_source > 0 {
        let _ = writeln!(
            out,
            "  {} more device(s) the source refuses too (not counted)",
            s.not_ready_in_source
        );
    }
    if !s.reasons.is_empty() {
        let width = s.reasons.keys().map(String::len).max().unwrap_or(6).max(6);
        let _ = writeln!(
            out,
            "\n  {:<width$}  {:>7}  first devices",
            "reason", "devices"
        );
        for (code, n) in &s.reasons {
            let first: Vec<&str> = n
                .first
                .iter()
                .take(max_devices)
                .map(String::as_str)
                .collect();
            let more = n.devices.saturating_sub(first.len());
            let mut names = first.join(", ");
            if more > 0 {
                let _ = write!(names, ", and {more} more");
            }
            let _ = writeln!(out, "  {code:<width$}  {:>7}  {names}", n.devices);
            let _ = writeln!(out, "  {:<width$}           e.g. {}", "", n.example);
        }
    }
    for p in &run.assessment.policy_problems {
        let _ = writeln!(out, "policy problem: {p}");
    }
    if let Some(c) = &run.cross_check {
        let _ = writeln!(
            out,
            "\ncross-check with AWS IoT (TestAuthorization): {} device(s), {} request(s) \
             asked, {} disagreement(s)",
            c.devices,
            c.requests,
            c.disagreements.len()
        );
        for d in &c.disagreements {
            let _ = writeln!(
                out,
                "  {} in the {}: {} on {} as client id {:?}: AWS says {:?}, the evaluator {}",
                d.device,
                d.side,
                d.action,
                d.resource,
                d.client_id,
                d.aws,
                if d.local_allows { "allows" } else { "denies" }
            );
        }
        for u in &c.unavailable {
            let _ = writeln!(out, "  not asked: {u}");
        }
        if c.not_testable > 0 {
            let _ = writeln!(
                out,
                "  {} request(s) TestAuthorization cannot take (retain, shadow and role alias \
                 actions) were not asked",
                c.not_testable
            );
        }
    }
    if let Some(f) = fix {
        let _ = writeln!(out, "\nto fix the standby: {f}");
    }
    if s.fixes.contains(&iot_crr_readiness::Fix::DetachInStandby) {
        let _ = writeln!(
            out,
            "{}detach the policies named under `denied` where the standby attaches them \
             (aws iot detach-policy --region {} --policy-name NAME --target ARN): the source \
             does not attach them, and no sync removes an attachment only the target has, \
             even with --prune",
            if fix.is_some() {
                "  and "
            } else {
                "\nto fix the standby: "
            },
            run.target.region
        );
    }
    if fix.is_none() && s.reasons.contains_key("cannot-decide") {
        let _ = writeln!(
            out,
            "\nsome statements cannot be decided here: read the statements named, or ask AWS \
             with --cross-check N (aws: locations)"
        );
    }
    out
}

/// `readiness`'s last JSON line: `{"summary": {...}}`.
pub fn readiness_summary_json(
    run: &iot_crr_reconcile::ReadinessRun,
    source: &str,
    target: &str,
    fix: &Option<String>,
) -> String {
    let s = run.assessment.summary();
    let mut v = serde_json::json!({
        "source": source,
        "target": target,
        "sourceRegion": run.source.region,
        "sourceAccount": run.source.account,
        "targetRegion": run.target.region,
        "targetAccount": run.target.account,
        "devices": s.devices,
        "ready": s.ready,
        "notReady": s.not_ready,
        "cannotDecide": s.cannot_decide,
        "notReadyInSource": s.not_ready_in_source,
        "reasons": s.reasons.iter().map(|(k, n)| (k.clone(), serde_json::json!(n.devices))).collect::<serde_json::Map<_, _>>(),
        "policyProblems": run.assessment.policy_problems,
        "fix": fix,
    });
    if let Some(c) = &run.cross_check {
        v["crossCheck"] = serde_json::json!({
            "devices": c.devices,
            "requests": c.requests,
            "disagreements": c.disagreements.iter().map(|d| serde_json::json!({
                "thing": d.device.thing.as_deref(),
                "certificate": d.device.certificate.as_str(),
                "side": d.side,
                "clientId": d.client_id,
                "action": d.action,
                "resource": d.resource,
                "localAllows": d.local_allows,
                "aws": format!("{:?}", d.aws),
            })).collect::<Vec<_>>(),
            "undecided": c.undecided,
            "notTestable": c.not_testable,
            "unavailable": c.unavailable,
        });
    }
    serde_json::json!({ "summary": v }).to_string()
}
