//! keepalived's VRRP (version 2, RFC 3768) as it runs a virtual IP:
//! adverts to 224.0.0.18 (IP protocol 112, TTL 255) every `advert_int`,
//! election by priority (then by primary address), preemption, the VIP
//! added as an address with gratuitous ARP on takeover and removed on
//! losing it, a priority-0 advert when stopped (SIGTERM).
//!
//! Configured from keepalived.conf text (`vrrp_instance` blocks: state,
//! interface, virtual_router_id, priority, advert_int, nopreempt,
//! authentication, virtual_ipaddress).
//!
//! Simplifications (listed by `podpath explain`): VRRPv2 only, no
//! vrrp_script/track_interface (health of the service it fronts is not
//! tracked), one burst of `garp_master_repeat` (5) gratuitous ARPs on
//! takeover and no repeat after `garp_master_delay`; the advert interval
//! is whole seconds.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{AppAction, AppEvent};

pub const PROTO_VRRP: u8 = 112;
pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// keepalived's default garp_master_repeat.
pub const GARP_REPEAT: usize = 5;

/// A VRRPv2 advertisement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpAdvert {
    pub vrid: u8,
    pub priority: u8,
    pub advert_int: u8,
    /// auth type 1 (simple password) carries it; None is type 0.
    pub auth: Option<[u8; 8]>,
    pub addrs: Vec<Ipv4Addr>,
}

impl VrrpAdvert {
    /// The message bytes, checksum filled in (over the VRRP message only).
    pub fn emit(&self) -> Vec<u8> {
        let mut b = vec![
            0x21, // version 2, type 1 (advertisement)
            self.vrid,
            self.priority,
            self.addrs.len() as u8,
            if self.auth.is_some() { 1 } else { 0 },
            self.advert_int,
            0,
            0,
        ];
        for a in &self.addrs {
            b.extend_from_slice(&a.octets());
        }
        b.extend_from_slice(&self.auth.unwrap_or([0; 8]));
        let c = checksum(&b);
        b[6..8].copy_from_slice(&c.to_be_bytes());
        b
    }

    pub fn parse(b: &[u8]) -> Result<VrrpAdvert, VrrpError> {
        if b.len() < 16 {
            return Err(VrrpError::TooShort(b.len()));
        }
        if b[0] != 0x21 {
            return Err(VrrpError::VersionType(b[0]));
        }
        let n = b[3] as usize;
        if b.len() < 8 + 4 * n + 8 {
            return Err(VrrpError::Length {
                len: b.len(),
                addrs: n,
            });
        }
        if checksum(&b[..8 + 4 * n + 8]) != 0 {
            return Err(VrrpError::Checksum);
        }
        let addrs = (0..n)
            .map(|i| {
                let o = 8 + 4 * i;
                Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3])
            })
            .collect();
        let mut auth = [0u8; 8];
        auth.copy_from_slice(&b[8 + 4 * n..16 + 4 * n]);
        Ok(VrrpAdvert {
            vrid: b[1],
            priority: b[2],
            advert_int: b[5],
            auth: (b[4] == 1).then_some(auth),
            addrs,
        })
    }
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += w as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VrrpState {
    Init,
    Backup,
    Master,
    Stopped,
}

impl VrrpState {
    pub fn name(self) -> &'static str {
        match self {
            VrrpState::Init => "INIT",
            VrrpState::Backup => "BACKUP",
            VrrpState::Master => "MASTER",
            VrrpState::Stopped => "STOPPED",
        }
    }
}

/// One `vrrp_instance`.
#[derive(Clone, Debug)]
pub struct VrrpInstance {
    pub name: String,
    pub initial: VrrpState,
    pub interface: String,
    pub vrid: u8,
    pub priority: u8,
    pub advert_int: u8,
    pub preempt: bool,
    pub auth: Option<[u8; 8]>,
    pub vips: Vec<Ipv4Net>,
    /// The interface's primary address (set when the host is built): the
    /// adverts' source, and the tie-break between equal priorities.
    pub primary: Ipv4Addr,
    pub state: VrrpState,
    /// Timer generation: a timer token carries it; stale ones are ignored.
    gen: u64,
}

