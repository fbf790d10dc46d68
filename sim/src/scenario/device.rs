//! A host's `devices` section: each device as `ip link add` makes it
//! (kind, MAC, MTU in the kernel's range for its kind, vxlan and wireguard
//! settings, addresses), then what joins devices together: a vxlan's lower
//! device and a port's bridge master.

use std::collections::BTreeMap;

use super::error::{Errs, ScenarioError};
use super::schema::{DeviceDoc, HostDoc, WireguardDoc};
use super::value::{parse_cidr, parse_dst};
use crate::net::host::{DevKind, Device, Host};
use crate::wire::Mac;

/// Declares every device of `hosts.NAME.devices` on `h`, in the file's
/// order, then attaches lower devices and bridge masters.
pub(super) fn build_devices(
    h: &mut Host,
    hd: &HostDoc,
    kp: &str,
    hname: &str,
    file: &str,
    e: &Errs,
) -> Result<(), ScenarioError> {
    for (dname, dd) in &hd.devices {
        let (d, v6) = declare_device(dname, dd, kp, hname, file, e)?;
        if !v6.is_empty() {
            h.ip6.addrs.insert(h.devs.len(), v6);
        }
        h.devs.push(d);
    }
    attach_devices(h, hd, kp, hname, e)
}

/// One `devices.NAME` entry as a device on its own: kind, MAC, MTU, up and
/// hairpin flags, vxlan or wireguard settings, addresses.
fn declare_device(
    dname: &str,
    dd: &DeviceDoc,
    kp: &str,
    hname: &str,
    file: &str,
    e: &Errs,
) -> Result<(Device, Vec<crate::net::ip6::Inet6Addr>), ScenarioError> {
    let dk = format!("{kp}.devices.{dname}");
    if dname == "lo" {
        return Err(ScenarioError {
            file: file.into(),
            line: 0,
            column: 0,
            key: dk,
            message: "'lo' exists on every host; do not declare it".into(),
        });
    }
    let kind = device_kind(dd, &dk, e)?;
    let mac = device_mac(dd, &dk, hname, dname, e)?;
    let mut d = Device::new(dname, kind, mac);
    let mtu = device_mtu(dd, kind, &dk, e)?;
    if let Some(m) = mtu {
        d.mtu = m;
    }
    d.up = dd.up;
    d.hairpin = dd.hairpin;
    if kind == DevKind::Vxlan {
        let c = vxlan_cfg(dd, &dk, file, e)?;
        // vxlan_config_apply: the lower device's 1500 less the headroom,
        // 50 over IPv4 (VXLAN_HEADROOM), 70 over IPv6 (VXLAN6_HEADROOM)
        let v6 =
            c.local.is_some_and(|l| l.is_ipv6()) || c.fdb.values().flatten().any(|r| r.is_ipv6());
        d.mtu = mtu.unwrap_or(if v6 { 1430 } else { 1450 });
        d.vxlan = Some(c);
    } else if dd.vni.is_some()
        || dd.port.is_some()
        || dd.local.is_some()
        || dd.learning.is_some()
        || dd.dev.is_some()
        || !dd.fdb.is_empty()
    {
        return Err(ScenarioError {
            file: file.into(),
            line: 0,
            column: 0,
            key: dk,
            message:
                "vni/port/local/learning/dev/fdb apply to vxlan devices only (add 'type: vxlan')"
                    .into(),
        });
    }
    if let Some(w) = &dd.wireguard {
        if kind != DevKind::Tun {
            return Err(ScenarioError {
                file: file.into(),
                line: 0,
                column: 0,
                key: format!("{dk}.wireguard"),
                message: "'wireguard' belongs to a device of type tun".into(),
            });
        }
        d.wg = Some(wireguard_cfg(w, &dk, hname, dname, e)?);
    }
    if matches!(kind, DevKind::Tun | DevKind::Ipip) {
        // TUN and IPIP devices carry no Ethernet header: no MAC
        d.mac = Mac::ZERO;
    }
    let mut v6 = Vec::new();
    for a in &dd.addrs {
        // an IPv6 address (`ip -6 addr add ADDR/LEN [nodad]`) has a colon
        if a.value.contains(':') {
            let x = crate::net::ip6::addrconf::parse_addr(&a.value)
                .map_err(|m| e.at(a, format!("{dk}.addrs"), m))?;
            if v6
                .iter()
                .any(|y: &crate::net::ip6::Inet6Addr| y.addr() == x.addr())
            {
                return Err(e.at(
                    a,
                    format!("{dk}.addrs"),
                    format!(
                        "{} is given twice: RTNETLINK answers: File exists",
                        x.addr()
                    ),
                ));
            }
            v6.push(x);
            continue;
        }
        let n = parse_cidr(&a.value).ok_or_else(|| {
            e.at(
                a,
                format!("{dk}.addrs"),
                format!(
                    "bad address '{}': expected A.B.C.D/LEN or an IPv6 ADDR/LEN",
                    a.value
                ),
            )
        })?;
        d.addrs.push(n);
    }
    let first6 = dd.addrs.iter().find(|a| a.value.contains(':'));
    if let (Some(a), true) = (first6, (d.mtu as usize) < crate::wire::ipv6::IPV6_MIN_MTU) {
        // ipv6_find_idev refuses a device under IPv6's minimum MTU
        return Err(e.at(
            a,
            format!("{dk}.addrs"),
            format!(
                "{dname} has MTU {}: IPv6 needs at least 1280 (RFC 8200 §5), so the kernel gives it no IPv6 address",
                d.mtu
            ),
        ));
    }
    Ok((d, v6))
}

