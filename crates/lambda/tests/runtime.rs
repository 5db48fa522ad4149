//! The built handler binaries run under a local Lambda Runtime API, as Lambda runs them
//! (the HTTP protocol of `AWS_LAMBDA_RUNTIME_API`: `GET .../invocation/next`, then
//! `POST .../invocation/{id}/response` or `.../error`), so that the real runtime loop,
//! the start-up from the environment and the serialisation of answers and errors are
//! exercised, not only the handler functions. AWS is moto (`IOT_CRR_MOTO_ENDPOINT`).
//!
//! - `iot-crr-forwarder` gets registry events one by one and as an array, and a
//!   malformed payload (answered as an invocation error, after which the loop goes on);
//!   the stream then holds the events, KPL-aggregated.
//! - `iot-crr-applier` gets those records as a Kinesis event and replicates them,
//!   answering with no `batchItemFailures`.
//! - `iot-crr-reconciler` gets two scheduled events: the first runs a pass that makes
//!   the target equal the source, the second a pass that changes nothing; each finished
//!   pass answers with the target's failover readiness and writes it to stdout as
//!   CloudWatch embedded metric format documents.

mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use iot_crr_model::{Change, Kind, ResourceKey};
use iot_crr_registry::Registry;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc, oneshot};

/// How an invocation ended.
#[derive(Debug)]
enum Answer {
    /// `POST /response`: the handler's result.
    Response(Value),
    /// `POST /error`: the error the runtime reported.
    Error(Value),
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Answer>>>>;

/// A Lambda Runtime API on loopback that hands out queued events and collects answers.
struct RuntimeApi {
    address: String,
    events: mpsc::UnboundedSender<(String, Value)>,
    pending: Pending,
    next_id: std::sync::atomic::AtomicU64,
}

impl RuntimeApi {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::unbounded_channel::<(String, Value)>();
        let rx = Arc::new(Mutex::new(rx));
        let pending: Pending = Arc::default();
        let p = pending.clone();
        tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(conn, rx.clone(), p.clone()));
            }
        });
        RuntimeApi {
            address,
            events: tx,
            pending,
            next_id: Default::default(),
        }
    }

    /// Queues one invocation and waits for its answer.
    async fn invoke(&self, payload: Value) -> Answer {
        let n = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let id = format!("request-{n}");
        let (tx, rx) = oneshot::channel();
        self.pending.lock().await.insert(id.clone(), tx);
        self.events.send((id, payload)).unwrap();
        tokio::time::timeout(Duration::from_secs(120), rx)
            .await
            .expect("the function answers within 2 minutes")
            .expect("the runtime API is up")
    }
}

/// One HTTP/1.1 request: method, path, body.
async fn read_request(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).await.ok()?;
    }
    Some((method, path, body))
}

