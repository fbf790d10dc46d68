//! The targets beyond the verdicts, NAT, MARK/CONNMARK, LOG and NOTRACK:
//! NFLOG/ULOG, TCPMSS, CHECKSUM, CT (zones, helpers, timeouts), NFQUEUE
//! and QUEUE, CLASSIFY, AUDIT, the IPv6 REJECT and NAT of ip6tables, and
//! the targets libxtables knows that podpath passes over. Each is built
//! from its options as its `extensions/libxt_*.c` parser takes them, and
//! applied as its `net/netfilter/xt_*.c` target function does.

use std::net::Ipv4Addr;

use crate::net::netfilter::sk::{tproxy_laddr4, tproxy_v4, SkQuery};
use crate::net::netfilter::{AddrClass, HookOutcome, NfPacket, NfStep, Verdict};

/// A target of this module (kept in [`crate::net::netfilter::Target::Ext`]).
#[derive(Clone, Debug, PartialEq)]
pub enum ExtTarget {
    /// `-j NFLOG --nflog-prefix P --nflog-group G` (xt_NFLOG.c) or
    /// `-j ULOG --ulog-prefix P` (ipt_ULOG): the packet goes to a netlink
    /// logger; podpath records a trace step and goes on.
    Nflog {
        kind: &'static str,
        prefix: String,
        group: u32,
    },
    /// `-j TCPMSS --set-mss N` / `--clamp-mss-to-pmtu` (xt_TCPMSS.c).
    /// The SYN's MSS option is lowered (see [`tcpmss`]); a SYN without
    /// one gets none inserted.
    Tcpmss { mss: Option<u16> },
    /// `-j CHECKSUM --checksum-fill` (xt_CHECKSUM.c): fills in a partial
    /// checksum; podpath's packets always carry a full one, so nothing
    /// changes.
    Checksum,
    /// `-j CT --zone Z --helper H --timeout T ...` without `--notrack`
    /// (xt_CT.c xt_ct_target_v1): attaches a template to the connection.
    /// Simplifications: zones do not separate connections, no helper runs,
    /// timeout policies do not change expiry (named in explain).
    Ct { opts: Vec<(String, String)> },
    /// `-j NFQUEUE --queue-num N [--queue-bypass]` and `-j QUEUE`
    /// (xt_NFQUEUE.c, net/netfilter/nfnetlink_queue.c): to the program
    /// bound to queue N (the walk hands it over: [`super::eval`],
    /// [`crate::net::netfilter::nfqueue`]); with no program on the queue
    /// the packet is dropped (nf_queue returns -ESRCH), or with
    /// --queue-bypass goes on as if accepted by this table (nf_hook_slow's
    /// NF_VERDICT_FLAG_QUEUE_BYPASS).
    Nfqueue { num: u16, bypass: bool },
    /// `-j CLASSIFY --set-class MAJOR:MINOR` (xt_CLASSIFY.c): sets
    /// skb->priority; podpath has no qdiscs, so it has no further effect.
    Classify(u32),
    /// `-j AUDIT --type T` (xt_AUDIT.c): an audit record; a trace step.
    Audit(String),
    /// ip6tables `-j REJECT --reject-with ...` (libip6t_REJECT.c), kept.
    Reject6(String),
    /// ip6tables DNAT/SNAT/MASQUERADE/REDIRECT/NETMAP with its options,
    /// kept.
    Nat6 {
        name: String,
        opts: Vec<(String, String)>,
    },
    /// `-j TPROXY --on-port P [--on-ip A] [--tproxy-mark V[/M]]`
    /// (libxt_TPROXY.c, xt_TPROXY.c `tproxy_tg4`): the packet is given a
    /// transparent local socket and marked, or dropped.
    Tproxy {
        on_ip: Option<Ipv4Addr>,
        on_port: u16,
        mark_value: u32,
        mark_mask: u32,
    },
    /// `-j SYNPROXY [--sack-perm] [--timestamp] [--wscale W] [--mss M]
    /// [--ecn]` (libxt_SYNPROXY.c, xt_SYNPROXY.c `synproxy_tg4`).
    Synproxy(crate::net::netfilter::synproxy::SynproxyInfo),
    /// `-j TTL --ttl-set|--ttl-inc|--ttl-dec N` (net/netfilter/xt_HL.c
    /// `ttl_tg`): the TTL set, raised (to 255 at most) or lowered (to 0
    /// at least), then XT_CONTINUE.
    Ttl { mode: TtlMode, value: u8 },
    /// `-j TOS --set-tos V[/M]`, `--and-tos`, `--or-tos`, `--xor-tos`
    /// (net/netfilter/xt_DSCP.c `tos_tg`: `nv = (orig & ~mask) ^ value`;
    /// libxt_TOS.c `tos_tg_parse` turns and/or/xor into value and mask).
    Tos { value: u8, mask: u8 },
    /// `-j DSCP --set-dscp N|--set-dscp-class C` (xt_DSCP.c `dscp_tg`:
    /// the upper six bits of the TOS byte, the ECN bits kept).
    Dscp(u8),
    /// `-j ECN --ecn-ip-ect N --ecn-tcp-cwr B --ecn-tcp-ece B
    /// --ecn-tcp-remove` (net/ipv4/netfilter/ipt_ECN.c `ecn_tg`,
    /// libipt_ECN.c `ECN_parse`): the IP ECN field and the TCP CWR/ECE
    /// bits (TCP only).
    Ecn {
        ip_ect: Option<u8>,
        ece: Option<bool>,
        cwr: Option<bool>,
    },
    /// `-j SET --add-set NAME FLAGS [--exist] [--timeout N] --del-set
    /// NAME FLAGS --map-set NAME FLAGS [--map-mark] [--map-prio]
    /// [--map-queue]` (xt_set.c set_target_v3, libxt_SET.c
    /// set_target_parse_v3): the host's ipsets changed as the packet
    /// passes, then XT_CONTINUE.
    Set(Box<SetTarget>),
    /// `-j TEE --gateway GW [--oif DEV]` (xt_TEE.c tee_tg4 ->
    /// nf_dup_ipv4.c nf_dup_ipv4): a clone of the packet, untracked, is
    /// routed to the gateway and sent; the original goes on
    /// (XT_CONTINUE).
    Tee {
        gateway: std::net::Ipv4Addr,
        oif: Option<String>,
    },
    /// A target libxtables knows and podpath has no model of: passed
    /// over.
    Unmodelled { name: String },
}

