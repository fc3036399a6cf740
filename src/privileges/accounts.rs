//! `--user USER[:GROUP]` to ids, read from `/etc/passwd` and `/etc/group`
//! directly (a static binary has no NSS), the way Docker (runc) does it:
//!
//! - USER is a name or a number. A number matches uids only, a name names
//!   only (a user *named* `1000` is never what `--user 1000` means). A number
//!   with a passwd entry takes that entry (its group and home); one without
//!   gets gid 0 and HOME `/`.
//! - Without GROUP, the groups are the primary gid and every group that
//!   lists the user's name as a member (what `initgroups` gives).
//! - With GROUP (a name or a number, matched the same way), it is the
//!   primary group and there are no other groups, as with `docker run
//!   --user u:g` and `su -g`.
//! - Every id, given or read from a file, is at most 2^31-1 (`MAX_ID`, as
//!   runc's `ErrRange`): `setresuid(4294967295, ...)` means "unchanged", so a
//!   larger one would leave the command root.
//!
//! Parsing is pure: the files come in as bytes (a Latin-1 comment field is
//! no reason to fail; names are compared as bytes).

use std::collections::{BTreeMap, BTreeSet};

/// The largest uid or gid accepted.
pub(crate) const MAX_ID: u64 = (1 << 31) - 1;
/// The most supplementary groups the kernel takes (`NGROUPS_MAX`).
pub(crate) const MAX_GROUPS: usize = 65_536;

/// One passwd line's fields that matter; ids as read (range checked when
/// the entry is used).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PasswdEntry<'a> {
    name: &'a [u8],
    uid: u64,
    gid: u64,
    home: &'a [u8],
}

/// One group line's fields that matter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupEntry<'a> {
    name: &'a [u8],
    gid: u64,
    /// `member,member`, split when looked at.
    members: &'a [u8],
}

/// The lines of a file that can be entries: comments, NIS `+`/`-` lines
/// and lines with an empty name are skipped, as libc does.
fn lines(text: &[u8], fields: usize) -> impl Iterator<Item = Vec<&[u8]>> {
    text.split(|&b| b == b'\n').filter_map(move |line| {
        let f: Vec<&[u8]> = line.splitn(fields + 1, |&b| b == b':').collect();
        let skip = f.len() < fields || f[0].is_empty() || matches!(line[0], b'#' | b'+' | b'-');
        (!skip).then_some(f)
    })
}

/// An id field: digits only; too large for a u64 counts as `u64::MAX`
/// (refused when used, never wrapped).
fn file_id(field: &[u8]) -> Option<u64> {
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(field.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// `name:x:uid:gid:gecos:home:shell`; malformed lines are skipped.
fn passwd_entries(text: &[u8]) -> impl Iterator<Item = PasswdEntry<'_>> {
    lines(text, 7).filter_map(|f| {
        Some(PasswdEntry {
            name: f[0],
            uid: file_id(f[2])?,
            gid: file_id(f[3])?,
            home: f[5],
        })
    })
}

/// `name:x:gid:member,member`.
fn group_entries(text: &[u8]) -> impl Iterator<Item = GroupEntry<'_>> {
    lines(text, 4).filter_map(|f| {
        Some(GroupEntry {
            name: f[0],
            gid: file_id(f[2])?,
            members: f[3],
        })
    })
}

/// Text from a file or the command line as it can be shown on one line:
/// invalid UTF-8 replaced, control characters escaped (`\n`, `\u{1b}`).
pub(crate) fn shown(bytes: &[u8]) -> String {
    escaped(&String::from_utf8_lossy(bytes))
}

/// `text` with its control characters escaped, as configuration
/// diagnostics write them.
pub(crate) fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Who the command runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ids {
    pub uid: u32,
    pub gid: u32,
    /// The supplementary groups, in the order found, without repeats.
    pub groups: Vec<u32>,
    /// `HOME` for the command, as passwd has it (bytes: it need not be UTF-8).
    pub home: Vec<u8>,
    /// The user's name, when passwd has one (invalid UTF-8 replaced).
    pub name: Option<String>,
}

/// A USER or GROUP as given: `Ok(Some(id))` for a number, `Ok(None)` for a
/// name, an error for a number above `MAX_ID`.
fn given_id(s: &str, what: &str) -> Result<Option<u32>, String> {
    match file_id(s.as_bytes()) {
        None => Ok(None),
        Some(n) if n <= MAX_ID => Ok(Some(n as u32)),
        Some(_) => Err(format!(
            "{what} '{}': ids above {MAX_ID} are refused (the kernel reads 4294967295 as \
             \"unchanged\", which would leave the command root)",
            escaped(s)
        )),
    }
}