/// keepalived on one host.
#[derive(Clone, Debug)]
pub struct Keepalived {
    pub name: String,
    pub instances: Vec<VrrpInstance>,
    /// The keepalived.conf text it was started from, as given: what live
    /// mode hands the real keepalived and a snapshot writes into a bundle.
    pub config_text: String,
    flow: u32,
    /// State changes, for the flow's outcome.
    log: Vec<String>,
}

/// Why bytes are not a VRRPv2 advertisement (RFC 3768 section 5.1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VrrpError {
    /// Fewer than 16 bytes (the header and authentication data).
    #[error("VRRP message of {0} bytes: too short")]
    TooShort(usize),
    /// The version/type byte is not 0x21.
    #[error("VRRP version/type 0x{0:02x}: expected 0x21 (v2 advertisement)")]
    VersionType(u8),
    /// `len` bytes are too few for the `addrs` addresses the header counts.
    #[error("VRRP message of {len} bytes for {addrs} addresses")]
    Length { len: usize, addrs: usize },
    /// The checksum does not add up.
    #[error("VRRP checksum error")]
    Checksum,
}

/// An error in keepalived.conf text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeepalivedError {
    /// A line keepalived (or podpath's model of it) refuses: the line
    /// number and what is wrong (the keyword, the offending value, the
    /// expected form).
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    /// No `vrrp_instance` in the text.
    #[error("no vrrp_instance")]
    NoInstance,
    /// A block opened with `{` that the text does not close.
    #[error("unclosed '{{'")]
    Unclosed,
}

/// A [`KeepalivedError::Line`] at line `$l`, its message formatted as
/// `format!` formats.
macro_rules! kerr {
    ($l:expr, $($fmt:tt)+) => {
        KeepalivedError::Line {
            line: $l,
            message: format!($($fmt)+),
        }
    };
}

const S: u64 = 1_000_000_000;

impl Keepalived {
    /// Parses keepalived.conf text. Errors name the line.
    pub fn parse(name: &str, text: &str) -> Result<Keepalived, KeepalivedError> {
        let toks = tokens(text);
        let mut p = 0;
        let mut instances = Vec::new();
        let end_line = text.lines().count();
        while p < toks.len() {
            let (line, kw) = toks[p].clone();
            match kw.as_str() {
                "global_defs" => {
                    // router_id and the like: nothing on the wire depends on them
                    p = skip_block(&toks, p + 1)?;
                }
                "vrrp_instance" => {
                    let (inst, next) = parse_vrrp_instance(&toks, p, line, end_line)?;
                    p = next;
                    instances.push(inst);
                }
                "vrrp_script" => {
                    return Err(kerr!(
                        line,
                        "vrrp_script is not modelled (the trace would not show the check it runs)"
                    ))
                }
                o => {
                    return Err(kerr!(
                        line,
                        "unknown top-level keyword '{o}': expected global_defs or vrrp_instance"
                    ))
                }
            }
        }
        if instances.is_empty() {
            return Err(KeepalivedError::NoInstance);
        }
        Ok(Keepalived {
            name: format!("keepalived {name}"),
            instances,
            config_text: String::new(),
            flow: 0,
            log: Vec::new(),
        })
    }

    /// Master_Down_Interval = 3 * Advert_Interval + Skew_Time, Skew_Time =
    /// (256 - Priority) * Advert_Interval / 256 (RFC 3768 6.1; keepalived in
    /// microseconds).
    pub fn master_down_ns(i: &VrrpInstance) -> u64 {
        let adv = i.advert_int as u64 * S;
        3 * adv + Self::skew_ns(i)
    }

    pub fn skew_ns(i: &VrrpInstance) -> u64 {
        let adv_us = i.advert_int as u64 * 1_000_000;
        (256 - i.priority as u64) * adv_us / 256 * 1000
    }

    fn token(idx: usize, gen: u64) -> u64 {
        ((idx as u64) << 32) | (gen & 0xffff_ffff)
    }

    fn arm(&mut self, idx: usize, at: u64) -> AppAction {
        let i = &mut self.instances[idx];
        i.gen += 1;
        AppAction::Timer {
            at_ns: at,
            token: Self::token(idx, i.gen),
        }
    }

