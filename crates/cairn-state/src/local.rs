//! The local directory backend.
//!
//! # Layout
//!
//! ```text
//! <root>/stacks/<stack>/snapshot.json        {"generation": g, "state": {...StackState}}
//! <root>/stacks/<stack>/journal.jsonl        {"generation": g}\n then one JournalEntry a line
//! <root>/stacks/<stack>/lock.json            LockInfo, created with O_EXCL
//! <root>/stacks/<stack>/history/00000007.json  one HistoryEntry per run
//! ```
//!
//! # Durability
//!
//! - [`Backend::append`] serializes the batch to one buffer, writes it with one `write` to
//!   the journal (kept open in append mode between calls) and calls `fdatasync` once.
//!   It never reads or rewrites the snapshot.
//! - [`Backend::compact`] writes `snapshot.json.tmp`, syncs it, renames it over
//!   `snapshot.json`, syncs the directory, then replaces the journal (again tmp + rename)
//!   with an empty one. The snapshot's `generation` is one more than the journal's header:
//!   a crash between the two renames leaves a journal whose header generation is lower
//!   than the snapshot's, which [`Backend::load`] ignores as already folded in. So no
//!   change is applied twice (`Retire` is not idempotent) and none is lost.
//! - A torn last journal line (a crash mid-append, the entry was never acknowledged) is
//!   skipped by `load` and cut off before the next append. Any other unreadable line is
//!   [`StateError::Corrupt`] with its line number.
//!
//! A journal header generation higher than the snapshot's never happens through this
//! code (the snapshot is renamed first); it means the snapshot was replaced by hand, and
//! is reported as corrupt rather than replayed onto the wrong base.
//!
//! [`Backend::remove_stack`] renames `<root>/stacks/<stack>` to `<root>/.removed-...` (one
//! step, the caller's lock included), then deletes that.
//!
//! One `LocalBackend` per directory per process is the intended use; appends still notice
//! a journal replaced underneath them (by another instance's compaction) and reopen it.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cairn_core::state::{Backend, HistoryEntry, JournalEntry, Loaded, LockInfo, StackLock, StackState, StateError};
use serde::Deserialize;

use crate::validate_stack_name;

const SNAPSHOT: &str = "snapshot.json";
const JOURNAL: &str = "journal.jsonl";
const LOCK: &str = "lock.json";
const HISTORY: &str = "history";

/// State in a local directory. Cheap to share behind an `Arc`; all file work runs on
/// tokio's blocking pool.
pub struct LocalBackend {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    /// Open journals by stack; each slot's mutex also serializes appends and compaction
    /// of that stack within this process.
    journals: Mutex<HashMap<String, Arc<Mutex<Option<OpenJournal>>>>>,
}