/// The options of `-j SET`: each set by name with its src/dst flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetTarget {
    pub add: Option<(String, Vec<bool>)>,
    pub del: Option<(String, Vec<bool>)>,
    pub map: Option<(String, Vec<bool>)>,
    pub exist: bool,
    pub timeout: Option<u64>,
    pub map_mark: bool,
    pub map_prio: bool,
    pub map_queue: bool,
}

/// `NAME FLAGS` of `--add-set` (libxt_SET.c parse_target: flags `src`
/// and `dst` separated by commas).
fn set_and_flags(v: &str) -> Result<(String, Vec<bool>), String> {
    let (name, f) = v.split_once(' ').unwrap_or((v, ""));
    let flags = f
        .split(',')
        .map(|p| match p {
            "src" => Ok(true),
            "dst" => Ok(false),
            _ => Err(format!(
                "You must specify (the comma separated list of) 'src' or 'dst' for set {name}"
            )),
        })
        .collect::<Result<Vec<bool>, String>>()?;
    Ok((name.to_string(), flags))
}

fn set_target(opts: &[(String, String)]) -> Result<ExtTarget, String> {
    let get = |k: &str| opt(opts, k).map(set_and_flags).transpose();
    let t = SetTarget {
        add: get("add-set")?,
        del: get("del-set")?,
        map: get("map-set")?,
        exist: opt(opts, "exist").is_some(),
        timeout: opt(opts, "timeout")
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    format!(
                        "Invalid value for option --timeout or out of range 0-{}",
                        u32::MAX
                    )
                })
            })
            .transpose()?,
        map_mark: opt(opts, "map-mark").is_some(),
        map_prio: opt(opts, "map-prio").is_some(),
        map_queue: opt(opts, "map-queue").is_some(),
    };
    if t.add.is_none() && t.del.is_none() && t.map.is_none() {
        // libxt_SET.c set_target_check
        return Err("You must specify either `--add-set' or `--del-set'".into());
    }
    Ok(ExtTarget::Set(Box::new(t)))
}