    fn advert(&self, idx: usize, priority: u8, why: &str) -> AppAction {
        let i = &self.instances[idx];
        let a = VrrpAdvert {
            vrid: i.vrid,
            priority,
            advert_int: i.advert_int,
            auth: i.auth,
            addrs: i.vips.iter().map(|n| n.addr()).collect(),
        };
        AppAction::SendRaw {
            flow: self.flow,
            dev: i.interface.clone(),
            dst: GROUP,
            ttl: 255,
            proto: PROTO_VRRP,
            data: a.emit(),
            note: format!(
                "{}: {} VRRP advert vrid {} priority {priority}{why}",
                self.name, i.name, i.vrid
            ),
        }
    }

    fn become_master(&mut self, idx: usize, now: u64, why: &str) -> Vec<AppAction> {
        let flow = self.flow;
        let mut out = Vec::new();
        {
            let i = &mut self.instances[idx];
            i.state = VrrpState::Master;
        }
        let i = self.instances[idx].clone();
        self.log.push(format!(
            "{} MASTER at {:.3} s ({why})",
            i.name,
            now as f64 / 1e9
        ));
        out.push(self.advert(idx, i.priority, ""));
        for v in &i.vips {
            out.push(AppAction::AddAddr {
                dev: i.interface.clone(),
                net: *v,
                note: format!(
                    "{} {}: MASTER ({why}): ip addr add {v} dev {}",
                    self.name, i.name, i.interface
                ),
            });
        }
        for v in &i.vips {
            for n in 0..GARP_REPEAT {
                out.push(AppAction::Garp {
                    flow,
                    dev: i.interface.clone(),
                    ip: v.addr(),
                    note: format!(
                        "{}: {} gratuitous ARP {} of {GARP_REPEAT} for {}",
                        self.name,
                        i.name,
                        n + 1,
                        v.addr()
                    ),
                });
            }
        }
        let at = now + i.advert_int as u64 * S;
        out.push(self.arm(idx, at));
        out.push(self.outcome());
        out
    }

    fn become_backup(&mut self, idx: usize, now: u64, why: &str) -> Vec<AppAction> {
        let was_master = self.instances[idx].state == VrrpState::Master;
        self.instances[idx].state = VrrpState::Backup;
        let i = self.instances[idx].clone();
        self.log.push(format!(
            "{} BACKUP at {:.3} s ({why})",
            i.name,
            now as f64 / 1e9
        ));
        let mut out = Vec::new();
        if was_master {
            for v in &i.vips {
                out.push(AppAction::DelAddr {
                    dev: i.interface.clone(),
                    net: *v,
                    note: format!(
                        "{} {}: BACKUP ({why}): ip addr del {v} dev {}",
                        self.name, i.name, i.interface
                    ),
                });
            }
        }
        out.push(self.arm(idx, now + Self::master_down_ns(&i)));
        out.push(self.outcome());
        out
    }

