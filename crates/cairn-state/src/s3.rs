//! The S3 backend: `s3://bucket/prefix?region=us-east-1`.
//!
//! # Layout
//!
//! ```text
//! <prefix>/stacks/<stack>/snapshot.json                     {"generation": g, "state": {...}}
//! <prefix>/stacks/<stack>/journal/<g>/<seq 012>.jsonl        one append batch, one entry a line
//! <prefix>/stacks/<stack>/lock.json                          LockInfo + a token, PutObject If-None-Match: *
//! <prefix>/stacks/<stack>/history/00000007.json              one HistoryEntry per run
//! ```
//!
//! The semantics are the local backend's ([`crate::local`]), with objects in place of
//! files:
//!
//! - [`Backend::append`] writes the batch as ONE new object, `journal/<g>/<seq>.jsonl`,
//!   where `g` is the snapshot's generation and `seq` comes from an in-memory counter
//!   (initialised by listing, at `load` or at the first append). Earlier objects are never
//!   read or rewritten, so a step costs one PUT of the size of its entries. The PUT carries
//!   `If-None-Match: *`: a sequence number already taken (another writer, a stale counter)
//!   is refused by S3 rather than overwritten, and the counter is re-read from a listing.
//!   S3 acknowledges a PUT only once it is durable.
//! - [`Backend::load`] reads the snapshot, lists `journal/`, and replays the objects of the
//!   snapshot's generation in sequence order. Objects of older generations are leftovers
//!   of a compaction that stopped before its cleanup: already folded into the snapshot, and
//!   ignored. Objects of a newer generation mean a compaction is half-way (read again) or
//!   that the snapshot was replaced or lost ([`StateError::Corrupt`]), as in the local
//!   backend.
//! - [`Backend::compact`] writes `snapshot.json` with generation `max(snapshot, journal) +
//!   1`, then deletes the older generations' journal objects (best effort). A crash
//!   between the two is safe: the generation decides what `load` replays, so no change is
//!   applied twice (`Retire` is not idempotent) and none is lost.
//! - Objects are written whole or not at all, so there are no torn lines: any line that
//!   does not parse is [`StateError::Corrupt`] naming the object and line.
//!
//! # Locking
//!
//! `lock.json` is created with a conditional PUT (`If-None-Match: *`): S3 accepts exactly
//! one of concurrent creators and answers the others 412 Precondition Failed (or 409
//! ConditionalRequestConflict while a competing write is in flight, which is retried).
//! The loser reads the holder and returns [`StateError::Locked`]; the lock is stale when
//! the holder ran on this host and its process is gone. A lock held from another host is
//! never stale (cairn cannot tell whether that process runs). The winner reads the lock
//! back and checks its own token is there, a cheap guard against a store that does not
//! make the check and the write one atomic step (see below).
//!
//! Release deletes the lock with `If-Match: <etag of our PUT>`, so a lock that was broken
//! (`cairn cancel`) and taken by another run is left alone; where the store rejects
//! conditional deletes it falls back to read, compare, delete. [`Backend::remove_stack`]
//! (`cairn stack rm`, under the lock) deletes the lock object last, after the state.
//!
//! moto (5.1.22 and 5.2.5, the emulator of the tests) honours `If-None-Match: *` on PutObject and
//! `If-Match` on DeleteObject, but it checks and writes in two steps under a threaded
//! server, so two requests arriving together can in principle both pass the check. Real S3
//! makes them atomic. The read-back above turns the likely interleavings of such a store
//! into a refused lock rather than two holders.
//!
//! # Configuration
//!
//! The region comes from the URL's `?region=`, else `AWS_REGION`; there is no silent
//! default. Credentials come from the SDK's default chain. When `AWS_ENDPOINT_URL` or
//! `AWS_ENDPOINT_URL_S3` is set (an emulator such as moto), S3 uses path-style addressing.
//! The client is built on first use, so opening a backend is synchronous and free.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use cairn_core::state::{Backend, HistoryEntry, JournalEntry, Loaded, LockInfo, StackLock, StackState, StateError};
use tokio::sync::OnceCell;

use crate::{sys, validate_stack_name};

const SNAPSHOT: &str = "snapshot.json";
const JOURNAL: &str = "journal/";
const LOCK: &str = "lock.json";
const HISTORY: &str = "history/";
/// Object metadata carrying the snapshot's generation, so an append can learn it with a
/// HEAD instead of downloading the state.
const GENERATION_META: &str = "cairn-generation";
/// Concurrent GETs when loading many objects (journal replay, history).
const READ_CONCURRENCY: usize = 32;

