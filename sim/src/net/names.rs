//! The name databases of a machine: `/etc/passwd`, `/etc/group` and
//! `/etc/hosts`, as glibc's `files` NSS backend reads them.
//!
//! Some tools resolve names when they load a ruleset, on the machine that
//! loads it: `nft -f` turns `meta skuid NAME`/`skgid NAME` into ids with
//! getpwnam/getgrnam (nftables src/meta.c `uid_type_parse`,
//! `gid_type_parse`); `iptables-restore` does so for `-m owner
//! --uid-owner NAME`/`--gid-owner NAME` (iptables extensions/libxt_owner.c
//! `owner_mt_parse`); `ipvsadm -R` resolves a host name with
//! gethostbyname (ipvsadm.c `host_to_addr`). podpath answers as the dumped
//! machine would from its files when it has them ([`Etc`]: a bundle's
//! `etc/`, `podpath inspect --etc DIR`); without them a name stays
//! *unresolved* — kept, reported apart from what is unmodelled, and never
//! matching unless `--assume-unmodelled match`.
//!
//! Simplification: only the `files` backend is read (nsswitch.conf's
//! `passwd: files` / `hosts: files`); names an NSS module (sssd, LDAP,
//! systemd-userdbd, DNS for hosts) would answer are not known. A host
//! name missing from etc/hosts therefore stays unresolved (the machine's
//! DNS may know it) rather than refused.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Which database a name is looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Db {
    /// `/etc/passwd` (getpwnam): user names.
    Passwd,
    /// `/etc/group` (getgrnam): group names.
    Group,
    /// `/etc/hosts` (gethostbyname): host names.
    Hosts,
}

impl Db {
    /// The file, as a bundle holds it.
    pub fn file(self) -> &'static str {
        match self {
            Db::Passwd => "etc/passwd",
            Db::Group => "etc/group",
            Db::Hosts => "etc/hosts",
        }
    }

    /// What the name is: "user", "group", "host".
    pub fn what(self) -> &'static str {
        match self {
            Db::Passwd => "user",
            Db::Group => "group",
            Db::Hosts => "host",
        }
    }

    /// The words that say which file would resolve a name, for a report:
    /// "needs the dumped machine's /etc/group (...)".
    pub fn needs_file(self) -> String {
        let f = self.file();
        let base = f.trim_start_matches("etc/");
        format!(
            "needs the dumped machine's /{f} (a bundle's {f}, or `podpath inspect --etc DIR` with DIR/{base})"
        )
    }

    /// [`Db::needs_file`] with the name, for a trace: "group name 'java'
    /// needs ...".
    pub fn needs(self, name: &str) -> String {
        format!("{} name '{name}' {}", self.what(), self.needs_file())
    }
}

/// A name looked up in a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    /// The database has it.
    Found(T),
    /// The database is given and does not have it.
    Missing,
    /// No database was given: only the dumped machine knows.
    NoDb,
}

/// The name databases podpath has for a machine (each `None` when not
/// given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Etc {
    /// user name → uid
    pub passwd: Option<BTreeMap<String, u32>>,
    /// group name → gid
    pub group: Option<BTreeMap<String, u32>>,
    /// lower-case host name → its first IPv4 address
    pub hosts: Option<BTreeMap<String, Ipv4Addr>>,
}

impl Etc {
    /// The databases a reader finds (`passwd`, `group`, `hosts` under
    /// `prefix`, e.g. `etc/` in a bundle); a file that is not there is
    /// not given.
    pub fn read(read: &dyn Fn(&str) -> Option<String>, prefix: &str) -> Etc {
        Etc {
            passwd: read(&format!("{prefix}passwd")).map(|t| parse_ids(&t)),
            group: read(&format!("{prefix}group")).map(|t| parse_ids(&t)),
            hosts: read(&format!("{prefix}hosts")).map(|t| parse_hosts(&t)),
        }
    }

    /// Whether no database is given.
    pub fn is_empty(&self) -> bool {
        self.passwd.is_none() && self.group.is_none() && self.hosts.is_none()
    }

