//! Capability names (through the `caps` crate) and the five sets the command
//! is given, as bitmasks (bit N is capability N), computed in vigil before
//! anything is spawned. Pure: vigil's own sets come in as a value.

use caps::Capability;
use std::str::FromStr;

/// The five sets of a process, as `/proc/PID/status` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// `--drop-caps` / `--keep-caps` values: `all` or `CAP,...` with or without
/// `CAP_`, any case. The error names the word that is not a capability.
pub(crate) fn parse_list(text: &str, all_allowed: bool) -> Result<u64, String> {
    let words: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err("expected capability names such as NET_BIND_SERVICE,CHOWN, found none".into());
    }
    let mut mask = 0u64;
    for word in words {
        if word.eq_ignore_ascii_case("all") {
            if !all_allowed {
                return Err("'all' keeps everything: give the capabilities to keep".into());
            }
            mask = u64::MAX;
            continue;
        }
        // ASCII only (not `caps::to_canonical`, whose Unicode upper-casing
        // adds 11 KiB of tables to the binary): no capability name is other.
        let upper = word.to_ascii_uppercase();
        let canonical = match upper.starts_with("CAP_") {
            true => upper,
            false => format!("CAP_{upper}"),
        };
        let cap = Capability::from_str(&canonical).map_err(|_| {
            format!(
                "unknown capability '{word}' (names as in capabilities(7), e.g. NET_BIND_SERVICE)"
            )
        })?;
        mask |= cap.bitmask();
    }
    Ok(mask)
}

/// The names of the capabilities in `mask`, lower case as `capsh` prints
/// them (`cap_chown,cap_kill`); a bit the crate does not know is `cap_N`.
pub(crate) fn names(mask: u64) -> String {
    if mask == 0 {
        return "-".into();
    }
    let known = caps::all();
    let mut out: Vec<String> = Vec::new();
    for bit in 0..64u8 {
        if mask & (1 << bit) == 0 {
            continue;
        }
        match known.iter().find(|c| c.index() == bit) {
            Some(c) => out.push(c.to_string().to_ascii_lowercase()),
            None => out.push(format!("cap_{bit}")),
        }
    }
    out.join(",")
}

/// What was asked: the capabilities allowed (`None`: `--keep-caps` not given,
/// everything) less those dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ask {
    pub keep: Option<u64>,
    pub drop: u64,
}

impl Ask {
    fn allowed(&self) -> u64 {
        self.keep.unwrap_or(u64::MAX) & !self.drop
    }
}

/// The sets to give the command before exec, from vigil's own (`current`).
/// `to_non_root`: the command's uid is not 0 (after `--user`).
///
/// - Bounding: vigil's, less what is not allowed.
/// - `--keep-caps`: permitted, effective, inheritable and ambient are the
///   kept capabilities (vigil must have them), so a non-root command keeps
///   them across exec through the ambient set.
/// - Only `--drop-caps`: each set is vigil's less the dropped; for a non-root
///   command, permitted, effective and ambient are empty (what the kernel
///   does at setuid; nothing is raised).
///
/// The error names the kept capabilities vigil itself lacks.
pub(crate) fn target(current: CapSets, ask: Ask, to_non_root: bool) -> Result<CapSets, String> {
    let allowed = ask.allowed();
    let bounding = current.bounding & allowed;
    if let Some(keep) = ask.keep {
        let keep = keep & !ask.drop;
        let missing = keep & !(current.permitted & current.bounding);
        if missing != 0 {
            return Err(format!(
                "vigil itself does not have {}, so the command cannot keep it",
                names(missing)
            ));
        }
        return Ok(CapSets {
            bounding,
            effective: keep,
            permitted: keep,
            inheritable: keep,
            ambient: keep,
        });
    }
    let inheritable = current.inheritable & allowed;
    if to_non_root {
        return Ok(CapSets {
            bounding,
            inheritable,
            ..CapSets::default()
        });
    }
    let permitted = current.permitted & allowed;
    Ok(CapSets {
        bounding,
        effective: current.effective & allowed,
        permitted,
        inheritable,
        ambient: current.ambient & allowed & permitted & inheritable,
    })
}

