//! Who listens where: the listening TCP sockets of vigil's network namespace
//! (`/proc/net/tcp`, `/proc/net/tcp6`) and the processes that hold them
//! (socket inodes under `/proc/PID/fd`). Read on demand, only when a probe
//! has failed, and bounded: the kernel lists listening sockets before all
//! others, so reading stops at the first that is not; at most `MAX_LISTENERS`
//! sockets of each table (a snapshot says which tables had more),
//! `MAX_PROCESSES` processes and `MAX_FDS` descriptors each.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(crate) const MAX_LISTENERS: usize = 256;
const MAX_PROCESSES: usize = 1024;
const MAX_FDS: usize = 4096;
/// Descriptors read in all, across processes, for one snapshot: the scan
/// stops there (a listener held outside vigil's PID namespace, such as a
/// sidecar's, is never found, and would otherwise make every snapshot walk
/// the whole bound).
const MAX_LINKS: usize = 8192;

/// The kernel's TCP_LISTEN state in /proc/net/tcp.
const LISTEN: &str = "0A";

/// One listening socket, and who holds it when that could be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listener {
    pub ip: IpAddr,
    pub port: u16,
    pub inode: u64,
    pub owner: Option<Owner>,
}

impl Listener {
    /// `0.0.0.0:8080`, `[::1]:8000`.
    pub(crate) fn address(&self) -> String {
        std::net::SocketAddr::new(self.ip, self.port).to_string()
    }

    /// Reachable only from inside the container (127.0.0.1, ::1, ::ffff:127.x).
    pub(crate) fn is_loopback(&self) -> bool {
        match self.ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }
}

/// A process holding a listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub pid: i32,
    /// Its name (`/proc/PID/comm`).
    pub name: String,
    /// Its parent, to tell whether it descends from the command.
    pub ppid: i32,
}

/// The listening sockets now, and which tables had more than were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub listeners: Vec<Listener>,
    /// The tables read only up to `MAX_LISTENERS`: `/proc/net/tcp`, `/proc/net/tcp6`.
    pub cut: Vec<&'static str>,
    /// The owner scan stopped at its bounds (`MAX_PROCESSES`, `MAX_FDS`,
    /// `MAX_LINKS`) with owners not found: one of them may be the command.
    pub owners_cut: bool,
}

/// The tables of listening sockets, IPv4's and IPv6's.
const TABLES: [&str; 2] = ["/proc/net/tcp", "/proc/net/tcp6"];

/// The listening sockets in /proc/net/tcp or tcp6 text, in order, up to
/// the first line that is not a listener and at most `MAX_LISTENERS` of
/// them; whether there were more.
pub(crate) fn parse(text: impl BufRead, out: &mut Vec<Listener>) -> bool {
    let mut read = 0;
    for line in text.lines().map_while(Result::ok).skip(1) {
        let cols: Vec<&str> = line.split_whitespace().take(10).collect();
        let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
        else {
            continue;
        };
        if *state != LISTEN {
            return false; // listeners come first: the rest is connections
        }
        if read == MAX_LISTENERS {
            return true;
        }
        read += 1;
        let Some((addr, port)) = local.split_once(':') else {
            continue;
        };
        let (Some(ip), Ok(port), Ok(inode)) = (
            parse_addr(addr),
            u16::from_str_radix(port, 16),
            inode.parse::<u64>(),
        ) else {
            continue;
        };
        out.push(Listener {
            ip,
            port,
            inode,
            owner: None,
        });
    }
    false
}

/// /proc/net/tcp addresses are the raw in_addr words in hex (host order).
pub(crate) fn parse_addr(hex: &str) -> Option<IpAddr> {
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(hex, 16).ok()?.to_ne_bytes(),
        ))),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in hex.as_bytes().chunks(8).enumerate() {
                let word = u32::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

/// Each table's listeners into `out`; the tables that had more.
fn read_tables(out: &mut Vec<Listener>) -> Vec<&'static str> {
    TABLES
        .into_iter()
        .filter(|path| std::fs::File::open(path).is_ok_and(|f| parse(BufReader::new(f), out)))
        .collect()
}

/// The listening sockets now, each with its owner where one was found.
pub(crate) fn snapshot() -> Snapshot {
    let mut listeners = Vec::new();
    let cut = read_tables(&mut listeners);
    let mut owners_cut = false;
    if !listeners.is_empty() {
        let (owners, scan_cut) = owners(listeners.iter().map(|l| l.inode).collect());
        for l in &mut listeners {
            l.owner = owners.get(&l.inode).cloned();
        }
        owners_cut = scan_cut && listeners.iter().any(|l| l.owner.is_none());
    }
    Snapshot {
        listeners,
        cut,
        owners_cut,
    }
}

/// The command's network namespace, when it is not vigil's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OtherNetns {
    /// As the kernel names them: `net:[4026532451]`.
    pub theirs: String,
    pub ours: String,
    /// What listens there (its own tables, bounded as vigil's are).
    pub listeners: Vec<Listener>,
}

