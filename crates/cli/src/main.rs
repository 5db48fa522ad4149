//! `iot-crr`: the command-line tool. Wiring only: it resolves the arguments once, calls
//! the reconciler library (`iot-crr-reconcile`) and renders what comes back.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Parser;
use iot_crr_aws::Quotas;
use iot_crr_engine::{ApplyOptions, ApplyReport};
use iot_crr_model::{Filter, Plan};
use iot_crr_reconcile::{
    DeleteBound, Progress, ReconcileOptions, RewriteSpec, Role, apply_checked, apply_fresh,
    compare, open, origin_of, plan_keys,
};
use iot_crr_registry::{ReadProgress, Registry};

mod args;
mod events;
mod progress;
mod readiness;
mod render;
mod sides;

use args::{
    ApplyArgs, ApplyTuning, AwsArgs, Cli, Command, CompareArgs, FilterArgs, Format, GenFleetArgs,
    PlanArgs, SnapshotArgs, SourceArgs, SyncArgs, TargetArgs, VerifyArgs,
};
use sides::{ReadBar, ReadBars, backend_for, print_stats};

/// Exit status of a command that ran to the end.
enum Status {
    /// Everything as wanted.
    Ok,
    /// Registries differ (verify) or some changes failed (sync, apply).
    Incomplete,
}

