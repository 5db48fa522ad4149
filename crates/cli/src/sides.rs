//! From arguments to the reconciler's inputs: endpoints, backend options (quota files
//! are read here), read progress on a terminal, and the `--stats` table.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use iot_crr_aws::{CertStrategy, Quotas, TagMode};
use iot_crr_model::Kind;
use iot_crr_reconcile::{BackendOptions, Endpoint};
use iot_crr_registry::{Location, ReadProgress, Registry};

use crate::args::{AwsArgs, CertStrategyArg, QuotaSource, SourceArgs, TagsArg, TargetArgs};
use crate::progress::Progress;

/// The source endpoint of the arguments.
pub fn source(a: &SourceArgs) -> Endpoint {
    endpoint(&a.source, &a.source_endpoint_url, &a.source_profile)
}

/// The target endpoint of the arguments.
pub fn target(a: &TargetArgs) -> Endpoint {
    endpoint(&a.target, &a.target_endpoint_url, &a.target_profile)
}

fn endpoint(location: &Location, url: &Option<String>, profile: &Option<String>) -> Endpoint {
    Endpoint {
        location: location.clone(),
        endpoint_url: url.clone(),
        profile: profile.clone(),
    }
}

/// The backend options of the AWS flags (reads the quota file), with the default
/// quotas under the overrides.
pub fn backend_options(args: &AwsArgs) -> Result<BackendOptions> {
    let mut quotas = Quotas::default();
    explicit_quotas(args, &mut quotas)?;
    Ok(BackendOptions {
        cert_strategy: match args.cert_strategy {
            CertStrategyArg::WithoutCa => CertStrategy::WithoutCa,
            CertStrategyArg::WithCa => CertStrategy::WithCa,
            CertStrategyArg::Skip => CertStrategy::Skip,
        },
        tags: match args.tags {
            TagsArg::Auto => TagMode::Auto,
            TagsArg::On => TagMode::On,
            TagsArg::Off => TagMode::Off,
        },
        quotas,
        max_attempts: args.max_attempts,
    })
}

/// The quota file and the --quota flags, over `quotas`.
fn explicit_quotas(args: &AwsArgs, quotas: &mut Quotas) -> Result<()> {
    if let Some(path) = &args.quota_file {
        load_quota_file(quotas, path)?;
    }
    for q in &args.quotas {
        let (api, tps) =
            Quotas::parse_override(q).with_context(|| format!("invalid --quota {q:?}"))?;
        quotas.set(api, tps);
    }
    Ok(())
}

/// The backend options for one side: [`backend_options`], with `--quotas live` the
/// rates Service Quotas applies to an `aws:` side's region under the overrides (and a
/// line on stderr saying what was found, or why the defaults stay).
pub async fn backend_for(args: &AwsArgs, endpoint: &Endpoint) -> Result<BackendOptions> {
    let mut options = backend_options(args)?;
    if let (QuotaSource::Live, Location::Aws { region }) = (args.quota_source, &endpoint.location) {
        let mut o = iot_crr_aws::AwsOptions::new(region.clone());
        o.endpoint_url = endpoint.endpoint_url.clone();
        o.profile = endpoint.profile.clone();
        let live = iot_crr_aws::live_quotas(&o).await;
        eprintln!("{}", live.summary(&endpoint.location.to_string()));
        let mut quotas = Quotas::default();
        live.apply_to(&mut quotas);
        explicit_quotas(args, &mut quotas)?;
        options.quotas = quotas;
    }
    Ok(options)
}

/// Applies a quota file (`{"CreateThing": 50, "*": 10}`) to `quotas`.
fn load_quota_file(quotas: &mut Quotas, path: &std::path::Path) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the quota file {}", path.display()))?;
    let map: std::collections::BTreeMap<String, f64> =
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: expected a JSON object of operation names to calls per second, \
                 like {{\"CreateThing\": 50}}",
                path.display()
            )
        })?;
    for (api, tps) in map {
        if !(tps.is_finite() && tps > 0.0) {
            bail!(
                "{}: the rate of {api} must be a positive number, not {tps}",
                path.display()
            );
        }
        if api == "*" {
            quotas.set_default_tps(tps);
        } else {
            quotas.set(api, tps);
        }
    }
    Ok(())
}

/// The spinners of a comparison's two reads.
pub struct ReadBars {
    source: Arc<ReadBar>,
    target: Arc<ReadBar>,
}

impl ReadBars {
    /// One spinner per side, shown while the reads last.
    pub fn new(source: &dyn Registry, target: &dyn Registry) -> Self {
        ReadBars {
            source: ReadBar::new("source", &source.location()),
            target: ReadBar::new("target", &target.location()),
        }
    }

    /// The reconciler's progress: these reads, and `apply` when given.
    pub fn progress<'a>(
        &self,
        apply: Option<&'a dyn iot_crr_engine::ApplyProgress>,
    ) -> iot_crr_reconcile::Progress<'a> {
        iot_crr_reconcile::Progress {
            source_read: Some(self.source.clone() as Arc<dyn ReadProgress>),
            target_read: Some(self.target.clone() as Arc<dyn ReadProgress>),
            apply,
        }
    }

    /// Removes both spinners.
    pub fn finish(&self) {
        self.source.finish();
        self.target.finish();
    }
}

/// A spinner counting the resources of a read.
pub struct ReadBar(Progress);

impl ReadBar {
    /// A spinner labelled `label location`, shown while the read lasts.
    pub fn new(label: &str, location: &str) -> Arc<Self> {
        Arc::new(ReadBar(Progress::spinner(format!("{label} {location}"))))
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        self.0.finish();
    }
}

impl ReadProgress for ReadBar {
    fn read(&self, kind: Kind, n: u64) {
        self.0.inc(n);
        self.0.set_message(format!("reading {kind}s"));
    }
}

/// Prints the API calls of a registry on stderr: per API operation, the requests sent
/// (every attempt), how many of them were answered "throttled", and the rate achieved
/// over `elapsed` (the command's run time).
pub fn print_stats(registry: &dyn Registry, elapsed: std::time::Duration) {
    let calls = registry.api_calls();
    if calls.is_empty() {
        return;
    }
    let throttles: std::collections::BTreeMap<String, u64> =
        registry.throttles().into_iter().collect();
    let total: u64 = calls.iter().map(|(_, n)| n).sum();
    let throttled: u64 = throttles.values().sum();
    let secs = elapsed.as_secs_f64().max(1e-3);
    eprintln!(
        "API calls on {} ({total} in all, {throttled} throttled, in {secs:.1} s):",
        registry.location()
    );
    eprintln!(
        "  {:<32} {:>10} {:>10} {:>9}",
        "API", "calls", "throttled", "calls/s"
    );
    for (api, n) in calls {
        let t = throttles.get(&api).copied().unwrap_or(0);
        eprintln!("  {api:<32} {n:>10} {t:>10} {:>9.1}", n as f64 / secs);
    }
}