/// An id read from `file` for `whose` (`user 'svc' has uid`), range checked.
fn checked(id: u64, file: &str, whose: impl FnOnce() -> String) -> Result<u32, String> {
    match u32::try_from(id) {
        Ok(n) if id <= MAX_ID => Ok(n),
        _ => Err(format!(
            "{file}: {} {id}, above {MAX_ID}: refused (the kernel reads 4294967295 as \
             \"unchanged\", which would leave the command root)",
            whose()
        )),
    }
}

/// `USER[:GROUP]` resolved against the files' bytes (`None`: the file does
/// not exist, and only numbers can be used). The error says what was not
/// found and where it was looked for.
pub(crate) fn resolve(
    spec: &str,
    passwd: Option<&[u8]>,
    group: Option<&[u8]>,
) -> Result<Ids, String> {
    let (user, group_spec) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() || group_spec == Some("") {
        return Err(format!(
            "'{}': expected USER[:GROUP], a name or a number each",
            escaped(spec)
        ));
    }
    let uid_number = given_id(user, "user")?;
    let entry = passwd.and_then(|text| {
        passwd_entries(text).find(|e| match uid_number {
            Some(n) => e.uid == u64::from(n),
            None => e.name == user.as_bytes(),
        })
    });
    let (uid, mut gid, home, name) = match (&entry, uid_number) {
        (Some(e), _) => {
            let whose = |what: &str| format!("user '{}' has {what}", shown(e.name));
            let uid = checked(e.uid, "/etc/passwd", || whose("uid"))?;
            let gid = checked(e.gid, "/etc/passwd", || whose("gid"))?;
            if e.home.contains(&0) {
                return Err(format!(
                    "/etc/passwd: the home directory of user '{}' ('{}') has a NUL byte, \
                     which HOME cannot hold",
                    shown(e.name),
                    shown(e.home)
                ));
            }
            let name = String::from_utf8_lossy(e.name).into_owned();
            (uid, gid, e.home.to_vec(), Some(name))
        }
        // Docker's defaults for a number that passwd does not know.
        (None, Some(uid)) => (uid, 0, b"/".to_vec(), None),
        (None, None) => {
            let user = escaped(user);
            return Err(match passwd {
                Some(_) => format!("no user '{user}' in /etc/passwd"),
                None => format!("user '{user}' is a name, and there is no /etc/passwd"),
            });
        }
    };
    let groups = match group_spec {
        Some(g) => {
            gid = group_id(g, group)?;
            Vec::new()
        }
        None => {
            let mut groups = vec![gid];
            let mut seen = BTreeSet::from([gid]);
            if let (Some(name), Some(text)) = (&entry, group) {
                for e in group_entries(text) {
                    if !e.members.split(|&b| b == b',').any(|m| m == name.name) {
                        continue;
                    }
                    let gid = checked(e.gid, "/etc/group", || {
                        format!("group '{}' has gid", shown(e.name))
                    })?;
                    if seen.insert(gid) {
                        groups.push(gid);
                    }
                }
            }
            if groups.len() > MAX_GROUPS {
                return Err(format!(
                    "user '{}' is in {} groups; the kernel allows at most {MAX_GROUPS}",
                    escaped(user),
                    groups.len()
                ));
            }
            groups
        }
    };
    Ok(Ids {
        uid,
        gid,
        groups,
        home: if home.is_empty() { b"/".to_vec() } else { home },
        name,
    })
}

/// A group name or number (`--socket-group`, `--user USER:GROUP`) to its
/// gid: a number is that gid, a name is looked up by name only.
pub(crate) fn group_id(spec: &str, group: Option<&[u8]>) -> Result<u32, String> {
    if spec.is_empty() {
        return Err("expected a group name or number, found nothing".into());
    }
    if let Some(gid) = given_id(spec, "group")? {
        return Ok(gid);
    }
    let name = escaped(spec);
    let Some(text) = group else {
        return Err(format!(
            "group '{name}' is a name, and there is no /etc/group"
        ));
    };
    match group_entries(text).find(|e| e.name == spec.as_bytes()) {
        Some(e) => checked(e.gid, "/etc/group", || format!("group '{name}' has gid")),
        None => Err(format!("no group '{name}' in /etc/group")),
    }
}

