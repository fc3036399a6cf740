//! Least privilege for the command and its exec probes: `--user
//! USER[:GROUP]`, `--drop-caps`, `--keep-caps` and `--no-new-privs` (and
//! `VIGIL_USER`, `VIGIL_DROP_CAPS`, `VIGIL_KEEP_CAPS`, `VIGIL_NO_NEW_PRIVS`),
//! resolved once before anything starts into the numbers the spawned child
//! applies (`sys::privileges`). vigil itself keeps its identity and
//! capabilities: it must signal, reap and bind its socket.
//!
//! `accounts` reads users and groups, `capabilities` names and computes the
//! capability sets. The service.json has no field for any of this (the EAS
//! schema has none), so flags and environment only.

pub(crate) mod accounts;
pub(crate) mod capabilities;

use crate::sys::privileges::{ChildCaps, ChildIds, ChildPrivileges};
use capabilities::{after_exec, Ask, CapSets};
use serde::Serialize;
use std::ffi::OsString;
use std::io::Read;

/// A setting as given, and where (`--user`, `VIGIL_USER`), for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    pub source: String,
    pub value: String,
}

/// The privilege settings as given; `resolve` gives them meaning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub user: Option<Given>,
    pub drop_caps: Option<Given>,
    pub keep_caps: Option<Given>,
    pub no_new_privs: bool,
}

/// Each value variable and the flag (without `--`) it stands for.
const VARIABLES: [(&str, &str); 3] = [
    ("VIGIL_USER", "user"),
    ("VIGIL_DROP_CAPS", "drop-caps"),
    ("VIGIL_KEEP_CAPS", "keep-caps"),
];

impl Request {
    /// From the environment: an empty value counts as unset;
    /// `VIGIL_NO_NEW_PRIVS` is a switch, on when set, even empty.
    pub fn from_env(env: &dyn Fn(&str) -> Option<OsString>) -> Request {
        let mut req = Request {
            no_new_privs: env("VIGIL_NO_NEW_PRIVS").is_some(),
            ..Request::default()
        };
        for (name, key) in VARIABLES {
            let value = env(name).map(|v| v.to_string_lossy().into_owned());
            if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
                req.set(key, v, name);
            }
        }
        req
    }

    /// `key` is `user`, `drop-caps` or `keep-caps`; a later call wins.
    pub fn set(&mut self, key: &str, value: String, source: &str) {
        let given = Some(Given {
            source: source.to_string(),
            value,
        });
        match key {
            "user" => self.user = given,
            "drop-caps" => self.drop_caps = given,
            _ => self.keep_caps = given,
        }
    }

    fn is_empty(&self) -> bool {
        self == &Request::default()
    }
}

/// The largest `/etc/passwd` or `/etc/group` read.
const MAX_ACCOUNTS_FILE: u64 = 16 << 20;

/// A file's text, `None` when it cannot be read.
pub(crate) fn read_accounts_file(path: &str) -> Option<String> {
    let mut text = String::new();
    // Not `File::open(&str)`: a second caller makes LLVM outline it, and the
    // exec probe's `File::open("/dev/null")` on the idle path would then run
    // outside the hot functions' pages (+128 KiB idle RSS, measured).
    std::fs::OpenOptions::new()
        .read(true)
        .open(path)
        .ok()?
        .take(MAX_ACCOUNTS_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// vigil's own identity, which the command gets without `--user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Own {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub caps: CapSets,
}

impl Own {
    pub(crate) fn read() -> Own {
        let mask =
            |set| caps::read(None, set).map_or(0, |s| s.iter().fold(0, |m, c| m | c.bitmask()));
        Own {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
            groups: nix::unistd::getgroups()
                .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
                .unwrap_or_default(),
            caps: CapSets {
                bounding: mask(caps::CapSet::Bounding),
                effective: mask(caps::CapSet::Effective),
                permitted: mask(caps::CapSet::Permitted),
                inheritable: mask(caps::CapSet::Inheritable),
                ambient: mask(caps::CapSet::Ambient),
            },
        }
    }
}

/// What the command (and each exec probe) gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Privileges {
    /// `--user`; `None`: vigil's own.
    pub ids: Option<accounts::Ids>,
    /// The sets before exec (what the child sets); computed even when no
    /// capability option is given, to show what the command will have.
    pub caps: CapSets,
    /// A capability option was given: the child sets `caps`.
    caps_given: bool,
    pub no_new_privs: bool,
    own: Own,
}

