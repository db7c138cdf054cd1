//! Secrets in the CLI: where passphrases come from (environment, file, or a prompt that
//! does not echo), the stack files' encrypted values (`parameters: {KEY: {secure: v1:...}}`),
//! and the [`SecretsSource`] that gives [`cairn_state::EncryptingBackend`] each stack's
//! secrets manager from its stack file.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use cairn_core::project::{parse_stack, StackSettings};
use cairn_core::template::ast::{Key, Mapping, Node, NodeValue};
use cairn_core::{Span, Value};
use cairn_state::encrypting::SecretsSource;
use cairn_state::secrets::{passphrase, PassphraseSource, Provider, SecretsError, SecretsManager, StackRef};
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::CliError;

/// The key of an encrypted value in a stack file.
pub const SECURE_KEY: &str = "secure";

/// Environment variable with the passphrase `stack change-secrets-provider passphrase` sets
/// (else the usual sources are used).
pub const ENV_NEW_PASSPHRASE: &str = "CAIRN_NEW_PASSPHRASE";

impl From<SecretsError> for CliError {
    fn from(e: SecretsError) -> Self {
        match e {
            SecretsError::Kms { .. } | SecretsError::KmsUnreachable { .. } => CliError::Failed(e.to_string()),
            other => CliError::Usage(other.to_string()),
        }
    }
}

/// Whether stdin and stderr are a terminal (so the user can be asked).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Read a line from the terminal without echoing it.
pub fn read_hidden(prompt: &str) -> std::io::Result<Zeroizing<String>> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it and we only pass it back.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    let have_term = unsafe { libc::tcgetattr(fd, &mut term) } == 0;
    let original = term;
    if have_term {
        term.c_lflag &= !libc::ECHO;
        term.c_lflag |= libc::ECHONL;
        // SAFETY: a termios from tcgetattr with flags changed.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
    }
    let mut line = Zeroizing::new(String::new());
    let result = std::io::stdin().read_line(&mut line);
    if have_term {
        // SAFETY: restores what tcgetattr returned.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &original) };
    }
    result?;
    let trimmed = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    Ok(Zeroizing::new(trimmed.to_string()))
}

fn prompt_passphrase(stack: &str, new: bool) -> Result<SecretString, SecretsError> {
    let io = |e: std::io::Error| SecretsError::Passphrase(format!("cannot read the passphrase: {e}"));
    let what = if new { "New passphrase" } else { "Passphrase" };
    let first = read_hidden(&format!("{what} for the secrets of stack `{stack}`: ")).map_err(io)?;
    if first.is_empty() {
        return Err(SecretsError::Passphrase("the passphrase is empty".into()));
    }
    if new {
        let again = read_hidden("Repeat it: ").map_err(io)?;
        if *again != *first {
            return Err(SecretsError::Passphrase("the two passphrases differ".into()));
        }
    }
    Ok(SecretString::from(first.to_string()))
}

/// `CAIRN_PASSPHRASE`, `CAIRN_PASSPHRASE_FILE`, else a prompt on a terminal, else an error
/// saying what to set.
pub struct CliPassphrase;

impl PassphraseSource for CliPassphrase {
    fn passphrase(&self, stack: &str, new: bool) -> Result<SecretString, SecretsError> {
        if let Some(p) = passphrase::from_env()? {
            return Ok(p);
        }
        if interactive() {
            return prompt_passphrase(stack, new);
        }
        Err(SecretsError::NoPassphrase { stack: stack.to_string() })
    }
}

/// The passphrase of a stack's new secrets provider: `CAIRN_NEW_PASSPHRASE`, else as
/// [`CliPassphrase`].
pub struct NewPassphrase;

impl PassphraseSource for NewPassphrase {
    fn passphrase(&self, stack: &str, _new: bool) -> Result<SecretString, SecretsError> {
        match std::env::var(ENV_NEW_PASSPHRASE) {
            Ok(p) if !p.is_empty() => Ok(SecretString::from(p)),
            Ok(_) => Err(SecretsError::Passphrase(format!("{ENV_NEW_PASSPHRASE} is set but empty"))),
            Err(_) => CliPassphrase.passphrase(stack, true),
        }
    }
}

/// The stack files of a project, as the source of each stack's secrets manager.
pub struct StackSecrets {
    pub dir: PathBuf,
    pub project: String,
    pub defaults: StackSettings,
}

impl StackSecrets {
    fn rel(stack: &str) -> String {
        format!("stacks/{stack}.yaml")
    }

