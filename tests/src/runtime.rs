//! A minimal Lambda Runtime API emulator: what Lambda's runtime API does
//! for a function process (hand out events on `/next`, take responses),
//! so a real function binary, or `tokengate::lambda`'s loop, runs as on
//! Lambda. The cold-start benchmark and the runtime test use it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

/// What the emulator saw, in order.
#[derive(Debug)]
pub enum Seen {
    /// A `/next` poll arrived (its event, if queued, goes out at once).
    Next {
        handed: Instant,
        /// The request id of the event handed out.
        request_id: String,
    },
    Response {
        at: Instant,
        body: Value,
    },
    Error {
        body: String,
    },
}

/// The events to hand out, and who waits for them.
pub struct Runtime {
    pub events: Mutex<VecDeque<Value>>,
    pub ready: Notify,
    pub seen: mpsc::UnboundedSender<Seen>,
}

impl Runtime {
    /// A runtime handing out `events`, in order, and reporting to `seen`.
    pub fn new(events: Vec<Value>, seen: mpsc::UnboundedSender<Seen>) -> Arc<Self> {
        Arc::new(Runtime {
            events: Mutex::new(events.into_iter().collect()),
            ready: Notify::new(),
            seen,
        })
    }

    async fn next_event(&self) -> Value {
        loop {
            let notified = self.ready.notified();
            if let Some(event) = self.events.lock().unwrap().pop_front() {
                return event;
            }
            notified.await;
        }
    }
}

async fn runtime_api(
    runtime: Arc<Runtime>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_string();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if path.ends_with("/invocation/next") {
        let request_id = uuid::Uuid::new_v4().to_string();
        let _ = runtime.seen.send(Seen::Next {
            handed: Instant::now(),
            request_id: request_id.clone(),
        });
        let event = runtime.next_event().await;
        let deadline = tokengate::clock::Clock::now_millis(&tokengate::clock::SystemClock) + 30_000;
        return Ok(Response::builder()
            .header("lambda-runtime-aws-request-id", request_id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793",
            )
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap());
    }
    let seen = if path.ends_with("/response") {
        Seen::Response {
            at: Instant::now(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        }
    } else {
        Seen::Error {
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    };
    let _ = runtime.seen.send(seen);
    Ok(Response::builder()
        .status(202)
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap())
}

pub async fn start_emulator(runtime: Arc<Runtime>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let runtime = runtime.clone();
            tokio::spawn(async move {
                let service = service_fn(move |r| runtime_api(runtime.clone(), r));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

pub async fn next(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    match tokio::time::timeout(Duration::from_secs(30), seen.recv()).await {
        Ok(Some(seen)) => seen,
        other => panic!("the function went quiet: {other:?}"),
    }
}
