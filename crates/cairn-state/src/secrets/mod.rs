//! Secrets managers: how one stack's secrets are sealed in its stack file and its state.
//!
//! Every stack with secrets has a random 256-bit **data key**. Each secret value is sealed
//! with XChaCha20-Poly1305 under that key, with a fresh random 192-bit nonce and associated
//! data naming the project and the stack ([`SecretsManager::seal`]), so a ciphertext copied
//! into another stack (or project) does not open. A ciphertext reads `v1:<base64 of nonce ||
//! ciphertext || tag>`.
//!
//! The data key itself is stored, wrapped, in the stack file's `encryptionsalt`; the
//! `secretsprovider` setting says how it is wrapped:
//!
//! | `secretsprovider` | `encryptionsalt` | wrapping |
//! | --- | --- | --- |
//! | `passphrase` | `v1:<salt>:<wrapped key>:<check>` | [`passphrase`]: Argon2id of the passphrase and a random per-stack salt gives a key-encryption key |
//! | `awskms://<key>?region=<r>` | `kms:v1:<ciphertext blob>:<check>` | [`kms`]: KMS `GenerateDataKey` with encryption context `{project, stack}`; `Decrypt` on load |
//!
//! The **check value** is the data key sealing a fixed label: opening a stack verifies it
//! first, so a wrong passphrase (or a salt from another stack) is reported before anything
//! else happens.
//!
//! Key material lives in [`secrecy`] and [`zeroize`] types and is wiped when dropped.
//! Nothing here puts a secret, a key or a passphrase into an error message.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use zeroize::Zeroizing;

use cairn_core::Value;

pub mod kms;
pub mod passphrase;

/// The prefix of every sealed value.
pub const CIPHERTEXT_PREFIX: &str = "v1:";

/// The `secretsprovider` of passphrase-protected stacks.
pub const PASSPHRASE_PROVIDER: &str = "passphrase";

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The label the check value seals.
const CHECK_LABEL: &[u8] = b"cairn secrets check v1";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the passphrase for stack `{stack}` is wrong")]
    WrongPassphrase { stack: String },
    #[error(
        "stack `{stack}` needs the passphrase of its secrets: set CAIRN_PASSPHRASE or CAIRN_PASSPHRASE_FILE, or run on a terminal to be asked for it"
    )]
    NoPassphrase { stack: String },
    #[error("{0}")]
    Passphrase(String),
    #[error("`{provider}` is not a secrets provider: {reason}")]
    BadProvider { provider: String, reason: String },
    #[error("the `encryptionsalt` of stack `{stack}` is malformed: {reason}")]
    BadSalt { stack: String, reason: String },
    #[error(
        "{what} of stack `{stack}` cannot be decrypted: it was encrypted for another stack or with another key, or it was altered"
    )]
    Decrypt { stack: String, what: String },
    #[error("AWS KMS ({key}) failed for stack `{stack}`: {message}")]
    Kms { stack: String, key: String, message: String },
    /// KMS could not be asked at all (no credentials, no network): no answer came.
    #[error("AWS KMS ({key}) could not be reached for stack `{stack}`: {message}")]
    KmsUnreachable { stack: String, key: String, message: String },
    #[error(
        "stack `{stack}` holds encrypted secrets, but its stack file names no `secretsprovider` and `encryptionsalt` to open them"
    )]
    NotConfigured { stack: String },
}

impl From<SecretsError> for cairn_core::state::StateError {
    fn from(e: SecretsError) -> Self {
        cairn_core::state::StateError::Secrets(e.to_string())
    }
}

/// A secrets provider, as the stack file's `secretsprovider` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    Passphrase,
    AwsKms(kms::KmsKey),
}

impl Provider {
    /// Parse `passphrase` or `awskms://<key id, ARN or alias>?region=<region>`.
    pub fn parse(s: &str) -> Result<Provider, SecretsError> {
        let s = s.trim();
        if s == PASSPHRASE_PROVIDER {
            return Ok(Provider::Passphrase);
        }
        if s.starts_with("awskms://") {
            return kms::KmsKey::parse(s).map(Provider::AwsKms);
        }
        Err(SecretsError::BadProvider {
            provider: s.to_string(),
            reason: "use `passphrase` or `awskms://<key id, ARN or alias>?region=<region>`".into(),
        })
    }