/// Each gid's name in the group file (the first line with it), for display.
pub(crate) fn group_names(group: Option<&[u8]>) -> BTreeMap<u64, String> {
    let mut names = BTreeMap::new();
    for e in group_entries(group.unwrap_or_default()) {
        names
            .entry(e.gid)
            .or_insert_with(|| String::from_utf8_lossy(e.name).into_owned());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"\
root:x:0:0:root:/root:/bin/bash
# a comment
broken line
app:x:1000:1000:App:/home/app:/bin/sh
svc:x:1001:100::/srv:/usr/sbin/nologin
nohome:x:1002:1002:::/bin/sh
";
    const GROUP: &[u8] = b"\
root:x:0:
users:x:100:app,svc
app:x:1000:
video:x:44:app
render:x:105:app,other
gpu::106:
";

    fn ids(uid: u32, gid: u32, groups: &[u32], home: &str, name: Option<&str>) -> Ids {
        Ids {
            uid,
            gid,
            groups: groups.to_vec(),
            home: home.into(),
            name: name.map(String::from),
        }
    }

    #[test]
    fn users_and_groups() {
        let table: &[(&str, Ids)] = &[
            ("root", ids(0, 0, &[0], "/root", Some("root"))),
            (
                "app",
                ids(1000, 1000, &[1000, 100, 44, 105], "/home/app", Some("app")),
            ),
            // A number with an entry is that entry.
            (
                "1000",
                ids(1000, 1000, &[1000, 100, 44, 105], "/home/app", Some("app")),
            ),
            ("svc", ids(1001, 100, &[100], "/srv", Some("svc"))),
            // A number without an entry: Docker's gid 0 and HOME "/".
            ("4242", ids(4242, 0, &[0], "/", None)),
            ("2147483647", ids(2147483647, 0, &[0], "/", None)),
            // An explicit group: that group only.
            ("app:gpu", ids(1000, 106, &[], "/home/app", Some("app"))),
            ("app:44", ids(1000, 44, &[], "/home/app", Some("app"))),
            ("4242:4343", ids(4242, 4343, &[], "/", None)),
            // An empty home field is "/".
            ("nohome", ids(1002, 1002, &[1002], "/", Some("nohome"))),
        ];
        for (spec, want) in table {
            assert_eq!(
                resolve(spec, Some(PASSWD), Some(GROUP)).as_ref(),
                Ok(want),
                "{spec}"
            );
        }
    }

    #[test]
    fn bad_users_and_groups() {
        let table: &[(&str, Option<&[u8]>, &str)] = &[
            ("nobody", Some(PASSWD), "no user 'nobody' in /etc/passwd"),
            (
                "app:nogroup",
                Some(PASSWD),
                "no group 'nogroup' in /etc/group",
            ),
            ("", Some(PASSWD), "expected USER[:GROUP]"),
            ("app:", Some(PASSWD), "expected USER[:GROUP]"),
            (":100", Some(PASSWD), "expected USER[:GROUP]"),
            ("-1", Some(PASSWD), "no user '-1'"),
            ("99999999999", Some(PASSWD), "user '99999999999': ids above"),
            (
                "app",
                None,
                "user 'app' is a name, and there is no /etc/passwd",
            ),
            // Control characters are escaped.
            ("a\x1b[2Jb", Some(PASSWD), "no user 'a\\u{1b}[2Jb'"),
        ];
        for (spec, passwd, want) in table {
            let err = resolve(spec, *passwd, Some(GROUP)).unwrap_err();
            assert!(err.contains(want), "{spec}: {err}");
        }
        // Numbers need no files.
        assert_eq!(resolve("7:8", None, None).unwrap().gid, 8);
    }

    /// `setresuid(-1, ...)` changes nothing: such an id, given or read,
    /// would leave the command root.
    #[test]
    fn ids_of_2_31_and_above_are_refused() {
        let passwd = b"root:x:0:0::/root:/bin/sh\n\
            svc:x:4294967295:1000::/srv:/bin/sh\n\
            grp:x:1000:4294967295::/srv:/bin/sh\n\
            big:x:99999999999999999999999:1::/:/bin/sh\n\
            mem:x:1001:1001::/:/bin/sh\n";
        let group = b"root:x:0:\nneg:x:4294967295:mem\nhigh:x:2147483648:\n";
        let table: &[(&str, &str)] = &[
            ("4294967295", "user '4294967295': ids above 2147483647"),
            ("2147483648", "user '2147483648': ids above 2147483647"),
            ("0:4294967295", "group '4294967295': ids above 2147483647"),
            ("root:2147483648", "group '2147483648': ids above"),
            ("svc", "/etc/passwd: user 'svc' has uid 4294967295, above"),
            ("grp", "/etc/passwd: user 'grp' has gid 4294967295, above"),
            (
                "big",
                "/etc/passwd: user 'big' has uid 18446744073709551615",
            ),
            ("root:high", "/etc/group: group 'high' has gid 2147483648"),
            ("mem", "/etc/group: group 'neg' has gid 4294967295, above"),
        ];
        for (spec, want) in table {
            let err = resolve(spec, Some(passwd), Some(group)).unwrap_err();
            assert!(err.contains(want), "{spec}: {err}");
        }
        let err = group_id("4294967295", None).unwrap_err();
        assert!(err.contains("ids above 2147483647"), "{err}");
        let err = group_id("neg", Some(group)).unwrap_err();
        assert!(err.contains("group 'neg' has gid 4294967295"), "{err}");
    }

    /// A number matches ids only, a name names only: a user named `1000`
    /// with uid 0 is not `--user 1000`.
    #[test]
    fn numbers_match_ids_and_names_names() {
        let passwd = b"root:x:0:0:root:/root:/bin/sh\n\
            1000:x:0:0:evil:/evil:/bin/sh\n\
            app:x:1000:1000::/home/app:/bin/sh\n";
        let group = b"root:x:0:\n44:x:0:\napp:x:1000:\nvideo:x:44:app\n";
        let got = resolve("1000", Some(passwd), Some(group)).unwrap();
        assert_eq!(
            (got.uid, got.gid, got.name.as_deref()),
            (1000, 1000, Some("app"))
        );
        let got = resolve("app:44", Some(passwd), Some(group)).unwrap();
        assert_eq!(got.gid, 44);
        assert_eq!(group_id("44", Some(group)), Ok(44));
        assert_eq!(group_id("video", Some(group)), Ok(44));
    }

    /// Not UTF-8 (a Latin-1 comment, a name) is no reason to fail.
    #[test]
    fn files_are_bytes() {
        let passwd = b"root:x:0:0:root:/root:/bin/sh\n\
            app:x:1000:1000:Jos\xe9 Garc\xeda:/home/app:/bin/sh\n\
            caf\xe9:x:1001:1001::/home/caf\xe9:/bin/sh\n";
        let group = b"root:x:0:\nvideo:x:44:caf\xe9,app\nbad\xff:x:45:app\n";
        let got = resolve("app", Some(passwd), Some(group)).unwrap();
        assert_eq!(
            got,
            ids(1000, 1000, &[1000, 44, 45], "/home/app", Some("app"))
        );
        let got = resolve("1001", Some(passwd), Some(group)).unwrap();
        assert_eq!(got.home, b"/home/caf\xe9");
        assert_eq!(got.groups, [1001, 44]);
        assert_eq!(group_names(Some(group))[&45], "bad\u{fffd}");
        // A NUL in the home: HOME cannot hold it.
        let err = resolve("x", Some(b"x:x:5:5::/h\0me:/bin/sh\n"), None).unwrap_err();
        assert!(err.contains("/etc/passwd") && err.contains("HOME"), "{err}");
        assert!(err.contains("'/h\\u{0}me'"), "{err}");
        // Control characters in what is shown are escaped.
        let err = resolve(
            "evil",
            Some(b"evil:x:1:1::/:/bin/sh\n"),
            Some(b"g\x1b:x:4294967295:evil\n"),
        )
        .unwrap_err();
        assert!(err.contains("group 'g\\u{1b}'"), "{err}");
    }

    /// 8,000 groups took 21 s (a linear search per member); more than
    /// NGROUPS_MAX is refused before anything starts.
    #[test]
    fn many_groups() {
        let passwd = b"app:x:1000:1000::/home/app:/bin/sh\n";
        let mut group = Vec::new();
        for gid in 0..20_000u32 {
            group.extend(format!("g{gid}:x:{}:other,app\n", gid + 2000).bytes());
        }
        let got = resolve("app", Some(passwd), Some(&group)).unwrap();
        assert_eq!(got.groups.len(), 20_001);
        assert_eq!(group_names(Some(&group)).len(), 20_000);
        for gid in 20_000..MAX_GROUPS as u32 {
            group.extend(format!("g{gid}:x:{}:app\n", gid + 2000).bytes());
        }
        let err = resolve("app", Some(passwd), Some(&group)).unwrap_err();
        assert!(
            err.contains("is in 65537 groups; the kernel allows at most 65536"),
            "{err}"
        );
    }

    #[test]
    fn socket_groups() {
        assert_eq!(group_id("video", Some(GROUP)), Ok(44));
        assert_eq!(group_id("44", Some(GROUP)), Ok(44));
        assert_eq!(group_id("5000", Some(GROUP)), Ok(5000));
        assert_eq!(group_id("5000", None), Ok(5000));
        assert!(group_id("nope", Some(GROUP))
            .unwrap_err()
            .contains("no group 'nope'"));
        assert!(group_id("", Some(GROUP)).is_err());
        assert_eq!(
            group_names(Some(GROUP)).get(&105).map(String::as_str),
            Some("render")
        );
        assert_eq!(group_names(Some(GROUP)).get(&7), None);
    }
}