fn main() -> ExitCode {
    STARTED.get_or_init(std::time::Instant::now);
    let cli = Cli::parse();
    // The replicator runs unattended: its batches are logged at info by default.
    let long_running = matches!(cli.command, Command::Replicate(_));
    init_logging(cli.verbose + u8::from(long_running), cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(Status::Ok) => ExitCode::SUCCESS,
        Ok(Status::Incomplete) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes in one line, each cause once: an error whose message
/// already holds its cause's (as `reading file:x: x:7: ...` holds the snapshot error)
/// is not followed by that cause again.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

fn init_logging(verbose: u8, format: args::LogFormat) {
    // The SDK's credential providers log each failed attempt as a warning; the error
    // iot-crr reports says the same in one line.
    let default = match verbose {
        0 => "warn,aws_config=error",
        1 => "info,aws_config=warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        args::LogFormat::Text => builder.init(),
        args::LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

async fn run(command: Command) -> Result<Status> {
    started();
    match command {
        Command::Snapshot(a) => snapshot(a).await,
        Command::Plan(a) => plan(a).await,
        Command::Apply(a) => apply(a).await,
        Command::Sync(a) => sync(a).await,
        Command::Verify(a) => verify(a).await,
        Command::Readiness(a) => readiness::readiness(a).await,
        Command::GenFleet(a) => gen_fleet(a),
        Command::ApplyEvents(a) => events::apply_events(a).await,
        Command::DeadLetters(a) => events::dead_letters(a).await,
        Command::Replicate(a) => events::replicate(*a).await,
        Command::Forward(a) => events::forward(a).await,
    }
}

fn filter_of(a: &FilterArgs) -> Result<Filter> {
    let f = Filter {
        kinds: a.kinds.clone(),
        include: a.include.clone(),
        exclude: a.exclude.clone(),
    };
    f.validate()?;
    Ok(f)
}

fn reconcile_options(
    c: &CompareArgs,
    prune: bool,
    max_delete: Option<DeleteBound>,
) -> Result<ReconcileOptions> {
    Ok(ReconcileOptions {
        filter: filter_of(&c.filter)?,
        prune,
        rewrite: rewrite_spec(&c.rewrite)?,
        max_delete: max_delete.unwrap_or_default(),
    })
}

fn rewrite_spec(r: &args::RewriteArgs) -> Result<RewriteSpec> {
    let mut map = match &r.arn_map {
        Some(path) => iot_crr_reconcile::read_arn_map(path)?,
        None => Default::default(),
    };
    map.extend(r.map_arn.iter().cloned());
    Ok(RewriteSpec {
        map,
        strict: r.strict_arns,
        enabled: r.rewrite_arns,
        source_region: r.source_region.clone(),
        source_account: r.source_account.clone(),
        target_region: r.target_region.clone(),
        target_account: r.target_account.clone(),
    })
}

fn apply_options(t: &ApplyTuning) -> ApplyOptions {
    ApplyOptions {
        concurrency: t.concurrency,
        deadline: t.time_budget.map(|b| started() + b),
        ..ApplyOptions::default()
    }
}

/// When the command started (the time budget counts from here).
fn started() -> tokio::time::Instant {
    static START: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(tokio::time::Instant::now)
}

/// Both registries, opened.
struct Sides {
    source: Arc<dyn Registry>,
    target: Arc<dyn Registry>,
    /// The rates the target is paced at.
    target_quotas: Quotas,
}

async fn open_both(s: &SourceArgs, t: &TargetArgs, aws: &AwsArgs) -> Result<Sides> {
    let (se, te) = (sides::source(s), sides::target(t));
    let (sb, tb) = tokio::try_join!(backend_for(aws, &se), backend_for(aws, &te))?;
    let (source, target) =
        tokio::try_join!(open(&se, Role::Source, &sb), open(&te, Role::Target, &tb),)?;
    Ok(Sides {
        source,
        target,
        target_quotas: tb.quotas,
    })
}

/// A plan with the notes a person should see, and the source's origin.
struct Planned {
    plan: Plan,
    source_origin: iot_crr_model::Origin,
}

/// Compares the two sides (whole, or only `--key` resources), with spinners.
async fn plan_of(
    sides: &Sides,
    options: &ReconcileOptions,
    keys: &[iot_crr_model::ResourceKey],
) -> Result<Planned> {
    let (source, target) = (sides.source.as_ref(), sides.target.as_ref());
    let (plan, source_origin, notes) = if keys.is_empty() {
        let bars = ReadBars::new(source, target);
        let c = compare(source, target, options, &bars.progress(None)).await;
        bars.finish();
        let c = c?;
        (c.plan, c.source_origin, c.notes)
    } else {
        let keys = keys.iter().cloned().collect();
        let k = plan_keys(source, target, &keys, options).await?;
        eprintln!(
            "keyed comparison of {} resource(s) ({} asked, {} needed with them): {} read(s)",
            k.keys.len(),
            keys.len(),
            k.keys.len().saturating_sub(keys.len()),
            k.reads
        );
        (k.plan, k.source_origin, k.notes)
    };
    for n in notes {
        eprintln!("note: {n}");
    }
    Ok(Planned {
        plan,
        source_origin,
    })
}

/// Reads from the source the PEMs of the certificates the plan registers, which a plan
/// needs to be saved or printed as JSON (one `DescribeCertificate` each on AWS). A
/// comparison reads none, text output shows none, and `sync` reads each as its
/// registration is sent.
async fn fill_pems(source: &dyn Registry, plan: &mut Plan) -> Result<()> {
    if !iot_crr_reconcile::plan_lacks_pems(plan) {
        return Ok(());
    }
    let bar = ReadBar::new("PEMs of the certificates to register", &source.location());
    let r = iot_crr_reconcile::fill_certificate_pems(
        source,
        plan,
        Some(bar.clone() as Arc<dyn ReadProgress>),
    )
    .await;
    bar.finish();
    Ok(r?)
}

fn print_plan(plan: &Plan, format: Format, max_lines: usize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", plan.to_json())?,
        Format::Text => write!(out, "{}", render::plan_text(plan, max_lines))?,
    }
    Ok(())
}

/// Prints the least time the plan can take at the target's quotas (a rate-limited
/// `aws:` target only): the slowest API's calls over its quota, the others running
/// beside it.
fn print_floor(plan: &Plan, target: &dyn Registry, quotas: &Quotas) -> Result<()> {
    if !target.location().starts_with("aws:") {
        return Ok(());
    }
    let floor = quotas.floor(plan.changes.iter().map(|c| c.change.api()));
    if let Some((api, calls)) = floor.slowest() {
        eprintln!(
            "at the quotas this takes at least {}: {calls} {api} call(s) at {}/s (the slowest \
             API; the others run beside it)",
            render::duration(floor.seconds()),
            quotas.get(api)
        );
    }
    Ok(())
}

/// When the command started (for the rates of `--stats`).
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn stats(aws: &AwsArgs, registries: &[&dyn Registry]) {
    if aws.stats {
        let elapsed = STARTED.get_or_init(std::time::Instant::now).elapsed();
        for r in registries {
            print_stats(*r, elapsed);
        }
    }
}

async fn snapshot(a: SnapshotArgs) -> Result<Status> {
    let filter = filter_of(&a.filter)?;
    let endpoint = sides::source(&a.source);
    let backend = backend_for(&a.aws, &endpoint).await?;
    let src = open(&endpoint, Role::Source, &backend).await?;
    let bar = ReadBar::new("source", &src.location());
    let read = iot_crr_reconcile::read(
        src.as_ref(),
        &filter,
        Some(bar.clone() as Arc<dyn ReadProgress>),
    )
    .await;
    bar.finish();
    let mut snap = read?;
    snap.origin = origin_of(src.as_ref(), &snap);
    if a.output.as_os_str() == "-" {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        iot_crr_model::format::write_to(&snap, &mut out)?;
        std::io::Write::flush(&mut out)?;
    } else {
        iot_crr_model::format::write_file(&snap, &a.output)?;
    }
    let c = snap.counts();
    eprintln!(
        "wrote {} ({} resources: {})",
        a.output.display(),
        c.total(),
        render::counts_line(&c)
    );
    stats(&a.aws, &[src.as_ref()]);
    Ok(Status::Ok)
}

async fn plan(a: PlanArgs) -> Result<Status> {
    let options = reconcile_options(&a.compare, a.prune, None)?;
    if a.output.is_some() && !a.compare.keys.is_empty() {
        bail!(
            "--output with --key: a keyed plan cannot be saved for `apply` (its fingerprint \
             covers only its resources); use `sync --key` to apply it at once"
        );
    }
    let sides = open_both(&a.source, &a.target, &a.aws).await?;
    let mut p = plan_of(&sides, &options, &a.compare.keys).await?;
    if a.output.is_some() || a.format == Format::Json {
        fill_pems(sides.source.as_ref(), &mut p.plan).await?;
    }
    print_plan(&p.plan, a.format, a.max_lines)?;
    if let Some(path) = &a.output {
        std::fs::write(path, p.plan.to_json())
            .with_context(|| format!("writing the plan to {}", path.display()))?;
        eprintln!(
            "plan written to {}; apply it with: iot-crr apply {} --target {}",
            path.display(),
            path.display(),
            p.plan.target
        );
    }
    stats(&a.aws, &[sides.source.as_ref(), sides.target.as_ref()]);
    Ok(Status::Ok)
}

fn finish_apply(report: &ApplyReport, t: &ApplyTuning) -> Result<Status> {
    if let Some(path) = &t.report {
        std::fs::write(path, report.to_json())
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    eprint!("{report}");
    if let Some(e) = &report.commit_error {
        bail!("nothing was saved: {e}");
    }
    if report.counts.not_sent > 0 {
        eprintln!(
            "the time budget ran out: {} change(s) were not sent; run sync again to go on \
             (a saved plan is planned again)",
            report.counts.not_sent
        );
    }
    Ok(if report.is_success() {
        Status::Ok
    } else {
        Status::Incomplete
    })
}

async fn apply(a: ApplyArgs) -> Result<Status> {
    let text = std::fs::read_to_string(&a.plan)
        .with_context(|| format!("reading the plan {}", a.plan.display()))?;
    let plan = Plan::from_json(&text).with_context(|| format!("{}", a.plan.display()))?;
    let endpoint = sides::target(&a.target);
    let backend = backend_for(&a.aws, &endpoint).await?;
    let target = open(&endpoint, Role::Target, &backend).await?;
    let location = target.location();
    if location != plan.target {
        eprintln!(
            "note: the plan was computed against {}, applying to {location}",
            plan.target
        );
    }
    if plan.is_empty() {
        eprintln!("the plan has no changes");
        return Ok(Status::Ok);
    }
    print_floor(&plan, target.as_ref(), &backend.quotas)?;
    let bar = progress::ApplyBar::new();
    let progress = Progress {
        apply: Some(&bar),
        ..Progress::default()
    };
    let report = apply_checked(
        target.as_ref(),
        &plan,
        &a.tuning.max_delete.unwrap_or_default(),
        &apply_options(&a.tuning),
        &progress,
    )
    .await
    .with_context(|| format!("applying {}", a.plan.display()));
    bar.finish();
    let report = report?;
    stats(&a.aws, &[target.as_ref()]);
    finish_apply(&report, &a.tuning)
}

async fn sync(a: SyncArgs) -> Result<Status> {
    let options = reconcile_options(&a.compare, a.prune, a.tuning.max_delete)?;
    let sides = open_both(&a.source, &a.target, &a.aws).await?;
    // Overlapping pays where the source's read is slow: an API (a snapshot file is
    // parsed in seconds, and would be parsed once per part).
    if !a.dry_run
        && !a.no_overlap
        && a.compare.keys.is_empty()
        && a.format == Format::Text
        && sides.source.location().starts_with("aws:")
        && iot_crr_reconcile::overlaps(&options)
    {
        return sync_overlapped(&a, &sides, &options).await;
    }
    let mut p = plan_of(&sides, &options, &a.compare.keys).await?;
    if a.format == Format::Json {
        fill_pems(sides.source.as_ref(), &mut p.plan).await?;
    }
    print_plan(&p.plan, a.format, a.max_lines)?;
    // The delete bound is checked before anything is written, dry run included.
    iot_crr_reconcile::check_deletes(&p.plan, &options.max_delete)?;
    let both = [sides.source.as_ref(), sides.target.as_ref()];
    if a.dry_run || p.plan.is_empty() {
        if a.dry_run {
            eprintln!("dry run: no change was made");
        }
        stats(&a.aws, &both);
        return Ok(Status::Ok);
    }
    print_floor(&p.plan, sides.target.as_ref(), &sides.target_quotas)?;
    let bar = progress::ApplyBar::new();
    let report = apply_fresh(
        sides.target.as_ref(),
        &p.plan,
        sides.source.as_ref(),
        &p.source_origin,
        &options.max_delete,
        &apply_options(&a.tuning),
        Some(&bar),
    )
    .await;
    bar.finish();
    let report = report?;
    stats(&a.aws, &both);
    finish_apply(&report, &a.tuning)
}

/// `sync` with the writes started while the things are read; the plan is printed
/// after the apply.
async fn sync_overlapped(
    a: &SyncArgs,
    sides: &Sides,
    options: &ReconcileOptions,
) -> Result<Status> {
    let (source, target) = (sides.source.as_ref(), sides.target.as_ref());
    eprintln!(
        "comparing and writing the types, groups, policies and certificates while the \
         things are read, and the things as they are read; the plan is printed after the \
         apply (--no-overlap to see it first)"
    );
    let bars = ReadBars::new(source, target);
    let bar = progress::ApplyBar::new();
    let done = iot_crr_reconcile::sync_overlapped(
        source,
        target,
        options,
        &apply_options(&a.tuning),
        &bars.progress(Some(&bar)),
    )
    .await;
    bars.finish();
    bar.finish();
    let done = done?;
    for n in &done.comparison.notes {
        eprintln!("note: {n}");
    }
    print_plan(&done.comparison.plan, a.format, a.max_lines)?;
    stats(&a.aws, &[source, target]);
    match &done.report {
        Some(report) => {
            print_floor(&done.comparison.plan, target, &sides.target_quotas)?;
            finish_apply(report, &a.tuning)
        }
        None => Ok(Status::Ok),
    }
}

async fn verify(a: VerifyArgs) -> Result<Status> {
    let options = reconcile_options(&a.compare, a.prune, None)?;
    let sides = open_both(&a.source, &a.target, &a.aws).await?;
    let p = plan_of(&sides, &options, &a.compare.keys).await?;
    write!(std::io::stdout().lock(), "{}", render::verify_text(&p.plan))?;
    stats(&a.aws, &[sides.source.as_ref(), sides.target.as_ref()]);
    Ok(if p.plan.is_empty() {
        Status::Ok
    } else {
        Status::Incomplete
    })
}

fn gen_fleet(a: GenFleetArgs) -> Result<Status> {
    let spec = iot_crr_fleet::FleetSpec {
        things: a.things,
        seed: a.seed,
        certificate_ratio: a.certificate_ratio,
        region: a.region,
        account_id: a.account_id,
    };
    spec.validate()?;
    let snap = iot_crr_fleet::generate(&spec);
    iot_crr_model::format::write_file(&snap, &a.output)?;
    let c = snap.counts();
    eprintln!(
        "wrote {} ({} resources: {})",
        a.output.display(),
        c.total(),
        render::counts_line(&c)
    );
    Ok(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("b.jsonl:7: thing sensor-1: a bad name")]
    struct Line;

    #[derive(Debug, thiserror::Error)]
    #[error("reading file:b.jsonl: {0}")]
    struct Read(#[source] Line);

    #[derive(Debug, thiserror::Error)]
    #[error("the network is down")]
    struct Down;

    #[test]
    fn each_cause_is_printed_once() {
        let e = anyhow::Error::new(Read(Line));
        assert_eq!(
            error_chain(&e),
            "reading file:b.jsonl: b.jsonl:7: thing sensor-1: a bad name"
        );
        // A cause the message does not hold is still printed.
        let e = anyhow::Error::new(Down).context("reading aws:us-east-1");
        assert_eq!(
            error_chain(&e),
            "reading aws:us-east-1: the network is down"
        );
    }
}