    /// The `secretsprovider` text.
    pub fn url(&self) -> String {
        match self {
            Provider::Passphrase => PASSPHRASE_PROVIDER.to_string(),
            Provider::AwsKms(k) => k.url(),
        }
    }
}

/// Where a passphrase comes from when a stack needs one. Called at most once per opening,
/// and only for passphrase stacks. `new` is true when the passphrase protects a stack's
/// secrets for the first time (a prompt should ask twice).
pub trait PassphraseSource: Send + Sync {
    fn passphrase(&self, stack: &str, new: bool) -> Result<SecretString, SecretsError>;
}

/// The stack a manager is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackRef {
    pub project: String,
    pub stack: String,
}

impl StackRef {
    pub fn new(project: impl Into<String>, stack: impl Into<String>) -> StackRef {
        StackRef { project: project.into(), stack: stack.into() }
    }

    /// The associated data binding a value to this project and stack.
    fn associated_data(&self) -> Vec<u8> {
        let mut ad = b"cairn secret v1\0".to_vec();
        ad.extend_from_slice(self.project.as_bytes());
        ad.push(0);
        ad.extend_from_slice(self.stack.as_bytes());
        ad
    }
}

/// A 256-bit key, wiped on drop.
pub(crate) type Key = SecretBox<[u8; 32]>;

pub(crate) fn random_key() -> Key {
    let mut k = Box::new([0u8; 32]);
    rand::rng().fill_bytes(&mut k[..]);
    SecretBox::new(k)
}

pub(crate) fn key_from_slice(bytes: &[u8]) -> Option<Key> {
    if bytes.len() != 32 {
        return None;
    }
    let mut k = Box::new([0u8; 32]);
    k.copy_from_slice(bytes);
    Some(SecretBox::new(k))
}

/// AEAD seal: `nonce || ciphertext || tag`.
pub(crate) fn aead_seal(key: &Key, plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.expose_secret().into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: ad })
        .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    out
}

/// AEAD open of [`aead_seal`]'s output; `None` when it does not authenticate.
pub(crate) fn aead_open(key: &Key, sealed: &[u8], ad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.expose_secret().into());
    cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: ad }).ok().map(Zeroizing::new)
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub(crate) fn unb64(s: &str) -> Option<Vec<u8>> {
    B64.decode(s).ok()
}

/// The check value of a data key (stored in `encryptionsalt`).
pub(crate) fn check_value(key: &Key) -> Vec<u8> {
    aead_seal(key, CHECK_LABEL, CHECK_LABEL)
}

/// Whether `check` is `key`'s check value.
pub(crate) fn verify_check(key: &Key, check: &[u8]) -> bool {
    aead_open(key, check, CHECK_LABEL).is_some_and(|p| p.as_slice() == CHECK_LABEL)
}

/// Seals and opens the secrets of one stack.
pub struct SecretsManager {
    stack: StackRef,
    provider: Provider,
    encryptionsalt: String,
    key: Key,
}

impl std::fmt::Debug for SecretsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManager")
            .field("stack", &self.stack)
            .field("provider", &self.provider.url())
            .finish_non_exhaustive()
    }
}

impl SecretsManager {
    /// Set up secrets for a stack that has none: a new data key, wrapped by `provider`.
    /// The result's [`provider`](Self::provider) and [`encryptionsalt`](Self::encryptionsalt)
    /// go into the stack file. `default_region` is used by KMS when the URL names none.
    pub async fn create(
        stack: StackRef,
        provider: Provider,
        passphrase: &dyn PassphraseSource,
        default_region: Option<&str>,
    ) -> Result<SecretsManager, SecretsError> {
        let key = random_key();
        let encryptionsalt = match &provider {
            Provider::Passphrase => {
                let pass = passphrase.passphrase(&stack.stack, true)?;
                passphrase::wrap(&pass, &key)
            }
            Provider::AwsKms(k) => return kms::create(stack, k.clone(), default_region).await,
        };
        Ok(SecretsManager { stack, provider, encryptionsalt, key })
    }