/// Where an `s3://` backend URL points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Empty, or ends with `/`.
    pub prefix: String,
    pub region: String,
}

impl S3Location {
    /// Parse `s3://bucket[/prefix][?region=R]`; without `?region=`, `env_region` (the
    /// caller passes `AWS_REGION`) is used, and without either it is an error.
    pub fn parse(url: &str, env_region: Option<&str>) -> Result<S3Location, StateError> {
        let bad = |why: String| StateError::UnsupportedBackend(format!("`{url}`: {why}"));
        let rest = url.strip_prefix("s3://").ok_or_else(|| bad("expected `s3://<bucket>/<prefix>`".into()))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (bucket, prefix) = match path.split_once('/') {
            Some((b, p)) => (b, p),
            None => (path, ""),
        };
        if bucket.is_empty() {
            return Err(bad("names no bucket; use `s3://<bucket>/<prefix>?region=<region>`".into()));
        }
        if !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
            return Err(bad(format!(
                "`{bucket}` is not a valid bucket name (lowercase letters, digits, `-` and `.` only)"
            )));
        }
        let mut region = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("region", r)) if !r.is_empty() => region = Some(r.to_string()),
                _ => {
                    return Err(bad(format!("unknown or empty parameter `{pair}`; only `region=<region>` is accepted")))
                }
            }
        }
        let region = match region.or_else(|| env_region.filter(|r| !r.trim().is_empty()).map(|r| r.trim().to_string()))
        {
            Some(r) => r,
            None => {
                return Err(bad(format!(
                    "no region: add `?region=<the bucket's region>` (e.g. `s3://{bucket}/{prefix}?region=us-east-1`) or set AWS_REGION"
                )))
            }
        };
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        Ok(S3Location { bucket: bucket.to_string(), prefix, region })
    }
}

/// State in an S3 bucket (see the module docs). Cheap to share behind an `Arc`.
pub struct S3Backend {
    inner: Arc<Inner>,
}

struct Inner {
    loc: S3Location,
    client: OnceCell<Client>,
    /// Journal cursors by stack; each slot's mutex also serializes appends and
    /// compaction of that stack within this process.
    cursors: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cursor>>>>>,
    bytes_written: AtomicU64,
    puts: AtomicU64,
}

/// Where the next journal object of a stack goes.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    generation: u64,
    next_seq: u64,
}

/// A journal object's place: generation and sequence number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct JournalKey {
    generation: u64,
    seq: u64,
    key: String,
}

impl S3Backend {
    /// A backend for an `s3://` URL; the region comes from the URL or `AWS_REGION`. The
    /// client (credentials, endpoint) is loaded on first use.
    pub fn from_url(url: &str) -> Result<S3Backend, StateError> {
        let region = std::env::var("AWS_REGION").ok();
        Ok(S3Backend::new(S3Location::parse(url, region.as_deref())?, None))
    }

    /// A backend over a given client (tests, benchmarks).
    pub fn with_client(client: Client, bucket: &str, prefix: &str) -> S3Backend {
        let prefix = prefix.trim_matches('/');
        let loc = S3Location {
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() { String::new() } else { format!("{prefix}/") },
            region: String::new(),
        };
        S3Backend::new(loc, Some(client))
    }

    fn new(loc: S3Location, client: Option<Client>) -> S3Backend {
        let cell = OnceCell::new();
        if let Some(c) = client {
            let _ = cell.set(c);
        }
        S3Backend {
            inner: Arc::new(Inner {
                loc,
                client: cell,
                cursors: Mutex::new(HashMap::new()),
                bytes_written: AtomicU64::new(0),
                puts: AtomicU64::new(0),
            }),
        }
    }

    pub fn location(&self) -> &S3Location {
        &self.inner.loc
    }

    /// Bytes of object bodies this backend has PUT so far (for benchmarks).
    pub fn bytes_written(&self) -> u64 {
        self.inner.bytes_written.load(Ordering::Relaxed)
    }

    /// PUT requests this backend has made so far (for benchmarks).
    pub fn puts(&self) -> u64 {
        self.inner.puts.load(Ordering::Relaxed)
    }

    /// The S3 client: the SDK's default configuration with this backend's region,
    /// path-style when an endpoint URL is configured.
    pub async fn client(&self) -> &Client {
        self.inner.client().await
    }
}