/// One problem with a setting: `--user: no user 'bob' in /etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The flag or variable.
    pub source: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

fn problem(source: &str, message: String) -> Problem {
    Problem {
        source: source.to_string(),
        message,
    }
}

/// The outcome: the privileges, or the errors; `warnings` are what start-up
/// would refuse but `vigil check` only reports.
#[derive(Debug)]
pub(crate) struct Resolution {
    pub privileges: Option<Privileges>,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

fn has(mask: u64, cap: caps::Capability) -> bool {
    mask & cap.bitmask() != 0
}

/// Reads the account files (only when `--user` is given) and vigil's own
/// sets, and checks that vigil can do what is asked: `--user` needs
/// CAP_SETUID and CAP_SETGID, a smaller bounding set CAP_SETPCAP. Those two
/// are errors for a run (`for_run`), warnings for `vigil check`.
pub(crate) fn resolve(req: &Request, own: Own, for_run: bool) -> Resolution {
    let mut errors = Vec::new();
    let mut refusals = Vec::new();
    let ids = req.user.as_ref().and_then(|given| {
        let passwd = read_accounts_file("/etc/passwd");
        let group = read_accounts_file("/etc/group");
        match accounts::resolve(given.value.trim(), passwd.as_deref(), group.as_deref()) {
            Ok(ids) => Some(ids),
            Err(e) => {
                errors.push(problem(&given.source, e));
                None
            }
        }
    });
    let mut list = |given: &Option<Given>, all_allowed: bool| match given {
        None => None,
        Some(g) => match capabilities::parse_list(&g.value, all_allowed) {
            Ok(mask) => Some(mask),
            Err(e) => {
                errors.push(problem(&g.source, e));
                None
            }
        },
    };
    let drop = list(&req.drop_caps, true);
    let keep = list(&req.keep_caps, false);
    if !errors.is_empty() {
        return Resolution {
            privileges: None,
            errors,
            warnings: Vec::new(),
        };
    }
    let to_non_root = ids.as_ref().map_or(own.uid, |i| i.uid) != 0;
    let ask = Ask {
        keep,
        drop: drop.unwrap_or(0),
    };
    let caps = match capabilities::target(own.caps, ask, to_non_root) {
        Ok(c) => c,
        Err(e) => {
            let source = req.keep_caps.as_ref().map_or("", |g| g.source.as_str());
            return Resolution {
                privileges: None,
                errors: vec![problem(source, e)],
                warnings: Vec::new(),
            };
        }
    };
    let caps_given = keep.is_some() || drop.is_some();
    let effective = own.caps.effective;
    if let Some(given) = &req.user {
        for cap in [caps::Capability::CAP_SETUID, caps::Capability::CAP_SETGID] {
            if !has(effective, cap) {
                refusals.push(problem(
                    &given.source,
                    format!(
                        "needs vigil to run as root: it lacks {}",
                        cap.to_string().to_ascii_lowercase()
                    ),
                ));
                break;
            }
        }
    }
    let shrinks_bounding = caps_given && own.caps.bounding & !caps.bounding != 0;
    if shrinks_bounding && !has(effective, caps::Capability::CAP_SETPCAP) {
        let source = [&req.drop_caps, &req.keep_caps]
            .into_iter()
            .flatten()
            .map(|g| g.source.as_str())
            .collect::<Vec<_>>()
            .join(" and ");
        refusals.push(problem(
            &source,
            "needs vigil to run as root: it lacks cap_setpcap".into(),
        ));
    }
    let (errors, warnings) = if for_run {
        (refusals, Vec::new())
    } else {
        (Vec::new(), refusals)
    };
    Resolution {
        privileges: errors.is_empty().then_some(Privileges {
            ids,
            caps,
            caps_given,
            no_new_privs: req.no_new_privs,
            own,
        }),
        errors,
        warnings,
    }
}

/// Nothing asked: the child changes nothing.
pub(crate) fn requested(req: &Request) -> bool {
    !req.is_empty()
}

impl Privileges {
    /// The numbers the spawned child applies; `None` when nothing changes.
    pub(crate) fn child(&self) -> Option<ChildPrivileges> {
        let ids = self.ids.as_ref().map(|i| ChildIds {
            uid: i.uid,
            gid: i.gid,
            groups: i.groups.clone(),
        });
        let caps = self.caps_given.then_some(ChildCaps {
            bounding_drop: self.own.caps.bounding & !self.caps.bounding,
            effective: self.caps.effective,
            permitted: self.caps.permitted,
            inheritable: self.caps.inheritable,
            ambient: self.caps.ambient,
        });
        let p = ChildPrivileges {
            ids,
            caps,
            no_new_privs: self.no_new_privs,
        };
        (p != ChildPrivileges::default()).then_some(p)
    }