/// A journal file open for appending, with the identity of the file it was opened as (to
/// notice a replacement).
struct OpenJournal {
    file: File,
    dev: u64,
    ino: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalHeader {
    generation: u64,
}

impl LocalBackend {
    /// A backend over `root` (e.g. `<project>/.cairn`). Nothing is created until written.
    pub fn new(root: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend { inner: Arc::new(Inner { root: root.into(), journals: Mutex::new(HashMap::new()) }) }
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The version the next [`HistoryEntry`] of `stack` should carry: one more than the
    /// highest recorded, 1 for the first run.
    pub async fn next_version(&self, stack: &str) -> Result<u64, StateError> {
        validate_stack_name(stack)?;
        let stack = stack.to_string();
        self.blocking(move |inner| {
            let versions = inner.history_files(&stack)?;
            Ok(versions.iter().map(|(v, _)| *v).max().unwrap_or(0) + 1)
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, StateError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| StateError::Io(format!("a state storage task failed: {e}")))?
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn describe(&self) -> String {
        format!("file://{}", self.inner.root.display())
    }

    async fn lock(&self, stack: &str, info: LockInfo) -> Result<Box<dyn StackLock>, StateError> {
        validate_stack_name(stack)?;
        let stack = stack.to_string();
        self.blocking(move |inner| inner.lock(&stack, &info)).await
    }

    async fn lock_holder(&self, stack: &str) -> Result<Option<(LockInfo, bool)>, StateError> {
        validate_stack_name(stack)?;
        let path = self.inner.stack_dir(stack).join(LOCK);
        self.blocking(move |_| read_holder(&path)).await
    }

    async fn break_lock(&self, stack: &str) -> Result<bool, StateError> {
        validate_stack_name(stack)?;
        let path = self.inner.stack_dir(stack).join(LOCK);
        self.blocking(move |_| match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("remove", &path, e)),
        })
        .await
    }

    async fn load(&self, stack: &str) -> Result<Loaded, StateError> {
        validate_stack_name(stack)?;
        let stack = stack.to_string();
        self.blocking(move |inner| inner.load(&stack)).await
    }

    async fn append(&self, stack: &str, entries: &[JournalEntry]) -> Result<(), StateError> {
        validate_stack_name(stack)?;
        if entries.is_empty() {
            return Ok(());
        }
        let buf = crate::format::encode_entries(entries)?;
        let stack = stack.to_string();
        self.blocking(move |inner| inner.append(&stack, &buf)).await
    }

    async fn compact(&self, stack: &str, state: &StackState) -> Result<(), StateError> {
        validate_stack_name(stack)?;
        let state = crate::format::encode_state(stack, state)?;
        let stack = stack.to_string();
        self.blocking(move |inner| inner.compact(&stack, &state)).await
    }

    async fn list_stacks(&self) -> Result<Vec<String>, StateError> {
        let dir = self.inner.root.join("stacks");
        self.blocking(move |_| {
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io_err("list", &dir, e)),
            };
            let mut stacks = Vec::new();
            for ent in rd {
                let ent = ent.map_err(|e| io_err("list", &dir, e))?;
                let Ok(name) = ent.file_name().into_string() else {
                    continue;
                };
                let is_dir = ent.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if is_dir && validate_stack_name(&name).is_ok() {
                    stacks.push(name);
                }
            }
            stacks.sort();
            Ok(stacks)
        })
        .await
    }

    async fn remove_stack(&self, stack: &str) -> Result<(), StateError> {
        validate_stack_name(stack)?;
        let stack = stack.to_string();
        self.blocking(move |inner| {
            let slot = inner.slot(&stack);
            let mut journal = slot.lock().unwrap_or_else(|p| p.into_inner());
            *journal = None;
            let dir = inner.stack_dir(&stack);
            // One rename takes the whole stack away at once, its lock (the caller's)
            // with it: no other run sees a half-removed stack that is no longer locked.
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            let doomed = inner.root.join(format!(".removed-{stack}-{}-{nanos:x}", std::process::id()));
            match fs::rename(&dir, &doomed) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StateError::NoSuchStack(stack.clone())),
                Err(e) => return Err(io_err("remove", &dir, e)),
            }
            let had_state = fs::read_dir(&doomed)
                .map(|rd| rd.filter_map(Result::ok).any(|e| e.file_name() != LOCK))
                .unwrap_or(true);
            fs::remove_dir_all(&doomed).map_err(|e| io_err("remove", &doomed, e))?;
            if had_state {
                Ok(())
            } else {
                Err(StateError::NoSuchStack(stack.clone()))
            }
        })
        .await
    }

    async fn add_history(&self, stack: &str, entry: &HistoryEntry) -> Result<(), StateError> {
        validate_stack_name(stack)?;
        let bytes = serde_json::to_vec_pretty(entry)
            .map_err(|e| StateError::Io(format!("cannot encode a history entry: {e}")))?;
        let dir = self.inner.stack_dir(stack).join(HISTORY);
        let name = format!("{:08}.json", entry.version);
        self.blocking(move |_| {
            fs::create_dir_all(&dir).map_err(|e| io_err("create", &dir, e))?;
            write_atomic(&dir, &name, &bytes)
        })
        .await
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, StateError> {
        validate_stack_name(stack)?;
        let stack = stack.to_string();
        self.blocking(move |inner| {
            let mut out = Vec::new();
            for (_, path) in inner.history_files(&stack)? {
                let bytes = match fs::read(&path) {
                    Ok(b) => b,
                    // Removed since listed (the stack was removed): not part of it any more.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_err("read", &path, e)),
                };
                let entry: HistoryEntry = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                    stack: stack.clone(),
                    message: format!("{}: {e}", path.display()),
                })?;
                out.push(entry);
            }
            out.sort_by_key(|e| e.version);
            Ok(out)
        })
        .await
    }
}