/// The client for `region` from the SDK's default configuration (credential chain,
/// `AWS_ENDPOINT_URL[_S3]`), with standard retries; path-style when an endpoint is set.
pub async fn client_for_region(region: &str) -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .retry_config(cairn_aws_errors::retry_config())
        .load()
        .await;
    let custom_endpoint = config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let mut conf = aws_sdk_s3::config::Builder::from(&config);
    if custom_endpoint {
        conf = conf.force_path_style(true);
    }
    Client::from_conf(conf.build())
}

#[async_trait]
impl Backend for S3Backend {
    fn describe(&self) -> String {
        let loc = &self.inner.loc;
        format!("s3://{}/{}", loc.bucket, loc.prefix.trim_end_matches('/'))
    }

    async fn lock(&self, stack: &str, info: LockInfo) -> Result<Box<dyn StackLock>, StateError> {
        validate_stack_name(stack)?;
        self.inner.lock(stack, &info).await
    }

    async fn lock_holder(&self, stack: &str) -> Result<Option<(LockInfo, bool)>, StateError> {
        validate_stack_name(stack)?;
        let key = self.inner.key(stack, LOCK);
        Ok(self.inner.get(&key).await?.map(|bytes| holder_of(&bytes)))
    }

    async fn break_lock(&self, stack: &str) -> Result<bool, StateError> {
        validate_stack_name(stack)?;
        let key = self.inner.key(stack, LOCK);
        let client = self.inner.client().await;
        match client.head_object().bucket(&self.inner.loc.bucket).key(&key).send().await {
            Ok(_) => {}
            Err(e) if status(&e) == Some(404) => return Ok(false),
            Err(e) => return Err(self.inner.sdk_err("read", &key, e)),
        }
        self.inner.delete(&key).await?;
        Ok(true)
    }

    async fn load(&self, stack: &str) -> Result<Loaded, StateError> {
        validate_stack_name(stack)?;
        // A journal ahead of the snapshot, or a journal object gone between the listing
        // and its read, is what a reader sees while another process compacts: read again.
        for attempt in 0..3 {
            if let Some(loaded) = self.inner.load_once(stack, false).await? {
                return Ok(loaded);
            }
            tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
        }
        self.inner
            .load_once(stack, true)
            .await?
            .ok_or_else(|| StateError::Io("the state kept changing while it was read".into()))
    }

    async fn append(&self, stack: &str, entries: &[JournalEntry]) -> Result<(), StateError> {
        validate_stack_name(stack)?;
        if entries.is_empty() {
            return Ok(());
        }
        let buf = crate::format::encode_entries(entries)?;
        self.inner.append(stack, buf).await
    }

    async fn compact(&self, stack: &str, state: &StackState) -> Result<(), StateError> {
        validate_stack_name(stack)?;
        let state = crate::format::encode_state(stack, state)?;
        self.inner.compact(stack, &state).await
    }

    async fn list_stacks(&self) -> Result<Vec<String>, StateError> {
        let prefix = format!("{}stacks/", self.inner.loc.prefix);
        let (_, dirs) = self.inner.list(&prefix, true).await?;
        let mut stacks: Vec<String> = dirs
            .iter()
            .filter_map(|d| d.strip_prefix(&prefix)?.strip_suffix('/'))
            .filter(|name| validate_stack_name(name).is_ok())
            .map(str::to_string)
            .collect();
        stacks.sort();
        stacks.dedup();
        Ok(stacks)
    }

    async fn remove_stack(&self, stack: &str) -> Result<(), StateError> {
        validate_stack_name(stack)?;
        let slot = self.inner.slot(stack);
        let mut cursor = slot.lock().await;
        *cursor = None;
        let (keys, _) = self.inner.list(&self.inner.key(stack, ""), false).await?;
        // The lock (the caller's) goes last: until the state is gone, no other run can
        // take the stack.
        let lock = self.inner.key(stack, LOCK);
        let (locks, state): (Vec<String>, Vec<String>) = keys.into_iter().partition(|k| *k == lock);
        self.inner.delete_many(&state).await?;
        if !locks.is_empty() {
            self.inner.delete(&lock).await?;
        }
        if state.is_empty() {
            return Err(StateError::NoSuchStack(stack.to_string()));
        }
        Ok(())
    }