/// Runs `-j SET` on the host's ipsets (xt_set.c set_target_v3): add,
/// then del, then the map lookup (`--map-mark` sets the mark from the
/// member's skbmark; skbprio and skbqueue have no effect without qdiscs
/// and queues). The effect for the trace.
pub(super) fn run_set_target(
    t: &SetTarget,
    pkt: &mut NfPacket,
    env: &mut crate::net::netfilter::EvalEnv,
) -> String {
    use crate::net::netfilter::ipset::Adt;
    let mut done = Vec::new();
    let now = env.now_ns;
    // set_target_v3: a timeout above IPSET_MAX_TIMEOUT is cut to it
    let timeout = t.timeout.map(|x| x.min(u64::from(u32::MAX) / 1000));
    if let Some((name, flags)) = &t.add {
        let adt = Adt::Add {
            exist: t.exist,
            timeout,
        };
        done.push(
            std::sync::Arc::make_mut(&mut env.state.ipsets).kernel_adt(name, flags, pkt, adt, now),
        );
    }
    if let Some((name, flags)) = &t.del {
        done.push(std::sync::Arc::make_mut(&mut env.state.ipsets).kernel_adt(
            name,
            flags,
            pkt,
            Adt::Del,
            now,
        ));
    }
    if let Some((name, flags)) = &t.map {
        done.push(map_set(t, name, flags, pkt, env));
    }
    format!("SET {}", done.join("; "))
}

/// `--map-set`: the member the packet hits, its skbinfo applied.
fn map_set(
    t: &SetTarget,
    name: &str,
    flags: &[bool],
    pkt: &mut NfPacket,
    env: &crate::net::netfilter::EvalEnv,
) -> String {
    let st = &env.state.ipsets;
    if !st.test_at(
        name,
        flags,
        pkt,
        crate::net::netfilter::Assume::NoMatch,
        env.now_ns,
    ) {
        return format!("map {name}: no match");
    }
    let mark = st
        .sets
        .get(name)
        .and_then(|s| {
            crate::net::netfilter::ipset::IpsetStore::best_member(s, flags, pkt, env.now_ns)
        })
        .and_then(|m| m.skbinfo.iter().find(|(k, _)| k == "skbmark"))
        .and_then(|(_, v)| super::parse::parse_mark(v));
    match (t.map_mark, mark) {
        (true, Some((v, m))) => {
            let before = pkt.mark;
            // ip_set's skbinfo: skb->mark = (skb->mark & ~skbmarkmask) ^ skbmark
            pkt.mark = (pkt.mark & !m) ^ v;
            format!("map {name}: mark 0x{before:x} -> 0x{:x}", pkt.mark)
        }
        _ => format!("map {name}: matched"),
    }
}

/// The modes of `-j TTL` (include/uapi/linux/netfilter_ipv4/ipt_TTL.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlMode {
    Set,
    Inc,
    Dec,
}

/// A number as libxtables' xtables_strtoui reads it (decimal or 0x hex).
fn parse_num(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The v6 REJECT types of libip6t_REJECT.c's reject_table.
fn reject6_name(s: &str) -> Option<&'static str> {
    Some(match s {
        "icmp6-no-route" | "no-route" => "icmp6-no-route",
        "icmp6-adm-prohibited" | "adm-prohibited" => "icmp6-adm-prohibited",
        "icmp6-addr-unreachable" | "addr-unreach" => "icmp6-addr-unreachable",
        "icmp6-port-unreachable" | "port-unreach" => "icmp6-port-unreachable",
        "icmp6-policy-fail" | "policy-fail" => "icmp6-policy-fail",
        "icmp6-reject-route" | "reject-route" => "icmp6-reject-route",
        "tcp-reset" => "tcp-reset",
        _ => return None,
    })
}

/// The value of option `name` among the gathered ones.
fn opt<'a>(opts: &'a [(String, String)], name: &str) -> Option<&'a str> {
    opts.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `-j TPROXY --on-port P [--on-ip A] [--tproxy-mark V[/M]]`
