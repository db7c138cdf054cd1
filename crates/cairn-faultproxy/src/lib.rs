//! A fault-injection proxy for AWS APIs: a loopback HTTP/1.1 proxy in front of an AWS
//! endpoint (in cairn's tests, the local emulator at `AWS_ENDPOINT_URL`) that relays each
//! request and its answer byte for byte, except when it injects a fault:
//!
//! - **throttling**, in the protocol's own error format (S3 `503 SlowDown`, query
//!   `400 Throttling`, EC2 `503 RequestLimitExceeded`, JSON `400 ThrottlingException` with
//!   `x-amzn-ErrorType`);
//! - **5xx** answers (`500 InternalError` / `InternalFailure`);
//! - **connection resets** (the request was read and not forwarded: it took no effect);
//! - **refusals** of a named operation, N times, with a given status, code and message,
//!   or with a raw body (to answer what no SDK can classify);
//! - **lost answers**: the call is forwarded and takes effect, then its answer is lost (the
//!   connection is reset, or a 5xx is sent instead).
//!
//! Faults come from [`Rates`] (a probability per kind, drawn reproducibly from a seed, the
//! operation and how many calls of it came before) and from targeted [`Rule`]s (an
//! operation, how many calls to let through first, how many to hit). [`Counts`] says what
//! was injected; `GET /__faultproxy/counts` answers it as JSON, and the binary prints it
//! when it stops. Operations are named as in [`operation`]. See `docs/fault-proxy.md`.

pub mod http;
pub mod operation;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::http::{answer, Conn, Request};
use crate::operation::{classify, error_answer, internal_error, throttle};

/// The path prefix of the control endpoint (not a valid bucket name, so never an S3 path).
pub const CONTROL: &str = "/__faultproxy/";

/// The probability, per request, of each fault kind (0 to 1; their sum at most 1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rates {
    pub throttle: f64,
    pub server_error: f64,
    pub reset: f64,
    pub lose_answer: f64,
}

/// A fault to inject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The protocol's throttling error.
    Throttle,
    /// The protocol's internal error, with this status (500 when absent).
    ServerError { status: Option<u16> },
    /// Reset the connection without forwarding the request.
    Reset,
    /// An error answer in the protocol's format.
    Refuse { status: u16, code: String, message: String },
    /// An answer with exactly this status, content type and body.
    Raw { status: u16, content_type: Option<String>, body: String },
    /// Forward the request (it takes effect), then lose the answer: reset the connection
    /// (`then: reset`) or answer the protocol's internal error (`then: server_error`).
    LoseAnswer { then: Lost },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lost {
    Reset,
    ServerError,
}

/// A targeted fault: the calls of `operation` (`*`: any), after letting `skip` through,
/// get `fault`, `times` times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub operation: String,
    #[serde(default)]
    pub skip: u32,
    #[serde(default = "one")]
    pub times: u32,
    pub fault: Fault,
}

fn one() -> u32 {
    1
}

impl Rule {
    pub fn new(operation: &str, times: u32, fault: Fault) -> Rule {
        Rule { operation: operation.to_string(), skip: 0, times, fault }
    }
}

/// What the proxy does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where requests go: `http://host:port`.
    pub upstream: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub rates: Rates,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl Config {
    pub fn new(upstream: &str) -> Config {
        Config { upstream: upstream.to_string(), seed: 0, rates: Rates::default(), rules: Vec::new() }
    }
}

/// What the proxy saw and injected.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests received (control requests aside).
    pub requests: u64,
    /// Requests passed upstream (lost answers included).
    pub forwarded: u64,
    pub throttled: u64,
    pub server_errors: u64,
    pub resets: u64,
    /// Refusals and raw answers from rules.
    pub refused: u64,
    pub lost_answers: u64,
    /// Injected faults by operation and kind.
    pub by_operation: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Counts {
    /// Faults injected, all kinds.
    pub fn injected(&self) -> u64 {
        self.throttled + self.server_errors + self.resets + self.refused + self.lost_answers
    }

    fn record(&mut self, operation: &str, kind: &str) {
        match kind {
            "throttled" => self.throttled += 1,
            "server_error" => self.server_errors += 1,
            "reset" => self.resets += 1,
            "refused" => self.refused += 1,
            _ => self.lost_answers += 1,
        }
        *self.by_operation.entry(operation.to_string()).or_default().entry(kind.to_string()).or_default() += 1;
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests, {} faults injected: {} throttled, {} 5xx, {} resets, {} refused, {} lost answers",
            self.requests,
            self.injected(),
            self.throttled,
            self.server_errors,
            self.resets,
            self.refused,
            self.lost_answers
        )
    }
}

