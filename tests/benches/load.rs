//! `cargo bench -p integration-tests --bench load`
//!
//! Drives the local server (`tokengate-local`, the real handlers behind one
//! HTTP port) over loopback from `LOAD_CLIENTS` (16) concurrent clients,
//! each on its own keep-alive connection, for `LOAD_SECONDS` (10) per
//! phase. `LOAD_PHASES` (`validate,refresh`) picks the phases:
//!
//! - `validate`: every client validates its own access token, over and over.
//! - `refresh`: every client rotates its own token pair, over and over.
//! - `mix` (`make load`): each client, with its own user, picks login 5 %,
//!   validate 70 %, refresh 20 %, logout 5 % over the sessions it holds.
//!   Afterwards it checks invariants and panics if one fails: every token
//!   still held validates exactly when its session was not logged out, no
//!   session item lacks its user, no 5xx, and the server's RSS stayed flat
//!   (at rest, under 25 % growth from after a warm-up quarter to the end).
//!
//! Prints throughput, p50/p99 per route and status counts; with
//! `BENCH_RESULTS_DIR` set, writes them as JSON too.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{handshake, SendRequest};
use hyper_util::rt::TokioIo;
use integration_tests::*;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// One keep-alive HTTP/1.1 connection to the server.
struct Connection {
    address: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

struct Reply {
    status: u16,
    body: Value,
}

impl Connection {
    fn new(address: SocketAddr) -> Self {
        Connection {
            address,
            sender: None,
        }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        for _ in 0..3 {
            if self.sender.is_none() {
                let Ok(stream) = TcpStream::connect(self.address).await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (sender, connection) =
                    handshake(TokioIo::new(stream)).await.expect("handshake");
                tokio::spawn(connection);
                self.sender = Some(sender);
            }
            let sender = self.sender.as_mut().unwrap();
            let mut request = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header("host", self.address.to_string())
                .header("content-type", "application/json");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let body = body.map(|b| b.to_string()).unwrap_or_default();
            let request = request.body(Full::new(Bytes::from(body))).unwrap();
            let result = async {
                sender.ready().await?;
                let response = sender.send_request(request).await?;
                let status = response.status().as_u16();
                let bytes = response.into_body().collect().await?.to_bytes();
                Ok::<_, hyper::Error>((status, bytes))
            }
            .await;
            match result {
                Ok((status, bytes)) => {
                    return Reply {
                        status,
                        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                    }
                }
                // The server closed the connection: open another.
                Err(_) => self.sender = None,
            }
        }
        Reply {
            status: 0,
            body: Value::Null,
        }
    }
}

/// A running `tokengate-local`, stopped on drop.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
}