/// (libxt_TPROXY.c tproxy_tg_parse: --on-port is mandatory).
fn tproxy_target(opts: &[(String, String)]) -> Result<ExtTarget, String> {
    let mark = match opt(opts, "tproxy-mark") {
        None => (0, 0),
        Some(v) => super::parse::parse_mark(v)
            .ok_or_else(|| format!("TPROXY: bad value \"{v}\" for --tproxy-mark"))?,
    };
    let on_ip = match opt(opts, "on-ip") {
        None => None,
        Some(v) => Some(
            v.parse::<Ipv4Addr>()
                .map_err(|_| format!("TPROXY: bad value \"{v}\" for --on-ip"))?,
        ),
    };
    let Some(port) = opt(opts, "on-port") else {
        return Err("TPROXY target: option \"--on-port\" must be specified".into());
    };
    Ok(ExtTarget::Tproxy {
        on_ip,
        on_port: port
            .parse()
            .map_err(|_| format!("TPROXY: bad value \"{port}\" for --on-port"))?,
        mark_value: mark.0,
        mark_mask: mark.1,
    })
}

/// Builds the target `name` from its options (`--opt` without the dashes,
/// value or empty); Ok(None) when the name is not one of this module's.
pub(crate) fn build(
    name: &str,
    opts: &[(String, String)],
    v6: bool,
) -> Result<Option<ExtTarget>, String> {
    let num = |k: &str, max: u64| -> Result<Option<u64>, String> {
        match opt(opts, k) {
            None => Ok(None),
            Some(v) => parse_num(v)
                .map(u64::from)
                .filter(|n| *n <= max)
                .map(Some)
                .ok_or_else(|| format!("{name}: bad value \"{v}\" for --{k}")),
        }
    };
    Ok(Some(match name {
        "NFLOG" => ExtTarget::Nflog {
            kind: "NFLOG",
            prefix: opt(opts, "nflog-prefix").unwrap_or("").to_string(),
            group: num("nflog-group", 0xffff)?.unwrap_or(0) as u32,
        },
        "ULOG" => ExtTarget::Nflog {
            kind: "ULOG",
            prefix: opt(opts, "ulog-prefix").unwrap_or("").to_string(),
            group: num("ulog-nlgroup", 32)?.unwrap_or(1) as u32,
        },
        "TCPMSS" => {
            let mss = num("set-mss", 0xffff)?.map(|m| m as u16);
            let clamp = opt(opts, "clamp-mss-to-pmtu").is_some();
            if mss.is_some() == clamp {
                // libxt_TCPMSS.c tcpmss_check
                return Err(
                    "TCPMSS target: exactly one of --set-mss or --clamp-mss-to-pmtu is required"
                        .into(),
                );
            }
            ExtTarget::Tcpmss { mss }
        }
        "CHECKSUM" => {
            if opt(opts, "checksum-fill").is_none() {
                return Err("CHECKSUM target: Parameter --checksum-fill is required".into());
            }
            ExtTarget::Checksum
        }
        "CT" => ExtTarget::Ct {
            opts: opts.to_vec(),
        },
        "NFQUEUE" => ExtTarget::Nfqueue {
            num: opt(opts, "queue-balance")
                .and_then(|v| v.split(':').next())
                .and_then(|v| v.parse().ok())
                .or(num("queue-num", 0xffff)?.map(|n| n as u16))
                .unwrap_or(0),
            bypass: opt(opts, "queue-bypass").is_some(),
        },
        "QUEUE" => ExtTarget::Nfqueue {
            num: 0,
            bypass: false,
        },
        "CLASSIFY" => {
            let Some(v) = opt(opts, "set-class") else {
                return Err("CLASSIFY: --set-class is required".into());
            };
            let class = v
                .split_once(':')
                .and_then(|(a, b)| {
                    let a = u32::from_str_radix(a, 16).ok()?;
                    let b = u32::from_str_radix(b, 16).ok()?;
                    (a <= 0xffff && b <= 0xffff).then_some(a << 16 | b)
                })
                .ok_or_else(|| format!("Bad class value \"{v}\""))?;
            ExtTarget::Classify(class)
        }
        "TPROXY" if !v6 => tproxy_target(opts)?,
        "SYNPROXY" if !v6 => {
            use crate::net::netfilter::synproxy as sp;
            let mut info = sp::SynproxyInfo::default();
            for (k, v) in opts {
                match k.as_str() {
                    "sack-perm" => info.options |= sp::OPT_SACK_PERM,
                    "timestamp" => info.options |= sp::OPT_TIMESTAMP,
                    "ecn" => info.options |= sp::OPT_ECN,
                    "wscale" => {
                        info.options |= sp::OPT_WSCALE;
                        info.wscale = num("wscale", 14)?.unwrap_or(0) as u8;
                    }
                    "mss" => {
                        info.options |= sp::OPT_MSS;
                        info.mss = num("mss", 0xffff)?.unwrap_or(0) as u16;
                    }
                    _ => {}
                }
                let _ = v;
            }
            ExtTarget::Synproxy(info)
        }
        "TTL" => ttl_target(opts)?,
        "SET" => set_target(opts)?,
        "TEE" if !v6 => {
            let Some(g) = opt(opts, "gateway") else {
                return Err("TEE: Parameter --gateway is required".into());
            };
            let gateway = g
                .parse()
                .map_err(|_| format!("Invalid IP address \"{g}\""))?;
            ExtTarget::Tee {
                gateway,
                oif: opt(opts, "oif").map(str::to_string),
            }
        }
        "TOS" => tos_target(opts)?,
        "DSCP" => dscp_target(opts)?,
        "ECN" => ecn_target(opts)?,
        "AUDIT" => ExtTarget::Audit(opt(opts, "type").unwrap_or("accept").to_string()),
        "REJECT" if v6 => {
            let w = opt(opts, "reject-with").unwrap_or("icmp6-port-unreachable");
            let Some(n) = reject6_name(w) else {
                return Err(format!("unknown reject type \"{w}\""));
            };
            ExtTarget::Reject6(n.to_string())
        }
        "DNAT" | "SNAT" | "MASQUERADE" | "REDIRECT" | "NETMAP" if v6 => ExtTarget::Nat6 {
            name: name.to_string(),
            opts: opts.to_vec(),
        },
        _ => return Ok(None),
    }))
}

