//! Opening registries from locations, and reading them with progress.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use iot_crr_aws::{AwsOptions, AwsRegistry, CertStrategy, Quotas, TagMode};
use iot_crr_model::{Filter, Kind, Origin, Snapshot};
use iot_crr_registry::{
    FileRegistry, Location, MemoryRegistry, ReadProgress, ReadRequest, Registry,
};

use crate::args::{AwsArgs, CertStrategyArg, TagsArg};
use crate::progress::Progress;

/// An open registry of any backend.
pub enum Opened {
    /// A snapshot file.
    File(FileRegistry),
    /// The AWS API of a region.
    Aws(Box<AwsRegistry>),
    /// Memory.
    Memory(MemoryRegistry),
}

impl Opened {
    /// The registry behind the trait.
    pub fn registry(&self) -> &dyn Registry {
        match self {
            Opened::File(r) => r,
            Opened::Aws(r) => r.as_ref(),
            Opened::Memory(r) => r,
        }
    }

    /// Whether the registry reads and writes tags (an AWS endpoint without the tag API,
    /// or `--tags off`, does not).
    pub fn tags_supported(&self) -> bool {
        match self {
            Opened::Aws(r) => r.tags_enabled(),
            _ => true,
        }
    }

    /// Whether the backend retries each call itself (then the engine does not).
    pub fn retries_internally(&self) -> bool {
        matches!(self, Opened::Aws(_))
    }

    /// Region and account of the registry as far as the backend knows them (before or
    /// after a read).
    pub fn origin(&self, read: &Snapshot) -> Origin {
        match self {
            Opened::Aws(r) => {
                let mut o = r.origin();
                if o.account_id.is_none() {
                    o.account_id = read.origin.account_id.clone();
                }
                o
            }
            _ => read.origin.clone(),
        }
    }
}

/// Builds the AWS options of one side from the shared flags.
pub fn aws_options(
    region: &str,
    endpoint_url: Option<String>,
    profile: Option<String>,
    args: &AwsArgs,
) -> Result<AwsOptions> {
    let mut quotas = Quotas::default();
    if let Some(path) = &args.quota_file {
        load_quota_file(&mut quotas, path)?;
    }
    for q in &args.quotas {
        let (api, tps) =
            Quotas::parse_override(q).with_context(|| format!("invalid --quota {q:?}"))?;
        quotas.set(api, tps);
    }
    if args.max_attempts == 0 {
        bail!("--max-attempts must be at least 1");
    }
    let mut o = AwsOptions::new(region);
    o.endpoint_url = endpoint_url;
    o.profile = profile;
    o.cert_strategy = match args.cert_strategy {
        CertStrategyArg::WithoutCa => CertStrategy::WithoutCa,
        CertStrategyArg::WithCa => CertStrategy::WithCa,
        CertStrategyArg::Skip => CertStrategy::Skip,
    };
    o.tags = match args.tags {
        TagsArg::Auto => TagMode::Auto,
        TagsArg::On => TagMode::On,
        TagsArg::Off => TagMode::Off,
    };
    o.quotas = quotas;
    o.max_attempts = args.max_attempts;
    Ok(o)
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

/// Opens the registry at a location.
pub async fn open(
    location: &Location,
    endpoint_url: Option<String>,
    profile: Option<String>,
    aws: &AwsArgs,
) -> Result<Opened> {
    Ok(match location {
        Location::File(path) => {
            Opened::File(FileRegistry::open(path).map_err(|e| anyhow::anyhow!("{}", e.message))?)
        }
        Location::Aws { region } => {
            let opts = aws_options(region, endpoint_url, profile, aws)?;
            let r = AwsRegistry::connect(opts)
                .await
                .map_err(|e| anyhow::anyhow!("cannot use aws:{region}: {e}"))?;
            Opened::Aws(Box::new(r))
        }
        Location::Memory => Opened::Memory(MemoryRegistry::new()),
    })
}

struct ReadBar(Progress);

impl ReadProgress for ReadBar {
    fn read(&self, kind: Kind, n: u64) {
        self.0.inc(n);
        self.0.set_message(format!("reading {kind}s"));
    }
}

/// Reads a registry with a spinner on a terminal.
pub async fn read(opened: &Opened, filter: &Filter, label: &str) -> Result<Snapshot> {
    let bar = Progress::spinner(format!("{label} {}", opened.registry().location()));
    let request = ReadRequest {
        filter: filter.clone(),
        progress: Some(Arc::new(ReadBar(bar.clone()))),
    };
    let result = opened.registry().read(&request).await;
    bar.finish();
    result.map_err(|e| anyhow::anyhow!("reading {}: {e}", opened.registry().location()))
}

/// Prints the API calls of a registry on stderr.
pub fn print_stats(opened: &Opened) {
    let calls = opened.registry().api_calls();
    if calls.is_empty() {
        return;
    }
    let total: u64 = calls.iter().map(|(_, n)| n).sum();
    eprintln!(
        "API calls on {} ({total} in all):",
        opened.registry().location()
    );
    for (api, n) in calls {
        eprintln!("  {api:<32} {n:>10}");
    }
}