impl Server {
    pub fn start(bin_dir: &std::path::Path, table: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let binary = bin_dir.join("tokengate-local");
        let child = Command::new(&binary)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("TABLE_NAME", table)
            .env("TODOS_TABLE_NAME", format!("{table}-todos"))
            .env("DYNAMODB_ENDPOINT", endpoint())
            .env("JWT_SECRET", TEST_SECRET)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        assert!(
            wait_for_port(port, Duration::from_secs(30)),
            "the server did not start"
        );
        Server {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    /// Resident set size now, and its high-water mark, in KiB.
    pub fn rss_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Latencies and statuses per route.
#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    statuses: BTreeMap<(&'static str, u16), u64>,
}

impl Tally {
    fn record(&mut self, route: &'static str, status: u16, latency: Duration) {
        self.latencies.entry(route).or_default().push(latency);
        *self.statuses.entry((route, status)).or_default() += 1;
    }

    fn merge(&mut self, other: Tally) {
        for (route, mut latencies) in other.latencies {
            self.latencies
                .entry(route)
                .or_default()
                .append(&mut latencies);
        }
        for (key, count) in other.statuses {
            *self.statuses.entry(key).or_default() += count;
        }
    }
}

/// A user's token pair, as the client holds it.
#[derive(Clone)]
struct Tokens {
    access: String,
    refresh: String,
}

impl Tokens {
    fn from_body(body: &Value) -> Self {
        Tokens {
            access: body["accessToken"]
                .as_str()
                .expect("accessToken")
                .to_string(),
            refresh: body["refreshToken"]
                .as_str()
                .expect("refreshToken")
                .to_string(),
        }
    }
}

async fn register_and_login(connection: &mut Connection, id: &str) -> Tokens {
    let credentials = json!({"id": id, "password": PASSWORD, "name": id});
    let reply = connection
        .send("POST", "/api/auth/register", &[], Some(&credentials))
        .await;
    assert_eq!(reply.status, 201, "register: {}", reply.body);
    let reply = connection
        .send("POST", "/api/auth/login", &[], Some(&credentials))
        .await;
    assert_eq!(reply.status, 200, "login: {}", reply.body);
    Tokens::from_body(&reply.body)
}

async fn timed(
    tally: &mut Tally,
    route: &'static str,
    request: impl std::future::Future<Output = Reply>,
) -> Reply {
    let started = Instant::now();
    let reply = request.await;
    tally.record(route, reply.status, started.elapsed());
    reply
}

async fn validate_loop(mut connection: Connection, tokens: Tokens, until: Instant) -> Tally {
    let mut tally = Tally::default();
    let bearer = format!("Bearer {}", tokens.access);
    let headers = [("authorization", bearer.as_str())];
    while Instant::now() < until {
        let request = connection.send("GET", "/api/auth/validate", &headers, None);
        timed(&mut tally, "validate", request).await;
    }
    tally
}

/// One timed refresh of `tokens`, replaced by the new pair on success.
async fn rotate(connection: &mut Connection, tally: &mut Tally, tokens: &mut Tokens) {
    let access = format!("Bearer {}", tokens.access);
    let refresh = format!("Bearer {}", tokens.refresh);
    let headers = [
        ("authorization", access.as_str()),
        ("refresh-token", refresh.as_str()),
    ];
    let request = connection.send("POST", "/api/auth/refresh", &headers, None);
    let reply = timed(tally, "refresh", request).await;
    if reply.status == 200 {
        *tokens = Tokens::from_body(&reply.body);
    }
}

async fn refresh_loop(mut connection: Connection, mut tokens: Tokens, until: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < until {
        rotate(&mut connection, &mut tally, &mut tokens).await;
    }
    tally
}

/// A small deterministic generator (xorshift64*): the mix is reproducible
/// per client and needs no extra crate.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % sides
    }
}

/// What a `mix` client ends with: sessions it holds, sessions it ended.
#[derive(Default)]
struct Held {
    live: Vec<Tokens>,
    ended: Vec<Tokens>,
}

/// One `mix` client: its connection, user, sessions and dice.
struct MixClient {
    connection: Connection,
    id: String,
    held: Held,
    dice: Dice,
}

async fn mix_loop(mut client: MixClient, until: Instant) -> (MixClient, Tally) {
    let mut tally = Tally::default();
    let MixClient {
        connection,
        id,
        held,
        dice,
    } = &mut client;
    let credentials = json!({"id": id, "password": PASSWORD});
    while Instant::now() < until {
        let roll = dice.roll(100);
        if held.live.is_empty() || roll < 5 {
            let request = connection.send("POST", "/api/auth/login", &[], Some(&credentials));
            let reply = timed(&mut tally, "login", request).await;
            if reply.status == 200 {
                held.live.push(Tokens::from_body(&reply.body));
            }
            continue;
        }
        let pick = dice.roll(held.live.len() as u64) as usize;
        let tokens = held.live[pick].clone();
        let access = format!("Bearer {}", tokens.access);
        let bearer = [("authorization", access.as_str())];
        if roll < 75 {
            let request = connection.send("GET", "/api/auth/validate", &bearer, None);
            timed(&mut tally, "validate", request).await;
        } else if roll < 95 {
            rotate(connection, &mut tally, &mut held.live[pick]).await;
        } else {
            let request = connection.send("POST", "/api/auth/logout", &bearer, None);
            let reply = timed(&mut tally, "logout", request).await;
            if reply.status == 200 {
                held.ended.push(held.live.swap_remove(pick));
            }
        }
    }
    (client, tally)
}