impl Inner {
    fn stack_dir(&self, stack: &str) -> PathBuf {
        self.root.join("stacks").join(stack)
    }

    fn slot(&self, stack: &str) -> Arc<Mutex<Option<OpenJournal>>> {
        let mut map = self.journals.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(stack.to_string()).or_default().clone()
    }

    fn lock(&self, stack: &str, info: &LockInfo) -> Result<Box<dyn StackLock>, StateError> {
        let dir = self.stack_dir(stack);
        fs::create_dir_all(&dir).map_err(|e| io_err("create", &dir, e))?;
        let path = dir.join(LOCK);
        let bytes =
            serde_json::to_vec_pretty(info).map_err(|e| StateError::Io(format!("cannot encode the lock: {e}")))?;
        // A few tries: the holder may release between our create and our read.
        for _ in 0..3 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    if let Err(e) = f.write_all(&bytes).and_then(|()| f.sync_data()) {
                        let _ = fs::remove_file(&path);
                        return Err(io_err("write", &path, e));
                    }
                    return Ok(Box::new(LocalLock { path, contents: bytes, released: false }));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if let Some((holder, stale)) = read_holder(&path)? {
                        return Err(StateError::Locked { stack: stack.to_string(), holder, stale });
                    }
                }
                // The stack was removed (`stack rm`) between our mkdir and our create.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir_all(&dir).map_err(|e| io_err("create", &dir, e))?;
                }
                Err(e) => return Err(io_err("create", &path, e)),
            }
        }
        Err(StateError::Io(format!("could not take the lock {} (it kept changing hands)", path.display())))
    }

    fn load(&self, stack: &str) -> Result<Loaded, StateError> {
        // A journal ahead of the snapshot is what a reader sees when a compaction in
        // another process renames both between our two reads: read again.
        for _ in 0..3 {
            if let Some(loaded) = self.load_once(stack, false)? {
                return Ok(loaded);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.load_once(stack, true)?.ok_or_else(|| StateError::Io("the state kept changing while it was read".into()))
    }

    /// One read of snapshot then journal; `None` when the journal is ahead of the
    /// snapshot and `last_try` is false.
    fn load_once(&self, stack: &str, last_try: bool) -> Result<Option<Loaded>, StateError> {
        let dir = self.stack_dir(stack);
        let corrupt = |message: String| StateError::Corrupt { stack: stack.to_string(), message };
        let (snap_gen, mut state) = match read_optional(&dir.join(SNAPSHOT))? {
            None => crate::format::empty_snapshot(),
            Some(bytes) => crate::format::decode_snapshot(&bytes, SNAPSHOT).map_err(corrupt)?,
        };
        let mut loaded = Loaded::default();
        if let Some(bytes) = read_optional(&dir.join(JOURNAL))? {
            let journal = parse_journal(&bytes).map_err(corrupt)?;
            match journal.generation {
                Some(_) if !last_try && journal.generation > Some(snap_gen) => return Ok(None),
                Some(g) if g > snap_gen => {
                    return Err(corrupt(format!(
                        "{JOURNAL} has generation {g} but {SNAPSHOT} only {snap_gen}: the snapshot was replaced or lost"
                    )))
                }
                // Older: a compaction wrote the snapshot and stopped before resetting the
                // journal; these entries are already in the snapshot.
                Some(g) if g < snap_gen => {}
                None => {}
                Some(_) => {
                    loaded.last_op = journal.entries.iter().filter_map(entry_op).max().unwrap_or(0);
                    loaded.interrupted = state.replay(&journal.entries);
                }
            }
        }
        loaded.state = state;
        Ok(Some(loaded))
    }

    fn append(&self, stack: &str, buf: &[u8]) -> Result<(), StateError> {
        let dir = self.stack_dir(stack);
        let path = dir.join(JOURNAL);
        let slot = self.slot(stack);
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        // Reopen if the journal was replaced or removed under the cached handle.
        let current = match &*guard {
            Some(j) => matches!(fs::metadata(&path), Ok(m) if m.dev() == j.dev && m.ino() == j.ino),
            None => false,
        };
        if !current {
            *guard = None;
            *guard = Some(self.open_journal(stack, &dir)?);
        }
        let Some(journal) = guard.as_mut() else {
            return Err(StateError::Io(format!("{} is not open", path.display())));
        };
        let written = journal.file.write_all(buf).and_then(|()| journal.file.sync_data());
        if let Err(e) = written {
            // The file may now end in a partial line: reopening repairs it.
            *guard = None;
            return Err(io_err("append to", &path, e));
        }
        Ok(())
    }

    /// Open the journal for appending: make sure it has a header of the snapshot's
    /// generation (starting a fresh journal if it is missing or stale) and that it ends
    /// at a line boundary (cutting off a torn last line).
    fn open_journal(&self, stack: &str, dir: &Path) -> Result<OpenJournal, StateError> {
        fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        let corrupt = |message: String| StateError::Corrupt { stack: stack.to_string(), message };
        let snap_gen = snapshot_generation(dir).map_err(corrupt)?;
        let path = dir.join(JOURNAL);
        let file = match OpenOptions::new().read(true).append(true).open(&path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err("open", &path, e)),
        };
        let file = match file {
            None => None,
            Some(f) => match read_header(&f).map_err(|e| io_err("read", &path, e))? {
                Header::Missing => None,
                Header::Invalid(msg) => return Err(corrupt(format!("{JOURNAL} line 1: {msg}"))),
                Header::Generation(g) if g < snap_gen => None,
                Header::Generation(g) if g > snap_gen => {
                    return Err(corrupt(format!(
                        "{JOURNAL} has generation {g} but {SNAPSHOT} only {snap_gen}: the snapshot was replaced or lost"
                    )))
                }
                Header::Generation(_) => {
                    repair_tail(&f).map_err(|e| io_err("repair", &path, e))?;
                    Some(f)
                }
            },
        };
        let file = match file {
            Some(f) => f,
            None => {
                reset_journal(dir, snap_gen)?;
                OpenOptions::new().read(true).append(true).open(&path).map_err(|e| io_err("open", &path, e))?
            }
        };
        let meta = file.metadata().map_err(|e| io_err("inspect", &path, e))?;
        Ok(OpenJournal { file, dev: meta.dev(), ino: meta.ino() })
    }

    fn compact(&self, stack: &str, state_json: &[u8]) -> Result<(), StateError> {
        let dir = self.stack_dir(stack);
        let slot = self.slot(stack);
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        *guard = None;
        fs::create_dir_all(&dir).map_err(|e| io_err("create", &dir, e))?;
        let corrupt = |message: String| StateError::Corrupt { stack: stack.to_string(), message };
        let snap_gen = snapshot_generation(&dir).map_err(corrupt)?;
        let journal_gen = match File::open(dir.join(JOURNAL)) {
            Ok(f) => match read_header(&f) {
                Ok(Header::Generation(g)) => g,
                _ => 0,
            },
            Err(_) => 0,
        };
        let generation = snap_gen.max(journal_gen) + 1;
        let mut snapshot = Vec::with_capacity(state_json.len() + 40);
        snapshot.extend_from_slice(format!("{{\"generation\":{generation},\"state\":").as_bytes());
        snapshot.extend_from_slice(state_json);
        snapshot.extend_from_slice(b"}\n");
        write_atomic(&dir, SNAPSHOT, &snapshot)?;
        reset_journal(&dir, generation)?;
        let path = dir.join(JOURNAL);
        let file = OpenOptions::new().read(true).append(true).open(&path).map_err(|e| io_err("open", &path, e))?;
        let meta = file.metadata().map_err(|e| io_err("inspect", &path, e))?;
        *guard = Some(OpenJournal { file, dev: meta.dev(), ino: meta.ino() });
        Ok(())
    }

    /// History files of a stack as (version, path), sorted by version.
    fn history_files(&self, stack: &str) -> Result<Vec<(u64, PathBuf)>, StateError> {
        let dir = self.stack_dir(stack).join(HISTORY);
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &dir, e)),
        };
        let mut out = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| io_err("list", &dir, e))?;
            let Ok(name) = ent.file_name().into_string() else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Ok(v) = stem.parse::<u64>() {
                out.push((v, ent.path()));
            }
        }
        out.sort();
        Ok(out)
    }
}