/// The proxy's state, shared by its connections.
pub struct Shared {
    upstream: String,
    seed: u64,
    rates: Mutex<Rates>,
    rules: Mutex<Vec<Rule>>,
    counts: Mutex<Counts>,
    /// Calls seen so far, by operation (the draw for a call depends on its number).
    seen: Mutex<HashMap<String, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn new(config: Config) -> io::Result<Arc<Shared>> {
        let upstream = config
            .upstream
            .strip_prefix("http://")
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the upstream must be an http:// URL"))?
            .trim_end_matches('/')
            .to_string();
        if upstream.contains('/') || upstream.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the upstream must be http://host:port"));
        }
        let r = &config.rates;
        let sum = r.throttle + r.server_error + r.reset + r.lose_answer;
        if [r.throttle, r.server_error, r.reset, r.lose_answer].iter().any(|p| !(0.0..=1.0).contains(p)) || sum > 1.0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rates must be between 0 and 1, with a sum of at most 1",
            ));
        }
        Ok(Arc::new(Shared {
            upstream,
            seed: config.seed,
            rates: Mutex::new(config.rates),
            rules: Mutex::new(config.rules),
            counts: Mutex::new(Counts::default()),
            seen: Mutex::new(HashMap::new()),
        }))
    }

    pub fn counts(&self) -> Counts {
        lock(&self.counts).clone()
    }

    pub fn add_rule(&self, rule: Rule) {
        lock(&self.rules).push(rule);
    }

    pub fn set_rates(&self, rates: Rates) {
        *lock(&self.rates) = rates;
    }

    /// The fault for this call, if any: the first rule that applies, else a draw.
    fn decide(&self, operation: &str) -> Option<Fault> {
        {
            let mut rules = lock(&self.rules);
            for rule in rules.iter_mut() {
                if rule.times == 0 || (rule.operation != "*" && rule.operation != operation) {
                    continue;
                }
                if rule.skip > 0 {
                    rule.skip -= 1;
                    continue;
                }
                rule.times -= 1;
                return Some(rule.fault.clone());
            }
        }
        let n = {
            let mut seen = lock(&self.seen);
            let n = seen.entry(operation.to_string()).or_default();
            *n += 1;
            *n
        };
        let draw = splitmix(self.seed ^ fnv(operation) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let x = (draw >> 11) as f64 / (1u64 << 53) as f64;
        let r = lock(&self.rates).clone();
        let mut edge = r.throttle;
        if x < edge {
            return Some(Fault::Throttle);
        }
        edge += r.server_error;
        if x < edge {
            return Some(Fault::ServerError { status: None });
        }
        edge += r.reset;
        if x < edge {
            return Some(Fault::Reset);
        }
        edge += r.lose_answer;
        if x < edge {
            let then = if draw & 1 == 0 { Lost::Reset } else { Lost::ServerError };
            return Some(Fault::LoseAnswer { then });
        }
        None
    }

    fn record(&self, operation: &str, kind: &str) {
        lock(&self.counts).record(operation, kind);
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Serve connections from `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _ = connection(Conn::new(stream), &shared).await;
        });
    }
}

/// Reset a connection: RST instead of FIN.
fn reset(conn: Conn) {
    let _ = conn.stream.set_zero_linger();
    drop(conn);
}

/// One client connection: its requests in turn, until it closes or a fault ends it.
async fn connection(mut client: Conn, shared: &Shared) -> io::Result<()> {
    let mut n = 0u64;
    while let Some(req) = client.request().await? {
        n += 1;
        if req.target.starts_with(CONTROL) {
            let (status, body) = control(&req, shared);
            let headers = [("Content-Type".to_string(), "application/json".to_string())];
            client.stream.write_all(&answer(status, &headers, body.as_bytes(), false)).await?;
            continue;
        }
        let (protocol, operation) = classify(&req);
        lock(&shared.counts).requests += 1;
        let request_id = format!("FAULTPROXY{:08X}{n:04X}", fnv(&operation) as u32);
        let head_only = req.method == "HEAD";
        let formatted = |status: u16, code: &str, message: &str| {
            let (status, headers, body) = error_answer(protocol, status, code, message, &request_id);
            answer(status, &headers, &body, head_only)
        };
        let internal = |status: Option<u16>| {
            let (code, message) = internal_error(protocol);
            formatted(status.unwrap_or(500), code, message)
        };
        match shared.decide(&operation) {
            None => {
                let close = forward(&req, &mut client, shared).await?;
                if close || req.wants_close() {
                    return Ok(());
                }
            }
            Some(Fault::Throttle) => {
                shared.record(&operation, "throttled");
                let (status, code, message) = throttle(protocol);
                client.stream.write_all(&formatted(status, code, message)).await?;
            }
            Some(Fault::ServerError { status }) => {
                shared.record(&operation, "server_error");
                client.stream.write_all(&internal(status)).await?;
            }
            Some(Fault::Reset) => {
                shared.record(&operation, "reset");
                reset(client);
                return Ok(());
            }
            Some(Fault::Refuse { status, code, message }) => {
                shared.record(&operation, "refused");
                client.stream.write_all(&formatted(status, &code, &message)).await?;
            }
            Some(Fault::Raw { status, content_type, body }) => {
                shared.record(&operation, "refused");
                let headers: Vec<(String, String)> =
                    content_type.into_iter().map(|c| ("Content-Type".to_string(), c)).collect();
                client.stream.write_all(&answer(status, &headers, body.as_bytes(), head_only)).await?;
            }
            Some(Fault::LoseAnswer { then }) => {
                shared.record(&operation, "lost_answer");
                let mut upstream = Conn::new(TcpStream::connect(&shared.upstream).await?);
                upstream.stream.write_all(&req.head).await?;
                upstream.stream.write_all(&req.raw_body).await?;
                upstream.response(&req.method).await?;
                lock(&shared.counts).forwarded += 1;
                match then {
                    Lost::Reset => {
                        reset(client);
                        return Ok(());
                    }
                    Lost::ServerError => client.stream.write_all(&internal(None)).await?,
                }
            }
        }
        if req.wants_close() {
            return Ok(());
        }
    }
    Ok(())
}

/// Relay a request upstream (a connection of its own) and its answer back; whether the
/// client connection must close after it.
async fn forward(req: &Request, client: &mut Conn, shared: &Shared) -> io::Result<bool> {
    let mut upstream = match TcpStream::connect(&shared.upstream).await {
        Ok(s) => Conn::new(s),
        Err(e) => {
            // Upstream is down: say so as a gateway would.
            let body = format!("the fault proxy cannot reach {}: {e}", shared.upstream);
            let headers = [("Content-Type".to_string(), "text/plain".to_string())];
            client.stream.write_all(&answer(502, &headers, body.as_bytes(), req.method == "HEAD")).await?;
            return Ok(true);
        }
    };
    upstream.stream.write_all(&req.head).await?;
    upstream.stream.write_all(&req.raw_body).await?;
    let resp = upstream.response(&req.method).await?;
    lock(&shared.counts).forwarded += 1;
    client.stream.write_all(&resp.raw).await?;
    Ok(resp.close)
}

/// The control endpoint: `GET counts`, `POST rules` (a rule or a list), `DELETE rules`,
/// `PUT rates`.
fn control(req: &Request, shared: &Shared) -> (u16, String) {
    let (path, _) = req.path_and_query();
    let what = &path[CONTROL.len()..];
    let fail = |e: String| (400, serde_json::json!({ "error": e }).to_string());
    match (req.method.as_str(), what) {
        ("GET", "counts") => (200, serde_json::to_string_pretty(&shared.counts()).unwrap_or_default()),
        ("POST", "rules") => {
            let rules: Result<Vec<Rule>, _> = serde_json::from_slice::<Rule>(&req.body)
                .map(|r| vec![r])
                .or_else(|_| serde_json::from_slice::<Vec<Rule>>(&req.body));
            match rules {
                Ok(rules) => {
                    let n = rules.len();
                    lock(&shared.rules).extend(rules);
                    (200, serde_json::json!({ "added": n }).to_string())
                }
                Err(e) => fail(format!("not a rule or a list of rules: {e}")),
            }
        }
        ("DELETE", "rules") => {
            lock(&shared.rules).clear();
            (200, "{}".to_string())
        }
        ("PUT", "rates") => match serde_json::from_slice::<Rates>(&req.body) {
            Ok(r) => {
                shared.set_rates(r);
                (200, "{}".to_string())
            }
            Err(e) => fail(format!("not rates: {e}")),
        },
        _ => (404, serde_json::json!({ "error": format!("no control {} {what}", req.method) }).to_string()),
    }
}

/// A proxy serving on a thread of its own (for tests and tools that have no runtime):
/// bound to `127.0.0.1` on a free port, stopped when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(config: Config) -> io::Result<Proxy> {
        let shared = Shared::new(config)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let serving = shared.clone();
        let thread = std::thread::Builder::new().name("cairn-faultproxy".into()).spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                tokio::select! {
                    _ = serve(listener, serving) => {}
                    _ = stopped => {}
                }
            });
            rt.shutdown_background();
        })?;
        Ok(Proxy { addr, shared, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn counts(&self) -> Counts {
        self.shared.counts()
    }

    pub fn add_rule(&self, rule: Rule) {
        self.shared.add_rule(rule);
    }

    pub fn set_rates(&self, rates: Rates) {
        self.shared.set_rates(rates);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_near_the_rates() {
        let config = |seed| Config {
            upstream: "http://127.0.0.1:1".into(),
            seed,
            rates: Rates { throttle: 0.1, server_error: 0.1, reset: 0.1, lose_answer: 0.0 },
            rules: Vec::new(),
        };
        let kinds = |seed| {
            let s = Shared::new(config(seed)).unwrap();
            (0..3000).map(|i| s.decide(["CreateBucket", "CreateRole", "Encrypt"][i % 3])).collect::<Vec<_>>()
        };
        let a = kinds(7);
        assert_eq!(a, kinds(7), "the same seed gives the same faults");
        assert_ne!(a, kinds(8));
        let count = |f: &dyn Fn(&Fault) -> bool| a.iter().flatten().filter(|x| f(x)).count();
        for n in [
            count(&|f| matches!(f, Fault::Throttle)),
            count(&|f| matches!(f, Fault::ServerError { .. })),
            count(&|f| matches!(f, Fault::Reset)),
        ] {
            assert!((240..360).contains(&n), "{n} of 3000 at a rate of 0.1");
        }
        assert_eq!(count(&|f| matches!(f, Fault::LoseAnswer { .. })), 0);
    }

    #[test]
    fn rules_skip_then_hit_n_times() {
        let mut config = Config::new("http://127.0.0.1:1");
        config.rules.push(Rule { operation: "PutBucketEncryption".into(), skip: 1, times: 2, fault: Fault::Reset });
        let s = Shared::new(config).unwrap();
        assert_eq!(s.decide("CreateBucket"), None);
        let got: Vec<Option<Fault>> = (0..4).map(|_| s.decide("PutBucketEncryption")).collect();
        assert_eq!(got, [None, Some(Fault::Reset), Some(Fault::Reset), None]);
    }

    #[test]
    fn bad_configurations_are_refused() {
        assert!(Shared::new(Config::new("https://x:1")).is_err());
        let mut c = Config::new("http://127.0.0.1:1");
        c.rates.throttle = 0.7;
        c.rates.reset = 0.7;
        assert!(Shared::new(c).is_err());
    }

    #[test]
    fn rules_read_from_json() {
        let r: Rule = serde_json::from_str(
            r#"{"operation": "PutBucketEncryption", "times": 1, "fault": {"kind": "refuse", "status": 403, "code": "AccessDenied", "message": "Access Denied"}}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Rule::new(
                "PutBucketEncryption",
                1,
                Fault::Refuse { status: 403, code: "AccessDenied".into(), message: "Access Denied".into() }
            )
        );
        let r: Rule =
            serde_json::from_str(r#"{"operation": "CreateRole", "fault": {"kind": "lose_answer", "then": "reset"}}"#)
                .unwrap();
        assert_eq!((r.times, r.fault), (1, Fault::LoseAnswer { then: Lost::Reset }));
    }
}