    /// `HOME` for the command: the user's, with `--user`.
    pub(crate) fn home(&self) -> Option<&str> {
        self.ids.as_ref().map(|i| i.home.as_str())
    }

    /// The command's uid.
    fn uid(&self) -> u32 {
        self.ids.as_ref().map_or(self.own.uid, |i| i.uid)
    }

    /// The sets the command has once it runs its program.
    pub(crate) fn after_exec(&self) -> CapSets {
        after_exec(self.caps, self.uid() == 0)
    }

    /// What `vigil check` shows: `[label, value]` rows (not tuples: a new
    /// `(String, String)` drop shared with the idle loop cost idle RSS).
    /// `group` is the group file's text, for names.
    pub(crate) fn rows(&self, group: Option<&str>) -> Vec<Vec<String>> {
        let named = |id: u32, name: Option<String>| match name {
            Some(n) => format!("{id}({n})"),
            None => id.to_string(),
        };
        let gname = |gid: u32| named(gid, accounts::group_name(gid, group));
        let (uid, gid, groups, home, whose) = match &self.ids {
            Some(i) => (
                named(i.uid, i.name.clone()),
                gname(i.gid),
                &i.groups,
                i.home.clone(),
                "",
            ),
            None => (
                self.own.uid.to_string(),
                gname(self.own.gid),
                &self.own.groups,
                "(inherited)".into(),
                " (vigil's own: no --user)",
            ),
        };
        let groups: Vec<String> = groups.iter().map(|g| gname(*g)).collect();
        let groups = if groups.is_empty() {
            "-".into()
        } else {
            groups.join(",")
        };
        let sets = self.after_exec();
        let set = |mask: u64| format!("{mask:016x} {}", capabilities::names(mask));
        [
            (
                "user",
                format!("uid={uid} gid={gid} groups={groups}{whose}"),
            ),
            ("home", home),
            ("cap_bounding", set(sets.bounding)),
            ("cap_effective", set(sets.effective)),
            ("cap_permitted", set(sets.permitted)),
            ("cap_inheritable", set(sets.inheritable)),
            ("cap_ambient", set(sets.ambient)),
            ("no_new_privs", self.no_new_privs.to_string()),
        ]
        .into_iter()
        .map(|(label, value)| vec![label.to_string(), value])
        .collect()
    }

    /// The same for `vigil check --json`.
    pub(crate) fn json(&self) -> Shown {
        let sets = self.after_exec();
        let set = |mask: u64| ShownSet {
            mask: format!("{mask:016x}"),
            names: capabilities::names(mask),
        };
        let (uid, gid, groups, home, user) = match &self.ids {
            Some(i) => (
                i.uid,
                i.gid,
                i.groups.clone(),
                Some(i.home.clone()),
                i.name.clone(),
            ),
            None => (
                self.own.uid,
                self.own.gid,
                self.own.groups.clone(),
                None,
                None,
            ),
        };
        Shown {
            uid,
            gid,
            groups,
            user,
            home,
            capabilities: ShownSets {
                bounding: set(sets.bounding),
                effective: set(sets.effective),
                permitted: set(sets.permitted),
                inheritable: set(sets.inheritable),
                ambient: set(sets.ambient),
            },
            no_new_privs: self.no_new_privs,
        }
    }
}

/// What `vigil check --json` shows as `privileges` (derived, not built
/// with `serde_json::json!`, which links serde_json's value serializer).
#[derive(Debug, Serialize)]
pub(crate) struct Shown {
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    /// The user's name, when passwd has one.
    user: Option<String>,
    /// `None`: inherited (no `--user`).
    home: Option<String>,
    capabilities: ShownSets,
    no_new_privs: bool,
}

#[derive(Debug, Serialize)]
struct ShownSets {
    bounding: ShownSet,
    effective: ShownSet,
    permitted: ShownSet,
    inheritable: ShownSet,
    ambient: ShownSet,
}

#[derive(Debug, Serialize)]
struct ShownSet {
    mask: String,
    names: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn request(env: &[(&str, &str)]) -> Request {
        let env: HashMap<&str, OsString> = env.iter().map(|(k, v)| (*k, (*v).into())).collect();
        Request::from_env(&|k| env.get(k).cloned())
    }