/// A lock held through `lock.json`; removes the file on release or drop, unless someone
/// broke it and another process holds it now.
struct LocalLock {
    path: PathBuf,
    contents: Vec<u8>,
    released: bool,
}

impl LocalLock {
    fn remove_if_ours(&self) -> io::Result<()> {
        match fs::read(&self.path) {
            Ok(bytes) if bytes == self.contents => match fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl StackLock for LocalLock {
    async fn release(mut self: Box<Self>) -> Result<(), StateError> {
        self.released = true;
        self.remove_if_ours().map_err(|e| io_err("remove", &self.path, e))
    }
}

impl Drop for LocalLock {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.remove_if_ours();
        }
    }
}

/// The holder of a lock file and whether it is stale (same host, process gone); `None`
/// when there is no lock. An unreadable lock file is held by `unknown`, never stale.
fn read_holder(path: &Path) -> Result<Option<(LockInfo, bool)>, StateError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("read", path, e)),
    };
    Ok(Some(match serde_json::from_slice::<LockInfo>(&bytes) {
        Ok(holder) => {
            let stale = crate::holder_state(&holder) == crate::HolderState::Gone;
            (holder, stale)
        }
        Err(_) => {
            let unknown = || "unknown".to_string();
            let holder =
                LockInfo { user: unknown(), host: unknown(), pid: 0, operation: unknown(), started: unknown() };
            (holder, false)
        }
    }))
}

