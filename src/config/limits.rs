//! The kernel's limits on what one `execve` takes, applied to the
//! configuration so that a command or exec probe that could never be started
//! is a configuration error (exit 2, with its path, line and column), and so
//! that `$(VAR)` expansion is sized against them before anything is built:
//! a 1 MiB file could otherwise expand to tens of gigabytes.
//!
//! Linux (`fs/exec.c`) refuses with E2BIG:
//!
//! - any one argument or environment string (`NAME=VALUE`) that takes more
//!   than `MAX_ARG_STRLEN` (32 pages: 131072 bytes) with its terminating NUL;
//! - argv and envp together over ARG_MAX as the kernel applies it: the
//!   strings with their NULs plus one pointer each, within a quarter of the
//!   stack limit (at least 128 KiB, at most 6 MiB). vigil fixes this at
//!   `MAX_EXEC_TOTAL`, 2 MiB (a quarter of the usual 8 MiB stack limit), so
//!   that `vigil check` and start-up agree wherever they run.
//!
//! Only what the configuration gives is counted: the argv and the file's
//! `env` (with `LISTENING_PORT`), not the inherited environment nor the
//! program's path, which the kernel adds at exec time. A configuration
//! refused here could therefore never be exec'd (under that stack limit);
//! one accepted may still fail with E2BIG in a large inherited environment.

use super::model::{EnvIndex, NameValue};

/// The most bytes the kernel takes for one argument or environment string,
/// its terminating NUL included (`MAX_ARG_STRLEN`, 32 pages of 4 KiB).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// The longest string (without its NUL) that fits in `MAX_ARG_STRLEN`.
pub const MAX_ARG_LEN: usize = MAX_ARG_STRLEN - 1;

/// The most bytes one exec's argv and environment may take (strings with their
/// NULs, plus a pointer each): ARG_MAX as the kernel applies it under the
/// usual 8 MiB stack limit (a quarter of it), fixed here whatever the limit.
pub const MAX_EXEC_TOTAL: usize = 2 << 20;

/// What one argv or envp string of `len` bytes takes from `MAX_EXEC_TOTAL`:
/// its bytes, its NUL and its pointer.
pub fn exec_cost(len: usize) -> usize {
    len.saturating_add(1 + std::mem::size_of::<*const u8>())
}

/// What `env` adds to an exec, as the command gets it: one `NAME=VALUE`
/// string per name (of a name given twice, the last value).
pub fn env_cost(env: &[NameValue], index: &EnvIndex) -> usize {
    env.iter()
        .enumerate()
        .filter(|(i, v)| index.last(&v.name) == Some(*i))
        .map(|(_, v)| exec_cost(env_len(v)))
        .fold(0, usize::saturating_add)
}

/// The length of the environment string `NAME=VALUE`, without its NUL.
pub fn env_len(var: &NameValue) -> usize {
    var.name.len() + 1 + var.value.len()
}

/// Why one string of `len` bytes cannot be passed, if it cannot; `what` is
/// "one argument" or "one environment string".
pub fn too_long(len: usize, what: &str) -> Option<String> {
    (len > MAX_ARG_LEN).then(|| over_arg_len(len, what))
}

/// Why an exec of `total` bytes (as counted by `exec_cost`) cannot be
/// started, if it cannot.
pub fn too_large(total: usize) -> Option<String> {
    (total > MAX_EXEC_TOTAL).then(|| over_exec_total(total))
}

/// "`len` bytes, more than the kernel takes for `what`".
pub fn over_arg_len(len: usize, what: &str) -> String {
    format!(
        "{len} bytes, more than the {MAX_ARG_LEN} the kernel takes for {what} \
         (MAX_ARG_STRLEN: {MAX_ARG_STRLEN} bytes with its terminating NUL)"
    )
}

/// "`total` bytes of argv and environment, more than the kernel takes".
pub fn over_exec_total(total: usize) -> String {
    format!(
        "{total} bytes of argv and environment (strings with their NULs and a pointer \
         each), more than the {MAX_EXEC_TOTAL} bytes (2 MiB) the kernel takes for one \
         program (ARG_MAX as applied under the usual 8 MiB stack limit)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_the_kernels() {
        assert_eq!(MAX_ARG_STRLEN, 131_072);
        assert_eq!(too_long(MAX_ARG_LEN, "one argument"), None);
        let message = too_long(MAX_ARG_STRLEN, "one argument").unwrap();
        assert!(
            message.starts_with("131072 bytes, more than the 131071"),
            "{message}"
        );
        assert_eq!(exec_cost(3), 12);
        assert_eq!(too_large(MAX_EXEC_TOTAL), None);
        assert!(too_large(MAX_EXEC_TOTAL + 1).is_some());
        assert_eq!(exec_cost(usize::MAX), usize::MAX);
    }

    #[test]
    fn env_counts_each_name_once() {
        let var = |name: &str, value: &str| NameValue {
            name: name.into(),
            value: value.into(),
        };
        let env = [var("A", "1"), var("B", "22"), var("A", "333")];
        let index = EnvIndex::new(&env);
        // B=22 and A=333, each with its NUL and pointer.
        assert_eq!(env_cost(&env, &index), (4 + 9) + (5 + 9));
    }
}
