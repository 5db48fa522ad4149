//! Command-line arguments (clap derive). Every command's `--help` is its manual.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use iot_crr_model::{Kind, ResourceKey};
use iot_crr_reconcile::DeleteBound;
use iot_crr_registry::Location;

/// Keeps the AWS IoT Core registry of one region in sync with another, so that a fleet
/// can fail over: things, thing types, thing groups with their hierarchy, billing
/// groups, policies with every version, certificates, attachments and tags.
///
/// A registry is named by a location: `file:PATH` (a snapshot file, the embedded
/// default; created on first write) or `aws:REGION` (the AWS IoT API of a region, with
/// the standard AWS configuration: credentials chain, AWS_PROFILE, AWS_ENDPOINT_URL).
///
/// Exit status: 0 success; 1 the registries differ (verify) or some changes failed
/// (sync, apply); 2 an error stopped the command (bad input, unreachable registry).
#[derive(Debug, Parser)]
#[command(
    name = "iot-crr",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log format on stderr: text for people, json (one object a line) for log
    /// pipelines.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a whole registry and write it as a snapshot file (a backup, an export, or
    /// the input of a later plan).
    ///
    /// Example: iot-crr snapshot --source aws:us-east-1 --output backup.jsonl
    Snapshot(SnapshotArgs),
    /// Compare two registries and show (or save) the plan that makes the target equal to
    /// the source. Reads both, writes nothing.
    ///
    /// Example: iot-crr plan --source aws:us-east-1 --target aws:eu-west-1 --output plan.json
    Plan(PlanArgs),
    /// Apply a saved plan to its target. Refuses when the target changed since the plan
    /// was computed (its fingerprint no longer matches): run plan again.
    ///
    /// Example: iot-crr apply plan.json --target aws:eu-west-1
    Apply(ApplyArgs),
    /// Plan and apply in one step: make the target equal to the source.
    ///
    /// Without --prune nothing the target alone has is deleted. With --dry-run only the
    /// plan is shown and no write is made.
    ///
    /// Example: iot-crr sync --source aws:us-east-1 --target aws:eu-west-1 --rewrite-arns
    Sync(SyncArgs),
    /// Check that the target equals the source (with the same options as sync). Exit 0
    /// when equal, 1 when they differ (each difference is listed), 2 on error.
    ///
    /// Example: iot-crr verify --source aws:us-east-1 --target aws:eu-west-1 --rewrite-arns
    Verify(VerifyArgs),
    /// Failover readiness: for every device of the source (a thing with a certificate,
    /// or a certificate attached to no thing), whether the target, as a standby, would
    /// accept it and let it do what the source lets it do. Read-only.
    ///
    /// Each device is judged on its certificate (same id, ACTIVE), its identity (the
    /// thing, its certificate attached, its type, groups and the attributes its policies
    /// read) and its authorization: AWS IoT's policy language is evaluated for the
    /// requests the source's policies allow it (connect as its client id, each topic,
    /// topic filter, thing and role alias they name, the shadow topics), each side
    /// with its own region and account in the ARNs. Output: "N of M devices ready", the
    /// reasons with their devices and the sync that would fix them; --format json gives
    /// one JSON object a line per device, then a summary object. Exit 0 when every
    /// device the source accepts is ready, 1 when some are not (or cannot be decided),
    /// 2 on error.
    ///
    /// Example: iot-crr readiness --source aws:us-east-1 --target aws:eu-west-1
    Readiness(ReadinessArgs),
    /// Write a realistic synthetic registry (types, a group hierarchy, billing groups,
    /// things, policies with versions, real X.509 certificates), deterministic from a
    /// seed. For trying iot-crr out and for benchmarks.
    ///
    /// Example: iot-crr gen-fleet --things 1000 --output fleet.jsonl
    GenFleet(GenFleetArgs),
    /// Apply registry events and CloudTrail events (JSON Lines) to a target: the event
    /// path without Kinesis.
    ///
    /// One JSON object a line: an AWS IoT registry event with the `topic` field an IoT
    /// rule adds (SELECT *, topic() AS topic FROM '$aws/events/#'; a thing event works
    /// without it), or an EventBridge CloudTrail event for AWS IoT. With --source every
    /// resource an event names is re-read there and reconciled; without it, the states
    /// that thing, thing group and thing type events carry are applied and other events
    /// go to the dead letters. Versions, tombstones and dead letters are kept in
    /// --state. Exit 0 when every event was applied (or skipped as stale), 1 when some
    /// went to the dead letters, 2 on an error that stopped the command.
    ///
    /// Example: iot-crr apply-events --target file:replica.jsonl --input events.jsonl
    ApplyEvents(ApplyEventsArgs),
    /// Inspect, export or retry the events that could not be applied.
    ///
    /// Example: iot-crr dead-letters list --state sqlite:iot-crr-state.db
    DeadLetters(DeadLettersArgs),
    /// The long-running replicator: read registry and CloudTrail events from a Kinesis
    /// stream (plain or KPL-aggregated records) and apply them to the target, with a
    /// periodic full reconcile as the safety net.
    ///
    /// Each shard is read in order, parents before children across reshards, and
    /// checkpointed in --state only once its records are applied or dead-lettered.
    /// SIGTERM or Ctrl-C finishes and checkpoints the batch in hand, then exits 0.
    ///
    /// Example: iot-crr replicate --stream kinesis:eu-west-1/iot-crr-events --source
    /// aws:us-east-1 --target aws:eu-west-1 --reconcile-every 6h --metrics-addr
    /// 127.0.0.1:9464
    Replicate(Box<ReplicateArgs>),
    /// Write events (JSON Lines) to a Kinesis stream, one record per event with the
    /// resource's key as partition key (so one resource's events stay in order): a
    /// producer for tests and for feeding an archive into the stream.
    ///
    /// Example: iot-crr forward --input events.jsonl --stream kinesis:eu-west-1/iot-crr-events --aggregate
    Forward(ForwardArgs),
}