/// `-j TTL` as libipt_TTL.c (`TTL_parse`, `TTL_check`) reads it.
fn ttl_target(opts: &[(String, String)]) -> Result<ExtTarget, String> {
    let given: Vec<(TtlMode, &str)> = [
        (TtlMode::Set, "ttl-set"),
        (TtlMode::Inc, "ttl-inc"),
        (TtlMode::Dec, "ttl-dec"),
    ]
    .into_iter()
    .filter_map(|(m, k)| opt(opts, k).map(|v| (m, v)))
    .collect();
    let [(mode, v)] = given.as_slice() else {
        return Err(if given.is_empty() {
            "TTL: You must specify an action".into()
        } else {
            "TTL: only one action is allowed".into()
        });
    };
    let value = parse_num(v)
        .filter(|n| *n <= 255)
        .ok_or_else(|| format!("TTL: bad value \"{v}\""))? as u8;
    if value == 0 && *mode != TtlMode::Set {
        // libipt_TTL.c: --ttl-inc/--ttl-dec take at least 1 (xt_HL.c
        // ttl_tg_check refuses 0 with -EINVAL)
        return Err("TTL: increment/decrement by 0 is not allowed".into());
    }
    Ok(ExtTarget::Ttl { mode: *mode, value })
}

/// `-j TOS` as libxt_TOS.c `tos_tg_parse` (revision 1) reads it.
fn tos_target(opts: &[(String, String)]) -> Result<ExtTarget, String> {
    let u8v = |k: &str, v: &str| {
        parse_num(v)
            .filter(|n| *n <= 255)
            .map(|n| n as u8)
            .ok_or_else(|| format!("TOS: bad value \"{v}\" for --{k}"))
    };
    let Some((k, v)) = opts
        .iter()
        .rev()
        .find(|(k, _)| matches!(k.as_str(), "set-tos" | "and-tos" | "or-tos" | "xor-tos"))
    else {
        return Err("TOS: The --set-tos parameter is required".into());
    };
    let (value, mask) = match k.as_str() {
        "set-tos" => super::matches::tos_value(v)
            .ok_or_else(|| format!("TOS: bad value \"{v}\" for --set-tos"))?,
        "and-tos" => (0, !u8v(k, v)?),
        "or-tos" => {
            let b = u8v(k, v)?;
            (b, b)
        }
        _ => (u8v(k, v)?, 0),
    };
    Ok(ExtTarget::Tos { value, mask })
}