/// `type`: veth (or ethernet, the default), bridge, dummy, vxlan, tun, ipip.
fn device_kind(dd: &DeviceDoc, dk: &str, e: &Errs) -> Result<DevKind, ScenarioError> {
    Ok(match dd.dev_type.as_ref().map(|t| t.value.as_str()) {
        None | Some("veth") | Some("ethernet") => DevKind::Veth,
        Some("bridge") => DevKind::Bridge,
        Some("dummy") => DevKind::Dummy,
        Some("vxlan") => DevKind::Vxlan,
        Some("tun") => DevKind::Tun,
        Some("ipip") => DevKind::Ipip,
        Some(other) => {
            let t = dd.dev_type.as_ref().expect("some");
            return Err(e.at(
                t,
                format!("{dk}.type"),
                format!(
                    "unknown device type '{other}': expected veth, bridge, dummy, vxlan, tun or ipip"
                ),
            ));
        }
    })
}

/// `mac`, or one derived from HOST/DEVICE.
fn device_mac(
    dd: &DeviceDoc,
    dk: &str,
    hname: &str,
    dname: &str,
    e: &Errs,
) -> Result<Mac, ScenarioError> {
    Ok(match &dd.mac {
        Some(m) => Mac::parse(&m.value).ok_or_else(|| {
            e.at(
                m,
                format!("{dk}.mac"),
                format!(
                    "bad MAC '{}': expected six hex bytes like 02:42:c0:a8:31:02",
                    m.value
                ),
            )
        })?,
        None => Mac::derived(&format!("{hname}/{dname}")),
    })
}

/// `mtu`, checked against the kernel's range for the device's kind
/// (`dev_validate_mtu`); None when not given.
fn device_mtu(
    dd: &DeviceDoc,
    kind: DevKind,
    dk: &str,
    e: &Errs,
) -> Result<Option<u32>, ScenarioError> {
    Ok(match &dd.mtu {
        Some(m) => {
            let (lo, hi) = kind.mtu_range();
            let n = m.value.0.trim().parse::<i64>().ok();
            match n {
                Some(n) if (lo as i64..=hi as i64).contains(&n) => Some(n as u32),
                _ => {
                    let why = match n {
                        Some(n) if n < lo as i64 => " (the kernel: mtu less than device minimum)",
                        Some(_) => " (the kernel: mtu greater than device maximum)",
                        None => "",
                    };
                    return Err(e.at(
                        m,
                        format!("{dk}.mtu"),
                        format!(
                            "'{}': expected an integer {lo}-{hi} for a {} device{why}",
                            m.value.0,
                            kind.name()
                        ),
                    ));
                }
            }
        }
        None => None,
    })
}

/// A vxlan device's `vni`, `port`, `local`, `learning` and static `fdb`
/// (the lower `dev` is attached later).
fn vxlan_cfg(
    dd: &DeviceDoc,
    dk: &str,
    file: &str,
    e: &Errs,
) -> Result<crate::net::overlay::VxlanCfg, ScenarioError> {
    let Some(vni) = dd.vni else {
        return Err(ScenarioError {
            file: file.into(),
            line: 0,
            column: 0,
            key: format!("{dk}.vni"),
            message: "a vxlan device needs 'vni'".into(),
        });
    };
    let local = match &dd.local {
        Some(l) => Some(l.value.parse::<std::net::IpAddr>().map_err(|_| {
            e.at(
                l,
                format!("{dk}.local"),
                format!("bad address '{}'", l.value),
            )
        })?),
        None => None,
    };
    let mut fdb: BTreeMap<Mac, Vec<std::net::IpAddr>> = BTreeMap::new();
    for (fi, fd) in dd.fdb.iter().enumerate() {
        let mac = Mac::parse(&fd.mac.value).ok_or_else(|| {
            e.at(
                &fd.mac,
                format!("{dk}.fdb[{fi}].mac"),
                format!("bad MAC '{}'", fd.mac.value),
            )
        })?;
        let dst = fd.dst.value.parse::<std::net::IpAddr>().map_err(|_| {
            e.at(
                &fd.dst,
                format!("{dk}.fdb[{fi}].dst"),
                format!("bad address '{}'", fd.dst.value),
            )
        })?;
        if local.is_some_and(|l: std::net::IpAddr| l.is_ipv4() != dst.is_ipv4()) {
            // vxlan_fdb_parse: "Local and remote address must be from the
            // same family"
            return Err(e.at(
                &fd.dst,
                format!("{dk}.fdb[{fi}].dst"),
                format!(
                    "{dst} and local {} are of different families (RTNETLINK answers: Address family not supported by protocol)",
                    local.expect("some")
                ),
            ));
        }
        fdb.entry(mac).or_default().push(dst);
    }
    Ok(crate::net::overlay::VxlanCfg {
        vni,
        port: dd.port.unwrap_or(crate::wire::vxlan::LINUX_DEFAULT_PORT),
        local,
        learning: dd.learning.unwrap_or(true),
        dev: None,
        fdb,
    })
}