    fn outcome(&self) -> AppAction {
        AppAction::Outcome(
            self.flow,
            crate::trace::Disposition::Daemon,
            self.log.join("; "),
        )
    }

    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        match ev {
            AppEvent::Start { flow } => {
                self.flow = *flow;
                let mut out = Vec::new();
                for idx in 0..self.instances.len() {
                    let i = &self.instances[idx];
                    out.push(AppAction::JoinGroup {
                        dev: i.interface.clone(),
                        group: GROUP,
                        proto: PROTO_VRRP,
                    });
                    // state MASTER (or priority 255, the address owner) takes
                    // over at once; BACKUP waits Master_Down_Interval
                    if i.initial == VrrpState::Master || i.priority == 255 {
                        out.extend(self.become_master(idx, now, "initial state MASTER"));
                    } else {
                        out.extend(self.become_backup(idx, now, "initial state BACKUP"));
                    }
                }
                out
            }
            AppEvent::Timer { token } => {
                let idx = (token >> 32) as usize;
                let Some(i) = self.instances.get(idx) else {
                    return vec![];
                };
                if (token & 0xffff_ffff) != (i.gen & 0xffff_ffff) {
                    return vec![];
                }
                match i.state {
                    VrrpState::Master => {
                        let at = now + i.advert_int as u64 * S;
                        let a = self.advert(idx, i.priority, "");
                        vec![a, self.arm(idx, at)]
                    }
                    VrrpState::Backup => {
                        let secs = Self::master_down_ns(i) as f64 / 1e9;
                        self.become_master(
                            idx,
                            now,
                            &format!("no advert for Master_Down_Interval {secs:.3} s"),
                        )
                    }
                    _ => vec![],
                }
            }
            AppEvent::Raw {
                dev: _,
                src,
                ttl,
                proto,
                data,
                ..
            } if *proto == PROTO_VRRP => {
                let Ok(a) = VrrpAdvert::parse(data) else {
                    return vec![];
                };
                let Some(idx) = self.instances.iter().position(|i| i.vrid == a.vrid) else {
                    return vec![];
                };
                let i = self.instances[idx].clone();
                // RFC 3768 7.1: TTL must be 255, auth must match
                if *ttl != 255 || a.auth != i.auth {
                    return vec![];
                }
                match i.state {
                    VrrpState::Backup => {
                        if a.priority == 0 {
                            let at = now + Self::skew_ns(&i);
                            vec![self.arm(idx, at)]
                        } else if !i.preempt || a.priority >= i.priority {
                            let at = now + Self::master_down_ns(&i);
                            vec![self.arm(idx, at)]
                        } else {
                            // a lower-priority master: let the timer run out
                            // and preempt it
                            vec![]
                        }
                    }
                    VrrpState::Master => {
                        let ours = i.primary;
                        if a.priority == 0 {
                            let at = now + i.advert_int as u64 * S;
                            let adv =
                                self.advert(idx, i.priority, " (answering a priority-0 advert)");
                            vec![adv, self.arm(idx, at)]
                        } else if a.priority > i.priority
                            || (a.priority == i.priority && *src > ours)
                        {
                            self.become_backup(
                                idx,
                                now,
                                &format!("advert from {src} with priority {}", a.priority),
                            )
                        } else {
                            vec![]
                        }
                    }
                    _ => vec![],
                }
            }
            AppEvent::Stop => {
                let mut out = Vec::new();
                for idx in 0..self.instances.len() {
                    let i = self.instances[idx].clone();
                    if i.state == VrrpState::Master {
                        out.push(self.advert(idx, 0, " (stopping: priority 0)"));
                        for v in &i.vips {
                            out.push(AppAction::DelAddr {
                                dev: i.interface.clone(),
                                net: *v,
                                note: format!(
                                    "{} {}: stopping: ip addr del {v} dev {}",
                                    self.name, i.name, i.interface
                                ),
                            });
                        }
                    }
                    self.instances[idx].state = VrrpState::Stopped;
                    self.instances[idx].gen += 1;
                    self.log
                        .push(format!("{} stopped at {:.3} s", i.name, now as f64 / 1e9));
                }
                out.push(self.outcome());
                out
            }
            _ => vec![],
        }
    }
}

/// keepalived.conf as tokens with their line numbers: comments (`#`, `!`)
/// cut, braces tokens of their own, quotes stripped.
fn tokens(text: &str) -> Vec<(usize, String)> {
    let mut toks: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.split(['#', '!']).next().unwrap_or("");
        for t in l.replace('{', " { ").replace('}', " } ").split_whitespace() {
            toks.push((i + 1, t.trim_matches('"').to_string()));
        }
    }
    toks
}

/// One `vrrp_instance NAME { ... }` block from token `p` (the keyword, on
/// `line`); `end_line` is the text's last line, for an error at its end.
/// Returns the instance and the token after its closing brace.
fn parse_vrrp_instance(
    toks: &[(usize, String)],
    mut p: usize,
    line: usize,
    end_line: usize,
) -> Result<(VrrpInstance, usize), KeepalivedError> {
    let at = |p: usize| toks.get(p).map(|t| t.0).unwrap_or(end_line);
    let iname = toks
        .get(p + 1)
        .map(|t| t.1.clone())
        .ok_or(kerr!(line, "vrrp_instance needs a name"))?;
    if toks.get(p + 2).map(|t| t.1.as_str()) != Some("{") {
        return Err(kerr!(
            at(p + 2),
            "expected '{{' after vrrp_instance {iname}"
        ));
    }
    p += 3;
    let mut inst = VrrpInstance {
        name: iname.clone(),
        initial: VrrpState::Backup,
        interface: String::new(),
        vrid: 0,
        priority: 100,
        advert_int: 1,
        preempt: true,
        auth: None,
        vips: Vec::new(),
        primary: Ipv4Addr::UNSPECIFIED,
        state: VrrpState::Init,
        gen: 0,
    };
    loop {
        let Some((l, k)) = toks.get(p).cloned() else {
            return Err(kerr!(line, "vrrp_instance {iname} is not closed with '}}'"));
        };
        match k.as_str() {
            "}" => {
                p += 1;
                break;
            }
            "authentication" => p = parse_authentication(toks, p, l, &mut inst)?,
            "virtual_ipaddress" => p = parse_virtual_ipaddress(toks, p, l, &mut inst.vips)?,
            _ => p = instance_keyword(toks, p, l, &k, &mut inst)?,
        }
    }
    if inst.interface.is_empty() {
        return Err(kerr!(line, "vrrp_instance {iname} has no interface"));
    }
    if inst.vrid == 0 {
        return Err(kerr!(
            line,
            "vrrp_instance {iname} has no virtual_router_id"
        ));
    }
    if inst.vips.is_empty() {
        return Err(kerr!(
            line,
            "vrrp_instance {iname} has no virtual_ipaddress"
        ));
    }
    Ok((inst, p))
}