    async fn add_history(&self, stack: &str, entry: &HistoryEntry) -> Result<(), StateError> {
        validate_stack_name(stack)?;
        let bytes = serde_json::to_vec_pretty(entry)
            .map_err(|e| StateError::Io(format!("cannot encode a history entry: {e}")))?;
        let key = self.inner.key(stack, &format!("{HISTORY}{:08}.json", entry.version));
        self.inner.put(&key, bytes, None).await.map(|_| ())
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, StateError> {
        validate_stack_name(stack)?;
        let prefix = self.inner.key(stack, HISTORY);
        let (keys, _) = self.inner.list(&prefix, false).await?;
        let mut versioned: Vec<(u64, String)> = keys
            .into_iter()
            .filter_map(|k| {
                let stem = k.strip_prefix(&prefix)?.strip_suffix(".json")?;
                if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some((stem.parse().ok()?, k))
            })
            .collect();
        versioned.sort();
        let keys: Vec<String> = versioned.into_iter().map(|(_, k)| k).collect();
        let mut out = Vec::new();
        for (key, bytes) in keys.iter().zip(self.inner.get_many(&keys).await?) {
            // Removed since listed (the stack was removed): not part of it any more.
            let Some(bytes) = bytes else { continue };
            let entry: HistoryEntry = serde_json::from_slice(&bytes)
                .map_err(|e| StateError::Corrupt { stack: stack.to_string(), message: format!("{key}: {e}") })?;
            out.push(entry);
        }
        out.sort_by_key(|e| e.version);
        Ok(out)
    }
}

impl Inner {
    async fn client(&self) -> &Client {
        self.client.get_or_init(|| client_for_region(&self.loc.region)).await
    }

    /// The key of `rest` in the stack's folder (`rest` empty: the folder itself).
    fn key(&self, stack: &str, rest: &str) -> String {
        format!("{}stacks/{stack}/{rest}", self.loc.prefix)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.loc.bucket)
    }

    fn slot(&self, stack: &str) -> Arc<tokio::sync::Mutex<Option<Cursor>>> {
        let mut map = self.cursors.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(stack.to_string()).or_default().clone()
    }