    /// A user or group id by name (`db` Passwd or Group; Hosts has no ids).
    pub fn id(&self, db: Db, name: &str) -> Lookup<u32> {
        let m = match db {
            Db::Passwd => &self.passwd,
            Db::Group => &self.group,
            Db::Hosts => return Lookup::NoDb,
        };
        match m {
            None => Lookup::NoDb,
            Some(m) => m.get(name).copied().map_or(Lookup::Missing, Lookup::Found),
        }
    }

    /// A host's IPv4 address (names compared without case).
    pub fn host(&self, name: &str) -> Lookup<Ipv4Addr> {
        match &self.hosts {
            None => Lookup::NoDb,
            Some(m) => m
                .get(&name.to_ascii_lowercase())
                .copied()
                .map_or(Lookup::Missing, Lookup::Found),
        }
    }
}

/// `/etc/passwd` or `/etc/group` as glibc's files backend reads them
/// (nss/nss_files/files-pwd.c, files-grp.c: `NAME:PASSWD:ID:...`, one
/// entry a line; getpwnam/getgrnam return the first entry of a name,
/// compared exactly); comment (`#`) and NIS compat (`+`/`-`) lines and
/// lines without a numeric third field are skipped.
pub fn parse_ids(text: &str) -> BTreeMap<String, u32> {
    let mut m = BTreeMap::new();
    for l in text.lines() {
        let l = l.trim_end_matches('\r');
        if l.starts_with('#') || l.starts_with('+') || l.starts_with('-') {
            continue;
        }
        let mut f = l.split(':');
        let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let (name, id) = (name.trim(), id.trim());
        if name.is_empty() {
            continue;
        }
        if let Ok(id) = id.parse::<u32>() {
            m.entry(name.to_string()).or_insert(id);
        }
    }
    m
}

/// An /etc/hosts file as glibc's `files` backend reads it (nss/nss_files/
/// files-hosts.c: `ADDRESS NAME [ALIAS...]`, `#` to the end of the line;
/// names compared without case; the first line that names a host wins):
/// the IPv4 entries only, as ipvsadm.c `host_to_addr` asks
/// gethostbyname() for an IPv4 address. Keys are lower-case.
pub fn parse_hosts(text: &str) -> BTreeMap<String, Ipv4Addr> {
    let mut m = BTreeMap::new();
    for l in text.lines() {
        let l = l.split('#').next().unwrap_or("");
        let mut w = l.split_whitespace();
        let Some(Ok(a)) = w.next().map(str::parse::<Ipv4Addr>) else {
            continue;
        };
        for n in w {
            m.entry(n.to_ascii_lowercase()).or_insert(a);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real /etc/passwd and /etc/group shape: the first entry of a name
    /// wins, comments and NIS compat lines are skipped, names are exact.
    #[test]
    fn passwd_and_group_files() {
        let p = parse_ids(
            "root:x:0:0:root:/root:/bin/bash\n# c\n+nis::::::\njava:x:1337:1337::/home/java:/bin/sh\njava:x:9:9::/:\nbad:x:zz:\n",
        );
        assert_eq!(p.get("root"), Some(&0));
        assert_eq!(p.get("java"), Some(&1337));
        assert_eq!(p.get("JAVA"), None);
        assert_eq!(p.get("bad"), None);
        assert_eq!(p.len(), 2);
        let g = parse_ids("wheel:x:10:root,java\njava:x:1337:\n");
        assert_eq!(g.get("wheel"), Some(&10));
        let e = Etc {
            group: Some(g),
            ..Etc::default()
        };
        assert_eq!(e.id(Db::Group, "java"), Lookup::Found(1337));
        assert_eq!(e.id(Db::Group, "nobody"), Lookup::Missing);
        assert_eq!(e.id(Db::Passwd, "java"), Lookup::NoDb);
        assert_eq!(e.host("s2"), Lookup::NoDb);
    }
}