/// A parsed journal: its header generation (`None` for an empty journal) and entries.
#[derive(Debug)]
pub(crate) struct ParsedJournal {
    pub generation: Option<u64>,
    pub entries: Vec<JournalEntry>,
}

/// Parse a journal's bytes. A last line without its newline that does not parse is a
/// torn write and skipped; any other bad line is an error naming the line.
pub(crate) fn parse_journal(bytes: &[u8]) -> Result<ParsedJournal, String> {
    let mut out = ParsedJournal { generation: None, entries: Vec::new() };
    let mut lines = bytes.split(|&b| b == b'\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        // Only the piece after the final newline can be the last: it is torn if it fails.
        let torn_ok = lines.peek().is_none();
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if out.generation.is_none() {
            match serde_json::from_slice::<JournalHeader>(line) {
                Ok(h) => out.generation = Some(h.generation),
                Err(_) if torn_ok => break,
                Err(e) => {
                    return Err(format!("{JOURNAL} line {}: expected the header {{\"generation\": N}}: {e}", i + 1))
                }
            }
            continue;
        }
        match serde_json::from_slice::<JournalEntry>(line) {
            Ok(e) => out.entries.push(e),
            Err(_) if torn_ok => break,
            Err(e) => return Err(format!("{JOURNAL} line {}: {e}", i + 1)),
        }
    }
    Ok(out)
}

fn entry_op(e: &JournalEntry) -> Option<u64> {
    match e {
        JournalEntry::Begin { op, .. } | JournalEntry::Commit { op, .. } | JournalEntry::Abort { op, .. } => Some(*op),
        JournalEntry::Apply { .. } => None,
    }
}

enum Header {
    /// Empty file, or only a torn first line.
    Missing,
    Generation(u64),
    Invalid(String),
}

fn read_header(f: &File) -> io::Result<Header> {
    let mut line = Vec::new();
    BufReader::new(f).read_until(b'\n', &mut line)?;
    let complete = line.last() == Some(&b'\n');
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(Header::Missing);
    }
    Ok(match serde_json::from_slice::<JournalHeader>(&line) {
        Ok(h) => Header::Generation(h.generation),
        Err(_) if !complete => Header::Missing,
        Err(e) => Header::Invalid(format!("expected the header {{\"generation\": N}}: {e}")),
    })
}

/// Make the journal end at a line boundary: a final piece without its newline is
/// completed if it is a whole entry (`load` counts it) and cut off otherwise (`load`
/// skips it).
fn repair_tail(f: &File) -> io::Result<()> {
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    f.read_exact_at(&mut last, len - 1)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    // Find the start of the last line, reading backwards.
    let mut start = 0;
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    'scan: while end > 0 {
        let from = end.saturating_sub(chunk.len() as u64);
        let buf = &mut chunk[..(end - from) as usize];
        f.read_exact_at(buf, from)?;
        if let Some(p) = buf.iter().rposition(|&b| b == b'\n') {
            start = from + p as u64 + 1;
            break 'scan;
        }
        end = from;
    }
    let mut tail = vec![0u8; (len - start) as usize];
    f.read_exact_at(&mut tail, start)?;
    let whole = if start == 0 {
        serde_json::from_slice::<JournalHeader>(&tail).is_ok()
    } else {
        serde_json::from_slice::<JournalEntry>(&tail).is_ok()
    };
    if whole {
        let mut w = f;
        w.write_all(b"\n")?;
    } else {
        f.set_len(start)?;
    }
    f.sync_data()
}

