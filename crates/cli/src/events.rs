//! The event commands: `apply-events`, `dead-letters`, `replicate` and `forward`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use iot_crr_engine::ApplyOptions;
use iot_crr_kinesis::{
    Consumer, ConsumerOptions, MAX_RECORDS_PER_REQUEST, OutRecord, Producer, ProducerOptions,
    StartPosition,
};
use iot_crr_reconcile::{BackendOptions, Endpoint, ReconcileOptions, Role, open};
use iot_crr_registry::Registry;
use iot_crr_replicator::{
    Applier, ApplierOptions, BatchOutcome, InRecord, ReplicatorOptions, input, run_replicator,
    serve,
};
use iot_crr_state::{MemoryStore, SqliteStore, StateLocation, StateStore};
use tokio::sync::watch;

use crate::Status;
use crate::args::{
    ApplyEventsArgs, AwsArgs, DeadLetterAction, DeadLettersArgs, FilterArgs, ForwardArgs, From,
    OptionalSourceArgs, ReplicateArgs, RewriteArgs, StateArgs, StreamArgs, TargetArgs,
};
use crate::sides::{self, backend_options};

/// Attempts of a batch that meets a retryable fault before the command gives up.
const BATCH_ATTEMPTS: u32 = 5;

/// Opens the state store a `--state` names.
pub(crate) fn open_state(a: &StateArgs) -> Result<Arc<dyn StateStore>> {
    let location = StateLocation::parse(&a.state)?;
    Ok(match location {
        StateLocation::Sqlite(path) => Arc::new(
            SqliteStore::open(&path)
                .with_context(|| format!("opening the state store {}", a.state))?,
        ),
        StateLocation::Memory => Arc::new(MemoryStore::new()),
    })
}

fn optional_source(a: &OptionalSourceArgs) -> Option<Endpoint> {
    a.source.as_ref().map(|l| Endpoint {
        location: l.clone(),
        endpoint_url: a.source_endpoint_url.clone(),
        profile: a.source_profile.clone(),
    })
}

/// The applier of `apply-events`, `dead-letters retry` and `replicate`.
pub(crate) async fn applier(
    source: &OptionalSourceArgs,
    target: &TargetArgs,
    state: Arc<dyn StateStore>,
    filter: &FilterArgs,
    rewrite: &RewriteArgs,
    aws: &AwsArgs,
    concurrency: usize,
) -> Result<Applier> {
    let backend: BackendOptions = backend_options(aws)?;
    let source = match optional_source(source) {
        Some(e) => Some(open(&e, Role::Source, &backend).await?),
        None => None,
    };
    let target: Arc<dyn Registry> = open(&sides::target(target), Role::Target, &backend).await?;
    let options = ApplierOptions {
        reconcile: ReconcileOptions {
            filter: crate::filter_of(filter)?,
            rewrite: crate::rewrite_spec(rewrite)?,
            ..Default::default()
        },
        apply: ApplyOptions {
            concurrency,
            ..Default::default()
        },
    };
    Ok(Applier::new(source, target, state, options))
}

