//! [`EncryptingBackend`]: a [`Backend`] decorator that keeps secrets encrypted at rest.
//!
//! The engine works with plain [`Value::Secret`]s in memory. On the way out (`append`,
//! `compact`) every secret in journal entries and snapshots is replaced by its ciphertext
//! (stored as `{"cairn:secret": "v1:..."}`); on the way in (`load`) every ciphertext is
//! opened back into `Value::secret(plain)`. Any backend (local directory, S3) gets this by
//! being wrapped, and stores only what it is given.
//!
//! Which [`SecretsManager`] a stack uses comes from a [`SecretsSource`] (the CLI reads the
//! stack file). A stack with no secrets needs none and nothing changes for it. When a
//! secret is written for a stack that has no secrets provider yet, the source is asked to
//! [set one up](SecretsSource::set_up) (the passphrase provider, as Pulumi does).
//!
//! A secret stored by an older cairn in plain text (`{"cairn:secret": "hunter2"}`, not
//! `v1:`) loads as a plain secret and is sealed on the next write.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use cairn_core::state::{
    Backend, HistoryEntry, JournalEntry, Loaded, LockInfo, ResourceState, StackLock, StackState, StateChange,
    StateError,
};
use cairn_core::Value;

use crate::secrets::{is_ciphertext, SecretsError, SecretsManager};

/// Where an [`EncryptingBackend`] gets a stack's secrets manager.
#[async_trait]
pub trait SecretsSource: Send + Sync {
    /// The manager the stack is configured with, or `None` when it has no secrets
    /// provider.
    async fn configured(&self, stack: &str) -> Result<Option<Arc<SecretsManager>>, SecretsError>;
    /// Set up a secrets provider for a stack that has none (the first secret is about to
    /// be written), record it, and return its manager.
    async fn set_up(&self, stack: &str) -> Result<Arc<SecretsManager>, SecretsError>;
}

/// Seals secrets on their way to `inner` and opens them on their way back.
pub struct EncryptingBackend {
    inner: Arc<dyn Backend>,
    source: Arc<dyn SecretsSource>,
    /// Managers by stack; `None` for a stack known to have no provider.
    managers: tokio::sync::Mutex<HashMap<String, Option<Arc<SecretsManager>>>>,
}

impl EncryptingBackend {
    pub fn new(inner: Arc<dyn Backend>, source: Arc<dyn SecretsSource>) -> EncryptingBackend {
        EncryptingBackend { inner, source, managers: tokio::sync::Mutex::default() }
    }

    /// The backend underneath (it stores and returns ciphertexts).
    pub fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }

    /// The stack's configured manager (opened once, then cached), or `None`.
    pub async fn manager(&self, stack: &str) -> Result<Option<Arc<SecretsManager>>, SecretsError> {
        let mut managers = self.managers.lock().await;
        if let Some(m) = managers.get(stack) {
            return Ok(m.clone());
        }
        let m = self.source.configured(stack).await?;
        managers.insert(stack.to_string(), m.clone());
        Ok(m)
    }

    /// The stack's manager, set up if it has none yet.
    pub async fn ensure_manager(&self, stack: &str) -> Result<Arc<SecretsManager>, SecretsError> {
        let mut managers = self.managers.lock().await;
        if let Some(Some(m)) = managers.get(stack) {
            return Ok(m.clone());
        }
        let m = match self.source.configured(stack).await? {
            Some(m) => m,
            None => self.source.set_up(stack).await?,
        };
        managers.insert(stack.to_string(), Some(m.clone()));
        Ok(m)
    }

    /// Use `manager` for its stack from now on (after `change-secrets-provider`).
    pub async fn set_manager(&self, manager: Arc<SecretsManager>) {
        self.managers.lock().await.insert(manager.stack().stack.clone(), Some(manager));
    }
}

/// Call `f` on every secret (top-level `Value::Secret`) inside `v`.
fn walk_value(v: &mut Value, f: &mut dyn FnMut(&mut Value) -> Result<(), SecretsError>) -> Result<(), SecretsError> {
    match v {
        Value::Secret(_) => f(v),
        Value::List(l) => l.iter_mut().try_for_each(|x| walk_value(x, f)),
        Value::Map(m) => m.values_mut().try_for_each(|x| walk_value(x, f)),
        _ => Ok(()),
    }
}