/// One keyword of a `vrrp_instance` with its value (state, interface,
/// virtual_router_id, priority, advert_int, nopreempt; the ones nothing on
/// the wire depends on are skipped, the ones not modelled refused), at
/// token `p` on line `l`. Returns the token after it.
fn instance_keyword(
    toks: &[(usize, String)],
    mut p: usize,
    l: usize,
    k: &str,
    inst: &mut VrrpInstance,
) -> Result<usize, KeepalivedError> {
    let val = |p: usize| -> Result<String, KeepalivedError> {
        toks.get(p + 1)
            .map(|t| t.1.clone())
            .ok_or(kerr!(l, "{k} needs a value"))
    };
    let num = |p: usize, max: u32| -> Result<u32, KeepalivedError> {
        let v = val(p)?;
        v.parse::<u32>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or(kerr!(l, "{k} '{v}': expected a number up to {max}"))
    };
    match k {
        "state" => {
            inst.initial = match val(p)?.as_str() {
                "MASTER" => VrrpState::Master,
                "BACKUP" => VrrpState::Backup,
                v => return Err(kerr!(l, "state '{v}': expected MASTER or BACKUP")),
            };
            p += 2;
        }
        "interface" => {
            inst.interface = val(p)?;
            p += 2;
        }
        "virtual_router_id" => {
            let n = num(p, 255)?;
            if n == 0 {
                return Err(kerr!(l, "virtual_router_id must be 1-255"));
            }
            inst.vrid = n as u8;
            p += 2;
        }
        "priority" => {
            let n = num(p, 255)?;
            if n == 0 {
                return Err(kerr!(l, "priority must be 1-255 (0 means 'stopping')"));
            }
            inst.priority = n as u8;
            p += 2;
        }
        "advert_int" => {
            let n = num(p, 255)?;
            if n == 0 {
                return Err(kerr!(l, "advert_int must be at least 1 s (VRRPv2)"));
            }
            inst.advert_int = n as u8;
            p += 2;
        }
        "nopreempt" => {
            inst.preempt = false;
            p += 1;
        }
        "garp_master_delay" | "garp_master_repeat" | "unicast_src_ip" | "dont_track_primary" => {
            p += 2;
        }
        "track_script" | "track_interface" | "unicast_peer" | "notify" | "notify_master"
        | "notify_backup" | "virtual_routes" => {
            return Err(kerr!(
                l,
                "'{k}' is not modelled (VRRP by multicast adverts and priorities only)"
            ));
        }
        o => return Err(kerr!(l, "unknown keyword '{o}' in vrrp_instance")),
    }
    Ok(p)
}

/// An `authentication { auth_type PASS; auth_pass ... }` block at token
/// `p` (on line `l`): the password, as VRRPv2's 8 bytes, set on `inst`.
/// Returns the token after the block.
fn parse_authentication(
    toks: &[(usize, String)],
    mut p: usize,
    l: usize,
    inst: &mut VrrpInstance,
) -> Result<usize, KeepalivedError> {
    if toks.get(p + 1).map(|t| t.1.as_str()) != Some("{") {
        return Err(kerr!(l, "expected '{{' after authentication"));
    }
    p += 2;
    let mut pass = None;
    let mut ty = None;
    while let Some((al, ak)) = toks.get(p).cloned() {
        match ak.as_str() {
            "}" => {
                p += 1;
                break;
            }
            "auth_type" => {
                ty = toks.get(p + 1).map(|t| t.1.clone());
                p += 2;
            }
            "auth_pass" => {
                pass = toks.get(p + 1).map(|t| t.1.clone());
                p += 2;
            }
            o => {
                return Err(kerr!(
                    al,
                    "'{o}' in authentication: expected auth_type or auth_pass"
                ))
            }
        }
    }
    match ty.as_deref() {
        Some("PASS") => {
            let mut a = [0u8; 8];
            for (i, c) in pass.unwrap_or_default().bytes().take(8).enumerate() {
                a[i] = c;
            }
            inst.auth = Some(a);
        }
        Some("AH") => return Err(kerr!(l, "auth_type AH is not modelled (use PASS or none)")),
        Some(o) => return Err(kerr!(l, "auth_type '{o}': expected PASS")),
        None => {}
    }
    Ok(p)
}

