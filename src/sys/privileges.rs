//! Giving a spawned child (the command, an exec probe) its identity,
//! capability sets and `no_new_privs`, between `clone` and `exec`: raw system
//! calls only (the child shares vigil's memory, so no allocation, no lock, no
//! libc wrapper that synchronises threads, as musl's and glibc's set*id do).
//! Everything is prepared in vigil before `clone` (`ChildPrivileges`); vigil
//! itself never changes.
//!
//! The order: bounding drops while the child is still root (they need
//! CAP_SETPCAP), `PR_SET_KEEPCAPS` when capabilities must survive the switch
//! to a non-root uid, groups, gid, uid, then the other sets (`capset`), the
//! ambient set, and `no_new_privs` last. After the switch the child reads
//! its ids back (`getresuid`, `getresgid`) and fails the start if they are
//! not the ones asked for: a second line behind the range check of
//! `privileges::accounts` (`setresuid(-1, ...)` means "unchanged").

use nix::errno::Errno;
use std::io;

/// What to do in the child, all numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ChildPrivileges {
    pub ids: Option<ChildIds>,
    pub caps: Option<ChildCaps>,
    pub no_new_privs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChildIds {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

/// Capability sets as bitmasks; `bounding_drop` is what to remove from the
/// bounding set (vigil's bounding set less the command's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChildCaps {
    pub bounding_drop: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// The step that failed, reported to vigil with its errno in the child's
/// start report (`step << 16 | errno`), so the log says which call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
enum Step {
    Bounding = 1,
    KeepCaps,
    Groups,
    Gid,
    Uid,
    Capset,
    Ambient,
    NoNewPrivs,
    Verify,
}

const STEPS: [(Step, &str); 9] = [
    (Step::Bounding, "drop from the bounding set"),
    (
        Step::KeepCaps,
        "keep capabilities across setuid (PR_SET_KEEPCAPS)",
    ),
    (Step::Groups, "set the supplementary groups"),
    (Step::Gid, "set the group id"),
    (Step::Uid, "set the user id"),
    (Step::Capset, "set the capability sets"),
    (Step::Ambient, "raise the ambient capabilities"),
    (Step::NoNewPrivs, "set no_new_privs"),
    (
        Step::Verify,
        "switch to the requested ids (getresuid/getresgid show others)",
    ),
];

/// The error a child reported: an exec errno, or a privilege step's.
pub(crate) fn reported_error(word: i32) -> io::Error {
    let (step, errno) = (word >> 16, word & 0xffff);
    let err = io::Error::from_raw_os_error(errno);
    match STEPS.iter().find(|(s, _)| *s as i32 == step) {
        Some((_, what)) if step != 0 => io::Error::new(err.kind(), format!("cannot {what}: {err}")),
        _ => err,
    }
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`, two of them for 64 bits.
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn check(ret: libc::c_long, step: Step) -> Result<(), i32> {
    if ret < 0 {
        Err((step as i32) << 16 | Errno::last_raw())
    } else {
        Ok(())
    }
}

/// `prctl(option, arg2, 0, 0, 0)` as a raw system call.
fn prctl(option: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> libc::c_long {
    // SAFETY: prctl with integer arguments only reads them; a raw system call
    // touches no libc state, so it is safe in the child of clone(CLONE_VM).
    unsafe {
        libc::syscall(
            libc::SYS_prctl,
            option,
            arg2,
            arg3,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    }
}

/// The real, effective and saved ids are all the requested ones; an
/// `EPERM` naming `Step::Verify` when not. Inlined into `apply`, whose
/// pages the static build lays out with the hot functions (the child runs it
/// in vigil's memory at every start).
#[inline(always)]
fn verify(ids: &ChildIds) -> Result<(), i32> {
    let mut uids: [libc::uid_t; 3] = [0; 3];
    let mut gids: [libc::gid_t; 3] = [0; 3];
    let [ru, eu, su] = uids.each_mut().map(|u| u as *mut libc::uid_t);
    let [rg, eg, sg] = gids.each_mut().map(|g| g as *mut libc::gid_t);
    // SAFETY: each pointer is to a live local of the type the call writes;
    // raw system calls touch no libc state.
    unsafe {
        check(libc::syscall(libc::SYS_getresuid, ru, eu, su), Step::Verify)?;
        check(libc::syscall(libc::SYS_getresgid, rg, eg, sg), Step::Verify)?;
    }
    if uids != [ids.uid; 3] || gids != [ids.gid; 3] {
        return Err((Step::Verify as i32) << 16 | libc::EPERM);
    }
    Ok(())
}

impl ChildPrivileges {
    /// Runs in the child, after `clone`, before `exec`: raw system calls and
    /// arithmetic only. `Err` is the word to report (`step << 16 | errno`).
    #[inline(never)]
    #[cold]
    pub(crate) fn apply(&self) -> Result<(), i32> {
        if let Some(caps) = &self.caps {
            for cap in 0..64 {
                if caps.bounding_drop & (1 << cap) != 0 {
                    check(prctl(libc::PR_CAPBSET_DROP, cap, 0), Step::Bounding)?;
                }
            }
        }
        if let Some(ids) = &self.ids {
            let keep = self.caps.is_some_and(|c| c.permitted != 0) && ids.uid != 0;
            if keep {
                check(prctl(libc::PR_SET_KEEPCAPS, 1, 0), Step::KeepCaps)?;
            }
            // SAFETY: `groups` is a Vec built before clone and alive until
            // exec; setgroups reads `len` gids from it. Raw system calls (not
            // libc's set*id, which signal every thread) change this thread only,
            // the child's one.
            unsafe {
                check(
                    libc::syscall(libc::SYS_setgroups, ids.groups.len(), ids.groups.as_ptr()),
                    Step::Groups,
                )?;
                check(
                    libc::syscall(libc::SYS_setresgid, ids.gid, ids.gid, ids.gid),
                    Step::Gid,
                )?;
                check(
                    libc::syscall(libc::SYS_setresuid, ids.uid, ids.uid, ids.uid),
                    Step::Uid,
                )?;
            }
            verify(ids)?;
        }
        if let Some(caps) = &self.caps {
            let mut header = CapHeader {
                version: CAPABILITY_VERSION_3,
                pid: 0,
            };
            let word = |mask: u64, i: usize| (mask >> (32 * i)) as u32;
            let data = [0, 1].map(|i| CapData {
                effective: word(caps.effective, i),
                permitted: word(caps.permitted, i),
                inheritable: word(caps.inheritable, i),
            });
            // SAFETY: header and data are live locals of the layout capset(2)
            // wants (version 3: two data structs).
            let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
            check(ret, Step::Capset)?;
            let cleared = prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                0,
            );
            if caps.ambient != 0 {
                check(cleared, Step::Ambient)?;
            }
            for cap in 0..64 {
                if caps.ambient & (1 << cap) != 0 {
                    let raise = libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong;
                    check(prctl(libc::PR_CAP_AMBIENT, raise, cap), Step::Ambient)?;
                }
            }
        }
        if self.no_new_privs {
            check(prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0), Step::NoNewPrivs)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_errors_name_the_step() {
        let e = reported_error((Step::Uid as i32) << 16 | libc::EPERM);
        assert_eq!(e.raw_os_error(), None);
        assert!(e.to_string().starts_with("cannot set the user id: "), "{e}");
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        let e = reported_error((Step::Verify as i32) << 16 | libc::EPERM);
        assert!(
            e.to_string().starts_with(
                "cannot switch to the requested ids (getresuid/getresgid show others): "
            ),
            "{e}"
        );
        // A plain exec errno stays itself.
        let e = reported_error(libc::ENOENT);
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    }

    /// The second line: were an id that the kernel reads as "unchanged" ever
    /// let through, the child would stay root; it must notice and fail. Run
    /// on a thread of its own: raw set*id calls change that thread only.
    #[test]
    fn ids_the_kernel_leaves_unchanged_fail_the_start() {
        let apply = |uid: u32, gid: u32| {
            std::thread::spawn(move || {
                ChildPrivileges {
                    ids: Some(ChildIds {
                        uid,
                        gid,
                        groups: vec![],
                    }),
                    ..ChildPrivileges::default()
                }
                .apply()
            })
            .join()
            .unwrap()
        };
        if nix::unistd::geteuid().as_raw() != 0 {
            return; // the tests run as root; set*id needs it
        }
        let verify = Err((Step::Verify as i32) << 16 | libc::EPERM);
        assert_eq!(apply(u32::MAX, 0), verify);
        assert_eq!(apply(0, u32::MAX), verify);
        assert_eq!(apply(0, 0), Ok(()));
    }
}