async fn serve(
    conn: TcpStream,
    events: Arc<Mutex<mpsc::UnboundedReceiver<(String, Value)>>>,
    pending: Pending,
) {
    let (read, mut write) = conn.into_split();
    let mut reader = BufReader::new(read);
    while let Some((method, path, body)) = read_request(&mut reader).await {
        let (status, headers, answer) = if method == "GET"
            && path == "/2018-06-01/runtime/invocation/next"
        {
            let Some((id, payload)) = events.lock().await.recv().await else {
                return;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 900_000;
            let headers = format!(
                "Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:{TARGET}:123456789012:function:test\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\r\n"
            );
            ("200 OK", headers, payload.to_string().into_bytes())
        } else if method == "POST" && path.starts_with("/2018-06-01/runtime/invocation/") {
            let rest = &path["/2018-06-01/runtime/invocation/".len()..];
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let value: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            let answer = match kind {
                "response" => Answer::Response(value),
                _ => Answer::Error(value),
            };
            if let Some(tx) = pending.lock().await.remove(id) {
                let _ = tx.send(answer);
            }
            (
                "202 Accepted",
                String::new(),
                br#"{"status":"OK"}"#.to_vec(),
            )
        } else {
            // /runtime/init/error and anything unknown.
            panic!(
                "unexpected runtime API request {method} {path}: {}",
                String::from_utf8_lossy(&body)
            );
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n",
            answer.len()
        );
        if write.write_all(head.as_bytes()).await.is_err()
            || write.write_all(&answer).await.is_err()
        {
            return;
        }
    }
}

/// A handler binary started under the runtime API, killed when dropped.
struct Function(tokio::process::Child);

impl Function {
    fn start(binary: &str, api: &RuntimeApi, env: &[(&str, &str)]) -> Self {
        Function(Self::command(binary, api, env).spawn().unwrap())
    }

    /// [`Function::start`], its stdout (where Lambda's log group gets what the handler
    /// prints) read line by line.
    fn start_reading_stdout(
        binary: &str,
        api: &RuntimeApi,
        env: &[(&str, &str)],
    ) -> (
        Self,
        tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    ) {
        let mut child = Self::command(binary, api, env)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        (Function(child), BufReader::new(stdout).lines())
    }

    fn command(binary: &str, api: &RuntimeApi, env: &[(&str, &str)]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(binary);
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/26/[$LATEST]0123")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_SESSION_TOKEN", "testing")
            .env("AWS_ENDPOINT_URL", endpoint())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Whether the process still runs (the runtime loop goes on after each answer).
    fn is_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarder_and_applier_binaries_under_the_runtime_api() {
    // Registry events of changes made in the source region.
    let (source, thing, events) = source_events("runtime", ("floor", "3")).await;
    assert_eq!(events.len(), 3);

    let (kinesis, stream) = new_stream("runtime").await;

    let api = RuntimeApi::start().await;
    let mut forwarder = Function::start(
        env!("CARGO_BIN_EXE_iot-crr-forwarder"),
        &api,
        &[
            ("AWS_REGION", SOURCE),
            ("IOT_CRR_STREAM_NAME", &stream),
            ("IOT_CRR_STREAM_REGION", TARGET),
            ("IOT_CRR_AGGREGATE", "true"),
        ],
    );
    // One event as the IoT rule sends it (with its topic), then a malformed payload,
    // then an array.
    let mut first = events[0].clone();
    first["topic"] = json!("$aws/events/thingGroup/x/created");
    match api.invoke(first.clone()).await {
        Answer::Response(v) => assert_eq!(v["events"], 1, "{v}"),
        other => panic!("{other:?}"),
    }
    match api.invoke(json!("not an event")).await {
        Answer::Error(v) => {
            let message = v["errorMessage"].as_str().unwrap_or_default();
            assert!(message.contains("not an event object"), "{v}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        forwarder.is_running(),
        "the runtime loop goes on after an error"
    );
    match api.invoke(json!([events[1], events[2]])).await {
        Answer::Response(v) => assert_eq!(
            (v["events"].as_u64(), v["undecodable"].as_u64()),
            (Some(2), Some(0)),
            "{v}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(forwarder.is_running());
    drop(forwarder);

    // The stream holds the three events, aggregated.
    let batch = read_as_lambda_event(&kinesis, &stream, TARGET).await;
    let expected = vec![first, events[1].clone(), events[2].clone()];
    assert_eq!(user_records(&batch), expected);

    // The applier binary replicates the batch into the destination region.
    let (_, table) = new_state_table(TARGET, "runtime").await;
    let (_, queue) = new_queue("runtime").await;
    let mut applier = Function::start(
        env!("CARGO_BIN_EXE_iot-crr-applier"),
        &api,
        &[
            ("AWS_REGION", TARGET),
            ("IOT_CRR_SOURCE_REGION", SOURCE),
            ("IOT_CRR_STATE_TABLE", &table),
            ("IOT_CRR_DEAD_LETTER_QUEUE_URL", &queue),
            ("IOT_CRR_REWRITE_ARNS", "true"),
            ("IOT_CRR_CERT_STRATEGY", "without-ca"),
        ],
    );
    match api.invoke(serde_json::to_value(&batch).unwrap()).await {
        Answer::Response(v) => assert_eq!(v["batchItemFailures"], json!([]), "{v}"),
        other => panic!("{other:?}"),
    }
    assert!(applier.is_running());
    let key = ResourceKey::new(Kind::Thing, thing.as_str());
    assert_eq!(
        registry(TARGET).read_resource(&key).await.unwrap(),
        source.inner().read_resource(&key).await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciler_binary_under_the_runtime_api() {
    // Regions of their own: a pass reads the whole source region.
    const FROM: &str = "eu-north-1";
    const TO: &str = "ap-south-1";
    let source = registry(FROM);
    let thing = unique("scheduled-thing");
    source
        .apply(&Change::CreateThing {
            thing_name: thing.as_str().into(),
            thing_type_name: None,
            attributes: [("zone", "b")].into_iter().collect(),
            billing_group_name: None,
        })
        .await
        .unwrap();
    let (_, table) = new_state_table(TO, "scheduled").await;

    let api = RuntimeApi::start().await;
    let (mut reconciler, mut stdout) = Function::start_reading_stdout(
        env!("CARGO_BIN_EXE_iot-crr-reconciler"),
        &api,
        &[
            ("AWS_REGION", TO),
            ("IOT_CRR_SOURCE_REGION", FROM),
            ("IOT_CRR_STATE_TABLE", &table),
            ("IOT_CRR_REWRITE_ARNS", "true"),
            ("IOT_CRR_PRUNE", "false"),
            ("IOT_CRR_MAX_DELETE", "100"),
            ("IOT_CRR_TIME_BUDGET_SECONDS", "600"),
            ("IOT_CRR_PASS_INTERVAL_MINUTES", "0"),
            // moto serves no IoT quotas: the defaults stay, logged, and the run goes on.
            ("IOT_CRR_QUOTAS", "live"),
            ("IOT_CRR_METRICS_NAMESPACE", "IotCrr/runtime-test"),
        ],
    );
    // What EventBridge sends on a schedule.
    let scheduled = json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-26T03:00:00Z",
        "region": TO,
        "resources": [format!("arn:aws:events:{TO}:123456789012:rule/iot-crr-reconcile")],
        "detail": {}
    });
    let first = match api.invoke(scheduled.clone()).await {
        Answer::Response(v) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(first["stopped"], "finished", "{first}");
    assert_eq!(first["finishedPass"]["pass"], 1, "{first}");
    assert!(first["applied"].as_u64().unwrap() >= 1, "{first}");
    let key = ResourceKey::new(Kind::Thing, thing.as_str());
    let mut want = source.read_resource(&key).await.unwrap().unwrap();
    let mut got = registry(TO).read_resource(&key).await.unwrap().unwrap();
    if let (iot_crr_model::Resource::Thing(w), iot_crr_model::Resource::Thing(g)) =
        (&mut want, &mut got)
    {
        // A version counts the writes of its own region.
        w.version = None;
        g.version = None;
    }
    assert_eq!(got, want);
    // The finished pass judged readiness: in the answer, and as metrics on stdout.
    let readiness = &first["readiness"];
    assert!(readiness["ready"].is_u64(), "{first}");
    let metrics = next_emf(&mut stdout).await;
    let directive = &metrics["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "IotCrr/runtime-test", "{metrics}");
    assert_eq!(metrics["DevicesReady"], readiness["ready"], "{metrics}");
    assert_eq!(
        metrics["DevicesNotReady"].as_u64(),
        Some(readiness["notReady"].as_u64().unwrap() + readiness["cannotDecide"].as_u64().unwrap()),
        "{metrics}"
    );
    assert!(reconciler.is_running());
    // The next run: a new pass, in sync, nothing written.
    let second = match api.invoke(scheduled).await {
        Answer::Response(v) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(second["stopped"], "finished", "{second}");
    assert_eq!(second["finishedPass"]["pass"], 2, "{second}");
    assert_eq!(second["applied"], 0, "{second}");
    let metrics = next_emf(&mut stdout).await;
    assert_eq!(
        metrics["DevicesReady"], second["readiness"]["ready"],
        "{metrics}"
    );
}

/// The next embedded metric format document the function printed.
async fn next_emf(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> Value {
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("a line on stdout within 30 s")
            .unwrap()
            .expect("stdout open");
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && v.get("_aws").is_some()
        {
            return v;
        }
    }
}