/// Output formats of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable summary table by kind, then the changes.
    Text,
    /// The plan as JSON (the same as --output writes).
    Json,
}

/// How certificates are registered in an AWS target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CertStrategyArg {
    /// RegisterCertificateWithoutCA: no CA needed in the target; devices must send SNI.
    WithoutCa,
    /// RegisterCertificate against the same CA, which must be registered in the target.
    WithCa,
    /// Do not replicate certificates.
    Skip,
}

/// Where the rates of AWS API operations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuotaSource {
    /// AWS IoT's default quotas.
    Default,
    /// The values Service Quotas applies to each aws: side's account and region
    /// (needs servicequotas:ListServiceQuotas; without it, the defaults, with a note).
    Live,
}

/// Whether tags are read and written on AWS registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TagsArg {
    /// Use tags unless the endpoint does not support them (then warn once).
    Auto,
    /// Always use tags (fail when unsupported).
    On,
    /// Ignore tags.
    Off,
}

/// Where the source registry is.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The registry to read: file:PATH or aws:REGION.
    #[arg(long, value_name = "LOCATION")]
    pub source: Location,
    /// Endpoint URL of the source's AWS API (e.g. a test server); overrides
    /// AWS_ENDPOINT_URL for the source.
    #[arg(long, value_name = "URL")]
    pub source_endpoint_url: Option<String>,
    /// Named AWS profile for the source; overrides AWS_PROFILE for the source.
    #[arg(long, value_name = "NAME")]
    pub source_profile: Option<String>,
}

/// Where the target registry is.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The registry to make equal to the source: file:PATH or aws:REGION.
    #[arg(long, value_name = "LOCATION")]
    pub target: Location,
    /// Endpoint URL of the target's AWS API; overrides AWS_ENDPOINT_URL for the target.
    #[arg(long, value_name = "URL")]
    pub target_endpoint_url: Option<String>,
    /// Named AWS profile for the target; overrides AWS_PROFILE for the target.
    #[arg(long, value_name = "NAME")]
    pub target_profile: Option<String>,
}