/// Whether process `pid` runs in another network namespace than vigil (two
/// `readlink`s; the other namespace's tables only when it does).
pub(crate) fn other_netns(pid: i32) -> Option<OtherNetns> {
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
    let ours = std::fs::read_link("/proc/self/ns/net").ok()?;
    if theirs == ours {
        return None;
    }
    let mut listeners = Vec::new();
    for table in ["tcp", "tcp6"] {
        if let Ok(f) = std::fs::File::open(format!("/proc/{pid}/net/{table}")) {
            parse(BufReader::new(f), &mut listeners);
        }
    }
    Some(OtherNetns {
        theirs: theirs.to_string_lossy().into_owned(),
        ours: ours.to_string_lossy().into_owned(),
        listeners,
    })
}

/// Whether process `pid` itself holds a listening TCP socket: the listeners'
/// inodes (read up to the first connection) against its own descriptors
/// only (at most `MAX_FDS`), no scan of other processes.
pub(crate) fn holds_listener(pid: i32) -> bool {
    let mut listeners = Vec::new();
    read_tables(&mut listeners);
    if listeners.is_empty() {
        return false;
    }
    let mut inodes: Vec<u64> = listeners.iter().map(|l| l.inode).collect();
    inodes.sort_unstable();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.take(MAX_FDS).filter_map(Result::ok).any(|fd| {
        std::fs::read_link(fd.path())
            .ok()
            .and_then(|l| {
                let l = l
                    .to_str()?
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string();
                l.parse::<u64>().ok()
            })
            .is_some_and(|i| inodes.binary_search(&i).is_ok())
    })
}

/// The processes holding the socket `inodes`, from `/proc/*/fd` (bounded),
/// and whether the scan stopped at a bound (processes or descriptors left
/// unread).
fn owners(mut inodes: Vec<u64>) -> (HashMap<u64, Owner>, bool) {
    inodes.sort_unstable();
    let mut found = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return (found, true);
    };
    let mut pids = dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok());
    let mut links = 0usize;
    for pid in pids.by_ref().take(MAX_PROCESSES) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let mut fds = fds.filter_map(Result::ok);
        for fd in fds.by_ref().take(MAX_FDS) {
            links += 1;
            if links > MAX_LINKS {
                return (found, true);
            }
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let inode = link
                .to_str()
                .and_then(|l| l.strip_prefix("socket:["))
                .and_then(|l| l.strip_suffix(']'))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(inode) = inode.filter(|i| inodes.binary_search(i).is_ok()) {
                found.entry(inode).or_insert_with(|| process(pid));
            }
        }
        if found.len() == inodes.len() {
            return (found, false);
        }
        if fds.next().is_some() {
            return (found, true); // more than MAX_FDS
        }
    }
    let more = pids.next().is_some();
    (found, more)
}

/// `/proc/PID/stat` as (the name, the fields after it). Read as bytes: a
/// name is whatever the process set (`prctl(PR_SET_NAME)`: any bytes but
/// NUL), not always UTF-8, and is no reason to lose the fields after it.
pub(crate) fn stat(pid: i32) -> Option<(String, String)> {
    let bytes = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let stat = String::from_utf8_lossy(&bytes);
    let (head, rest) = stat.rsplit_once(')')?;
    Some((head.split_once('(')?.1.to_string(), rest.to_string()))
}

/// A process's name and parent, from `/proc/PID/stat`.
pub(crate) fn process(pid: i32) -> Owner {
    let (name, rest) = stat(pid).unwrap_or_default();
    let ppid = rest
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    Owner { pid, name, ppid }
}

/// Parents read (`/proc/PID/stat`) for one diagnosis, at most.
const MAX_PARENTS: usize = 256;

/// Which processes descend from `root` (the command): parents followed at
/// most 32 steps, each process's parent read once (hundreds of listeners
/// deep under the command cost the depth once, not once per listener) and
/// at most `MAX_PARENTS` of them; past that a process is not counted as
/// the command's.
pub(crate) struct Lineage<F: FnMut(i32) -> i32> {
    root: i32,
    parents: HashMap<i32, i32>,
    parent_of: F,
}

impl Lineage<fn(i32) -> i32> {
    /// From `/proc`.
    pub(crate) fn of(root: i32) -> Self {
        Lineage::new(root, |pid| process(pid).ppid)
    }
}

impl<F: FnMut(i32) -> i32> Lineage<F> {
    pub(crate) fn new(root: i32, parent_of: F) -> Self {
        Lineage {
            root,
            parents: HashMap::new(),
            parent_of,
        }
    }