    /// Open the secrets of a stack from its stack file's `secretsprovider` and
    /// `encryptionsalt`, verifying the check value before anything else.
    pub async fn load(
        stack: StackRef,
        provider: &str,
        encryptionsalt: &str,
        passphrase: &dyn PassphraseSource,
        default_region: Option<&str>,
    ) -> Result<SecretsManager, SecretsError> {
        let provider = Provider::parse(provider)?;
        match provider {
            Provider::Passphrase => {
                let pass = passphrase.passphrase(&stack.stack, false)?;
                let key = passphrase::unwrap(&stack.stack, &pass, encryptionsalt)?;
                Ok(SecretsManager { stack, provider, encryptionsalt: encryptionsalt.to_string(), key })
            }
            Provider::AwsKms(k) => kms::open(stack, k, encryptionsalt, default_region).await,
        }
    }

    pub(crate) fn from_parts(stack: StackRef, provider: Provider, encryptionsalt: String, key: Key) -> Self {
        SecretsManager { stack, provider, encryptionsalt, key }
    }

    pub fn stack(&self) -> &StackRef {
        &self.stack
    }

    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// What the stack file's `encryptionsalt` holds.
    pub fn encryptionsalt(&self) -> &str {
        &self.encryptionsalt
    }

    /// Seal bytes: `v1:<base64>`.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        format!("{CIPHERTEXT_PREFIX}{}", b64(&aead_seal(&self.key, plaintext, &self.stack.associated_data())))
    }

    /// Open what [`seal`](Self::seal) made for this stack. `what` names the value in the
    /// error (`a secret in the state`, `parameter Password`).
    pub fn open(&self, ciphertext: &str, what: &str) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
        let fail = || SecretsError::Decrypt { stack: self.stack.stack.clone(), what: what.to_string() };
        let body = ciphertext.strip_prefix(CIPHERTEXT_PREFIX).ok_or_else(fail)?;
        let sealed = unb64(body).ok_or_else(fail)?;
        aead_open(&self.key, &sealed, &self.stack.associated_data()).ok_or_else(fail)
    }

    /// Seal a value (the inside of a secret): its state JSON, encrypted.
    pub fn seal_value(&self, v: &Value) -> String {
        let plain = Zeroizing::new(serde_json::to_vec(&v.reveal().to_state_json()).expect("JSON of a value"));
        self.seal(&plain)
    }

    /// Open a value sealed by [`seal_value`](Self::seal_value): always a
    /// [`Value::Secret`].
    pub fn open_value(&self, ciphertext: &str, what: &str) -> Result<Value, SecretsError> {
        let plain = self.open(ciphertext, what)?;
        let j: serde_json::Value = serde_json::from_slice(&plain)
            .map_err(|_| SecretsError::Decrypt { stack: self.stack.stack.clone(), what: what.to_string() })?;
        Ok(Value::secret(Value::from_state_json(&j)))
    }
}