fn walk_resource(
    r: &mut ResourceState,
    f: &mut dyn FnMut(&mut Value) -> Result<(), SecretsError>,
) -> Result<(), SecretsError> {
    walk_value(&mut r.inputs, f)?;
    r.attributes.values_mut().try_for_each(|v| walk_value(v, f))?;
    if let Some(d) = &mut r.drift {
        walk_value(d, f)?;
    }
    Ok(())
}

/// Call `f` on every secret in a state.
pub fn walk_state(
    s: &mut StackState,
    f: &mut dyn FnMut(&mut Value) -> Result<(), SecretsError>,
) -> Result<(), SecretsError> {
    s.resources.values_mut().try_for_each(|r| walk_resource(r, f))?;
    s.pending_deletes.iter_mut().try_for_each(|r| walk_resource(r, f))?;
    s.outputs.values_mut().try_for_each(|o| walk_value(&mut o.value, f))
}

fn walk_changes(
    changes: &mut [StateChange],
    f: &mut dyn FnMut(&mut Value) -> Result<(), SecretsError>,
) -> Result<(), SecretsError> {
    for c in changes {
        match c {
            StateChange::Put { state } => walk_resource(state, f)?,
            StateChange::Outputs { outputs } => outputs.values_mut().try_for_each(|o| walk_value(&mut o.value, f))?,
            StateChange::Remove { .. } | StateChange::Retire { .. } | StateChange::DropRetired { .. } => {}
        }
    }
    Ok(())
}

/// Call `f` on every secret in a journal entry.
pub fn walk_entry(
    e: &mut JournalEntry,
    f: &mut dyn FnMut(&mut Value) -> Result<(), SecretsError>,
) -> Result<(), SecretsError> {
    match e {
        JournalEntry::Begin { inputs, .. } => walk_value(inputs, f),
        JournalEntry::Commit { changes, .. } | JournalEntry::Apply { changes } => walk_changes(changes, f),
        JournalEntry::Abort { .. } => Ok(()),
    }
}