/// Options of the AWS backend (ignored for file registries).
#[derive(Debug, Args, Clone)]
pub struct AwsArgs {
    /// How certificates are registered in an AWS target.
    #[arg(long, value_enum, default_value = "without-ca")]
    pub cert_strategy: CertStrategyArg,
    /// Whether tags are read and written.
    #[arg(long, value_enum, default_value = "auto")]
    pub tags: TagsArg,
    /// Where the rates of API operations come from: AWS IoT's default quotas, or the
    /// live values from Service Quotas (each aws: side reads its own region's).
    /// --quota-file and --quota override either.
    #[arg(
        long = "quotas",
        value_enum,
        default_value = "default",
        value_name = "SOURCE"
    )]
    pub quota_source: QuotaSource,
    /// Override the rate (calls per second) of an API operation, e.g. CreateThing=50.
    /// Repeatable. Defaults are AWS IoT's default quotas.
    #[arg(long = "quota", value_name = "API=TPS")]
    pub quotas: Vec<String>,
    /// A JSON file of rates per API operation, e.g. {"CreateThing": 50, "*": 10} ("*"
    /// is the rate of operations not listed). --quota flags override it.
    #[arg(long, value_name = "FILE")]
    pub quota_file: Option<std::path::PathBuf>,
    /// Attempts per AWS API call (the first included) on throttling and transient
    /// faults.
    #[arg(long, default_value_t = 6, value_name = "N", value_parser = at_least_one_u32)]
    pub max_attempts: u32,
    /// Print the API calls made per operation when done (on stderr).
    #[arg(long)]
    pub stats: bool,
}

/// Which resources take part.
#[derive(Debug, Args, Clone)]
pub struct FilterArgs {
    /// Only these kinds (repeatable or comma-separated): thing, thing-type, thing-group,
    /// billing-group, policy, certificate.
    #[arg(long = "kind", value_name = "KIND", value_delimiter = ',', value_parser = parse_kind)]
    pub kinds: Vec<Kind>,
    /// Only resources whose name matches this glob (`*`, `?`; repeatable). Prefix with
    /// a kind to scope it: thing:sensor-*.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out resources whose name matches this glob (repeatable; same form).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

/// Which resources take part and how they are compared.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub rewrite: RewriteArgs,
    /// Compare only these resources (repeatable): KIND/NAME, e.g. thing/sensor-1 or
    /// thing-group/site-a. Only what they need is read (the resources, their
    /// neighbours, the relations that decide what stays), not whole registries; the
    /// resources their changes need (a missing group or type, the subtree of a moved
    /// group) are added.
    #[arg(long = "key", value_name = "KIND/NAME", value_parser = parse_key)]
    pub keys: Vec<ResourceKey>,
}

/// ARN rewriting.
#[derive(Debug, Args, Clone)]
pub struct RewriteArgs {
    /// Rewrite ARNs in policy documents (and non-certificate principals) from the
    /// source's region and account to the target's. Both are taken from the registries
    /// (an aws: location, or a snapshot file's header) unless given below.
    #[arg(long)]
    pub rewrite_arns: bool,
    /// The source's region for --rewrite-arns (when the source cannot tell).
    #[arg(long, value_name = "REGION", requires = "rewrite_arns")]
    pub source_region: Option<String>,
    /// The source's account id for --rewrite-arns.
    #[arg(long, value_name = "ACCOUNT", requires = "rewrite_arns")]
    pub source_account: Option<String>,
    /// The target's region for --rewrite-arns (needed for a new file target).
    #[arg(long, value_name = "REGION", requires = "rewrite_arns")]
    pub target_region: Option<String>,
    /// The target's account id for --rewrite-arns (default: the source's account).
    #[arg(long, value_name = "ACCOUNT", requires = "rewrite_arns")]
    pub target_account: Option<String>,
    /// Map an ARN that is not the same name in the target (an ACM certificate, a
    /// Lambda function deployed under another name) or a queue URL: SOURCE=TARGET.
    /// A SOURCE ending in `*` maps every ARN it begins, the TARGET's `*` standing for the
    /// rest. Wins over --rewrite-arns for what it maps. Repeatable.
    #[arg(long = "map-arn", value_name = "SOURCE=TARGET", value_parser = map_arn)]
    pub map_arn: Vec<(String, String)>,
    /// Map ARNs from a file: one JSON object, source ARN to target ARN (prefixes ending
    /// in `*` as for --map-arn); --map-arn entries win.
    #[arg(long, value_name = "FILE")]
    pub arn_map: Option<PathBuf>,
    /// Refuse a plan that would write into the target an ARN of a resource that region
    /// rewriting cannot place (an ACM certificate) and no mapping placed (without it, each
    /// is a warning in the plan).
    #[arg(long)]
    pub strict_arns: bool,
}