/// `-j DSCP` as libxt_DSCP.c (`DSCP_parse`, `DSCP_check`) reads it.
fn dscp_target(opts: &[(String, String)]) -> Result<ExtTarget, String> {
    if opt(opts, "set-dscp-class").is_some() && opt(opts, "set-dscp").is_some() {
        // libxt_DSCP.c: set-dscp .excl = F_SET_DSCP_CLASS
        return Err(
            "DSCP: option \"--set-dscp-class\" cannot be used together with \"--set-dscp\"".into(),
        );
    }
    if let Some(v) = opt(opts, "set-dscp-class") {
        return super::matches::dscp_class(v)
            .map(ExtTarget::Dscp)
            .ok_or_else(|| format!("Invalid DSCP value `{v}'"));
    }
    let Some(v) = opt(opts, "set-dscp") else {
        return Err("DSCP target: Parameter --set-dscp is required".into());
    };
    parse_num(v)
        .filter(|n| *n <= 0x3f)
        .map(|n| ExtTarget::Dscp(n as u8))
        .ok_or_else(|| format!("DSCP: Value \"{v}\" for option \"--set-dscp\" is out of range"))
}

/// `-j ECN` as libipt_ECN.c `ECN_parse` and `ECN_check` read it.
fn ecn_target(opts: &[(String, String)]) -> Result<ExtTarget, String> {
    let bit = |k: &str| -> Result<Option<bool>, String> {
        match opt(opts, k) {
            None => Ok(None),
            Some(v) => match parse_num(v) {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(format!("ECN: bad value \"{v}\" for --{k}")),
            },
        }
    };
    let remove = opt(opts, "ecn-tcp-remove").is_some();
    let ece = if remove {
        Some(false)
    } else {
        bit("ecn-tcp-ece")?
    };
    let cwr = if remove {
        Some(false)
    } else {
        bit("ecn-tcp-cwr")?
    };
    let ip_ect = match opt(opts, "ecn-ip-ect") {
        None => None,
        Some(v) => Some(
            parse_num(v)
                .filter(|n| *n <= 3)
                .ok_or_else(|| format!("ECN: bad value \"{v}\" for --ecn-ip-ect"))?
                as u8,
        ),
    };
    if ip_ect.is_none() && ece.is_none() && cwr.is_none() {
        return Err("ECN target: An operation is required".into());
    }
    Ok(ExtTarget::Ecn { ip_ect, ece, cwr })
}

/// The header targets' effect on the packet's view (the bytes are
/// written at the end of the hook, [`crate::net::netfilter::mangle`]).
fn mangle(t: &ExtTarget, pkt: &mut NfPacket) -> Option<String> {
    Some(match t {
        ExtTarget::Ttl { mode, value } => {
            // xt_HL.c ttl_tg
            let old = pkt.ttl;
            pkt.ttl = match mode {
                TtlMode::Set => *value,
                TtlMode::Inc => old.saturating_add(*value),
                TtlMode::Dec => old.saturating_sub(*value),
            };
            format!("TTL {old} -> {}", pkt.ttl)
        }
        ExtTarget::Tos { value, mask } => {
            // xt_DSCP.c tos_tg
            let old = pkt.tos;
            pkt.tos = (old & !mask) ^ value;
            format!("TOS 0x{old:02x} -> 0x{:02x}", pkt.tos)
        }
        ExtTarget::Dscp(d) => {
            // xt_DSCP.c dscp_tg: ipv4_change_dsfield(iph, ~XT_DSCP_MASK, dscp << 2)
            let old = pkt.tos;
            pkt.tos = (old & 0x03) | (d << 2);
            format!("DSCP 0x{:02x} -> 0x{d:02x}", old >> 2)
        }
        ExtTarget::Ecn { ip_ect, ece, cwr } => {
            // ipt_ECN.c ecn_tg: set_ect_ip, then set_ect_tcp on TCP only
            let (old_tos, old_f) = (pkt.tos, pkt.tcp_flags);
            if let Some(e) = ip_ect {
                pkt.tos = (pkt.tos & !3) | e;
            }
            if let Some(f) = pkt.tcp_flags.as_mut() {
                if let Some(b) = ece {
                    *f = (*f & !0x40) | (u8::from(*b) << 6);
                }
                if let Some(b) = cwr {
                    *f = (*f & !0x80) | (u8::from(*b) << 7);
                }
            }
            let mut s = format!("ECN ip ect {} -> {}", old_tos & 3, pkt.tos & 3);
            if let (Some(a), Some(b)) = (old_f, pkt.tcp_flags) {
                s.push_str(&format!(
                    ", tcp ece {} cwr {} -> ece {} cwr {}",
                    a >> 6 & 1,
                    a >> 7,
                    b >> 6 & 1,
                    b >> 7
                ));
            }
            s
        }
        _ => return None,
    })
}

