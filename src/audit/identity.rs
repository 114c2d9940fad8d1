//! Who and where: the operator at the keyboard, the host, the SSH client, this process's
//! session id — what every audit record and recording header is stamped with.

use chrono::Utc;

/// Who is at the keyboard: `SUDO_USER`, `USER`, `LOGNAME`, then the account of our uid.
pub fn current_user() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|s| !s.is_empty()))
        .or_else(account_name)
        .unwrap_or_else(|| "unknown".into())
}

/// The passwd name of the real uid (tmux and cron often leave USER unset).
fn account_name() -> Option<String> {
    // SAFETY: getpwuid_r writes only into the buffers we pass and sets `result`
    // to null or to `pwd`; the name is copied out before the buffers go away.
    unsafe {
        let uid = libc::getuid();
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 1024];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return Some(format!("uid{uid}"));
        }
        Some(
            std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// The first field of `SSH_CLIENT` ("ip port port"), else of `SSH_CONNECTION`.
pub fn ssh_client(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    ["SSH_CLIENT", "SSH_CONNECTION"]
        .iter()
        .find_map(|k| env(k).and_then(|v| v.split_whitespace().next().map(str::to_string)))
}

/// An id unique enough to tell this process's records from another's: time, pid and std's
/// per-process random SipHash keys.
pub fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(Utc::now().timestamp_nanos_opt().unwrap_or_default());
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// This host's name, as `gethostname` gives it.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