fn map_arn(s: &str) -> Result<(String, String), String> {
    iot_crr_reconcile::parse_map_arn(s)
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?} is not a whole number of at least 1")),
    }
}

fn at_least_one_u32(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?} is not a whole number of at least 1")),
    }
}

pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(
        t.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len()),
    );
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s, 15m or 2h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?} is not a duration like 90s, 15m or 2h")),
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!("{s:?} must be more than zero"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

const KINDS: &str = "thing, thing-type, thing-group, billing-group, policy, certificate";

fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::parse(s).ok_or_else(|| format!("unknown kind {s:?}; expected one of {KINDS}"))
}

fn parse_key(s: &str) -> Result<ResourceKey, String> {
    let (kind, name) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not KIND/NAME (e.g. thing/sensor-1)"))?;
    if name.is_empty() {
        return Err(format!("{s:?} has no name after the kind"));
    }
    Ok(ResourceKey::new(parse_kind(kind)?, name))
}

/// How changes are applied.
#[derive(Debug, Args, Clone)]
pub struct ApplyTuning {
    /// Changes in flight at once (at least 1).
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = at_least_one)]
    pub concurrency: usize,
    /// The most resources a plan may delete: a count (500) or a percentage of the
    /// target (25%). Default: 10% of the target, and nothing at all when the source is
    /// empty (a mistyped source location never empties a target). Relations, policy
    /// versions and re-created groups do not count.
    #[arg(long, value_name = "N|PCT%")]
    pub max_delete: Option<DeleteBound>,
    /// Stop sending changes once this much time has passed since the command started
    /// (e.g. 90s, 15m, 2h): changes in flight finish, the rest are reported as not
    /// sent, and running the same command again goes on from there (exit 1 until then).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub time_budget: Option<std::time::Duration>,
    /// Write the apply report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Arguments of `snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    /// The snapshot file to write (replaced atomically); `-` writes to standard output.
    #[arg(long, short, value_name = "FILE|-")]
    pub output: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsArgs,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    /// Also plan deletes of what the target has and the source lacks.
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub compare: CompareArgs,
    /// Write the plan as JSON to this file, for review and `apply`.
    #[arg(long, short, value_name = "PLAN.json")]
    pub output: Option<PathBuf>,
    /// How to print the plan on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Changes listed in the text format (0: all).
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub max_lines: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsArgs,
}

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file written by `plan --output`.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub tuning: ApplyTuning,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsArgs,
}

/// Arguments of `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    /// Also delete what the target has and the source lacks (never a certificate or
    /// policy that something staying still uses).
    #[arg(long)]
    pub prune: bool,
    /// Show the plan and stop: no write call is made.
    #[arg(long)]
    pub dry_run: bool,
    /// Read and compare everything before the first write, and print the plan before
    /// applying it. By default, from an aws: source and without --prune, --key or
    /// --format json, the types, groups, policies and certificates are compared and
    /// written while the things are still read, and the plan is printed after the
    /// apply: a backfill between regions then takes about its slowest part instead of
    /// the read plus the writes.
    #[arg(long)]
    pub no_overlap: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub compare: CompareArgs,
    /// How to print the plan on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Changes listed in the text format (0: all).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_lines: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub tuning: ApplyTuning,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsArgs,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    /// Also report what the target has and the source lacks.
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub compare: CompareArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsArgs,
}