/// A `virtual_ipaddress { A.B.C.D[/LEN] [dev D] [label L] ... }` block at
/// token `p` (on line `l`): the addresses, pushed on `vips`. Returns the
/// token after the block.
fn parse_virtual_ipaddress(
    toks: &[(usize, String)],
    mut p: usize,
    l: usize,
    vips: &mut Vec<Ipv4Net>,
) -> Result<usize, KeepalivedError> {
    if toks.get(p + 1).map(|t| t.1.as_str()) != Some("{") {
        return Err(kerr!(l, "expected '{{' after virtual_ipaddress"));
    }
    p += 2;
    while let Some((vl, v)) = toks.get(p).cloned() {
        if v == "}" {
            p += 1;
            break;
        }
        // "10.0.0.50/24 dev eth0 label eth0:1": the
        // address is what matters here
        if v == "dev" || v == "label" || v == "brd" || v == "scope" {
            p += 2;
            continue;
        }
        let net = if v.contains('/') {
            v.parse::<Ipv4Net>().ok()
        } else {
            v.parse::<Ipv4Addr>()
                .ok()
                .map(|a| Ipv4Net::new(a, 32).expect("/32"))
        };
        vips.push(net.ok_or(kerr!(vl, "virtual_ipaddress '{v}': expected A.B.C.D[/LEN]"))?);
        p += 1;
    }
    Ok(p)
}

fn skip_block(toks: &[(usize, String)], mut p: usize) -> Result<usize, KeepalivedError> {
    if toks.get(p).map(|t| t.1.as_str()) != Some("{") {
        return Err(kerr!(
            toks.get(p).map(|t| t.0).unwrap_or(0),
            "expected '{{'"
        ));
    }
    let mut depth = 0;
    while let Some((_, t)) = toks.get(p) {
        if t == "{" {
            depth += 1;
        } else if t == "}" {
            depth -= 1;
            if depth == 0 {
                return Ok(p + 1);
            }
        }
        p += 1;
    }
    Err(KeepalivedError::Unclosed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advert_round_trip_and_checksum() {
        let a = VrrpAdvert {
            vrid: 51,
            priority: 100,
            advert_int: 1,
            auth: None,
            addrs: vec![Ipv4Addr::new(10, 1, 1, 200)],
        };
        let b = a.emit();
        assert_eq!(b.len(), 20);
        assert_eq!(checksum(&b), 0);
        assert_eq!(VrrpAdvert::parse(&b).unwrap(), a);
        let mut bad = b.clone();
        bad[2] = 99;
        assert!(VrrpAdvert::parse(&bad).is_err());
    }

    #[test]
    fn timers_follow_rfc3768() {
        let k = Keepalived::parse(
            "lb2",
            "vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 90\n advert_int 1\n virtual_ipaddress {\n 10.1.1.200/24\n }\n}\n",
        )
        .unwrap();
        let i = &k.instances[0];
        // skew (256-90)/256 s = 0.6484375 s
        assert_eq!(Keepalived::skew_ns(i), 648_437_000);
        assert_eq!(Keepalived::master_down_ns(i), 3_648_437_000);
    }

    #[test]
    fn config_errors_name_the_line() {
        let e = Keepalived::parse(
            "x",
            "vrrp_instance A {\n interface eth0\n priority 300\n}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("line 3: priority '300'"), "{e}");
        let e = Keepalived::parse("x", "vrrp_instance A {\n interface eth0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not closed"), "{e}");
        let e = Keepalived::parse("x", "vrrp_script chk {\n}\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 1: vrrp_script"), "{e}");
    }
}
