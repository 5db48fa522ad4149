//! `iot-crr`: the command-line tool. Thin: it resolves arguments, opens registries, and
//! wires the model (diff), the engine (apply) and the backends together.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use iot_crr_engine::{ApplyOptions, ApplyReport, RetryPolicy, apply_plan};
use iot_crr_model::{ArnRewrite, DiffOptions, Filter, Kind, Origin, Plan, Snapshot, diff};
use iot_crr_registry::Location;

mod args;
mod open;
mod progress;
mod render;

use args::{
    ApplyArgs, ApplyTuning, AwsArgs, Cli, Command, CompareArgs, Format, GenFleetArgs, PlanArgs,
    SnapshotArgs, SyncArgs, VerifyArgs,
};
use open::{Opened, open, print_stats, read};

/// Exit status of a command that ran to the end.
enum Status {
    /// Everything as wanted.
    Ok,
    /// Registries differ (verify) or some changes failed (sync, apply).
    Incomplete,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
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
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8) {
    // The SDK's credential providers log each failed attempt as a warning; the error
    // iot-crr reports says the same in one line.
    let default = match verbose {
        0 => "warn,aws_config=error",
        1 => "info,aws_config=warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

async fn run(command: Command) -> Result<Status> {
    match command {
        Command::Snapshot(a) => snapshot(a).await,
        Command::Plan(a) => plan(a).await,
        Command::Apply(a) => apply(a).await,
        Command::Sync(a) => sync(a).await,
        Command::Verify(a) => verify(a).await,
        Command::GenFleet(a) => gen_fleet(a),
    }
}

fn parse_kinds(kinds: &[String]) -> Result<Vec<Kind>> {
    kinds
        .iter()
        .map(|k| {
            Kind::parse(k).with_context(|| {
                format!(
                    "unknown kind {k:?}; expected one of thing, thing-type, thing-group, \
                     billing-group, policy, certificate"
                )
            })
        })
        .collect()
}

fn build_filter(a: &args::FilterArgs) -> Result<Filter> {
    let f = Filter {
        kinds: parse_kinds(&a.kinds)?,
        include: a.include.clone(),
        exclude: a.exclude.clone(),
    };
    f.validate()?;
    Ok(f)
}

/// Resolves `--rewrite-arns`: the flags win, then what the registries tell.
fn build_rewrite(
    c: &CompareArgs,
    source: &Origin,
    target: &Origin,
    target_location: &Location,
) -> Result<Option<ArnRewrite>> {
    if !c.rewrite_arns {
        return Ok(None);
    }
    let from_region = c.source_region.clone().or_else(|| source.region.clone());
    let from_account = c
        .source_account
        .clone()
        .or_else(|| source.account_id.clone());
    let to_region = c
        .target_region
        .clone()
        .or_else(|| target.region.clone())
        .or_else(|| match target_location {
            Location::Aws { region } => Some(region.clone()),
            _ => None,
        });
    let to_account = c
        .target_account
        .clone()
        .or_else(|| target.account_id.clone())
        .or_else(|| from_account.clone());
    let Some(from_region) = from_region else {
        bail!(
            "--rewrite-arns: the source's region is unknown (the snapshot file has no region in \
             its header); give --source-region"
        );
    };
    let Some(to_region) = to_region else {
        bail!(
            "--rewrite-arns: the target's region is unknown (a new or header-less file); give \
             --target-region"
        );
    };
    Ok(Some(ArnRewrite {
        from_region: Some(from_region),
        to_region: Some(to_region),
        from_account,
        to_account,
    }))
}

/// Both sides read, compared, and the plan made.
struct Compared {
    source: Opened,
    target: Opened,
    source_origin: Origin,
    plan: Plan,
}

async fn compare(
    source: &args::SourceArgs,
    target: &args::TargetArgs,
    prune: bool,
    c: &CompareArgs,
    aws: &AwsArgs,
) -> Result<Compared> {
    let filter = build_filter(&c.filter)?;
    let (src, dst) = tokio::try_join!(
        open(
            &source.source,
            source.source_endpoint_url.clone(),
            source.source_profile.clone(),
            aws
        ),
        open(
            &target.target,
            target.target_endpoint_url.clone(),
            target.target_profile.clone(),
            aws
        ),
    )?;
    let (desired, actual) =
        tokio::try_join!(read(&src, &filter, "source"), read(&dst, &filter, "target"))?;
    let source_origin = src.origin(&desired);
    let target_origin = dst.origin(&actual);
    let rewrite = build_rewrite(c, &source_origin, &target_origin, &target.target)?;
    let without_tags: Vec<String> = [&src, &dst]
        .iter()
        .filter(|o| !o.tags_supported())
        .map(|o| o.registry().location())
        .collect();
    if !without_tags.is_empty() {
        eprintln!(
            "note: tags are left out of the comparison: {} does not read or write them",
            without_tags.join(" and ")
        );
    }
    let options = DiffOptions {
        prune,
        filter,
        rewrite,
        ignore_tags: !without_tags.is_empty(),
    };
    let mut plan = tokio::task::block_in_place(|| diff(&desired, &actual, &options));
    plan.source = src.registry().location();
    plan.target = dst.registry().location();
    Ok(Compared {
        source: src,
        target: dst,
        source_origin,
        plan,
    })
}

async fn snapshot(a: SnapshotArgs) -> Result<Status> {
    let filter = build_filter(&a.filter)?;
    let src = open(
        &a.source.source,
        a.source.source_endpoint_url.clone(),
        a.source.source_profile.clone(),
        &a.aws,
    )
    .await?;
    let mut snap: Snapshot = read(&src, &filter, "source").await?;
    snap.origin = src.origin(&snap);
    iot_crr_model::format::write_file(&snap, &a.output)?;
    let c = snap.counts();
    eprintln!(
        "wrote {} ({} resources: {})",
        a.output.display(),
        c.total(),
        render::counts_line(&c)
    );
    if a.aws.stats {
        print_stats(&src);
    }
    Ok(Status::Ok)
}

fn print_plan(plan: &Plan, format: Format, max_lines: usize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", plan.to_json())?,
        Format::Text => write!(out, "{}", render::plan_text(plan, max_lines))?,
    }
    Ok(())
}

async fn plan(a: PlanArgs) -> Result<Status> {
    let c = compare(&a.source, &a.target, a.prune, &a.compare, &a.aws).await?;
    print_plan(&c.plan, a.format, a.max_lines)?;
    if let Some(path) = &a.output {
        std::fs::write(path, c.plan.to_json())
            .with_context(|| format!("writing the plan to {}", path.display()))?;
        eprintln!(
            "plan written to {}; apply it with: iot-crr apply {} --target {}",
            path.display(),
            path.display(),
            c.plan.target
        );
    }
    if a.aws.stats {
        print_stats(&c.source);
        print_stats(&c.target);
    }
    Ok(Status::Ok)
}

fn apply_options(t: &ApplyTuning, target: &Opened) -> Result<ApplyOptions> {
    if t.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    Ok(ApplyOptions {
        concurrency: t.concurrency,
        retry: if target.retries_internally() {
            RetryPolicy::none()
        } else {
            RetryPolicy::default()
        },
        ..ApplyOptions::default()
    })
}

async fn run_apply(plan: &Plan, target: &Opened, t: &ApplyTuning) -> Result<ApplyReport> {
    let options = apply_options(t, target)?;
    let bar = progress::ApplyBar::new();
    let report = apply_plan(plan, target.registry(), &options, Some(&bar)).await;
    bar.finish();
    if let Some(path) = &t.report {
        std::fs::write(path, report.to_json())
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    Ok(report)
}

fn report_status(report: &ApplyReport) -> Result<Status> {
    eprint!("{report}");
    if let Some(e) = &report.commit_error {
        bail!("nothing was saved: {e}");
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
    let target = open(
        &a.target.target,
        a.target.target_endpoint_url.clone(),
        a.target.target_profile.clone(),
        &a.aws,
    )
    .await?;
    let location = target.registry().location();
    if location != plan.target {
        eprintln!(
            "note: the plan was computed against {}, applying to {location}",
            plan.target
        );
    }
    let actual = read(&target, &plan.options.filter, "target").await?;
    let now = iot_crr_model::fingerprint(&actual, &plan.options.filter);
    if now != plan.target_fingerprint {
        bail!(
            "refusing to apply {}: the target {location} changed since the plan was computed \
             (fingerprint {now}, the plan expects {}); run `iot-crr plan` again",
            a.plan.display(),
            plan.target_fingerprint
        );
    }
    if plan.is_empty() {
        eprintln!("the plan has no changes");
        return Ok(Status::Ok);
    }
    let report = run_apply(&plan, &target, &a.tuning).await?;
    if a.aws.stats {
        print_stats(&target);
    }
    report_status(&report)
}

/// A new file target records the region/account its content names.
fn set_file_origin(target: &Opened, source_origin: &Origin, plan: &Plan) -> Result<()> {
    if let Opened::File(f) = target {
        let origin = match &plan.options.rewrite {
            Some(r) => Origin {
                region: r.to_region.clone(),
                account_id: r.to_account.clone(),
            },
            None => source_origin.clone(),
        };
        f.set_origin_if_unknown(&origin)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    }
    Ok(())
}

async fn sync(a: SyncArgs) -> Result<Status> {
    let c = compare(&a.source, &a.target, a.prune, &a.compare, &a.aws).await?;
    print_plan(&c.plan, a.format, a.max_lines)?;
    if a.dry_run || c.plan.is_empty() {
        if a.dry_run {
            eprintln!("dry run: no change was made");
        }
        if a.aws.stats {
            print_stats(&c.source);
            print_stats(&c.target);
        }
        return Ok(Status::Ok);
    }
    set_file_origin(&c.target, &c.source_origin, &c.plan)?;
    let report = run_apply(&c.plan, &c.target, &a.tuning).await?;
    if a.aws.stats {
        print_stats(&c.source);
        print_stats(&c.target);
    }
    report_status(&report)
}

async fn verify(a: VerifyArgs) -> Result<Status> {
    let c = compare(&a.source, &a.target, a.prune, &a.compare, &a.aws).await?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", render::verify_text(&c.plan))?;
    if a.aws.stats {
        print_stats(&c.source);
        print_stats(&c.target);
    }
    Ok(if c.plan.is_empty() {
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
