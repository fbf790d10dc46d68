//! Every match and target libxtables knows, with its families and options,
//! as iptables' `extensions/lib{xt,ipt,ip6t}_*.c` register them (their
//! `struct xtables_match`/`xtables_target` names and their
//! `xt_option_entry`/`struct option` tables). iptables-restore loads a
//! `-m NAME` or `-j NAME` from this list (libxtables/xtables.c
//! `xtables_find_match`/`xtables_find_target`) and refuses any other name
//! with "Couldn't load match `NAME':No such file or directory"; an option
//! is looked up among the loaded extensions' options with getopt_long, which
//! also takes an unambiguous prefix (`--mac` for `--mac-source`).

/// One extension: its name, whether it is a target, the families it exists
/// for, and its options.
pub(crate) struct Ext {
    pub name: &'static str,
    pub target: bool,
    pub v4: bool,
    pub v6: bool,
    pub opts: &'static [Opt],
}

/// An option (`struct xt_option_entry`): its name without `--`, the type
/// of its value (`enum xt_option_type`; `ARG` for a `struct option` with
/// an argument the extension parses itself), its bounds, whether it is
/// mandatory (XTOPT_MAND) and whether `!` may precede it (XTOPT_INVERT).
pub(crate) struct Opt {
    pub name: &'static str,
    pub ty: Ty,
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub mand: bool,
    pub invert: bool,
}

/// `enum xt_option_type` (include/xtables.h).
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    NONE,
    ARG,
    UINT8,
    UINT16,
    UINT32,
    UINT64,
    UINT16RC,
    UINT32RC,
    UINT64RC,
    DOUBLE,
    STRING,
    TOSMASK,
    MARKMASK32,
    SYSLOGLEVEL,
    HOST,
    HOSTMASK,
    PROTOCOL,
    PORT,
    PORTRC,
    PLEN,
    PLENMASK,
    ETHERMAC,
}

impl Opt {
    /// Whether the option takes a value.
    pub fn takes(&self) -> bool {
        self.ty != Ty::NONE
    }
}