    /// The stack file's own settings (empty when it has none).
    fn read_own(&self, stack: &str) -> Result<StackSettings, SecretsError> {
        let rel = Self::rel(stack);
        match std::fs::read_to_string(self.dir.join(&rel)) {
            Ok(text) => parse_stack(&text, &rel).map_err(|d| SecretsError::Passphrase(d.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StackSettings::default()),
            Err(e) => Err(SecretsError::Passphrase(format!("cannot read {rel}: {e}"))),
        }
    }

    fn write_own(&self, stack: &str, settings: &StackSettings) -> Result<(), SecretsError> {
        let rel = Self::rel(stack);
        crate::project::write_stack_file(&self.dir.join(&rel), settings)
            .map_err(|e| SecretsError::Passphrase(format!("cannot write {rel}: {e}")))
    }

    fn settings(&self, stack: &str) -> Result<StackSettings, SecretsError> {
        Ok(self.read_own(stack)?.merged_over(&self.defaults))
    }

    fn stack_ref(&self, stack: &str) -> StackRef {
        StackRef::new(&self.project, stack)
    }

    /// Create a manager for `provider` and record it in the stack file.
    pub async fn create(
        &self,
        stack: &str,
        provider: Provider,
        passphrase: &dyn PassphraseSource,
    ) -> Result<SecretsManager, SecretsError> {
        let region = self.settings(stack)?.region;
        SecretsManager::create(self.stack_ref(stack), provider, passphrase, region.as_deref()).await
    }

    /// Write `manager`'s provider and salt into the stack file.
    pub fn record(&self, stack: &str, manager: &SecretsManager) -> Result<(), SecretsError> {
        let mut own = self.read_own(stack)?;
        own.secretsprovider = Some(manager.provider().url());
        own.encryptionsalt = Some(manager.encryptionsalt().to_string());
        self.write_own(stack, &own)
    }
}

#[async_trait]
impl SecretsSource for StackSecrets {
    async fn configured(&self, stack: &str) -> Result<Option<Arc<SecretsManager>>, SecretsError> {
        let s = self.settings(stack)?;
        match (&s.secretsprovider, &s.encryptionsalt) {
            (Some(provider), Some(salt)) => Ok(Some(Arc::new(
                SecretsManager::load(self.stack_ref(stack), provider, salt, &CliPassphrase, s.region.as_deref())
                    .await?,
            ))),
            // A provider named but not set up yet (written by hand): `set_up` uses it.
            (Some(provider), None) => {
                Provider::parse(provider)?;
                Ok(None)
            }
            (None, Some(_)) => Err(SecretsError::BadSalt {
                stack: stack.to_string(),
                reason: "there is an `encryptionsalt` but no `secretsprovider`".into(),
            }),
            (None, None) => Ok(None),
        }
    }