/// Runs the `mix` phase and checks its invariants; returns its report.
async fn mix(server: &Server, table: &str, clients: usize, seconds: u64) -> Value {
    let mut users = Vec::new();
    for i in 0..clients {
        let mut connection = Connection::new(server.address);
        let id = format!("mix-{i}");
        let tokens = register_and_login(&mut connection, &id).await;
        users.push(MixClient {
            connection,
            id,
            held: Held {
                live: vec![tokens],
                ended: Vec::new(),
            },
            dice: Dice(0x9e37_79b9 + 2 * i as u64 + 1),
        });
    }
    // A warm-up quarter, then the rest. After each, the clients pause and the
    // server's RSS is read at rest: in-flight argon2 blocks (19 MiB each)
    // make RSS under load jump by whole blocks, so a leak shows only at rest.
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut tally = Tally::default();
    let (mut rss, mut at_rest) = (Vec::new(), Vec::new());
    for until in [started + Duration::from_secs(seconds) / 4, end] {
        let tasks: Vec<_> = users
            .drain(..)
            .map(|client| tokio::spawn(mix_loop(client, until)))
            .collect();
        while Instant::now() < until {
            rss.push(server.rss_kib().0);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for task in tasks {
            let (client, t) = task.await.expect("client task");
            tally.merge(t);
            users.push(client);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        at_rest.push(server.rss_kib().0);
    }
    let held: Vec<&Held> = users.iter().map(|c| &c.held).collect();
    let elapsed = started.elapsed();
    let server_errors: u64 = tally
        .statuses
        .iter()
        .filter(|((_, status), _)| *status >= 500 || *status == 0)
        .map(|(_, count)| count)
        .sum();
    let unexpected: u64 = tally
        .statuses
        .iter()
        .filter(|((_, status), _)| *status != 200)
        .map(|(_, count)| count)
        .sum();
    let mut result = report("mix", clients, elapsed, tally);

    // Invariant 1: held tokens validate exactly when their session is live.
    let mut checker = Connection::new(server.address);
    let (mut live, mut ended, mut wrong) = (0, 0, Vec::new());
    for h in &held {
        for (tokens, expected) in h
            .live
            .iter()
            .map(|t| (t, 200))
            .chain(h.ended.iter().map(|t| (t, 401)))
        {
            let bearer = format!("Bearer {}", tokens.access);
            let reply = checker
                .send(
                    "GET",
                    "/api/auth/validate",
                    &[("authorization", &bearer)],
                    None,
                )
                .await;
            if expected == 200 {
                live += 1
            } else {
                ended += 1
            }
            if reply.status != expected {
                wrong.push(format!(
                    "expected {expected}, got {} {}",
                    reply.status, reply.body
                ));
            }
        }
    }
    // Invariant 2: every session item has its user.
    let client = client_for(endpoint(), CallLog::default());
    let items: Vec<_> = client
        .scan()
        .table_name(table)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("scan the table");
    let text =
        |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
         name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
    let users: std::collections::HashSet<String> = items
        .iter()
        .map(|i| text(i, "pk"))
        .filter(|pk| pk.starts_with("USER#"))
        .collect();
    let sessions: Vec<_> = items
        .iter()
        .filter(|i| text(i, "pk").starts_with("SESSION#"))
        .collect();
    let orphans = sessions
        .iter()
        .filter(|s| !users.contains(&format!("USER#{}", text(s, "user_id"))))
        .count();
    // Invariant 3: no leak. RSS at rest after the warm-up, and at the end.
    let (quarter, last) = (at_rest[0].max(1), at_rest[1]);
    let growth = (last as f64 - quarter as f64) / quarter as f64 * 100.0;
    let peak = rss.iter().copied().max().unwrap_or(0);

    println!(
        "  invariants: {live} live tokens, {ended} logged-out tokens checked, {} wrong; \
         {} session items, {orphans} without a user; {server_errors} server errors; \
         {unexpected} non-200 answers",
        wrong.len(),
        sessions.len()
    );
    println!(
        "  server RSS at rest: {:.1} MiB after the warm-up quarter, {:.1} MiB at the end ({growth:+.1} %); peak under load {:.1} MiB",
        quarter as f64 / 1024.0,
        last as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    result["invariants"] = json!({
        "live_tokens_checked": live,
        "ended_tokens_checked": ended,
        "wrong": wrong.len(),
        "session_items": sessions.len(),
        "orphan_sessions": orphans,
        "server_errors": server_errors,
        "non_200": unexpected,
    });
    result["server_rss_kib"] =
        json!({"after_first_quarter": quarter, "end": last, "peak": peak, "growth_pct": growth});
    write_bench_result("load_mix", &result);
    assert!(
        wrong.is_empty(),
        "tokens in the wrong state: {:?}",
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(orphans, 0, "session items without a user");
    assert_eq!(server_errors, 0, "server errors under load");
    assert_eq!(
        unexpected, 0,
        "every request of the mix is on a live session"
    );
    assert!(
        growth < 25.0,
        "server RSS grew {growth:.1} % under steady load"
    );
    result
}

fn report(phase: &str, clients: usize, elapsed: Duration, mut tally: Tally) -> Value {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut routes = serde_json::Map::new();
    println!("{phase}: {clients} clients, {:.1} s", elapsed.as_secs_f64());
    println!("  route        requests    req/s      p50        p99");
    for (route, latencies) in tally.latencies.iter_mut() {
        let count = latencies.len();
        let (p50, p99) = (quantile(latencies, 0.5), quantile(latencies, 0.99));
        let rate = count as f64 / elapsed.as_secs_f64();
        println!(
            "  {route:<10} {count:>10} {rate:>8.0} {:>8.2} ms {:>8.2} ms",
            ms(p50),
            ms(p99)
        );
        routes.insert(
            route.to_string(),
            json!({"requests": count, "per_second": rate, "p50_ms": ms(p50), "p99_ms": ms(p99)}),
        );
    }
    let statuses: BTreeMap<String, u64> = tally
        .statuses
        .iter()
        .map(|((route, status), count)| (format!("{route} {status}"), *count))
        .collect();
    println!("  statuses: {statuses:?}");
    json!({"clients": clients, "seconds": elapsed.as_secs_f64(), "routes": routes, "statuses": statuses})
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let clients: usize = env_or("LOAD_CLIENTS", 16);
    let seconds: u64 = env_or("LOAD_SECONDS", 10);
    let phases: String = env_or("LOAD_PHASES", "validate,refresh".to_string());
    let bin_dir = std::env::var("TOKENGATE_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release"));
    let table = format!("tokengate-load-{}", uuid::Uuid::new_v4().simple());
    let server = Server::start(
        &bin_dir,
        &table,
        &[
            ("LOGIN_MAX_FAILURES", "1000000"),
            ("LOGIN_MAX_FAILURES_PER_IP", "1000000"),
            ("REGISTER_MAX_PER_IP", "1000000"),
        ],
    );
    for phase in phases.split(',') {
        if phase == "mix" {
            mix(&server, &table, clients, seconds).await;
            continue;
        }
        let mut users = Vec::new();
        for i in 0..clients {
            let mut connection = Connection::new(server.address);
            let tokens = register_and_login(&mut connection, &format!("{phase}-{i}")).await;
            users.push((connection, tokens));
        }
        let started = Instant::now();
        let until = started + Duration::from_secs(seconds);
        let tasks: Vec<_> = users
            .into_iter()
            .map(|(connection, tokens)| match phase {
                "validate" => tokio::spawn(validate_loop(connection, tokens, until)),
                "refresh" => tokio::spawn(refresh_loop(connection, tokens, until)),
                other => panic!("unknown phase {other}"),
            })
            .collect();
        let mut tally = Tally::default();
        for task in tasks {
            tally.merge(task.await.expect("client task"));
        }
        let mut result = report(phase, clients, started.elapsed(), tally);
        let (rss, peak) = server.rss_kib();
        result["server_rss_kib"] = json!({"now": rss, "peak": peak});
        write_bench_result(&format!("load_{phase}"), &result);
    }
}
