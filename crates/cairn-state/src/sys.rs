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
        // A killed process that its parent has not reaped yet (a zombie) still answers
        // signal 0, but it will never release its lock.
        return !is_zombie(pid);
    }
    // EPERM: the process exists but belongs to someone else.
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether `/proc/<pid>/stat` says the process is a zombie (state `Z`) or dead (`X`).
fn is_zombie(pid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // The state follows the command name, which is in parentheses and may contain spaces.
    stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|st| st == "Z" || st == "X")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreaped_killed_child_is_not_alive() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().expect("spawn sleep");
        let pid = child.id();
        assert!(pid_alive(pid));
        child.kill().expect("kill");
        // Not reaped yet: wait until the kernel reports it as a zombie.
        for _ in 0..200 {
            if !pid_alive(pid) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!pid_alive(pid), "a zombie must not count as alive");
        child.wait().expect("reap");
    }
}