/// xtoptions.c's check of a value by its type (xtopt_parse_int,
/// xtopt_parse_mint, xtopt_parse_markmask, ...), with libxtables' message.
pub(crate) fn check_value(ext: &str, o: &Opt, v: &str) -> Result<(), String> {
    let int = |s: &str| -> Option<u64> {
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        }
    };
    let type_max = match o.ty {
        Ty::UINT8 => 0xff,
        Ty::UINT16 | Ty::UINT16RC | Ty::PORT | Ty::PORTRC => 0xffff,
        Ty::UINT32 | Ty::UINT32RC | Ty::MARKMASK32 => 0xffff_ffff,
        _ => u64::MAX,
    };
    // a `.max` given by a macro (XT_DSCP_MAX) is in the xopts table
    let max = o.max.or_else(|| {
        super::xopts::XOPTS
            .iter()
            .find(|x| x.ext == ext && x.opt == o.name)
            .and_then(|x| x.max)
    });
    let (lo, hi) = (o.min.unwrap_or(0), max.unwrap_or(type_max));
    let bad = || {
        format!(
            "{ext}: bad value for option \"--{}\", or out of range ({lo}-{hi}).",
            o.name
        )
    };
    let in_range = |n: Option<u64>| n.filter(|n| (lo..=hi).contains(n)).ok_or_else(bad);
    match o.ty {
        Ty::UINT8 | Ty::UINT16 | Ty::UINT32 | Ty::UINT64 => in_range(int(v)).map(|_| ()),
        // xtopt_parse_mint: at most two components, the second not below
        // the first ("near \"3\", or out of range (4-...)")
        Ty::UINT16RC | Ty::UINT32RC | Ty::UINT64RC => {
            let parts: Vec<&str> = v.split(':').collect();
            if parts.len() > 2 {
                return Err(format!(
                    "{ext}: Too many components for option \"--{}\" (max: 2)",
                    o.name
                ));
            }
            let mut min = lo;
            for part in parts {
                if !part.is_empty() {
                    let n = int(part).filter(|n| (min..=hi).contains(n)).ok_or_else(|| {
                        format!(
                            "{ext}: bad value for option \"--{}\" near \"{part}\", or out of range ({min}-{hi}).",
                            o.name
                        )
                    })?;
                    min = n;
                }
            }
            Ok(())
        }
        // xtopt_parse_sysloglevel
        Ty::SYSLOGLEVEL => {
            let names = [
                "alert", "crit", "debug", "emerg", "error", "info", "notice", "panic", "warning",
            ];
            if int(v).is_some_and(|n| n <= 7) || names.contains(&v) {
                Ok(())
            } else {
                Err(format!("log level \"{v}\" unknown"))
            }
        }
        Ty::PORT => in_range(parse_port(v).map(u64::from)).map(|_| ()),
        Ty::PORTRC => {
            for part in v.split(':') {
                if !part.is_empty() {
                    in_range(parse_port(part).map(u64::from))?;
                }
            }
            Ok(())
        }
        // libxt_TOS/libxt_tos: tos_parse_symbolic's names
        Ty::TOSMASK
            if matches!(
                v,
                "Minimize-Delay"
                    | "Maximize-Throughput"
                    | "Maximize-Reliability"
                    | "Minimize-Cost"
                    | "Normal-Service"
            ) =>
        {
            Ok(())
        }
        Ty::MARKMASK32 | Ty::TOSMASK => {
            let (a, m) = v.split_once('/').unwrap_or((v, "0"));
            let max = if o.ty == Ty::TOSMASK {
                0xff
            } else {
                0xffff_ffff
            };
            match (int(a), int(m)) {
                (Some(a), Some(m)) if a <= max && m <= max => Ok(()),
                _ => Err(bad()),
            }
        }
        Ty::PLEN => int(v).filter(|n| *n <= 128).map(|_| ()).ok_or_else(bad),
        Ty::DOUBLE => v.parse::<f64>().map(|_| ()).map_err(|_| bad()),
        Ty::STRING => match o.max {
            Some(m) if v.len() as u64 > m => Err(format!(
                "{ext}: option \"--{}\" must be no more than {m} characters",
                o.name
            )),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The extension `name` (a match when `!target`) for the family.
pub(crate) fn find(name: &str, target: bool, v6: bool) -> Option<&'static Ext> {
    EXTENSIONS
        .iter()
        .find(|e| e.name == name && e.target == target && if v6 { e.v6 } else { e.v4 })
}

/// Options that take two words (libxt_tcp's `--tcp-flags MASK COMP`,
/// libxt_set's `--match-set NAME FLAGS`, libxt_SET's `--add-set`/`--del-set`/
/// `--map-set NAME FLAGS`: they read `argv[optind]` after their value).
pub(crate) fn two_words(ext: &str, opt: &str) -> bool {
    matches!(
        (ext, opt),
        ("tcp", "tcp-flags")
            | ("set", "match-set" | "set")
            | ("SET", "add-set" | "del-set" | "map-set")
            | ("sctp", "chunk-types")
    )
}

/// Options whose parser takes the next word when there is one although
/// getopt is told they take none (libxt_rateest.c rateest_parse reads
/// `argv[optind]` after `--rateest-bps`/`--rateest-pps`).
pub(crate) fn optional_value(ext: &str, opt: &str) -> bool {
    ext == "rateest" && (opt.starts_with("rateest-bps") || opt.starts_with("rateest-pps"))
}

/// A port by number or by its /etc/services name (xtables_parse_port:
/// getservbyname; the common names of netbase's services file).
pub(crate) fn parse_port(s: &str) -> Option<u16> {
    Some(match s {
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "domain" => 53,
        "bootps" => 67,
        "bootpc" => 68,
        "tftp" => 69,
        "http" | "www" => 80,
        "pop3" => 110,
        "sunrpc" => 111,
        "ntp" => 123,
        "netbios-ns" => 137,
        "netbios-dgm" => 138,
        "netbios-ssn" => 139,
        "imap2" | "imap" => 143,
        "snmp" => 161,
        "bgp" => 179,
        "ldap" => 389,
        "https" => 443,
        "microsoft-ds" => 445,
        "isakmp" => 500,
        "syslog" => 514,
        "submission" => 587,
        "ldaps" => 636,
        "imaps" => 993,
        "pop3s" => 995,
        "openvpn" => 1194,
        "mysql" => 3306,
        "ipsec-nat-t" => 4500,
        "postgresql" => 5432,
        _ => return s.parse().ok(),
    })
}

#[rustfmt::skip]
// Generated by a script from iptables' extensions/lib{xt,ipt,ip6t}_*.c
// (aosp-mirror/platform_external_iptables 672d4a94).
pub(crate) const EXTENSIONS: &[Ext] = &[
    Ext { name: "addrtype", target: false, v4: true, v6: true, opts: &[Opt { name: "dst-type", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "limit-iface-in", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "limit-iface-out", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "src-type", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "ah", target: false, v4: true, v6: true, opts: &[Opt { name: "ahlen", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }, Opt { name: "ahres", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "ahspi", ty: Ty::UINT32RC, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "bpf", target: false, v4: true, v6: true, opts: &[Opt { name: "bytecode", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "object-pinned", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "cgroup", target: false, v4: true, v6: true, opts: &[Opt { name: "cgroup", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }, Opt { name: "path", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "cluster", target: false, v4: true, v6: true, opts: &[Opt { name: "cluster-hash-seed", ty: Ty::UINT32, min: None, max: None, mand: true, invert: false }, Opt { name: "cluster-local-node", ty: Ty::UINT32, min: Some(1), max: Some(32), mand: false, invert: true }, Opt { name: "cluster-local-nodemask", ty: Ty::UINT32, min: Some(1), max: Some(32), mand: false, invert: true }, Opt { name: "cluster-total-nodes", ty: Ty::UINT32, min: Some(1), max: Some(32), mand: true, invert: false }] },
    Ext { name: "comment", target: false, v4: true, v6: true, opts: &[Opt { name: "comment", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "connbytes", target: false, v4: true, v6: true, opts: &[Opt { name: "connbytes", ty: Ty::UINT64RC, min: None, max: None, mand: true, invert: true }, Opt { name: "connbytes-dir", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }, Opt { name: "connbytes-mode", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "connlabel", target: false, v4: true, v6: true, opts: &[Opt { name: "label", ty: Ty::STRING, min: Some(1), max: None, mand: true, invert: true }, Opt { name: "set", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "connlimit", target: false, v4: true, v6: true, opts: &[Opt { name: "connlimit-above", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }, Opt { name: "connlimit-daddr", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "connlimit-mask", ty: Ty::PLENMASK, min: None, max: None, mand: false, invert: false }, Opt { name: "connlimit-saddr", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "connlimit-upto", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "connmark", target: false, v4: true, v6: true, opts: &[Opt { name: "mark", ty: Ty::MARKMASK32, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "conntrack", target: false, v4: true, v6: true, opts: &[Opt { name: "ctdir", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "ctexpire", ty: Ty::UINT32RC, min: None, max: None, mand: false, invert: true }, Opt { name: "ctorigdst", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }, Opt { name: "ctorigdstport", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "ctorigsrc", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }, Opt { name: "ctorigsrcport", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "ctproto", ty: Ty::PROTOCOL, min: None, max: None, mand: false, invert: true }, Opt { name: "ctrepldst", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }, Opt { name: "ctrepldstport", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "ctreplsrc", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }, Opt { name: "ctreplsrcport", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "ctstate", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "ctstatus", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "state", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "cpu", target: false, v4: true, v6: true, opts: &[Opt { name: "cpu", ty: Ty::UINT32, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "dccp", target: false, v4: true, v6: true, opts: &[Opt { name: "dccp-option", ty: Ty::UINT8, min: Some(1), max: Some(255), mand: false, invert: true }, Opt { name: "dccp-types", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "destination-port", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "dport", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "source-port", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "sport", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "devgroup", target: false, v4: true, v6: true, opts: &[Opt { name: "dst-group", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "src-group", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "dscp", target: false, v4: true, v6: true, opts: &[Opt { name: "dscp", ty: Ty::UINT8, min: Some(0), max: None, mand: false, invert: true }, Opt { name: "dscp-class", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "dst", target: false, v4: false, v6: true, opts: &[Opt { name: "dst-len", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }, Opt { name: "dst-opts", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "ecn", target: false, v4: true, v6: true, opts: &[Opt { name: "ecn-ip-ect", ty: Ty::UINT8, min: Some(0), max: Some(3), mand: false, invert: true }, Opt { name: "ecn-tcp-cwr", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "ecn-tcp-ece", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "esp", target: false, v4: true, v6: true, opts: &[Opt { name: "espspi", ty: Ty::UINT32RC, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "eui64", target: false, v4: false, v6: true, opts: &[] },
    Ext { name: "frag", target: false, v4: false, v6: true, opts: &[Opt { name: "fragfirst", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "fragid", ty: Ty::UINT32RC, min: None, max: None, mand: false, invert: true }, Opt { name: "fraglast", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "fraglen", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }, Opt { name: "fragmore", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "fragres", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "hashlimit", target: false, v4: true, v6: true, opts: &[Opt { name: "hashlimit", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "hashlimit-above", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "hashlimit-burst", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-dstmask", ty: Ty::PLEN, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-htable-expire", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-htable-gcinterval", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-htable-max", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-htable-size", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-mode", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-name", ty: Ty::STRING, min: Some(1), max: None, mand: true, invert: false }, Opt { name: "hashlimit-rate-interval", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-rate-match", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-srcmask", ty: Ty::PLEN, min: None, max: None, mand: false, invert: false }, Opt { name: "hashlimit-upto", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "hbh", target: false, v4: false, v6: true, opts: &[Opt { name: "hbh-len", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }, Opt { name: "hbh-opts", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "helper", target: false, v4: true, v6: true, opts: &[Opt { name: "helper", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "hl", target: false, v4: false, v6: true, opts: &[Opt { name: "hl", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }, Opt { name: "hl-eq", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "hl-gt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }, Opt { name: "hl-lt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "icmp", target: false, v4: true, v6: false, opts: &[Opt { name: "icmp-type", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "icmp6", target: false, v4: false, v6: true, opts: &[Opt { name: "icmpv6-type", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "ipcomp", target: false, v4: true, v6: true, opts: &[Opt { name: "compres", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "ipcompspi", ty: Ty::UINT32RC, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "iprange", target: false, v4: true, v6: true, opts: &[Opt { name: "dst-range", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "src-range", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "ipv6header", target: false, v4: false, v6: true, opts: &[Opt { name: "header", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }, Opt { name: "soft", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "ipvs", target: false, v4: true, v6: true, opts: &[Opt { name: "ipvs", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "vaddr", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }, Opt { name: "vdir", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "vmethod", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "vport", ty: Ty::PORT, min: None, max: None, mand: false, invert: true }, Opt { name: "vportctl", ty: Ty::PORT, min: None, max: None, mand: false, invert: true }, Opt { name: "vproto", ty: Ty::PROTOCOL, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "length", target: false, v4: true, v6: true, opts: &[Opt { name: "length", ty: Ty::UINT16RC, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "limit", target: false, v4: true, v6: true, opts: &[Opt { name: "limit", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "limit-burst", ty: Ty::UINT32, min: Some(0), max: Some(10000), mand: false, invert: false }] },
    Ext { name: "mac", target: false, v4: true, v6: true, opts: &[Opt { name: "mac-source", ty: Ty::ETHERMAC, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "mark", target: false, v4: true, v6: true, opts: &[Opt { name: "mark", ty: Ty::MARKMASK32, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "mh", target: false, v4: false, v6: true, opts: &[Opt { name: "mh-type", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "multiport", target: false, v4: true, v6: true, opts: &[Opt { name: "destination-ports", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "dports", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "ports", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "source-ports", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "sports", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "nfacct", target: false, v4: true, v6: true, opts: &[Opt { name: "nfacct-name", ty: Ty::STRING, min: Some(1), max: None, mand: true, invert: false }] },
    Ext { name: "osf", target: false, v4: true, v6: true, opts: &[Opt { name: "genre", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }, Opt { name: "log", ty: Ty::UINT32, min: Some(0), max: Some(2), mand: false, invert: false }, Opt { name: "ttl", ty: Ty::UINT32, min: Some(0), max: Some(2), mand: false, invert: false }] },
    Ext { name: "owner", target: false, v4: true, v6: true, opts: &[Opt { name: "cmd-owner", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "gid-owner", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "pid-owner", ty: Ty::UINT32, min: None, max: Some(2147483647), mand: false, invert: true }, Opt { name: "sid-owner", ty: Ty::UINT32, min: None, max: Some(2147483647), mand: false, invert: true }, Opt { name: "socket-exists", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "suppl-groups", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "uid-owner", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "physdev", target: false, v4: true, v6: true, opts: &[Opt { name: "physdev-in", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "physdev-is-bridged", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "physdev-is-in", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "physdev-is-out", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "physdev-out", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "pkttype", target: false, v4: true, v6: true, opts: &[Opt { name: "pkt-type", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "policy", target: false, v4: true, v6: true, opts: &[Opt { name: "dir", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "mode", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "next", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "pol", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "proto", ty: Ty::PROTOCOL, min: None, max: None, mand: false, invert: true }, Opt { name: "reqid", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }, Opt { name: "spi", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }, Opt { name: "strict", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "tunnel-dst", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }, Opt { name: "tunnel-src", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "quota", target: false, v4: true, v6: true, opts: &[Opt { name: "quota", ty: Ty::UINT64, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "quota2", target: false, v4: true, v6: true, opts: &[Opt { name: "grow", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "name", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "no-change", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "packets", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "quota", ty: Ty::UINT64, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "rateest", target: false, v4: true, v6: true, opts: &[Opt { name: "rateest", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-bps", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-bps1", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-bps2", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-delta", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-eq", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-gt", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-lt", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-pps", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-pps1", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest-pps2", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest1", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "rateest2", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "realm", target: false, v4: true, v6: false, opts: &[Opt { name: "realm", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "recent", target: false, v4: true, v6: true, opts: &[Opt { name: "hitcount", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "mask", ty: Ty::HOST, min: None, max: None, mand: false, invert: false }, Opt { name: "name", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "rcheck", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rdest", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "reap", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "remove", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "rsource", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "rttl", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "seconds", ty: Ty::UINT32, min: Some(1), max: None, mand: false, invert: false }, Opt { name: "set", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "update", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "rpfilter", target: false, v4: true, v6: true, opts: &[Opt { name: "accept-local", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "invert", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "loose", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "validmark", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "rt", target: false, v4: false, v6: true, opts: &[Opt { name: "rt-0-addrs", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "rt-0-not-strict", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "rt-0-res", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "rt-len", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }, Opt { name: "rt-segsleft", ty: Ty::UINT32RC, min: None, max: None, mand: false, invert: true }, Opt { name: "rt-type", ty: Ty::UINT32, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "sctp", target: false, v4: true, v6: true, opts: &[Opt { name: "chunk-types", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "destination-port", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "dport", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "source-port", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "sport", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "set", target: false, v4: true, v6: true, opts: &[Opt { name: "bytes-eq", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "bytes-gt", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "bytes-lt", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "match-set", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "packets-eq", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "packets-gt", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "packets-lt", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "return-nomatch", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "set", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "update-counters", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "update-subcounters", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "socket", target: false, v4: true, v6: true, opts: &[Opt { name: "nowildcard", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "restore-skmark", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "transparent", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "srh", target: false, v4: false, v6: true, opts: &[Opt { name: "srh-hdr-len-eq", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-hdr-len-gt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-hdr-len-lt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-last-entry-eq", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-last-entry-gt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-last-entry-lt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-lsid", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-next-hdr", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-nsid", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-psid", ty: Ty::HOSTMASK, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-segs-left-eq", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-segs-left-gt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-segs-left-lt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "srh-tag", ty: Ty::UINT16, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "state", target: false, v4: true, v6: true, opts: &[Opt { name: "state", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "statistic", target: false, v4: true, v6: true, opts: &[Opt { name: "every", ty: Ty::UINT32, min: Some(1), max: None, mand: false, invert: true }, Opt { name: "mode", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }, Opt { name: "packet", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "probability", ty: Ty::DOUBLE, min: Some(0), max: Some(1), mand: false, invert: true }] },
    Ext { name: "string", target: false, v4: true, v6: true, opts: &[Opt { name: "algo", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }, Opt { name: "from", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }, Opt { name: "hex-string", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "icase", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "string", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "to", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "tcp", target: false, v4: true, v6: true, opts: &[Opt { name: "destination-port", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "dport", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "source-port", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "sport", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "syn", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "tcp-flags", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "tcp-option", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "tcpmss", target: false, v4: true, v6: true, opts: &[Opt { name: "mss", ty: Ty::UINT16RC, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "time", target: false, v4: true, v6: true, opts: &[Opt { name: "contiguous", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "datestart", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "datestop", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "kerneltz", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "localtz", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "monthdays", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }, Opt { name: "timestart", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "timestop", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "utc", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "weekdays", ty: Ty::STRING, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "tos", target: false, v4: true, v6: true, opts: &[Opt { name: "tos", ty: Ty::TOSMASK, min: None, max: Some(63), mand: true, invert: true }] },
    Ext { name: "ttl", target: false, v4: true, v6: false, opts: &[Opt { name: "ttl", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }, Opt { name: "ttl-eq", ty: Ty::UINT8, min: None, max: None, mand: false, invert: true }, Opt { name: "ttl-gt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }, Opt { name: "ttl-lt", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "u32", target: false, v4: true, v6: true, opts: &[Opt { name: "u32", ty: Ty::STRING, min: None, max: None, mand: true, invert: true }] },
    Ext { name: "udp", target: false, v4: true, v6: true, opts: &[Opt { name: "destination-port", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "dport", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "source-port", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }, Opt { name: "sport", ty: Ty::PORTRC, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "AUDIT", target: true, v4: true, v6: true, opts: &[Opt { name: "type", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "CHECKSUM", target: true, v4: true, v6: true, opts: &[Opt { name: "checksum-fill", ty: Ty::NONE, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "CLASSIFY", target: true, v4: true, v6: true, opts: &[Opt { name: "set-class", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "CLUSTERIP", target: true, v4: true, v6: false, opts: &[Opt { name: "clustermac", ty: Ty::ETHERMAC, min: None, max: None, mand: false, invert: false }, Opt { name: "hash-init", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "hashmode", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "local-node", ty: Ty::UINT16, min: None, max: Some(16), mand: false, invert: false }, Opt { name: "new", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "total-nodes", ty: Ty::UINT16, min: None, max: Some(16), mand: false, invert: false }] },
    Ext { name: "CONNMARK", target: true, v4: true, v6: true, opts: &[Opt { name: "and-mark", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "ctmask", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "left-shift-mark", ty: Ty::UINT8, min: Some(0), max: Some(32), mand: false, invert: false }, Opt { name: "mask", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "nfmask", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "or-mark", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "restore-mark", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "right-shift-mark", ty: Ty::UINT8, min: Some(0), max: Some(32), mand: false, invert: false }, Opt { name: "save-mark", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "set-mark", ty: Ty::MARKMASK32, min: None, max: None, mand: false, invert: false }, Opt { name: "set-xmark", ty: Ty::MARKMASK32, min: None, max: None, mand: false, invert: false }, Opt { name: "xor-mark", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "CONNSECMARK", target: true, v4: true, v6: true, opts: &[Opt { name: "restore", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "save", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "CT", target: true, v4: true, v6: true, opts: &[Opt { name: "ctevents", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "expevents", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "helper", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "notrack", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "timeout", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "zone", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "zone-orig", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "zone-reply", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "DNAT", target: true, v4: true, v6: true, opts: &[Opt { name: "persistent", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "random", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "to-destination", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "DNPT", target: true, v4: false, v6: true, opts: &[Opt { name: "dst-pfx", ty: Ty::HOSTMASK, min: None, max: None, mand: true, invert: false }, Opt { name: "src-pfx", ty: Ty::HOSTMASK, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "DSCP", target: true, v4: true, v6: true, opts: &[Opt { name: "set-dscp", ty: Ty::UINT8, min: Some(0), max: None, mand: false, invert: false }, Opt { name: "set-dscp-class", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "ECN", target: true, v4: true, v6: false, opts: &[Opt { name: "ecn-ip-ect", ty: Ty::UINT8, min: Some(0), max: Some(3), mand: false, invert: false }, Opt { name: "ecn-tcp-cwr", ty: Ty::UINT8, min: Some(0), max: Some(1), mand: false, invert: false }, Opt { name: "ecn-tcp-ece", ty: Ty::UINT8, min: Some(0), max: Some(1), mand: false, invert: false }, Opt { name: "ecn-tcp-remove", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "HL", target: true, v4: false, v6: true, opts: &[Opt { name: "hl-dec", ty: Ty::UINT8, min: Some(1), max: None, mand: false, invert: false }, Opt { name: "hl-inc", ty: Ty::UINT8, min: Some(1), max: None, mand: false, invert: false }, Opt { name: "hl-set", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "HMARK", target: true, v4: true, v6: true, opts: &[Opt { name: "hmark-dport", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-dport-mask", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-dst-prefix", ty: Ty::PLENMASK, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-mod", ty: Ty::UINT32, min: Some(1), max: None, mand: true, invert: false }, Opt { name: "hmark-offset", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-proto-mask", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-rnd", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-spi", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-spi-mask", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-sport", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-sport-mask", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-src-prefix", ty: Ty::PLENMASK, min: None, max: None, mand: false, invert: false }, Opt { name: "hmark-tuple", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "IDLETIMER", target: true, v4: true, v6: true, opts: &[Opt { name: "alarm", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "label", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }, Opt { name: "send_nl_msg", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "timeout", ty: Ty::UINT32, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "LED", target: true, v4: true, v6: true, opts: &[Opt { name: "led-always-blink", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "led-delay", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }, Opt { name: "led-trigger-id", ty: Ty::STRING, min: Some(0), max: None, mand: true, invert: false }] },
    Ext { name: "LOG", target: true, v4: true, v6: true, opts: &[Opt { name: "log-ip-options", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "log-level", ty: Ty::SYSLOGLEVEL, min: None, max: None, mand: false, invert: false }, Opt { name: "log-macdecode", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "log-prefix", ty: Ty::STRING, min: Some(1), max: None, mand: false, invert: false }, Opt { name: "log-tcp-options", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "log-tcp-sequence", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "log-uid", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "MARK", target: true, v4: true, v6: true, opts: &[Opt { name: "and-mark", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "or-mark", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "set-mark", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "set-xmark", ty: Ty::MARKMASK32, min: None, max: None, mand: false, invert: false }, Opt { name: "xor-mark", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "MASQUERADE", target: true, v4: true, v6: true, opts: &[Opt { name: "random", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "random-fully", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "to-ports", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "NETMAP", target: true, v4: true, v6: true, opts: &[Opt { name: "to", ty: Ty::HOSTMASK, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "NFLOG", target: true, v4: true, v6: true, opts: &[Opt { name: "nflog-group", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }, Opt { name: "nflog-prefix", ty: Ty::STRING, min: Some(1), max: None, mand: false, invert: false }, Opt { name: "nflog-range", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "nflog-size", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "nflog-threshold", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "NFQUEUE", target: true, v4: true, v6: true, opts: &[Opt { name: "queue-balance", ty: Ty::UINT16RC, min: None, max: Some(65534), mand: false, invert: false }, Opt { name: "queue-bypass", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "queue-cpu-fanout", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "queue-num", ty: Ty::UINT16, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "NOTRACK", target: true, v4: true, v6: true, opts: &[] },
    Ext { name: "RATEEST", target: true, v4: true, v6: true, opts: &[Opt { name: "rateest-ewmalog", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }, Opt { name: "rateest-interval", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }, Opt { name: "rateest-name", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "REDIRECT", target: true, v4: true, v6: true, opts: &[Opt { name: "random", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "to-ports", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "REJECT", target: true, v4: true, v6: true, opts: &[Opt { name: "reject-with", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "SECMARK", target: true, v4: true, v6: true, opts: &[Opt { name: "selctx", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "SET", target: true, v4: true, v6: true, opts: &[Opt { name: "add-set", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "del-set", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "exist", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "map-mark", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "map-prio", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "map-queue", ty: Ty::NONE, min: None, max: None, mand: false, invert: true }, Opt { name: "map-set", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }, Opt { name: "timeout", ty: Ty::ARG, min: None, max: None, mand: false, invert: true }] },
    Ext { name: "SNAT", target: true, v4: true, v6: true, opts: &[Opt { name: "persistent", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "random", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "random-fully", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "to-source", ty: Ty::STRING, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "SNPT", target: true, v4: false, v6: true, opts: &[Opt { name: "dst-pfx", ty: Ty::HOSTMASK, min: None, max: None, mand: true, invert: false }, Opt { name: "src-pfx", ty: Ty::HOSTMASK, min: None, max: None, mand: true, invert: false }] },
    Ext { name: "SYNPROXY", target: true, v4: true, v6: true, opts: &[Opt { name: "ecn", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "mss", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }, Opt { name: "sack-perm", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "timestamp", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "wscale", ty: Ty::UINT32, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "TCPMSS", target: true, v4: true, v6: true, opts: &[Opt { name: "clamp-mss-to-pmtu", ty: Ty::NONE, min: None, max: None, mand: false, invert: false }, Opt { name: "set-mss", ty: Ty::UINT16, min: Some(0), max: None, mand: false, invert: false }] },
    Ext { name: "TCPOPTSTRIP", target: true, v4: true, v6: true, opts: &[Opt { name: "strip-options", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "TEE", target: true, v4: true, v6: true, opts: &[Opt { name: "gateway", ty: Ty::HOST, min: None, max: None, mand: true, invert: false }, Opt { name: "oif", ty: Ty::STRING, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "TOS", target: true, v4: true, v6: true, opts: &[Opt { name: "and-tos", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }, Opt { name: "or-tos", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }, Opt { name: "set-tos", ty: Ty::TOSMASK, min: None, max: Some(63), mand: false, invert: false }, Opt { name: "xor-tos", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "TPROXY", target: true, v4: true, v6: true, opts: &[Opt { name: "on-ip", ty: Ty::HOST, min: None, max: None, mand: false, invert: false }, Opt { name: "on-port", ty: Ty::PORT, min: None, max: None, mand: true, invert: false }, Opt { name: "tproxy-mark", ty: Ty::MARKMASK32, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "TRACE", target: true, v4: true, v6: true, opts: &[] },
    Ext { name: "TTL", target: true, v4: true, v6: false, opts: &[Opt { name: "ttl-dec", ty: Ty::UINT8, min: Some(1), max: None, mand: false, invert: false }, Opt { name: "ttl-inc", ty: Ty::UINT8, min: Some(1), max: None, mand: false, invert: false }, Opt { name: "ttl-set", ty: Ty::UINT8, min: None, max: None, mand: false, invert: false }] },
    Ext { name: "ULOG", target: true, v4: true, v6: false, opts: &[Opt { name: "ulog-cprange", ty: Ty::UINT64, min: None, max: None, mand: false, invert: false }, Opt { name: "ulog-nlgroup", ty: Ty::UINT8, min: Some(1), max: Some(32), mand: false, invert: false }, Opt { name: "ulog-prefix", ty: Ty::STRING, min: Some(1), max: None, mand: false, invert: false }, Opt { name: "ulog-qthreshold", ty: Ty::UINT64, min: Some(1), max: Some(50), mand: false, invert: false }] },
    Ext { name: "standard", target: true, v4: true, v6: true, opts: &[] },
];