    fn sdk_err<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
        &self,
        action: &str,
        key: &str,
        e: SdkError<E, HttpResponse>,
    ) -> StateError {
        let detail = match e.code() {
            Some("NoSuchBucket") => {
                format!("the bucket `{}` does not exist (create it, or fix the backend URL)", self.loc.bucket)
            }
            _ => cairn_aws_errors::sdk_error(e).detail(),
        };
        StateError::Io(format!("cannot {action} {}: {detail}", self.url(key)))
    }

    /// GET an object; `None` when it does not exist.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        get_object(self.client().await, &self.loc.bucket, key).await.map_err(|e| match e {
            GetError::Sdk(e) => self.sdk_err("read", key, *e),
            GetError::Body(msg) => StateError::Io(format!("cannot read {}: {msg}", self.url(key))),
        })
    }

    /// GET many objects, a bounded number at a time; results in the order of `keys`.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StateError> {
        let client = self.client().await.clone();
        let mut out: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        let mut set = tokio::task::JoinSet::new();
        let mut next = 0;
        loop {
            while set.len() < READ_CONCURRENCY && next < keys.len() {
                let (client, bucket, key, i) = (client.clone(), self.loc.bucket.clone(), keys[next].clone(), next);
                set.spawn(async move { (i, get_object(&client, &bucket, &key).await) });
                next += 1;
            }
            let Some(done) = set.join_next().await else { break };
            let (i, res) = done.map_err(|e| StateError::Io(format!("a state storage task failed: {e}")))?;
            out[i] = res.map_err(|e| match e {
                GetError::Sdk(e) => self.sdk_err("read", &keys[i], *e),
                GetError::Body(msg) => StateError::Io(format!("cannot read {}: {msg}", self.url(&keys[i]))),
            })?;
        }
        Ok(out)
    }

    /// PUT an object (with `If-None-Match: *` when `only_new`); returns its ETag.
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        metadata: Option<(&str, String)>,
    ) -> Result<Option<String>, StateError> {
        self.put_cond(key, bytes, metadata, false).await.map_err(|e| self.sdk_err("write", key, e))
    }

    async fn put_cond(
        &self,
        key: &str,
        bytes: Vec<u8>,
        metadata: Option<(&str, String)>,
        only_new: bool,
    ) -> Result<Option<String>, SdkError<aws_sdk_s3::operation::put_object::PutObjectError, HttpResponse>> {
        let len = bytes.len() as u64;
        let mut req = self
            .client()
            .await
            .put_object()
            .bucket(&self.loc.bucket)
            .key(key)
            .content_type(if key.ends_with(".jsonl") { "application/x-ndjson" } else { "application/json" })
            .body(ByteStream::from(bytes));
        if let Some((k, v)) = metadata {
            req = req.metadata(k, v);
        }
        if only_new {
            req = req.if_none_match("*");
        }
        let out = req.send().await?;
        self.bytes_written.fetch_add(len, Ordering::Relaxed);
        self.puts.fetch_add(1, Ordering::Relaxed);
        Ok(out.e_tag().map(str::to_string))
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        let client = self.client().await;
        match client.delete_object().bucket(&self.loc.bucket).key(key).send().await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.sdk_err("delete", key, e)),
        }
    }

    /// Delete keys with DeleteObjects, up to 1,000 a request.
    async fn delete_many(&self, keys: &[String]) -> Result<(), StateError> {
        let client = self.client().await;
        for chunk in keys.chunks(1000) {
            let ids = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StateError::Io(format!("cannot build a delete request: {e}")))?;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| StateError::Io(format!("cannot build a delete request: {e}")))?;
            let out = client
                .delete_objects()
                .bucket(&self.loc.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.sdk_err("delete objects under", &chunk[0], e))?;
            if let Some(err) = out.errors().first() {
                let key = err.key().unwrap_or("?");
                return Err(StateError::Io(format!(
                    "cannot delete {}: {}: {}",
                    self.url(key),
                    err.code().unwrap_or("error"),
                    err.message().unwrap_or("")
                )));
            }
        }
        Ok(())
    }

    /// Keys (and, with `dirs`, the `/`-delimited common prefixes) under `prefix`.
    async fn list(&self, prefix: &str, dirs: bool) -> Result<(Vec<String>, Vec<String>), StateError> {
        let client = self.client().await;
        let mut keys = Vec::new();
        let mut common = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = client.list_objects_v2().bucket(&self.loc.bucket).prefix(prefix);
            if dirs {
                req = req.delimiter("/");
            }
            if let Some(t) = token.take() {
                req = req.continuation_token(t);
            }
            let out = req.send().await.map_err(|e| self.sdk_err("list", prefix, e))?;
            keys.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_string)));
            common.extend(out.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_string)));
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok((keys, common))
    }

    /// The journal objects of a stack, all generations, sorted by (generation, seq).
    async fn journal_keys(&self, stack: &str) -> Result<Vec<JournalKey>, StateError> {
        let prefix = self.key(stack, JOURNAL);
        let (keys, _) = self.list(&prefix, false).await?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(rest) = key.strip_prefix(&prefix) else { continue };
            if rest.is_empty() || rest.ends_with('/') {
                continue; // a "folder" placeholder some tools create
            }
            let parsed = rest.split_once('/').and_then(|(g, name)| {
                let seq = name.strip_suffix(".jsonl")?;
                let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                if !all_digits(g) || !all_digits(seq) {
                    return None;
                }
                Some((g.parse::<u64>().ok()?, seq.parse::<u64>().ok()?))
            });
            let Some((generation, seq)) = parsed else {
                return Err(StateError::Corrupt {
                    stack: stack.to_string(),
                    message: format!(
                        "{}: not a journal object name (expected journal/<generation>/<sequence>.jsonl)",
                        self.url(&key)
                    ),
                });
            };
            out.push(JournalKey { generation, seq, key });
        }
        out.sort();
        Ok(out)
    }

    /// The snapshot's generation without downloading the state when its metadata has it;
    /// 0 when there is no snapshot.
    async fn snapshot_generation(&self, stack: &str) -> Result<u64, StateError> {
        let key = self.key(stack, SNAPSHOT);
        let client = self.client().await;
        let head = match client.head_object().bucket(&self.loc.bucket).key(&key).send().await {
            Ok(h) => h,
            Err(e) if status(&e) == Some(404) => return Ok(0),
            Err(e) => return Err(self.sdk_err("read", &key, e)),
        };
        if let Some(g) = head.metadata().and_then(|m| m.get(GENERATION_META)).and_then(|g| g.parse().ok()) {
            return Ok(g);
        }
        // Written by something else (an import by hand): read it.
        let Some(bytes) = self.get(&key).await? else { return Ok(0) };
        let g: crate::format::SnapshotGeneration = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            stack: stack.to_string(),
            message: format!("{}: {e}", self.url(&key)),
        })?;
        Ok(g.generation)
    }

    /// One read of snapshot then journal; `None` when it should be read again (the
    /// journal is ahead of the snapshot, or an object vanished) and `last_try` is false.
    async fn load_once(&self, stack: &str, last_try: bool) -> Result<Option<Loaded>, StateError> {
        let corrupt = |message: String| StateError::Corrupt { stack: stack.to_string(), message };
        let snap_key = self.key(stack, SNAPSHOT);
        let (snap_gen, mut state) = match self.get(&snap_key).await? {
            None => crate::format::empty_snapshot(),
            Some(bytes) => crate::format::decode_snapshot(&bytes, &self.url(&snap_key)).map_err(corrupt)?,
        };
        let journal = self.journal_keys(stack).await?;
        if let Some(ahead) = journal.iter().find(|k| k.generation > snap_gen) {
            if !last_try {
                return Ok(None);
            }
            return Err(corrupt(format!(
                "{} has generation {} but {} only {snap_gen}: the snapshot was replaced or lost",
                self.url(&ahead.key),
                ahead.generation,
                self.url(&snap_key)
            )));
        }
        // Older generations: a compaction wrote the snapshot and stopped before deleting
        // them; already in the snapshot.
        let current: Vec<&JournalKey> = journal.iter().filter(|k| k.generation == snap_gen).collect();
        let keys: Vec<String> = current.iter().map(|k| k.key.clone()).collect();
        let bodies = self.get_many(&keys).await?;
        let mut entries = Vec::new();
        for (key, body) in keys.iter().zip(bodies) {
            let Some(body) = body else {
                // Deleted since listed: a compaction in another process finished.
                if last_try {
                    return Err(StateError::Io("the state kept changing while it was read".into()));
                }
                return Ok(None);
            };
            for (i, line) in body.split(|&b| b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let entry: JournalEntry = serde_json::from_slice(line)
                    .map_err(|e| corrupt(format!("{} line {}: {e}", self.url(key), i + 1)))?;
                entries.push(entry);
            }
        }
        let mut loaded = Loaded {
            last_op: entries.iter().filter_map(entry_op).max().unwrap_or(0),
            interrupted: state.replay(&entries),
            state: StackState::default(),
        };
        loaded.state = state;
        // The next append of this process goes after what was read.
        let next_seq = current.last().map(|k| k.seq + 1).unwrap_or(1);
        *self.slot(stack).lock().await = Some(Cursor { generation: snap_gen, next_seq });
        Ok(Some(loaded))
    }

    /// Where the next journal object goes, from the snapshot's generation and a listing.
    async fn init_cursor(&self, stack: &str) -> Result<Cursor, StateError> {
        let generation = self.snapshot_generation(stack).await?;
        let journal = self.journal_keys(stack).await?;
        if let Some(ahead) = journal.iter().find(|k| k.generation > generation) {
            return Err(StateError::Corrupt {
                stack: stack.to_string(),
                message: format!(
                    "{} has generation {} but the snapshot only {generation}: the snapshot was replaced or lost",
                    self.url(&ahead.key),
                    ahead.generation
                ),
            });
        }
        let next_seq = journal.iter().filter(|k| k.generation == generation).map(|k| k.seq + 1).max().unwrap_or(1);
        Ok(Cursor { generation, next_seq })
    }

    async fn append(&self, stack: &str, buf: Vec<u8>) -> Result<(), StateError> {
        let slot = self.slot(stack);
        let mut guard = slot.lock().await;
        for _ in 0..3 {
            let cursor = match *guard {
                Some(c) => c,
                None => *guard.insert(self.init_cursor(stack).await?),
            };
            let key = self.key(stack, &format!("{JOURNAL}{}/{:012}.jsonl", cursor.generation, cursor.next_seq));
            match self.put_cond(&key, buf.clone(), None, true).await {
                Ok(_) => {
                    *guard = Some(Cursor { next_seq: cursor.next_seq + 1, ..cursor });
                    return Ok(());
                }
                // The number is taken (another writer, or our counter is behind): list again.
                Err(e) if matches!(status(&e), Some(412) | Some(409)) => *guard = None,
                Err(e) => return Err(self.sdk_err("write", &key, e)),
            }
        }
        Err(StateError::Io(format!(
            "cannot append to the journal of `{stack}` in {}: its sequence numbers kept being taken (is another process writing this stack?)",
            self.url(&self.key(stack, JOURNAL))
        )))
    }

    async fn compact(&self, stack: &str, state_json: &[u8]) -> Result<(), StateError> {
        let slot = self.slot(stack);
        let mut guard = slot.lock().await;
        *guard = None;
        let snap_gen = self.snapshot_generation(stack).await?;
        let journal = self.journal_keys(stack).await?;
        let generation = journal.iter().map(|k| k.generation).max().unwrap_or(0).max(snap_gen) + 1;
        let mut snapshot = Vec::with_capacity(state_json.len() + 40);
        snapshot.extend_from_slice(format!("{{\"generation\":{generation},\"state\":").as_bytes());
        snapshot.extend_from_slice(state_json);
        snapshot.extend_from_slice(b"}\n");
        self.put(&self.key(stack, SNAPSHOT), snapshot, Some((GENERATION_META, generation.to_string()))).await?;
        *guard = Some(Cursor { generation, next_seq: 1 });
        // Best effort: what is left behind is of an older generation, which load ignores
        // and the next compaction deletes.
        let old: Vec<String> = journal.into_iter().map(|k| k.key).collect();
        let _ = self.delete_many(&old).await;
        Ok(())
    }

    async fn lock(&self, stack: &str, info: &LockInfo) -> Result<Box<dyn StackLock>, StateError> {
        let key = self.key(stack, LOCK);
        let body = lock_body(info)?;
        // A few tries: the holder may release between our PUT and our read.
        for attempt in 0..5u64 {
            match self.put_cond(&key, body.clone(), None, true).await {
                Ok(etag) => {
                    // Read back: our token must be what is stored.
                    match self.get(&key).await? {
                        Some(stored) if stored == body => {
                            return Ok(Box::new(S3Lock {
                                client: self.client().await.clone(),
                                bucket: self.loc.bucket.clone(),
                                key,
                                etag,
                                body,
                                released: false,
                            }))
                        }
                        Some(stored) => {
                            let (holder, stale) = holder_of(&stored);
                            return Err(StateError::Locked { stack: stack.to_string(), holder, stale });
                        }
                        // Broken (`cairn cancel`) the moment after we took it: try again.
                        None => continue,
                    }
                }
                Err(e) if status(&e) == Some(412) => {
                    if let Some(bytes) = self.get(&key).await? {
                        let (holder, stale) = holder_of(&bytes);
                        return Err(StateError::Locked { stack: stack.to_string(), holder, stale });
                    }
                    // Released between our PUT and our read: try again.
                }
                // A competing conditional write is in flight: try again shortly.
                Err(e) if status(&e) == Some(409) => {
                    tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
                }
                Err(e) => return Err(self.sdk_err("write", &key, e)),
            }
        }
        Err(StateError::Io(format!("could not take the lock {} (it kept changing hands)", self.url(&key))))
    }
}