/// Whether a value is a sealed secret (as loaded from storage).
fn sealed(v: &Value) -> Option<&str> {
    match v {
        Value::Secret(inner) => match &**inner {
            Value::String(s) if is_ciphertext(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `pred` holds for any secret `walk` visits.
fn any_secret(
    walk: impl FnOnce(&mut dyn FnMut(&mut Value) -> Result<(), SecretsError>),
    pred: impl Fn(&Value) -> bool,
) -> bool {
    let mut found = false;
    walk(&mut |v| {
        found |= pred(v);
        Ok(())
    });
    found
}

/// Whether the state holds any secret (plain or sealed).
pub fn state_has_secrets(s: &StackState) -> bool {
    any_secret(
        |f| {
            let _ = walk_state(&mut s.clone(), f);
        },
        |_| true,
    )
}

fn entries_have_secrets(entries: &[JournalEntry]) -> bool {
    any_secret(
        |f| {
            for e in entries {
                let _ = walk_entry(&mut e.clone(), f);
            }
        },
        |_| true,
    )
}

fn loaded_has_ciphertext(l: &Loaded) -> bool {
    any_secret(
        |f| {
            let _ = walk_state(&mut l.state.clone(), f);
            for e in &l.interrupted {
                let _ = walk_entry(&mut e.clone(), f);
            }
        },
        |v| sealed(v).is_some(),
    )
}

/// Replace every plain secret by its ciphertext.
pub fn seal_state(m: &SecretsManager, s: &mut StackState) {
    let _ = walk_state(s, &mut sealer(m));
}

/// Replace every ciphertext by the secret it holds (plain secrets stay as they are).
pub fn open_state(m: &SecretsManager, s: &mut StackState) -> Result<(), SecretsError> {
    walk_state(s, &mut opener(m))
}

fn sealer(m: &SecretsManager) -> impl FnMut(&mut Value) -> Result<(), SecretsError> + '_ {
    move |v| {
        if let Value::Secret(inner) = v {
            *v = Value::Secret(Box::new(Value::String(m.seal_value(inner))));
        }
        Ok(())
    }
}

fn opener(m: &SecretsManager) -> impl FnMut(&mut Value) -> Result<(), SecretsError> + '_ {
    move |v| {
        if let Some(ct) = sealed(v) {
            *v = m.open_value(ct, "a secret in the state")?;
        }
        Ok(())
    }
}

#[async_trait]
impl Backend for EncryptingBackend {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn lock(&self, stack: &str, info: LockInfo) -> Result<Box<dyn StackLock>, StateError> {
        self.inner.lock(stack, info).await
    }

    async fn lock_holder(&self, stack: &str) -> Result<Option<(LockInfo, bool)>, StateError> {
        self.inner.lock_holder(stack).await
    }

    async fn break_lock(&self, stack: &str) -> Result<bool, StateError> {
        self.inner.break_lock(stack).await
    }

    async fn load(&self, stack: &str) -> Result<Loaded, StateError> {
        let mut loaded = self.inner.load(stack).await?;
        if !loaded_has_ciphertext(&loaded) {
            return Ok(loaded);
        }
        let m = self.manager(stack).await?.ok_or_else(|| SecretsError::NotConfigured { stack: stack.to_string() })?;
        open_state(&m, &mut loaded.state)?;
        for e in &mut loaded.interrupted {
            walk_entry(e, &mut opener(&m))?;
        }
        Ok(loaded)
    }

    async fn append(&self, stack: &str, entries: &[JournalEntry]) -> Result<(), StateError> {
        if !entries_have_secrets(entries) {
            return self.inner.append(stack, entries).await;
        }
        let m = self.ensure_manager(stack).await?;
        let mut sealed = entries.to_vec();
        for e in &mut sealed {
            let _ = walk_entry(e, &mut sealer(&m));
        }
        self.inner.append(stack, &sealed).await
    }

    async fn compact(&self, stack: &str, state: &StackState) -> Result<(), StateError> {
        if !state_has_secrets(state) {
            return self.inner.compact(stack, state).await;
        }
        let m = self.ensure_manager(stack).await?;
        let mut sealed = state.clone();
        seal_state(&m, &mut sealed);
        self.inner.compact(stack, &sealed).await
    }

    async fn list_stacks(&self) -> Result<Vec<String>, StateError> {
        self.inner.list_stacks().await
    }

    async fn remove_stack(&self, stack: &str) -> Result<(), StateError> {
        self.inner.remove_stack(stack).await
    }

    async fn add_history(&self, stack: &str, entry: &HistoryEntry) -> Result<(), StateError> {
        self.inner.add_history(stack, entry).await
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, StateError> {
        self.inner.history(stack).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use cairn_core::state::{OpKind, OutputState};
    use secrecy::SecretString;

    use super::*;
    use crate::secrets::{PassphraseSource, Provider, StackRef};
    use crate::LocalBackend;

    const PLAIN: &str = "hunter2-plaintext";

    struct Pass;
    impl PassphraseSource for Pass {
        fn passphrase(&self, _: &str, _: bool) -> Result<SecretString, SecretsError> {
            Ok(SecretString::from("pw"))
        }
    }

    /// Stacks start with no provider; `set_up` makes a passphrase one (counted).
    #[derive(Default)]
    struct Source {
        configured: std::sync::Mutex<HashMap<String, Arc<SecretsManager>>>,
        set_ups: AtomicUsize,
    }

    #[async_trait]
    impl SecretsSource for Source {
        async fn configured(&self, stack: &str) -> Result<Option<Arc<SecretsManager>>, SecretsError> {
            Ok(self.configured.lock().unwrap().get(stack).cloned())
        }
        async fn set_up(&self, stack: &str) -> Result<Arc<SecretsManager>, SecretsError> {
            self.set_ups.fetch_add(1, Ordering::SeqCst);
            let m =
                Arc::new(SecretsManager::create(StackRef::new("p", stack), Provider::Passphrase, &Pass, None).await?);
            self.configured.lock().unwrap().insert(stack.to_string(), m.clone());
            Ok(m)
        }
    }

    fn resource(id: &str, inputs: Value) -> ResourceState {
        ResourceState {
            id: id.into(),
            type_name: "Cairn::Random::String".into(),
            physical_id: format!("{id}-1"),
            region: "us-east-1".into(),
            inputs,
            attributes: BTreeMap::from([("Result".to_string(), Value::secret(Value::string(PLAIN)))]),
            dependencies: vec![],
            deletion_policy: Default::default(),
            parent: None,
            name_seed: String::new(),
            drift: None,
        }
    }

    fn secret_inputs() -> Value {
        Value::Map(BTreeMap::from([
            ("Length".to_string(), 8.into()),
            ("Keepers".to_string(), Value::Map(BTreeMap::from([("pw".to_string(), Value::secret(PLAIN.into()))]))),
        ]))
    }

    fn files_text(dir: &std::path::Path) -> String {
        let mut out = String::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push_str(&files_text(&p));
            } else {
                out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
        out
    }

    #[tokio::test]
    async fn secrets_are_sealed_at_rest_and_opened_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let local: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
        let source = Arc::new(Source::default());
        let b = EncryptingBackend::new(local.clone(), source.clone());

        // No secrets: no provider is set up.
        b.append("dev", &[JournalEntry::Abort { op: 1, reason: "x".into() }]).await.unwrap();
        assert_eq!(source.set_ups.load(Ordering::SeqCst), 0);

        let begin = JournalEntry::Begin {
            op: 2,
            kind: OpKind::Create,
            id: "A".into(),
            type_name: "Cairn::Random::String".into(),
            region: "us-east-1".into(),
            physical_id: None,
            inputs: secret_inputs(),
            name_seed: String::new(),
            replacing: false,
            replaced_snapshot: false,
            retired: false,
            dependencies: vec![],
            deletion_policy: Default::default(),
            parent: None,
        };
        b.append("dev", std::slice::from_ref(&begin)).await.unwrap();
        assert_eq!(source.set_ups.load(Ordering::SeqCst), 1, "the first secret sets up a provider");
        assert!(!files_text(dir.path()).contains(PLAIN), "the journal holds the plain secret");

        // The interrupted Begin comes back with its secret opened.
        let loaded = b.load("dev").await.unwrap();
        assert_eq!(loaded.interrupted, vec![begin]);
        // Underneath, it is ciphertext.
        let raw = local.load("dev").await.unwrap();
        let JournalEntry::Begin { inputs, .. } = &raw.interrupted[0] else { panic!() };
        let ct = inputs.as_map().unwrap()["Keepers"].as_map().unwrap()["pw"].clone();
        assert!(matches!(&ct, Value::Secret(s) if s.as_str().is_some_and(|s| s.starts_with("v1:"))), "{ct:?}");

        let mut state = StackState::default();
        state.resources.insert("A".into(), resource("A", secret_inputs()));
        state.outputs.insert(
            "dsn".into(),
            OutputState { value: Value::secret(Value::string(PLAIN)), description: None, export_name: None },
        );
        b.compact("dev", &state).await.unwrap();
        assert!(!files_text(dir.path()).contains(PLAIN), "the snapshot holds the plain secret");
        assert_eq!(b.load("dev").await.unwrap().state, state);
        assert_eq!(source.set_ups.load(Ordering::SeqCst), 1);

        // A new process (fresh cache) opens them with the configured manager.
        let again = EncryptingBackend::new(local.clone(), source.clone());
        assert_eq!(again.load("dev").await.unwrap().state, state);

        // Copied into another stack, the ciphertexts do not open there, even with the
        // same key: they are bound to their stack.
        let dev = source.configured("dev").await.unwrap().unwrap();
        let mut raw_state = local.load("dev").await.unwrap().state;
        local.compact("prod", &raw_state).await.unwrap();
        let same_key = Arc::new(
            SecretsManager::load(StackRef::new("p", "prod"), "passphrase", dev.encryptionsalt(), &Pass, None)
                .await
                .unwrap(),
        );
        source.configured.lock().unwrap().insert("prod".into(), same_key.clone());
        let err = again.load("prod").await.unwrap_err();
        assert!(err.to_string().contains("cannot be decrypted"), "{err}");
        assert!(open_state(&same_key, &mut raw_state).is_err());

        // Ciphertexts and no provider: a clear error.
        local.compact("orphan", &local.load("dev").await.unwrap().state).await.unwrap();
        let err = again.load("orphan").await.unwrap_err();
        assert!(err.to_string().contains("names no `secretsprovider`"), "{err}");
    }

    #[tokio::test]
    async fn plain_secrets_from_older_states_load_and_are_sealed_on_write() {
        let dir = tempfile::tempdir().unwrap();
        let local: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
        let mut state = StackState::default();
        state.resources.insert("A".into(), resource("A", secret_inputs()));
        local.compact("dev", &state).await.unwrap();
        assert!(files_text(dir.path()).contains(PLAIN));
        let b = EncryptingBackend::new(local.clone(), Arc::new(Source::default()));
        let loaded = b.load("dev").await.unwrap();
        assert_eq!(loaded.state, state);
        b.compact("dev", &loaded.state).await.unwrap();
        assert!(!files_text(dir.path()).contains(PLAIN));
        assert_eq!(b.load("dev").await.unwrap().state, state);
    }
}