/// A tun device's `wireguard`: its name, listen port and peers (allowed
/// prefixes and endpoint).
fn wireguard_cfg(
    w: &WireguardDoc,
    dk: &str,
    hname: &str,
    dname: &str,
    e: &Errs,
) -> Result<crate::net::wireguard::WgCfg, ScenarioError> {
    let mut peers = Vec::new();
    for (pi, p) in w.peers.iter().enumerate() {
        let pk = format!("{dk}.wireguard.peers[{pi}]");
        let mut allowed = Vec::new();
        for a in &p.allowed_ips {
            allowed.push(parse_dst(&a.value).ok_or_else(|| {
                e.at(
                    a,
                    format!("{pk}.allowedIPs"),
                    format!("bad prefix '{}'", a.value),
                )
            })?);
        }
        let ep = p
            .endpoint
            .value
            .rsplit_once(':')
            .and_then(|(a, port)| {
                // `wg set ... endpoint [ADDR]:PORT` for IPv6
                let a = a
                    .strip_prefix('[')
                    .and_then(|x| x.strip_suffix(']'))
                    .unwrap_or(a);
                Some((
                    a.parse::<std::net::IpAddr>().ok()?,
                    port.parse::<u16>().ok()?,
                ))
            })
            .ok_or_else(|| {
                e.at(
                    &p.endpoint,
                    format!("{pk}.endpoint"),
                    format!(
                        "bad endpoint '{}': expected ADDR:PORT or [IPv6]:PORT",
                        p.endpoint.value
                    ),
                )
            })?;
        peers.push(crate::net::wireguard::WgPeer {
            name: p.name.clone(),
            allowed_ips: allowed,
            endpoint: ep,
            tx_counter: 0,
        });
    }
    Ok(crate::net::wireguard::WgCfg {
        me: w.name.clone().unwrap_or_else(|| format!("{hname}/{dname}")),
        listen_port: w
            .listen_port
            .unwrap_or(crate::wire::wireguard::TAILSCALE_PORT),
        peers,
    })
}

/// A vxlan device's lower device (`dev`, whose MTU bounds the vxlan's) and
/// a port's bridge (`master`), once every device of the host is declared.
fn attach_devices(
    h: &mut Host,
    hd: &HostDoc,
    kp: &str,
    hname: &str,
    e: &Errs,
) -> Result<(), ScenarioError> {
    for (dname, dd) in &hd.devices {
        if let Some(u) = &dd.dev {
            let ui = h.dev_index(&u.value).ok_or_else(|| {
                e.at(
                    u,
                    format!("{kp}.devices.{dname}.dev"),
                    format!("no device '{}' on {hname}", u.value),
                )
            })?;
            let di = h.dev_index(dname).expect("declared");
            // vxlan_config_apply: an explicit MTU fits in the lower
            // device's, less the 50-byte IPv4 headroom
            let max = h.devs[ui].mtu.saturating_sub(50);
            if let Some(m) = dd.mtu.as_ref().filter(|_| h.devs[di].mtu > max) {
                return Err(e.at(
                    m,
                    format!("{kp}.devices.{dname}.mtu"),
                    format!(
                        "mtu {} of a vxlan device over {} (mtu {}) is more than {max}: the lower device's MTU less VXLAN's 50-byte headroom (the kernel: MTU out of range)",
                        h.devs[di].mtu, u.value, h.devs[ui].mtu
                    ),
                ));
            }
            if let Some(c) = h.devs[di].vxlan.as_mut() {
                c.dev = Some(ui);
            }
        }
        if let Some(m) = &dd.master {
            let bi = h.dev_index(&m.value).ok_or_else(|| {
                e.at(
                    m,
                    format!("{kp}.devices.{dname}.master"),
                    format!("no device '{}' on {hname}", m.value),
                )
            })?;
            if h.devs[bi].kind != DevKind::Bridge {
                return Err(e.at(
                    m,
                    format!("{kp}.devices.{dname}.master"),
                    format!("'{}' is not a bridge", m.value),
                ));
            }
            let di = h.dev_index(dname).expect("declared");
            h.devs[di].master = Some(bi);
        }
    }
    Ok(())
}