/// Applies one batch, retrying it while the fault is retryable.
pub(crate) async fn apply_with_retries(
    applier: &Applier,
    batch: &[InRecord],
) -> Result<BatchOutcome> {
    let mut delay = Duration::from_millis(500);
    for attempt in 1.. {
        match applier.apply_batch(batch).await {
            Ok(out) => return Ok(out),
            Err(e) if e.is_retryable() && attempt < BATCH_ATTEMPTS => {
                applier.metrics().batch_retried();
                tracing::warn!("batch failed ({e}); retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
    unreachable!("the loop returns")
}

/// The events file (`-`: stdin) and its name for origins and messages.
fn open_input(path: &Path) -> Result<(Box<dyn BufRead + Send>, String)> {
    if path == Path::new("-") {
        return Ok((Box::new(BufReader::new(std::io::stdin())), "stdin".into()));
    }
    let f = std::fs::File::open(path)
        .with_context(|| format!("cannot open the events file {}", path.display()))?;
    Ok((Box::new(BufReader::new(f)), path.display().to_string()))
}

fn summary(total: &BatchOutcome) -> String {
    format!(
        "{} event(s): {} applied, {} skipped (duplicate, stale or older than a delete), {} \
         dead-lettered; {} write(s), {} read(s)",
        total.received, total.applied, total.stale, total.dead_lettered, total.writes, total.reads
    )
}

fn add(total: &mut BatchOutcome, out: &BatchOutcome) {
    total.received += out.received;
    total.applied += out.applied;
    total.stale += out.stale;
    total.dead_lettered += out.dead_lettered;
    total.writes += out.writes;
    total.reads += out.reads;
}

/// `apply-events`.
pub async fn apply_events(a: ApplyEventsArgs) -> Result<Status> {
    let state = open_state(&a.state)?;
    let applier = applier(
        &a.source,
        &a.target,
        state,
        &a.filter,
        &a.rewrite,
        &a.aws,
        a.concurrency,
    )
    .await?;
    let (reader, name) = open_input(&a.input)?;
    let mut total = BatchOutcome::default();
    let mut batch = Vec::with_capacity(a.batch_size);
    let mut lines = input::json_lines(reader, &name);
    loop {
        let next = lines.next();
        let end = next.is_none();
        if let Some(r) = next {
            batch.push(r.with_context(|| format!("reading {name}"))?);
        }
        if batch.len() >= a.batch_size || (end && !batch.is_empty()) {
            let out = apply_with_retries(&applier, &batch)
                .await
                .with_context(|| {
                    format!(
                        "applying the events up to {} (the ones before were applied; \
                     running the command again is safe)",
                        batch.last().map(|r| r.origin.as_str()).unwrap_or("?")
                    )
                })?;
            add(&mut total, &out);
            batch.clear();
        }
        if end {
            break;
        }
    }
    eprintln!("{} to {}", summary(&total), applier.target().location());
    if total.dead_lettered > 0 {
        eprintln!(
            "{} event(s) went to the dead letters: iot-crr dead-letters list --state {}",
            total.dead_lettered, a.state.state
        );
        return Ok(Status::Incomplete);
    }
    Ok(Status::Ok)
}

/// The raw bytes of a dead letter as one line of JSON Lines: compact JSON when they
/// are JSON, else the text with line breaks replaced (it fails again with its reason).
fn as_line(raw: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(raw) {
        Ok(v) => v.to_string(),
        Err(_) => String::from_utf8_lossy(raw).replace(['\n', '\r'], " "),
    }
}

/// `dead-letters`.
pub async fn dead_letters(a: DeadLettersArgs) -> Result<Status> {
    match a.action {
        DeadLetterAction::List { state, limit, json } => {
            let store = open_state(&state)?;
            let total = store.count_dead_letters().await?;
            let letters = store.list_dead_letters(limit).await?;
            let mut out = std::io::stdout().lock();
            for l in &letters {
                if json {
                    let v = serde_json::json!({
                        "id": l.id,
                        "reason": l.reason,
                        "source": l.source,
                        "timeMillis": l.time_millis,
                        "raw": String::from_utf8_lossy(&l.raw),
                    });
                    writeln!(out, "{v}")?;
                } else {
                    writeln!(
                        out,
                        "{}  {}  (from {}, at {})\n    {}",
                        l.id,
                        l.reason,
                        l.source,
                        iot_crr_events::format_rfc3339_millis(l.time_millis),
                        as_line(&l.raw).chars().take(160).collect::<String>()
                    )?;
                }
            }
            eprintln!("{} of {total} dead letter(s) listed", letters.len());
            Ok(Status::Ok)
        }
        DeadLetterAction::Export { state, output } => {
            let store = open_state(&state)?;
            let letters = store.list_dead_letters(usize::MAX).await?;
            let mut text = String::new();
            for l in &letters {
                text.push_str(&as_line(&l.raw));
                text.push('\n');
            }
            if output == Path::new("-") {
                std::io::stdout().lock().write_all(text.as_bytes())?;
            } else {
                std::fs::write(&output, text)
                    .with_context(|| format!("writing {}", output.display()))?;
            }
            eprintln!("{} dead letter(s) exported", letters.len());
            Ok(Status::Ok)
        }
        DeadLetterAction::Retry(r) => {
            let store = open_state(&r.state)?;
            let applier = applier(
                &r.source,
                &r.target,
                store.clone(),
                &r.filter,
                &r.rewrite,
                &r.aws,
                16,
            )
            .await?;
            let letters = store.list_dead_letters(usize::MAX).await?;
            if letters.is_empty() {
                eprintln!("no dead letters");
                return Ok(Status::Ok);
            }
            let (mut done, mut again) = (0, 0);
            for l in letters {
                // One at a time: each letter's fate is its own.
                // A letter without an event id of its own has its origin as id.
                let record = InRecord {
                    origin: l.source.clone(),
                    data: l.raw.clone(),
                };
                let out = apply_with_retries(&applier, std::slice::from_ref(&record)).await?;
                if out.dead_lettered == 0 {
                    // Applied or found stale: it is done. (A letter stored again under
                    // another id would be a new one; the id is the event's.)
                    store.remove_dead_letter(&l.id).await?;
                    done += 1;
                } else {
                    again += 1;
                }
            }
            eprintln!("{done} dead letter(s) applied and removed, {again} failed again");
            if again > 0 {
                return Ok(Status::Incomplete);
            }
            Ok(Status::Ok)
        }
    }
}

/// A Kinesis client for a `--stream`.
async fn stream_client(a: &StreamArgs) -> iot_crr_kinesis::aws_sdk_kinesis::Client {
    a.stream
        .client(
            a.stream_endpoint_url.as_deref(),
            a.stream_profile.as_deref(),
        )
        .await
}

/// Turns true on SIGTERM or Ctrl-C.
fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = match signal(SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                    let _ = tx.send(true);
                    return;
                }
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing the batch in hand");
        let _ = tx.send(true);
    });
    rx
}

/// `replicate`.
pub async fn replicate(a: ReplicateArgs) -> Result<Status> {
    let state = open_state(&a.state)?;
    let applier = Arc::new(
        applier(
            &a.source,
            &a.target,
            state.clone(),
            &a.filter,
            &a.rewrite,
            &a.aws,
            a.concurrency,
        )
        .await?,
    );
    let start = match a.from {
        From::TrimHorizon => StartPosition::TrimHorizon,
        From::Latest => StartPosition::Latest,
        From::At(ms) => StartPosition::at_millis(ms.max(0) as u64),
    };
    let consumer = Consumer::new(
        stream_client(&a.stream).await,
        a.stream.stream.stream.clone(),
        state,
        ConsumerOptions {
            start,
            exit_when_idle: a.exit_when_idle,
            ..Default::default()
        },
    );
    let shutdown = shutdown_signal();
    if let Some(addr) = a.metrics_addr {
        let metrics = applier.metrics().clone();
        let (source, target) = (applier.source().cloned(), applier.target().clone());
        let render: serve::Render = Arc::new(move || {
            let mut registries: Vec<(&str, &dyn Registry)> = vec![("target", target.as_ref())];
            if let Some(s) = &source {
                registries.push(("source", s.as_ref()));
            }
            metrics.render(&registries)
        });
        let (bound, _task) = serve::serve_metrics(addr, render, shutdown.clone()).await?;
        tracing::info!("metrics at http://{bound}/metrics");
    }
    let options = ReplicatorOptions {
        reconcile_every: a.reconcile_every,
        reconcile: ReconcileOptions {
            filter: crate::filter_of(&a.filter)?,
            prune: a.prune,
            rewrite: crate::rewrite_spec(&a.rewrite)?,
            max_delete: a.max_delete.unwrap_or_default(),
        },
        apply: ApplyOptions {
            concurrency: a.concurrency,
            ..Default::default()
        },
        tombstone_retention: a.tombstone_retention,
        readiness: !a.no_readiness,
    };
    tracing::info!(stream = %a.stream.stream, target = %applier.target().location(), "replicating");
    let summary = run_replicator(consumer, applier.clone(), options, shutdown).await?;
    let m = applier.metrics().snapshot();
    eprintln!(
        "replicated {} record(s) in {} batch(es): {} event(s) applied, {} skipped, {} \
         dead-lettered, {} write(s); {} shard(s) finished, {} periodic reconcile(s)",
        summary.consumed.records,
        summary.consumed.batches,
        m.applied,
        m.stale,
        m.dead_lettered,
        m.writes,
        summary.consumed.shards_finished,
        summary.reconciles
    );
    Ok(Status::Ok)
}

/// `forward`.
pub async fn forward(a: ForwardArgs) -> Result<Status> {
    let producer = Producer::new(
        stream_client(&a.stream).await,
        a.stream.stream.stream.clone(),
        ProducerOptions {
            aggregate: a.aggregate,
            ..Default::default()
        },
    );
    let (reader, name) = open_input(&a.input)?;
    let (mut events, mut records, mut requests) = (0usize, 0usize, 0usize);
    let mut batch = Vec::new();
    let mut lines = input::json_lines(reader, &name);
    loop {
        let next = lines.next();
        let end = next.is_none();
        if let Some(r) = next {
            let r = r.with_context(|| format!("reading {name}"))?;
            // What does not decode is forwarded too: the applier dead-letters it.
            let key = input::partition_key(&r.data).unwrap_or_else(|| "undecodable".to_owned());
            batch.push(OutRecord::new(key, r.data));
        }
        if batch.len() >= MAX_RECORDS_PER_REQUEST || (end && !batch.is_empty()) {
            let n = batch.len();
            let report = producer
                .put(std::mem::take(&mut batch))
                .await
                .with_context(|| {
                    format!(
                        "writing to {} (the {events} event(s) before were written)",
                        a.stream.stream
                    )
                })?;
            events += n;
            records += report.kinesis_records;
            requests += report.requests;
        }
        if end {
            break;
        }
    }
    eprintln!(
        "forwarded {events} event(s) to {} in {records} record(s), {requests} request(s)",
        a.stream.stream
    );
    Ok(Status::Ok)
}