/// xt_TCPMSS.c tcpmss_tg4 / tcpmss_mangle_packet: the SYN's MSS option
/// set to `--set-mss N`, or with `--clamp-mss-to-pmtu` to the path MTU
/// less the IPv4 and TCP headers (40); only ever lowered (`if (oldmss <=
/// newmss) return 0`). A path MTU of 40 or less is an error the kernel
/// drops the packet for ("unknown or invalid path-MTU"). Simplification:
/// a SYN without an MSS option is left alone (the kernel inserts one of
/// min(newmss, 536)); podpath's own SYNs always carry one.
fn tcpmss(pkt: &mut NfPacket, set: Option<u16>) -> (String, Option<Verdict>) {
    let new = match (set, pkt.path_mtu) {
        (Some(m), _) => m,
        (None, Some(mtu)) if mtu > 40 => (mtu - 40).min(0xffff) as u16,
        (None, mtu) => {
            return (
                format!(
                    "TCPMSS: unknown or invalid path-MTU ({}): dropped",
                    mtu.unwrap_or(0)
                ),
                Some(Verdict::Drop),
            )
        }
    };
    let what = match set {
        Some(_) => format!("TCPMSS set MSS {new}"),
        None => format!("TCPMSS clamp MSS to path MTU - 40 = {new}"),
    };
    match pkt.tcp_mss {
        Some(old) if old > new => {
            pkt.tcp_mss = Some(new);
            (format!("{what}: MSS {old} -> {new}"), None)
        }
        Some(old) => (format!("{what}: MSS {old} kept (not larger)"), None),
        None => (
            format!("{what}: no MSS option (podpath does not insert one)"),
            None,
        ),
    }
}

/// Applies a target of this module; returns whether the walk stops here
/// with the verdict it set.
pub(super) fn apply(
    t: &ExtTarget,
    pkt: &mut NfPacket,
    addr: &dyn AddrClass,
    out: &mut HookOutcome,
    step: &dyn Fn(String) -> NfStep,
    assume_note: &str,
) -> bool {
    if let Some(effect) = mangle(t, pkt) {
        out.steps.push(step(effect));
        return false;
    }
    let (effect, stop) = match t {
        ExtTarget::Tproxy {
            on_ip,
            on_port,
            mark_value,
            mark_mask,
        } => tproxy(pkt, addr, *on_ip, *on_port, (*mark_value, *mark_mask)),
        ExtTarget::Synproxy(info) => synproxy(pkt, info),
        ExtTarget::Nflog {
            kind,
            prefix,
            group,
        } => (format!("{kind} group {group} \"{prefix}\""), None),
        ExtTarget::Tcpmss { mss } => tcpmss(pkt, *mss),
        ExtTarget::Checksum => (
            "CHECKSUM fill (the checksum is already complete)".into(),
            None,
        ),
        ExtTarget::Ct { opts } => {
            let o: Vec<String> = opts
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        format!("--{k}")
                    } else {
                        format!("--{k} {v}")
                    }
                })
                .collect();
            (
                format!(
                    "CT {} (zones, helpers and timeout policies are not modelled)",
                    o.join(" ")
                ),
                None,
            )
        }
        ExtTarget::Nfqueue { num, bypass: true } => (
            format!("NFQUEUE {num}: no program listens, --queue-bypass: accepted"),
            Some(Verdict::Accept),
        ),
        ExtTarget::Nfqueue { num, bypass: false } => (
            format!("NFQUEUE {num}: no program listens: dropped"),
            Some(Verdict::Drop),
        ),
        ExtTarget::Classify(c) => (format!("CLASSIFY {:x}:{:x}", c >> 16, c & 0xffff), None),
        ExtTarget::Audit(ty) => (format!("AUDIT {ty}"), None),
        ExtTarget::Reject6(w) => (format!("REJECT with {w} (IPv6: not evaluated)"), None),
        ExtTarget::Nat6 { name, .. } => (format!("{name} (IPv6 NETMAP: not modelled)"), None),
        ExtTarget::Set(_) => ("SET".into(), None),
        ExtTarget::Tee { gateway, oif } => {
            pkt.dups.push((*gateway, oif.clone()));
            (
                match oif {
                    Some(d) => format!("TEE: a clone to {gateway} via {d}"),
                    None => format!("TEE: a clone to {gateway}"),
                },
                None,
            )
        }
        ExtTarget::Ttl { .. }
        | ExtTarget::Tos { .. }
        | ExtTarget::Dscp(_)
        | ExtTarget::Ecn { .. } => (String::new(), None),
        ExtTarget::Unmodelled { name } => (
            format!("-j {name} is not modelled: passed over{assume_note}"),
            None,
        ),
    };
    out.steps.push(step(effect));
    match stop {
        Some(v) => {
            out.verdict = v;
            true
        }
        None => false,
    }
}