/// The lock object: the holder plus a token unique to this acquisition (so that two
/// acquisitions by one process never look alike).
fn lock_body(info: &LockInfo) -> Result<Vec<u8>, StateError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut v = serde_json::to_value(info).map_err(|e| StateError::Io(format!("cannot encode the lock: {e}")))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let token =
        format!("{}-{}-{nanos:x}-{}", sys::hostname(), std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("token".into(), serde_json::Value::String(token));
    }
    serde_json::to_vec_pretty(&v).map_err(|e| StateError::Io(format!("cannot encode the lock: {e}")))
}

/// The holder named by a lock object and whether it is stale (same host, process gone).
/// An unreadable lock is held by `unknown`, never stale.
fn holder_of(bytes: &[u8]) -> (LockInfo, bool) {
    match serde_json::from_slice::<LockInfo>(bytes) {
        Ok(holder) => {
            let stale = crate::holder_state(&holder) == crate::HolderState::Gone;
            (holder, stale)
        }
        Err(_) => {
            let unknown = || "unknown".to_string();
            (LockInfo { user: unknown(), host: unknown(), pid: 0, operation: unknown(), started: unknown() }, false)
        }
    }
}

/// A lock held through `lock.json`; deleted on release (best effort on drop) unless it
/// is no longer ours.
struct S3Lock {
    client: Client,
    bucket: String,
    key: String,
    etag: Option<String>,
    body: Vec<u8>,
    released: bool,
}