/// Arguments of `readiness`.
#[derive(Debug, Args)]
pub struct ReadinessArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterArgs,
    /// The standby is meant to hold the source's ARNs rewritten for its region and
    /// account (as `sync --rewrite-arns` writes them): the fixes suggested include it.
    #[arg(long)]
    pub rewrite_arns: bool,
    /// The source's region (when the source cannot tell: a snapshot file without one).
    #[arg(long, value_name = "REGION")]
    pub source_region: Option<String>,
    /// The source's account id.
    #[arg(long, value_name = "ACCOUNT")]
    pub source_account: Option<String>,
    /// The target's region.
    #[arg(long, value_name = "REGION")]
    pub target_region: Option<String>,
    /// The target's account id (default: the source's account).
    #[arg(long, value_name = "ACCOUNT")]
    pub target_account: Option<String>,
    /// Output: a summary with reasons and fixes (text), or one JSON object a line per
    /// device and a summary object last (json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Ask AWS IoT's own policy engine (TestAuthorization, in both regions) about the
    /// requests of N devices sampled evenly, and report every request where it and the
    /// local evaluator disagree (aws: locations only; connect, publish, subscribe and
    /// receive requests).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub cross_check: usize,
    /// How many devices the text output names per reason.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_devices: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsArgs,
}

/// Arguments of `gen-fleet`.
#[derive(Debug, Args)]
pub struct GenFleetArgs {
    /// Number of things.
    #[arg(long, value_name = "N")]
    pub things: usize,
    /// Seed: the same seed writes the same file.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// Share of things that get a certificate (0.0 to 1.0).
    #[arg(long, default_value_t = 1.0, value_name = "RATIO")]
    pub certificate_ratio: f64,
    /// Region named in the fleet's ARNs.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Account named in the fleet's ARNs.
    #[arg(long, default_value = "123456789012")]
    pub account_id: String,
    /// The snapshot file to write.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
}

/// The default state store of the event path.
pub const DEFAULT_STATE: &str = "sqlite:iot-crr-state.db";

/// Where the event path keeps its state.
#[derive(Debug, Args, Clone)]
pub struct StateArgs {
    /// The state store (versions applied, tombstones, dead letters, checkpoints):
    /// sqlite:PATH (created when missing) or memory: (lost at exit).
    #[arg(long, value_name = "LOCATION", default_value = DEFAULT_STATE)]
    pub state: String,
}

/// Where thin events are re-read, when anywhere.
#[derive(Debug, Args)]
pub struct OptionalSourceArgs {
    /// The registry events happened in, re-read for each resource an event names:
    /// file:PATH or aws:REGION. Without it only full-state events can be applied.
    #[arg(long, value_name = "LOCATION")]
    pub source: Option<Location>,
    /// Endpoint URL of the source's AWS API; overrides AWS_ENDPOINT_URL for the source.
    #[arg(long, value_name = "URL")]
    pub source_endpoint_url: Option<String>,
    /// Named AWS profile for the source; overrides AWS_PROFILE for the source.
    #[arg(long, value_name = "NAME")]
    pub source_profile: Option<String>,
}

/// Arguments of `apply-events`.
#[derive(Debug, Args)]
pub struct ApplyEventsArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: OptionalSourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateArgs,
    /// The events, one JSON object a line; - for stdin.
    #[arg(long, short, value_name = "FILE|-", default_value = "-")]
    pub input: PathBuf,
    /// Events applied together (their resources are reconciled in one plan).
    #[arg(long, default_value_t = 500, value_name = "N", value_parser = at_least_one)]
    pub batch_size: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub rewrite: RewriteArgs,
    /// Changes in flight at once (at least 1).
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = at_least_one)]
    pub concurrency: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsArgs,
}

/// Arguments of `dead-letters`.
#[derive(Debug, Args)]
pub struct DeadLettersArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DeadLetterAction,
}

/// What `dead-letters` does.
#[derive(Debug, Subcommand)]
pub enum DeadLetterAction {
    /// List the dead letters, oldest first, each with its reason.
    List {
        #[command(flatten)]
        #[allow(missing_docs)]
        state: StateArgs,
        /// List at most this many.
        #[arg(long, default_value_t = 100, value_name = "N")]
        limit: usize,
        /// Print JSON (one object a line, raw bytes as text when they are UTF-8).
        #[arg(long)]
        json: bool,
    },
    /// Write the dead letters' events as JSON Lines, which apply-events reads back.
    Export {
        #[command(flatten)]
        #[allow(missing_docs)]
        state: StateArgs,
        /// Where to write; - for stdout.
        #[arg(long, short, value_name = "FILE|-", default_value = "-")]
        output: PathBuf,
    },
    /// Apply the dead letters again; those that apply (or are found stale) are removed.
    Retry(Box<RetryArgs>),
}