    #[test]
    fn from_the_environment() {
        let r = request(&[
            ("VIGIL_USER", "app:video"),
            ("VIGIL_DROP_CAPS", "all"),
            ("VIGIL_KEEP_CAPS", " "),
            ("VIGIL_NO_NEW_PRIVS", ""),
        ]);
        assert_eq!(r.user.as_ref().unwrap().value, "app:video");
        assert_eq!(r.user.as_ref().unwrap().source, "VIGIL_USER");
        assert_eq!(r.drop_caps.as_ref().unwrap().value, "all");
        // Empty is unset for values; the switch is on even empty.
        assert_eq!(r.keep_caps, None);
        assert!(r.no_new_privs);
        assert!(!requested(&request(&[("VIGIL_USER", "")])));
    }

    const ROOT: Own = Own {
        uid: 0,
        gid: 0,
        groups: Vec::new(),
        caps: CapSets {
            bounding: 0x1ff_ffff_ffff,
            effective: 0x1ff_ffff_ffff,
            permitted: 0x1ff_ffff_ffff,
            inheritable: 0,
            ambient: 0,
        },
    };

    fn given(source: &str, value: &str) -> Option<Given> {
        Some(Given {
            source: source.into(),
            value: value.into(),
        })
    }

    #[test]
    fn errors_and_refusals() {
        let bad_cap = Request {
            drop_caps: given("--drop-caps", "NET_BIND,BOGUS"),
            ..Request::default()
        };
        let r = resolve(&bad_cap, ROOT, true);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(
            r.errors[0].to_string(),
            "--drop-caps: unknown capability 'NET_BIND' (names as in capabilities(7), e.g. NET_BIND_SERVICE)"
        );
        // Not root: --user and a bounding drop are refused at run, warned at check.
        let nobody = Own {
            uid: 65534,
            caps: CapSets::default(),
            ..ROOT
        };
        let req = Request {
            user: given("VIGIL_USER", "0"),
            drop_caps: given("--drop-caps", "chown"),
            ..Request::default()
        };
        let nobody_full_bounding = Own {
            caps: CapSets {
                bounding: ROOT.caps.bounding,
                ..CapSets::default()
            },
            ..nobody.clone()
        };
        let r = resolve(&req, nobody_full_bounding.clone(), true);
        assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
        assert_eq!(
            r.errors[0].to_string(),
            "VIGIL_USER: needs vigil to run as root: it lacks cap_setuid"
        );
        assert!(r.errors[1]
            .to_string()
            .starts_with("--drop-caps: needs vigil to run as root"));
        let r = resolve(&req, nobody_full_bounding, false);
        assert!(r.errors.is_empty() && r.warnings.len() == 2 && r.privileges.is_some());
        // Root may.
        let r = resolve(&req, ROOT, true);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let p = r.privileges.unwrap();
        let child = p.child().unwrap();
        assert_eq!(child.caps.unwrap().bounding_drop, 1);
        assert_eq!(p.home(), Some("/root"));
        // Only --no-new-privs: no ids, no caps.
        let r = resolve(
            &Request {
                no_new_privs: true,
                ..Request::default()
            },
            nobody,
            true,
        );
        let child = r.privileges.unwrap().child().unwrap();
        assert!(child.ids.is_none() && child.caps.is_none() && child.no_new_privs);
    }
}
