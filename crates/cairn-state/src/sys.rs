//! The few OS facts the local backend needs: this host's name, the current user, and
//! whether a process is alive. Unix only (like the rest of the local backend).

use std::sync::OnceLock;

/// This machine's host name (`gethostname`), or `unknown` if it cannot be read.
pub fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname writes at most
        // that many and we read up to the first NUL (or the whole buffer) only.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return "unknown".to_string();
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
        if name.is_empty() {
            "unknown".to_string()
        } else {
            name
        }
    })
}

/// The user running cairn: `$USER`, else `$LOGNAME`, else `uid <n>`.
pub fn username() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var) {
            if !v.trim().is_empty() {
                return v;
            }
        }
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    format!("uid {uid}")
}

/// Whether a process with this pid exists on this machine (`kill(pid, 0)`). Pid 0 and
/// pids that do not fit a `pid_t` are never alive (pid 0 would address our own process
/// group).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs only the existence and permission checks.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc == 0 {
        return true;
    }
    // EPERM: the process exists but belongs to someone else.
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