/// The sets the command has after exec of an ordinary program (no file
/// capabilities, not set-user-ID), as the kernel computes them: root gets
/// its bounding and inheritable sets in full, anyone else its ambient set.
pub(crate) fn after_exec(before: CapSets, root: bool) -> CapSets {
    let permitted = if root {
        before.bounding | before.inheritable | before.ambient
    } else {
        before.ambient
    };
    CapSets {
        bounding: before.bounding,
        effective: permitted,
        permitted,
        inheritable: before.inheritable,
        ambient: before.ambient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHOWN: u64 = 1 << 0;
    const KILL: u64 = 1 << 5;
    const NET_BIND: u64 = 1 << 10;
    const SYS_ADMIN: u64 = 1 << 21;
    /// A container's usual root: these three in every set but inheritable and ambient.
    const ROOT: CapSets = CapSets {
        bounding: CHOWN | KILL | NET_BIND,
        effective: CHOWN | KILL | NET_BIND,
        permitted: CHOWN | KILL | NET_BIND,
        inheritable: 0,
        ambient: 0,
    };

    #[test]
    fn names_parse_and_print() {
        assert_eq!(parse_list("chown,CAP_KILL", false), Ok(CHOWN | KILL));
        assert_eq!(parse_list(" net_bind_service , ", false), Ok(NET_BIND));
        assert_eq!(parse_list("ALL", true), Ok(u64::MAX));
        assert!(parse_list("all", false).unwrap_err().contains("'all'"));
        assert!(parse_list("CAP_NOPE", true)
            .unwrap_err()
            .contains("unknown capability 'CAP_NOPE'"));
        assert!(parse_list(",", true).unwrap_err().contains("found none"));
        assert_eq!(names(CHOWN | NET_BIND), "cap_chown,cap_net_bind_service");
        assert_eq!(names(0), "-");
        assert_eq!(names(1 << 63), "cap_63");
    }

    #[test]
    fn target_sets() {
        // (ask, to_non_root, expected before exec, expected after exec)
        let some = |b, e, p, i, a| CapSets {
            bounding: b,
            effective: e,
            permitted: p,
            inheritable: i,
            ambient: a,
        };
        let keep_nb = Ask {
            keep: Some(NET_BIND),
            drop: 0,
        };
        let drop_kill = Ask {
            keep: None,
            drop: KILL,
        };
        let drop_all = Ask {
            keep: None,
            drop: u64::MAX,
        };
        let table = [
            // Root, --drop-caps KILL: everything but KILL, still root's after exec.
            (
                drop_kill,
                false,
                some(CHOWN | NET_BIND, CHOWN | NET_BIND, CHOWN | NET_BIND, 0, 0),
                some(CHOWN | NET_BIND, CHOWN | NET_BIND, CHOWN | NET_BIND, 0, 0),
            ),
            // Non-root, --drop-caps KILL: nothing effective, bounding less KILL.
            (
                drop_kill,
                true,
                some(CHOWN | NET_BIND, 0, 0, 0, 0),
                some(CHOWN | NET_BIND, 0, 0, 0, 0),
            ),
            (drop_all, false, CapSets::default(), CapSets::default()),
            (drop_all, true, CapSets::default(), CapSets::default()),
            // --keep-caps NET_BIND_SERVICE: in every set, kept across exec by a
            // non-root command through ambient.
            (
                keep_nb,
                true,
                some(NET_BIND, NET_BIND, NET_BIND, NET_BIND, NET_BIND),
                some(NET_BIND, NET_BIND, NET_BIND, NET_BIND, NET_BIND),
            ),
            (
                keep_nb,
                false,
                some(NET_BIND, NET_BIND, NET_BIND, NET_BIND, NET_BIND),
                some(NET_BIND, NET_BIND, NET_BIND, NET_BIND, NET_BIND),
            ),
            // Keep and drop: what is kept less what is dropped.
            (
                Ask {
                    keep: Some(NET_BIND | KILL),
                    drop: KILL,
                },
                true,
                some(NET_BIND, NET_BIND, NET_BIND, NET_BIND, NET_BIND),
                some(NET_BIND, NET_BIND, NET_BIND, NET_BIND, NET_BIND),
            ),
        ];
        for (ask, non_root, before, after) in table {
            let got = target(ROOT, ask, non_root).unwrap();
            assert_eq!(got, before, "{ask:?} non-root {non_root}");
            assert_eq!(
                after_exec(got, !non_root),
                after,
                "{ask:?} non-root {non_root}"
            );
        }
        // A capability vigil lacks cannot be kept.
        let err = target(
            ROOT,
            Ask {
                keep: Some(SYS_ADMIN | CHOWN),
                drop: 0,
            },
            true,
        )
        .unwrap_err();
        assert!(err.contains("does not have cap_sys_admin,"), "{err}");
        // Without --user, root's command gets its bounding set after exec.
        assert_eq!(after_exec(ROOT, true), ROOT);
        // A non-root command without ambient capabilities has none.
        assert_eq!(after_exec(ROOT, false).permitted, 0);
    }
}