/// `tproxy_tg4` (xt_TPROXY.c): a transparent socket found gives the
/// packet its socket (`nf_tproxy_assign_sock`) and the mark
/// (`(mark & ~mask) ^ value`) and ACCEPTs; none found DROPs. The packet
/// keeps its destination: policy routing on the mark (`ip rule fwmark
/// ... lookup 100`, `local 0.0.0.0/0 dev lo table 100`) delivers it.
fn tproxy(
    pkt: &mut NfPacket,
    addr: &dyn AddrClass,
    on_ip: Option<Ipv4Addr>,
    on_port: u16,
    (value, mask): (u32, u32),
) -> (String, Option<Verdict>) {
    let (Some(sport), Some(dport)) = (pkt.sport, pkt.dport) else {
        // skb_header_pointer fails: no transport header
        return (
            "TPROXY: no TCP/UDP header: DROP".into(),
            Some(Verdict::Drop),
        );
    };
    let q = SkQuery {
        proto: pkt.proto,
        saddr: pkt.src,
        sport,
        daddr: pkt.dst,
        dport,
    };
    let primary = pkt.in_if.as_deref().and_then(|d| addr.primary_addr(d));
    let laddr = tproxy_laddr4(on_ip, primary, pkt.dst);
    let lport = if on_port == 0 { dport } else { on_port };
    let syn = pkt.tcp_flags.is_some_and(|f| f & 0x17 == 0x02);
    match tproxy_v4(&q, syn, laddr, lport, &|q, how| addr.sk_lookup(q, how)) {
        Some(sk) => {
            let before = pkt.mark;
            pkt.mark = (pkt.mark & !mask) ^ value;
            pkt.sk = Some(sk.assigned());
            (
                format!(
                    "TPROXY to {laddr}:{lport}: {}; mark 0x{before:x} -> 0x{:x}; the packet keeps its destination {}:{dport}",
                    sk.describe(),
                    pkt.mark,
                    pkt.dst
                ),
                Some(Verdict::Accept),
            )
        }
        None => (
            format!(
                "TPROXY to {laddr}:{lport}: no transparent socket: DROP (tproxy_tg4 returns NF_DROP)"
            ),
            Some(Verdict::Drop),
        ),
    }
}

/// `synproxy_tg4` (xt_SYNPROXY.c): a SYN (no ACK, FIN, RST) or an ACK
/// (no FIN, RST, SYN) is taken (the answer leaves after the walk, see
/// [crate::net::netfilter::synproxy_glue]); any other segment goes on
/// (XT_CONTINUE).
fn synproxy(
    pkt: &mut NfPacket,
    info: &crate::net::netfilter::synproxy::SynproxyInfo,
) -> (String, Option<Verdict>) {
    use crate::net::netfilter::synproxy::SynproxyAct;
    let f = pkt.tcp_flags.unwrap_or(0);
    let (syn, ack, fin, rst) = (f & 0x02 != 0, f & 0x10 != 0, f & 0x01 != 0, f & 0x04 != 0);
    let act = if syn && !(ack || fin || rst) {
        SynproxyAct::Syn(info.clone())
    } else if ack && !(fin || rst || syn) {
        SynproxyAct::Ack
    } else {
        return (
            format!("SYNPROXY {}: not a SYN or an ACK: on", info.describe()),
            None,
        );
    };
    pkt.synproxy = Some(act);
    (format!("SYNPROXY {}", info.describe()), Some(Verdict::Drop))
}