impl S3Lock {
    fn parts(&self) -> (Client, String, String, Option<String>, Vec<u8>) {
        (self.client.clone(), self.bucket.clone(), self.key.clone(), self.etag.clone(), self.body.clone())
    }
}

/// Delete the lock if it still holds `body`: `If-Match` on its ETag where the store
/// supports conditional deletes, else read, compare, delete.
async fn remove_if_ours(
    client: &Client,
    bucket: &str,
    key: &str,
    etag: Option<&str>,
    body: &[u8],
) -> Result<(), StateError> {
    let err = |action: &str, detail: String| StateError::Io(format!("cannot {action} s3://{bucket}/{key}: {detail}"));
    if let Some(etag) = etag {
        match client.delete_object().bucket(bucket).key(key).if_match(etag).send().await {
            Ok(_) => return Ok(()),
            // Someone else's now (broken and taken), or gone: nothing of ours to remove.
            Err(e) if matches!(status(&e), Some(412) | Some(404)) => return Ok(()),
            // The store does not do conditional deletes: compare by hand below.
            Err(e) if matches!(status(&e), Some(501) | Some(400)) => {}
            Err(e) => return Err(err("delete", cairn_aws_errors::sdk_error(e).detail())),
        }
    }
    match get_object(client, bucket, key).await {
        Ok(Some(stored)) if stored == body => {}
        Ok(_) => return Ok(()),
        Err(GetError::Sdk(e)) => return Err(err("read", cairn_aws_errors::sdk_error(*e).detail())),
        Err(GetError::Body(msg)) => return Err(err("read", msg)),
    }
    match client.delete_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(()),
        Err(e) if status(&e) == Some(404) => Ok(()),
        Err(e) => Err(err("delete", cairn_aws_errors::sdk_error(e).detail())),
    }
}