/// Whether a string is a sealed value (as opposed to a plain secret stored by an older
/// cairn).
pub fn is_ciphertext(s: &str) -> bool {
    s.starts_with(CIPHERTEXT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub(crate) struct Fixed(pub &'static str, pub AtomicUsize);
    impl PassphraseSource for Fixed {
        fn passphrase(&self, _stack: &str, _new: bool) -> Result<SecretString, SecretsError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            Ok(SecretString::from(self.0))
        }
    }
    fn fixed(p: &'static str) -> Fixed {
        Fixed(p, AtomicUsize::new(0))
    }

    async fn passphrase_stack(project: &str, stack: &str, pass: &'static str) -> SecretsManager {
        SecretsManager::create(StackRef::new(project, stack), Provider::Passphrase, &fixed(pass), None).await.unwrap()
    }

    #[tokio::test]
    async fn seal_and_open_round_trip() {
        let m = passphrase_stack("p", "dev", "correct horse").await;
        let v = Value::Map([("a".to_string(), Value::string("hunter2")), ("n".to_string(), 5.into())].into());
        let ct = m.seal_value(&Value::secret(v.clone()));
        assert!(ct.starts_with("v1:"), "{ct}");
        assert!(!ct.contains("hunter2"));
        assert_eq!(m.open_value(&ct, "a value").unwrap(), Value::secret(v.clone()));
        // Random nonces: sealing twice gives different ciphertexts.
        assert_ne!(m.seal_value(&v), ct);

        // Reopening from the stack file's settings gives the same key.
        let again = SecretsManager::load(
            StackRef::new("p", "dev"),
            "passphrase",
            m.encryptionsalt(),
            &fixed("correct horse"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(again.open_value(&ct, "a value").unwrap(), Value::secret(v));
    }

    #[tokio::test]
    async fn a_wrong_passphrase_is_rejected() {
        let m = passphrase_stack("p", "dev", "correct horse").await;
        let err =
            SecretsManager::load(StackRef::new("p", "dev"), "passphrase", m.encryptionsalt(), &fixed("wrong"), None)
                .await
                .unwrap_err();
        assert!(matches!(err, SecretsError::WrongPassphrase { .. }), "{err}");
        assert_eq!(err.to_string(), "the passphrase for stack `dev` is wrong");
    }

    #[tokio::test]
    async fn the_check_value_guards_the_data_key() {
        // A salt whose wrapped key opens but whose check value belongs to another key.
        let a = passphrase_stack("p", "dev", "pw").await;
        let b = passphrase_stack("p", "dev", "pw").await;
        let pa: Vec<&str> = a.encryptionsalt().split(':').collect();
        let pb: Vec<&str> = b.encryptionsalt().split(':').collect();
        let mixed = format!("{}:{}:{}:{}", pa[0], pa[1], pa[2], pb[3]);
        let err = SecretsManager::load(StackRef::new("p", "dev"), "passphrase", &mixed, &fixed("pw"), None)
            .await
            .unwrap_err();
        assert!(matches!(err, SecretsError::WrongPassphrase { .. }), "{err}");
    }

    #[tokio::test]
    async fn values_are_bound_to_their_stack_and_project() {
        let a = passphrase_stack("p", "a", "pw").await;
        let ct = a.seal_value(&Value::string("hunter2"));
        // The same key under another stack's or project's name does not open it.
        for (project, stack) in [("p", "b"), ("q", "a")] {
            let other = SecretsManager::from_parts(
                StackRef::new(project, stack),
                Provider::Passphrase,
                a.encryptionsalt().to_string(),
                key_from_slice(a.key.expose_secret()).unwrap(),
            );
            let err = other.open_value(&ct, "a secret in the state").unwrap_err();
            assert!(matches!(err, SecretsError::Decrypt { .. }), "{err}");
            assert!(!err.to_string().contains("hunter2"));
        }
        // Another stack with its own key does not open it either.
        let b = passphrase_stack("p", "b", "pw").await;
        assert!(b.open_value(&ct, "x").is_err());
    }

    #[tokio::test]
    async fn tampered_ciphertexts_fail() {
        let m = passphrase_stack("p", "dev", "pw").await;
        let ct = m.seal(b"hunter2");
        let raw = unb64(ct.strip_prefix("v1:").unwrap()).unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            let mut t = raw.clone();
            t[i] ^= 1;
            let err = m.open(&format!("v1:{}", b64(&t)), "x").unwrap_err();
            assert!(matches!(err, SecretsError::Decrypt { .. }), "byte {i}: {err}");
        }
        for bad in ["", "v1:", "v1:!!", "v2:AAAA", &format!("v1:{}", b64(&raw[..NONCE_LEN + TAG_LEN - 1]))] {
            assert!(m.open(bad, "x").is_err(), "{bad:?}");
        }
        assert_eq!(m.open(&ct, "x").unwrap().as_slice(), b"hunter2");
    }

    #[tokio::test]
    async fn malformed_salts_are_reported() {
        for salt in ["", "v1:abc", "v2:a:b:c", "v1:!!:AAAA:AAAA", "v1:AAAA:AAAA"] {
            let err = SecretsManager::load(StackRef::new("p", "dev"), "passphrase", salt, &fixed("pw"), None)
                .await
                .unwrap_err();
            assert!(matches!(err, SecretsError::BadSalt { .. }), "{salt:?}: {err}");
        }
    }

    #[test]
    fn providers_parse() {
        assert_eq!(Provider::parse("passphrase").unwrap(), Provider::Passphrase);
        assert!(Provider::parse("gcpkms://x").is_err());
        assert!(Provider::parse("").is_err());
    }

    #[test]
    fn debug_shows_no_key() {
        let key = random_key();
        let m = SecretsManager::from_parts(StackRef::new("p", "s"), Provider::Passphrase, "v1:x".into(), key);
        let text = format!("{m:?}");
        assert!(text.contains("SecretsManager") && !text.contains("key"), "{text}");
    }
}
