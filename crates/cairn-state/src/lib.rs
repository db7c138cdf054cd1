//! cairn's state storage.
//!
//! - [`LocalBackend`]: a directory (by default `<project>/.cairn`) holding, per stack, a
//!   snapshot, an append-only intent journal, a lock file and the run history. See the
//!   [`local`] module for the on-disk format and its crash-safety argument.
//! - [`S3Backend`]: the same model in an S3 bucket (`s3://bucket/prefix?region=...`): one
//!   object per journal append, a snapshot per run, a lock object created with a
//!   conditional PUT. See the [`s3`] module.
//! - [`open_backend`]: turns the `backend:` setting of `Cairn.yaml` into a
//!   [`Backend`](cairn_core::state::Backend).
//! - [`lock_info`]: who is taking a lock (user, host, pid, time); [`holder_state`]:
//!   whether a lock's holder still runs.
//! - [`secrets`]: secrets managers (passphrase, AWS KMS) that seal one stack's secrets, and
//!   [`EncryptingBackend`], which wraps any backend so that secrets are encrypted at rest.

// `StateError` is the core contract's error type; its `Locked` variant carries the whole
// `LockInfo`. Errors here are the cold path, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_core::state::{Backend, LockInfo, StateError};

pub mod encrypting;
mod format;
pub mod local;
pub mod s3;
pub mod secrets;
mod sys;

pub use encrypting::EncryptingBackend;
pub use local::LocalBackend;
pub use s3::S3Backend;

/// The longest stack name accepted (it becomes a directory name and an S3 key part).
pub const MAX_STACK_NAME_LEN: usize = 128;

