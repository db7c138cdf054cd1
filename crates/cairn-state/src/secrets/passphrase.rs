//! The `passphrase` secrets provider.
//!
//! Argon2id (version 0x13; 64 MiB, 3 passes, 1 lane: RFC 9106's second recommended
//! setting) of the passphrase and a random 16-byte per-stack salt gives a 256-bit
//! key-encryption key (KEK). The KEK wraps the stack's data key with XChaCha20-Poly1305.
//! The stack file's `encryptionsalt` holds
//! `v1:<salt>:<wrapped data key>:<check value>` (standard base64). A wrong passphrase
//! fails to unwrap the data key, or (should it unwrap) to open the check value; either way
//! the error is [`SecretsError::WrongPassphrase`].
//!
//! Where the passphrase comes from is the caller's [`PassphraseSource`]; [`from_env`]
//! reads `CAIRN_PASSPHRASE` or `CAIRN_PASSPHRASE_FILE`.

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{aead_open, aead_seal, b64, check_value, key_from_slice, unb64, verify_check, Key, SecretsError};

/// The environment variable holding the passphrase.
pub const ENV_PASSPHRASE: &str = "CAIRN_PASSPHRASE";
/// The environment variable naming a file whose content (without its final newline) is
/// the passphrase.
pub const ENV_PASSPHRASE_FILE: &str = "CAIRN_PASSPHRASE_FILE";

const SALT_LEN: usize = 16;
const M_COST_KIB: u32 = 64 * 1024;
const T_COST: u32 = 3;
const P_COST: u32 = 1;
const WRAP_AD: &[u8] = b"cairn data key v1";

fn kek(passphrase: &SecretString, salt: &[u8]) -> Key {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(32)).expect("valid Argon2 parameters");
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.expose_secret().as_bytes(), salt, &mut out[..])
        .expect("Argon2id with a 16-byte salt and 32-byte output");
    key_from_slice(&out[..]).expect("32 bytes")
}

/// Wrap `data_key` under `passphrase` with a new random salt: the `encryptionsalt` text.
pub(crate) fn wrap(passphrase: &SecretString, data_key: &Key) -> String {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let kek = kek(passphrase, &salt);
    let wrapped = aead_seal(&kek, secrecy::ExposeSecret::expose_secret(data_key), WRAP_AD);
    format!("v1:{}:{}:{}", b64(&salt), b64(&wrapped), b64(&check_value(data_key)))
}

/// The data key in `encryptionsalt`, unwrapped with `passphrase`.
pub(crate) fn unwrap(stack: &str, passphrase: &SecretString, encryptionsalt: &str) -> Result<Key, SecretsError> {
    let bad = |reason: &str| SecretsError::BadSalt { stack: stack.to_string(), reason: reason.to_string() };
    let parts: Vec<&str> = encryptionsalt.trim().split(':').collect();
    let [version, salt, wrapped, check] = parts[..] else {
        return Err(bad("expected `v1:<salt>:<wrapped key>:<check>`"));
    };
    if version != "v1" {
        return Err(bad(&format!("unknown version `{version}` (this cairn reads `v1`)")));
    }
    let (Some(salt), Some(wrapped), Some(check)) = (unb64(salt), unb64(wrapped), unb64(check)) else {
        return Err(bad("a part is not base64"));
    };
    if salt.len() < 8 {
        return Err(bad("the salt is too short"));
    }
    let kek = kek(passphrase, &salt);
    let wrong = || SecretsError::WrongPassphrase { stack: stack.to_string() };
    let raw = aead_open(&kek, &wrapped, WRAP_AD).ok_or_else(wrong)?;
    let key = key_from_slice(&raw).ok_or_else(wrong)?;
    if !verify_check(&key, &check) {
        return Err(wrong());
    }
    Ok(key)
}

/// The passphrase from `CAIRN_PASSPHRASE`, else from the file `CAIRN_PASSPHRASE_FILE`
/// names (one final newline removed); `Ok(None)` when neither is set. An empty passphrase
/// is refused.
pub fn from_env() -> Result<Option<SecretString>, SecretsError> {
    if let Ok(p) = std::env::var(ENV_PASSPHRASE) {
        if p.is_empty() {
            return Err(SecretsError::Passphrase(format!("{ENV_PASSPHRASE} is set but empty")));
        }
        return Ok(Some(SecretString::from(p)));
    }
    if let Some(path) = std::env::var_os(ENV_PASSPHRASE_FILE).filter(|p| !p.is_empty()) {
        let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
            SecretsError::Passphrase(format!(
                "cannot read the passphrase file {} ({ENV_PASSPHRASE_FILE}): {e}",
                std::path::Path::new(&path).display()
            ))
        })?);
        let p = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
        if p.is_empty() {
            return Err(SecretsError::Passphrase(format!(
                "the passphrase file {} ({ENV_PASSPHRASE_FILE}) is empty",
                std::path::Path::new(&path).display()
            )));
        }
        return Ok(Some(SecretString::from(p.to_string())));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::random_key;

    #[test]
    fn wrap_and_unwrap() {
        let key = random_key();
        let pass = SecretString::from("correct horse battery staple");
        let salt = wrap(&pass, &key);
        assert!(salt.starts_with("v1:") && salt.split(':').count() == 4, "{salt}");
        assert!(!salt.contains("correct"));
        let back = unwrap("dev", &pass, &salt).unwrap();
        assert_eq!(back.expose_secret(), key.expose_secret());
        // A new salt every time, so two stacks with one passphrase get different KEKs.
        assert_ne!(wrap(&pass, &key).split(':').nth(1), salt.split(':').nth(1));
        let err = unwrap("dev", &SecretString::from("correct horse battery stapl"), &salt).unwrap_err();
        assert_eq!(err.to_string(), "the passphrase for stack `dev` is wrong");
    }
}