#[async_trait]
impl StackLock for S3Lock {
    async fn release(mut self: Box<Self>) -> Result<(), StateError> {
        self.released = true;
        let (client, bucket, key, etag, body) = self.parts();
        remove_if_ours(&client, &bucket, &key, etag.as_deref(), &body).await
    }
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // Best effort: only possible inside a runtime that lives on.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (client, bucket, key, etag, body) = self.parts();
            rt.spawn(async move {
                let _ = remove_if_ours(&client, &bucket, &key, etag.as_deref(), &body).await;
            });
        }
    }
}

enum GetError {
    Sdk(Box<SdkError<aws_sdk_s3::operation::get_object::GetObjectError, HttpResponse>>),
    Body(String),
}

async fn get_object(client: &Client, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, GetError> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let data = out.body.collect().await.map_err(|e| GetError::Body(e.to_string()))?;
            Ok(Some(data.into_bytes().to_vec()))
        }
        Err(e) if status(&e) == Some(404) => Ok(None),
        Err(e) => Err(GetError::Sdk(Box::new(e))),
    }
}

/// The HTTP status of a service error, if the request got an answer.
fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

fn entry_op(e: &JournalEntry) -> Option<u64> {
    match e {
        JournalEntry::Begin { op, .. } | JournalEntry::Commit { op, .. } | JournalEntry::Abort { op, .. } => Some(*op),
        JournalEntry::Apply { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let loc = S3Location::parse("s3://my-bucket/team/state?region=eu-west-1", None).unwrap();
        assert_eq!(
            loc,
            S3Location { bucket: "my-bucket".into(), prefix: "team/state/".into(), region: "eu-west-1".into() }
        );
        let loc = S3Location::parse("s3://b", Some("us-west-2")).unwrap();
        assert_eq!((loc.prefix.as_str(), loc.region.as_str()), ("", "us-west-2"));
        let loc = S3Location::parse("s3://b/p/?region=ap-south-1", Some("us-west-2")).unwrap();
        assert_eq!((loc.prefix.as_str(), loc.region.as_str()), ("p/", "ap-south-1"));
        for (bad, says) in [
            ("s3://b/p", "?region="),
            ("s3://b/p?region=", "unknown or empty"),
            ("s3:///p?region=us-east-1", "no bucket"),
            ("s3://B_ad/p?region=us-east-1", "not a valid bucket"),
            ("s3://b/p?region=us-east-1&endpoint=x", "endpoint=x"),
        ] {
            let err = S3Location::parse(bad, None).unwrap_err();
            assert!(matches!(&err, StateError::UnsupportedBackend(m) if m.contains(says)), "{bad}: {err}");
        }
        // An empty AWS_REGION is no region.
        assert!(S3Location::parse("s3://b/p", Some(" ")).is_err());
    }

    #[test]
    fn lock_bodies_are_unique_and_name_the_holder() {
        let info = crate::lock_info("up");
        let (a, b) = (lock_body(&info).unwrap(), lock_body(&info).unwrap());
        assert_ne!(a, b);
        let (holder, stale) = holder_of(&a);
        assert_eq!(holder, info);
        assert!(!stale, "our own process is alive");
        let (holder, stale) = holder_of(b"not json");
        assert_eq!((holder.user.as_str(), stale), ("unknown", false));
    }
}