/// Arguments of `dead-letters retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: OptionalSourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub rewrite: RewriteArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsArgs,
}

/// Where a Kinesis stream is.
#[derive(Debug, Args, Clone)]
pub struct StreamArgs {
    /// The stream: kinesis:REGION/STREAM.
    #[arg(long, value_name = "kinesis:REGION/STREAM")]
    pub stream: iot_crr_kinesis::StreamLocation,
    /// Endpoint URL of the Kinesis API; overrides AWS_ENDPOINT_URL for the stream.
    #[arg(long, value_name = "URL")]
    pub stream_endpoint_url: Option<String>,
    /// Named AWS profile for the stream; overrides AWS_PROFILE for the stream.
    #[arg(long, value_name = "NAME")]
    pub stream_profile: Option<String>,
}

/// Where a shard without a checkpoint starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum From {
    /// The oldest record the stream keeps.
    TrimHorizon,
    /// Only records put from now on.
    Latest,
    /// Records from this time on (milliseconds since the epoch).
    At(i64),
}

fn parse_from(s: &str) -> Result<From, String> {
    match s {
        "trim-horizon" => Ok(From::TrimHorizon),
        "latest" => Ok(From::Latest),
        _ => {
            if let Ok(ms) = s.parse::<i64>() {
                return Ok(From::At(ms));
            }
            iot_crr_events::parse_rfc3339_millis(s)
                .map(From::At)
                .ok_or_else(|| {
                    format!(
                        "{s:?} is not trim-horizon, latest, or a time (RFC 3339 like \
                     2026-11-25T10:00:00Z, or milliseconds since the epoch)"
                    )
                })
        }
    }
}

/// Arguments of `replicate`.
#[derive(Debug, Args)]
pub struct ReplicateArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub stream: StreamArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: OptionalSourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateArgs,
    /// Where a shard without a checkpoint starts: trim-horizon, latest, or a time
    /// (RFC 3339 or milliseconds since the epoch). A checkpoint always wins.
    #[arg(long, default_value = "trim-horizon", value_parser = parse_from, value_name = "WHERE")]
    pub from: From,
    /// Run a full reconcile of the source into the target this often (e.g. 6h): it
    /// heals anything the events missed. Needs --source.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "source")]
    pub reconcile_every: Option<std::time::Duration>,
    /// Let the periodic reconcile delete what the target has and the source lacks
    /// (within --max-delete).
    #[arg(long, requires = "reconcile_every")]
    pub prune: bool,
    /// The most resources a periodic reconcile may delete (count or percentage).
    #[arg(long, value_name = "N|PCT%", requires = "prune")]
    pub max_delete: Option<DeleteBound>,
    /// Do not judge failover readiness after each periodic reconcile (by default both
    /// registries are read again and iot_crr_devices_ready and
    /// iot_crr_devices_not_ready{reason} published, as `iot-crr readiness` reports).
    #[arg(long, requires = "reconcile_every")]
    pub no_readiness: bool,
    /// Exit 0 once no record arrived for this long and every shard is caught up.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub exit_when_idle: Option<std::time::Duration>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// How long a delete's tombstone refuses older events (default 7 days).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub tombstone_retention: Option<std::time::Duration>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub rewrite: RewriteArgs,
    /// Changes in flight at once (at least 1).
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = at_least_one)]
    pub concurrency: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub aws: AwsArgs,
}

/// Arguments of `forward`.
#[derive(Debug, Args)]
pub struct ForwardArgs {
    /// The events, one JSON object a line; - for stdin.
    #[arg(long, short, value_name = "FILE|-", default_value = "-")]
    pub input: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub stream: StreamArgs,
    /// Aggregate the events of one resource into KPL records.
    #[arg(long)]
    pub aggregate: bool,
}
