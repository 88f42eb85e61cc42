//! The product's only unsafe code: three libc calls std has no safe wrapper for. Each block says
//! why it is sound; nothing else in the workspace may use `unsafe` (the workspace denies it).
#![allow(unsafe_code)]

use std::ffi::CString;

/// Stops this process as a shell's Ctrl-Z does (SIGTSTP); returns once it is continued
/// (`fg`, SIGCONT). The TUI calls it after giving the terminal back.
pub fn stop_self() {
    // SAFETY: raise(3) sends a valid signal number to this process; it touches no memory.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
}

/// The process's effective user id.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// The uid and gid of a local user, by name (through NSS, like `id NAME`).
pub(crate) fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: an all-zero passwd is a valid value of this plain C struct (null pointers,
        // zero ids); getpwnam_r only writes into it.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: `cname` is a NUL-terminated string we own,
        // `pwd` and `found` are locals, and `buf` is a live allocation of `buf.len()` bytes.
        // getpwnam_r is the re-entrant form: it keeps no static state, so threads are fine.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &raw mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &raw mut found,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        // On success `found` points at `pwd`; the ids are plain integers copied out here.
        return (rc == 0 && !found.is_null()).then_some((pwd.pw_uid, pwd.pw_gid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists_and_nobody_made_up_does_not() {
        assert_eq!(lookup_user("root"), Some((0, 0)));
        assert_eq!(lookup_user("no-such-user-chirp"), None);
        assert_eq!(lookup_user("bad\0name"), None);
    }
}