    async fn set_up(&self, stack: &str) -> Result<Arc<SecretsManager>, SecretsError> {
        let provider = match &self.settings(stack)?.secretsprovider {
            Some(p) => Provider::parse(p)?,
            None => Provider::Passphrase,
        };
        let m = self.create(stack, provider, &CliPassphrase).await?;
        self.record(stack, &m)?;
        eprintln!(
            "Stack `{stack}` now encrypts its secrets with `{}` (recorded in {}).",
            m.provider().url(),
            Self::rel(stack)
        );
        Ok(Arc::new(m))
    }
}

/// The ciphertext of a stack file value written as `{secure: v1:...}`.
pub fn secure_ciphertext(node: &Node) -> Option<&str> {
    match &node.value {
        NodeValue::Map(m) if m.entries.len() == 1 && m.entries[0].0.name == SECURE_KEY => m.entries[0].1.as_str(),
        _ => None,
    }
}

/// A stack file value `{secure: <ciphertext>}`.
pub fn secure_node(ciphertext: String, span: Span) -> Node {
    Node::new(
        NodeValue::Map(Mapping {
            entries: vec![(
                Key { name: SECURE_KEY.to_string(), span: span.clone() },
                Node::new(NodeValue::String(ciphertext), span.clone()),
            )],
        }),
        span,
    )
}

/// Replace every `{secure: ...}` parameter by its decrypted value (a node located at the
/// encrypted one), returning the names of those parameters.
pub fn decrypt_parameters(
    s: &mut StackSettings,
    manager: Option<&SecretsManager>,
    stack: &str,
) -> Result<BTreeSet<String>, SecretsError> {
    let mut names = BTreeSet::new();
    for (name, node) in s.parameters.iter_mut() {
        let Some(ct) = secure_ciphertext(node) else { continue };
        let m = manager.ok_or_else(|| SecretsError::NotConfigured { stack: stack.to_string() })?;
        let v = m.open_value(ct, &format!("parameter `{name}`"))?;
        *node =
            Node::from_value(v.reveal(), &node.span).unwrap_or_else(|| Node::new(NodeValue::Null, node.span.clone()));
        names.insert(name.clone());
    }
    Ok(names)
}

/// The key of a stack file value read from the environment: `{env: NAME}`, or
/// `{env: NAME, default: VALUE}` for one that may be unset.
pub const ENV_KEY: &str = "env";

/// The variable (and default) of a stack file value written `{env: NAME[, default: V]}`.
pub fn env_source(node: &Node) -> Option<(&str, Option<&Node>)> {
    let NodeValue::Map(m) = &node.value else { return None };
    let var = m.get(ENV_KEY)?.as_str()?;
    let extra: Vec<&str> = m.entries.iter().map(|(k, _)| k.name.as_str()).filter(|k| *k != ENV_KEY).collect();
    match extra.as_slice() {
        [] => Some((var, None)),
        ["default"] => Some((var, m.get("default"))),
        _ => None,
    }
}

/// Replace every `{env: NAME}` parameter by the variable's value (a node located at the
/// stack file's value), returning the names of those parameters. An unset variable
/// without a `default` is an error at the value. The value is not written anywhere: a
/// NoEcho parameter given this way is a secret like any other (encrypted in the state,
/// `[secret]` in output), and the stack file keeps `{env: NAME}`.
pub fn environment_parameters(s: &mut StackSettings) -> Result<BTreeSet<String>, cairn_core::Diagnostics> {
    let mut names = BTreeSet::new();
    let mut errs = Vec::new();
    for (name, node) in s.parameters.iter_mut() {
        if let NodeValue::Map(m) = &node.value {
            if m.get(ENV_KEY).is_some() && env_source(node).is_none() {
                errs.push(cairn_core::Diagnostic::at(
                    &node.span,
                    format!("parameter `{name}`: a value from the environment is `{{env: NAME}}` or `{{env: NAME, default: VALUE}}`, with NAME a string"),
                ));
                continue;
            }
        }
        let Some((var, default)) = env_source(node) else { continue };
        let value = match std::env::var(var) {
            Ok(v) => Node::new(NodeValue::String(v), node.span.clone()),
            Err(_) => match default {
                Some(d) => d.clone(),
                None => {
                    let mut d = cairn_core::Diagnostic::at(
                        &node.span,
                        format!("parameter `{name}` comes from the environment variable `{var}`, which is not set"),
                    );
                    d.help = Some(format!(
                        "export {var}=..., or give the stack file a default: `{{env: {var}, default: ...}}`"
                    ));
                    errs.push(d);
                    continue;
                }
            },
        };
        *node = value;
        names.insert(name.clone());
    }
    if errs.is_empty() {
        Ok(names)
    } else {
        Err(cairn_core::Diagnostics(errs))
    }
}

/// Open a stack file's secure value for display.
pub fn open_secure(m: &SecretsManager, name: &str, ciphertext: &str) -> Result<Value, SecretsError> {
    m.open_value(ciphertext, &format!("parameter `{name}`"))
}

/// Re-encrypt the stack file's secure values from `old` to `new`.
pub fn reencrypt_parameters(
    s: &mut StackSettings,
    old: Option<&SecretsManager>,
    new: &SecretsManager,
    stack: &str,
) -> Result<usize, SecretsError> {
    let mut n = 0;
    for (name, node) in s.parameters.iter_mut() {
        let Some(ct) = secure_ciphertext(node) else { continue };
        let m = old.ok_or_else(|| SecretsError::NotConfigured { stack: stack.to_string() })?;
        let v = open_secure(m, name, ct)?;
        *node = secure_node(new.seal_value(&v), node.span.clone());
        n += 1;
    }
    Ok(n)
}

/// A secret value typed by the user: the argument, else stdin (a no-echo prompt on a
/// terminal; otherwise all of stdin without its final newline).
pub fn read_secret_value(key: &str, value: Option<String>) -> Result<Zeroizing<String>, CliError> {
    if let Some(v) = value {
        return Ok(Zeroizing::new(v));
    }
    if std::io::stdin().is_terminal() {
        return read_hidden(&format!("Value of `{key}`: "))
            .map_err(|e| CliError::Usage(format!("cannot read the value: {e}")));
    }
    let mut text = Zeroizing::new(String::new());
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .map_err(|e| CliError::Usage(format!("cannot read the value from stdin: {e}")))?;
    let trimmed = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    Ok(Zeroizing::new(trimmed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::project::render_stack;

    #[test]
    fn secure_nodes_round_trip_through_the_stack_file() {
        let mut s = StackSettings::default();
        s.parameters.insert("Password".into(), secure_node("v1:abc=".into(), Span::file("stacks/dev.yaml")));
        let text = render_stack(&s);
        assert_eq!(text, "parameters:\n  Password:\n    secure: v1:abc=\n");
        let back = parse_stack(&text, "stacks/dev.yaml").unwrap();
        assert_eq!(secure_ciphertext(&back.parameters["Password"]), Some("v1:abc="));
    }
}
