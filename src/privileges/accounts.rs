//! `--user USER[:GROUP]` to ids, read from `/etc/passwd` and `/etc/group`
//! directly (a static binary has no NSS), the way Docker (runc) does it:
//!
//! - USER is a name or a number. A number with a passwd entry takes that
//!   entry (its group and home); one without gets gid 0 and HOME `/`.
//! - Without GROUP, the groups are the primary gid and every group that
//!   lists the user's name as a member (what `initgroups` gives).
//! - With GROUP (a name or a number), it is the primary group and there are
//!   no other groups, as with `docker run --user u:g` and `su -g`.
//!
//! Parsing is pure: the files come in as text.

/// One passwd line's fields that matter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

/// One group line's fields that matter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

/// `name:x:uid:gid:gecos:home:shell`; malformed lines are skipped, as libc does.
fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || f[0].is_empty() || line.starts_with(['#', '+', '-']) {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

/// `name:x:gid:member,member`.
fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || f[0].is_empty() || line.starts_with(['#', '+', '-']) {
            return None;
        }
        Some(GroupEntry {
            name: f[0],
            gid: f[2].parse().ok()?,
            members: f[3].split(',').filter(|m| !m.is_empty()).collect(),
        })
    })
}

/// Who the command runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ids {
    pub uid: u32,
    pub gid: u32,
    /// The supplementary groups, in the order found, without repeats.
    pub groups: Vec<u32>,
    /// `HOME` for the command.
    pub home: String,
    /// The user's name, when passwd has one.
    pub name: Option<String>,
}

fn number(s: &str) -> Option<u32> {
    s.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse().ok())
        .flatten()
}

/// `USER[:GROUP]` resolved against the files' text (`None`: the file could
/// not be read, and only numbers can be used). The error says what was not
/// found and where it was looked for.
pub(crate) fn resolve(
    spec: &str,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<Ids, String> {
    let (user, group_spec) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() || group_spec == Some("") {
        return Err(format!(
            "'{spec}': expected USER[:GROUP], a name or a number each"
        ));
    }
    let uid_number = number(user);
    let entry = passwd.and_then(|text| {
        passwd_entries(text).find(|e| e.name == user || Some(e.uid) == uid_number)
    });
    let (uid, mut gid, home, name) = match (&entry, uid_number) {
        (Some(e), _) => (e.uid, e.gid, e.home.to_string(), Some(e.name.to_string())),
        // Docker's defaults for a number that passwd does not know.
        (None, Some(uid)) => (uid, 0, "/".to_string(), None),
        (None, None) => {
            return Err(match passwd {
                Some(_) => format!("no user '{user}' in /etc/passwd"),
                None => format!("user '{user}' is a name, and /etc/passwd cannot be read"),
            })
        }
    };
    let groups = match group_spec {
        Some(g) => {
            let number = number(g);
            let found = group.and_then(|text| {
                group_entries(text).find(|e| e.name == g || Some(e.gid) == number)
            });
            gid = match (found, number) {
                (Some(e), _) => e.gid,
                (None, Some(n)) => n,
                (None, None) => {
                    return Err(match group {
                        Some(_) => format!("no group '{g}' in /etc/group"),
                        None => format!("group '{g}' is a name, and /etc/group cannot be read"),
                    })
                }
            };
            Vec::new()
        }
        None => {
            let mut groups = vec![gid];
            if let (Some(name), Some(text)) = (&name, group) {
                for e in group_entries(text) {
                    if e.members.contains(&name.as_str()) && !groups.contains(&e.gid) {
                        groups.push(e.gid);
                    }
                }
            }
            groups
        }
    };
    Ok(Ids {
        uid,
        gid,
        groups,
        home: if home.is_empty() { "/".into() } else { home },
        name,
    })
}

/// A group name or number (`--socket-group`) to its gid.
pub(crate) fn group_id(spec: &str, group: Option<&str>) -> Result<u32, String> {
    let number = number(spec);
    let found = group.and_then(|text| {
        group_entries(text)
            .find(|e| e.name == spec || Some(e.gid) == number)
            .map(|e| e.gid)
    });
    match (found, number, group) {
        (Some(gid), _, _) | (None, Some(gid), _) => Ok(gid),
        _ if spec.is_empty() => Err("expected a group name or number, found nothing".into()),
        (None, None, Some(_)) => Err(format!("no group '{spec}' in /etc/group")),
        (None, None, None) => Err(format!(
            "group '{spec}' is a name, and /etc/group cannot be read"
        )),
    }
}

/// The name of `gid` in the group file, for display.
pub(crate) fn group_name(gid: u32, group: Option<&str>) -> Option<String> {
    group_entries(group?)
        .find(|e| e.gid == gid)
        .map(|e| e.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
# a comment
broken line
app:x:1000:1000:App:/home/app:/bin/sh
svc:x:1001:100::/srv:/usr/sbin/nologin
nohome:x:1002:1002:::/bin/sh
";
    const GROUP: &str = "\
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
        let table: &[(&str, Option<&str>, &str)] = &[
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
            ("99999999999", Some(PASSWD), "no user '99999999999'"),
            (
                "app",
                None,
                "user 'app' is a name, and /etc/passwd cannot be read",
            ),
        ];
        for (spec, passwd, want) in table {
            let err = resolve(spec, *passwd, Some(GROUP)).unwrap_err();
            assert!(err.contains(want), "{spec}: {err}");
        }
        // Numbers need no files.
        assert_eq!(resolve("7:8", None, None).unwrap().gid, 8);
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
        assert_eq!(group_name(105, Some(GROUP)).as_deref(), Some("render"));
        assert_eq!(group_name(7, Some(GROUP)), None);
    }
}