/// The snapshot's generation (0 when there is none), without building the state.
fn snapshot_generation(dir: &Path) -> Result<u64, String> {
    let path = dir.join(SNAPSHOT);
    let f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
    };
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let g: crate::format::SnapshotGeneration =
        serde_json::from_reader(&mut r).map_err(|e| format!("{SNAPSHOT}: {e}"))?;
    Ok(g.generation)
}

/// Start an empty journal of this generation (tmp + rename, both synced).
fn reset_journal(dir: &Path, generation: u64) -> Result<(), StateError> {
    write_atomic(dir, JOURNAL, format!("{{\"generation\":{generation}}}\n").as_bytes())
}

/// Replace `dir/name` atomically and durably: write `name.tmp`, sync it, rename it over
/// `name`, sync the directory.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StateError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write().map_err(|e| io_err("write", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| io_err("rename to", &path, e))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err("sync", dir, e))
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("open", path, e)),
    };
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(|e| io_err("read", path, e))?;
    Ok(Some(bytes))
}

fn io_err(action: &str, path: &Path, e: io::Error) -> StateError {
    StateError::Io(format!("cannot {action} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that reads the old snapshot and then the new journal of a compaction in
    /// another process reads again instead of reporting corruption.
    #[test]
    fn load_rereads_when_it_sees_a_compaction_half_way() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        let sd = b.inner.stack_dir("dev");
        fs::create_dir_all(&sd).unwrap();
        fs::write(sd.join(SNAPSHOT), "{\"generation\":0,\"state\":{}}").unwrap();
        fs::write(sd.join(JOURNAL), "{\"generation\":1}\n").unwrap();
        let snapshot = sd.join(SNAPSHOT);
        let finisher = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(5));
            fs::write(&snapshot, "{\"generation\":1,\"state\":{}}").unwrap();
        });
        let loaded = b.inner.load("dev");
        finisher.join().unwrap();
        assert!(loaded.unwrap().state.is_empty());
        // Still ahead after the re-reads: reported.
        fs::write(sd.join(JOURNAL), "{\"generation\":7}\n").unwrap();
        assert!(matches!(b.inner.load("dev"), Err(StateError::Corrupt { .. })));
    }

    #[test]
    fn parse_torn_and_corrupt() {
        let ok = b"{\"generation\":2}\n{\"entry\":\"abort\",\"op\":1,\"reason\":\"x\"}\n";
        let p = parse_journal(ok).unwrap();
        assert_eq!(p.generation, Some(2));
        assert_eq!(p.entries.len(), 1);

        let mut torn = ok.to_vec();
        torn.extend_from_slice(b"{\"entry\":\"ab");
        assert_eq!(parse_journal(&torn).unwrap().entries.len(), 1);

        let mut torn_nul = ok.to_vec();
        torn_nul.extend_from_slice(&[0, 0, 0]);
        assert_eq!(parse_journal(&torn_nul).unwrap().entries.len(), 1);

        // Complete but missing only its newline: counts.
        let mut whole = ok.to_vec();
        whole.extend_from_slice(b"{\"entry\":\"abort\",\"op\":2,\"reason\":\"y\"}");
        assert_eq!(parse_journal(&whole).unwrap().entries.len(), 2);

        // A bad line followed by a newline is not a tear.
        let mut bad_last = ok.to_vec();
        bad_last.extend_from_slice(b"garbage\n");
        assert!(parse_journal(&bad_last).unwrap_err().contains("line 3"));

        assert!(parse_journal(b"").unwrap().generation.is_none());
        assert!(parse_journal(b"{\"gener").unwrap().generation.is_none());
        assert!(parse_journal(b"{\"entry\":\"abort\",\"op\":1,\"reason\":\"x\"}\n").unwrap_err().contains("line 1"));
        assert!(parse_journal(&[0xff, 0xfe, b'\n', b'x']).is_err());
    }
}