/// Check a stack name: 1 to [`MAX_STACK_NAME_LEN`] characters from `[A-Za-z0-9_.-]`, and
/// not `.` or `..` (a stack name is a directory name; it must not walk the tree).
pub fn validate_stack_name(name: &str) -> Result<(), StateError> {
    let invalid =
        |reason: &str| Err(StateError::InvalidStackName { name: name.to_string(), reason: reason.to_string() });
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name.len() > MAX_STACK_NAME_LEN {
        return invalid(&format!("it is longer than {MAX_STACK_NAME_LEN} characters"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return invalid(&format!("it contains {c:?}; use letters, digits, `_`, `.` and `-` only"));
    }
    if name == "." || name == ".." {
        return invalid("`.` and `..` are reserved");
    }
    Ok(())
}

/// Open the backend a project's `backend:` setting names.
///
/// - `None`: `<project_dir>/.cairn`.
/// - `file:///abs/path`: that directory.
/// - `file://relative/path` or a plain path: relative to `project_dir` (a plain absolute
///   path is used as is).
/// - `s3://bucket/prefix?region=R`: an [`S3Backend`]; without `?region=`, `AWS_REGION`,
///   and without either an error asking for `?region=`. Its client is made on first use.
///
/// Nothing is created on disk until something is written.
pub fn open_backend(url: Option<&str>, project_dir: &Path) -> Result<Arc<dyn Backend>, StateError> {
    if let Some(url) = url.map(str::trim).filter(|u| u.starts_with("s3://")) {
        return Ok(Arc::new(S3Backend::from_url(url)?));
    }
    let root = local_root(url, project_dir)?;
    Ok(Arc::new(LocalBackend::new(root)))
}

/// The directory a local backend URL points at (see [`open_backend`]).
fn local_root(url: Option<&str>, project_dir: &Path) -> Result<PathBuf, StateError> {
    let relative = |p: &str| -> PathBuf {
        let p = Path::new(p);
        let joined = if p.is_absolute() { p.to_path_buf() } else { project_dir.join(p) };
        std::path::absolute(&joined).unwrap_or(joined)
    };
    let Some(url) = url.map(str::trim) else {
        return Ok(relative(".cairn"));
    };
    if url.is_empty() {
        return Err(StateError::UnsupportedBackend(
            "the backend setting is empty; use `file://<directory>` or `s3://<bucket>/<prefix>`".into(),
        ));
    }
    if let Some(rest) = url.strip_prefix("file://") {
        if rest.is_empty() {
            return Err(StateError::UnsupportedBackend(format!(
                "`{url}` names no directory; use `file://.cairn` or `file:///absolute/path`"
            )));
        }
        return Ok(relative(rest));
    }
    if url.starts_with("s3://") {
        return Err(StateError::UnsupportedBackend(format!("`{url}` is not a local directory")));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(StateError::UnsupportedBackend(format!(
            "`{url}`: unknown scheme `{scheme}://`; cairn stores state under `file://` or `s3://`"
        )));
    }
    Ok(relative(url))
}

/// Lock information for the current process: `$USER` (or the uid), this host's name, this
/// pid, the operation (`up`, `destroy`, ...) and the current time as RFC 3339 UTC.
pub fn lock_info(operation: &str) -> LockInfo {
    LockInfo {
        user: sys::username(),
        host: sys::hostname().to_string(),
        pid: std::process::id(),
        operation: operation.to_string(),
        started: now_rfc3339(),
    }
}

/// What this machine can tell about a lock's holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HolderState {
    /// The holder ran on this host and its process is still running.
    Running,
    /// The holder ran on this host and its process is gone: the lock is stale.
    Gone,
    /// The holder ran on another host (or the lock is unreadable): whether its process
    /// still runs cannot be told from here.
    Elsewhere,
}

/// Whether `holder`'s process runs, as far as this host can tell (`kill(pid, 0)` when the
/// lock was taken on this host).
pub fn holder_state(holder: &LockInfo) -> HolderState {
    if holder.host != sys::hostname() {
        HolderState::Elsewhere
    } else if sys::pid_alive(holder.pid) {
        HolderState::Running
    } else {
        HolderState::Gone
    }
}

/// The current time as RFC 3339 UTC with whole seconds (`2026-04-01T12:00:00Z`).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| now.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names() {
        for ok in ["dev", "production", "eu-west-1.prod", "a_b", "A9", ".x", "..."] {
            assert!(validate_stack_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "../x", "a b", "a\\b", "é", "a\0", &"x".repeat(129)] {
            let err = validate_stack_name(bad).unwrap_err();
            assert!(matches!(err, StateError::InvalidStackName { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn url_forms() {
        let project = Path::new("/proj");
        assert_eq!(local_root(None, project).unwrap(), Path::new("/proj/.cairn"));
        assert_eq!(local_root(Some("file:///var/state"), project).unwrap(), Path::new("/var/state"));
        assert_eq!(local_root(Some("file://.cairn"), project).unwrap(), Path::new("/proj/.cairn"));
        assert_eq!(local_root(Some("file://state/dir"), project).unwrap(), Path::new("/proj/state/dir"));
        assert_eq!(local_root(Some("state"), project).unwrap(), Path::new("/proj/state"));
        assert_eq!(local_root(Some("/abs"), project).unwrap(), Path::new("/abs"));
        for bad in ["s3://bucket/prefix?region=us-east-1", "gs://x", "", "file://"] {
            let err = local_root(Some(bad), project).unwrap_err();
            assert!(matches!(err, StateError::UnsupportedBackend(_)), "{bad:?}: {err}");
        }
        let b = open_backend(Some("s3://bucket/team/?region=eu-west-1"), project).unwrap();
        assert_eq!(b.describe(), "s3://bucket/team");
        let err = open_backend(Some("s3://Bad_Bucket/x?region=eu-west-1"), project).err().unwrap();
        assert!(matches!(err, StateError::UnsupportedBackend(_)), "{err}");
    }

    #[test]
    fn lock_info_fields() {
        let info = lock_info("up");
        assert_eq!(info.pid, std::process::id());
        assert_eq!(info.operation, "up");
        assert!(!info.user.is_empty() && !info.host.is_empty());
        assert!(time::OffsetDateTime::parse(&info.started, &time::format_description::well_known::Rfc3339).is_ok());
        assert!(info.started.ends_with('Z'), "{}", info.started);
    }
}