    /// Whether `pid` is the root or descends from it.
    pub(crate) fn descends(&mut self, pid: i32) -> bool {
        let mut p = pid;
        for _ in 0..32 {
            if p == self.root {
                return true;
            }
            if p <= 1 {
                return false;
            }
            p = match self.parents.get(&p) {
                Some(parent) => *parent,
                None if self.parents.len() == MAX_PARENTS => return false,
                None => {
                    let parent = (self.parent_of)(p);
                    self.parents.insert(p, parent);
                    parent
                }
            };
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    fn row(local: &str, state: &str, inode: u64) -> String {
        format!("   0: {local} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000     0        0 {inode} 1 0000000000000000 100 0 0 10 0\n")
    }

    #[test]
    fn listeners_are_read_up_to_the_first_connection() {
        let text = [
            HEADER.to_string(),
            row("0100007F:1F40", "0A", 11), // 127.0.0.1:8000
            row("00000000:1F90", "0A", 12), // 0.0.0.0:8080
            row("0100007F:1F40", "01", 13), // an established connection
            row("00000000:0050", "0A", 14), // not read: after a connection
        ]
        .concat();
        let mut out = Vec::new();
        parse(text.as_bytes(), &mut out);
        let got: Vec<(String, u64, bool)> = out
            .iter()
            .map(|l| (l.address(), l.inode, l.is_loopback()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("127.0.0.1:8000".to_string(), 11, true),
                ("0.0.0.0:8080".to_string(), 12, false)
            ]
        );
    }

    #[test]
    fn ipv6_addresses() {
        let text = [
            HEADER.to_string(),
            row("00000000000000000000000001000000:1F40", "0A", 1), // ::1
            row("00000000000000000000000000000000:1F40", "0A", 2), // ::
            row("0000000000000000FFFF00000100007F:1F40", "0A", 3), // ::ffff:127.0.0.1
            row("garbage:zz", "0A", 4),
        ]
        .concat();
        let mut out = Vec::new();
        parse(text.as_bytes(), &mut out);
        let got: Vec<(String, bool)> = out.iter().map(|l| (l.address(), l.is_loopback())).collect();
        assert_eq!(
            got,
            vec![
                ("[::1]:8000".to_string(), true),
                ("[::]:8000".to_string(), false),
                ("[::ffff:127.0.0.1]:8000".to_string(), true)
            ]
        );
    }

    #[test]
    fn at_most_max_listeners_per_table_and_said_when_there_were_more() {
        let table = |n: usize, addr: &str| {
            let mut text = HEADER.to_string();
            for i in 0..n {
                text.push_str(&row(addr, "0A", i as u64));
            }
            text.push_str(&row(addr, "01", 0)); // a connection
            text
        };
        let v4 = table(MAX_LISTENERS + 10, "00000000:1F40");
        let v6 = table(3, "00000000000000000000000000000000:1F90");
        let mut out = Vec::new();
        assert!(parse(v4.as_bytes(), &mut out), "more than were read");
        assert_eq!(out.len(), MAX_LISTENERS);
        // The IPv6 table has a bound of its own: read whole after a full IPv4 one.
        assert!(!parse(v6.as_bytes(), &mut out));
        assert_eq!(out.len(), MAX_LISTENERS + 3);
        assert_eq!(
            out.last().map(Listener::address).as_deref(),
            Some("[::]:8080")
        );
        // Exactly the bound: nothing left out.
        let mut out = Vec::new();
        assert!(!parse(
            table(MAX_LISTENERS, "00000000:1F40").as_bytes(),
            &mut out
        ));
        assert_eq!(out.len(), MAX_LISTENERS);
    }

    #[test]
    fn this_process_is_found_holding_its_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let found = snapshot().listeners;
        let mine = found
            .iter()
            .find(|x| x.port == port)
            .expect("our listener in /proc/net/tcp");
        // The owner scan reads at most MAX_PROCESSES processes, lowest pids
        // first (a container's own); on a machine with more, ours may be past it.
        let processes = std::fs::read_dir("/proc")
            .unwrap()
            .filter(|e| {
                e.as_ref().is_ok_and(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.parse::<u32>().is_ok())
                })
            })
            .count();
        if processes > MAX_PROCESSES {
            eprintln!("{processes} processes here: the owner scan stops at {MAX_PROCESSES}");
            return;
        }
        let owner = mine.owner.as_ref().expect("its owner");
        assert_eq!(owner.pid, std::process::id() as i32);
        assert!(Lineage::of(owner.pid).descends(owner.pid));
        assert!(Lineage::of(owner.ppid).descends(owner.pid));
    }

    #[test]
    fn each_parent_is_read_once_and_at_most_max_parents() {
        // The command (pid 100) runs a chain 30 deep (101..=130), whose
        // last has 500 children (1000..1500), each holding a listener.
        let parent = |pid: i32| match pid {
            101..=130 => pid - 1,
            1000..=1499 => 130,
            _ => 1,
        };
        let mut reads = 0;
        let mut lineage = Lineage::new(100, |pid| {
            reads += 1;
            parent(pid)
        });
        for pid in 1000..1200 {
            assert!(lineage.descends(pid), "{pid}");
        }
        assert!(!lineage.descends(7)); // not the command's
        drop(lineage);
        assert_eq!(reads, 200 + 30 + 1, "each parent once");
        // Past the bound: not counted as the command's, and no more reads.
        let mut reads = 0;
        let mut lineage = Lineage::new(100, |pid| {
            reads += 1;
            parent(pid)
        });
        let found = (1000..1500).filter(|pid| lineage.descends(*pid)).count();
        drop(lineage);
        assert_eq!(reads, MAX_PARENTS);
        assert_eq!(found, MAX_PARENTS - 30);
    }
}
