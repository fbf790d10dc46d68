//! Real vs simulated, interface by interface.
//!
//! Each frame is reduced to what both sides must agree on: MAC addresses,
//! ethertype, ARP operation and addresses, IP addresses, protocol, TTL, DF,
//! total length, TCP flags and payload length, UDP ports and payload length,
//! ICMP type/code, and for VXLAN the VNI and the inner frame, recursively.
//! Ports are compared up to one consistent renaming for the whole run (the
//! kernel's ephemeral, random-fully and VXLAN source ports are its own
//! choices): a simulated port is paired with the real port seen in the same
//! place the first time, and must stay paired. Sequence numbers, IP IDs,
//! windows and checksums are not compared (checksums are verified separately).

use std::collections::BTreeMap;

use podpath_sim::wire::vxlan::VxlanRepr;
use podpath_sim::wire::{tcp_flags_str, Frame, L3, L4};

/// A bijection between simulated and real ports.
#[derive(Default, Debug)]
pub struct PortMap {
    fwd: BTreeMap<u16, u16>,
    back: BTreeMap<u16, u16>,
}

impl PortMap {
    fn pair(&mut self, sim: u16, real: u16) -> bool {
        match (self.fwd.get(&sim), self.back.get(&real)) {
            (Some(r), _) => *r == real,
            (None, Some(_)) => false,
            (None, None) => {
                self.fwd.insert(sim, real);
                self.back.insert(real, sim);
                true
            }
        }
    }
    pub fn renamed(&self) -> usize {
        self.fwd.iter().filter(|(a, b)| a != b).count()
    }
}

/// The fields of a frame that are compared, with ports kept apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Norm {
    pub text: String,
    pub ports: Vec<u16>,
}

pub fn normalize(bytes: &[u8]) -> Norm {
    let mut ports = Vec::new();
    let text = match Frame::parse(bytes) {
        Err(e) => format!("unparsed ({e})"),
        Ok(f) => norm_frame(&f, &mut ports),
    };
    Norm { text, ports }
}

fn norm_frame(f: &Frame, ports: &mut Vec<u16>) -> String {
    let l3 = match &f.payload {
        L3::Arp(a) => format!(
            "arp op {} {} {} -> {} {}",
            a.op, a.sender_mac, a.sender_ip, a.target_mac, a.target_ip
        ),
        L3::Other { ethertype, .. } => format!("ethertype 0x{ethertype:04x}"),
        L3::Ipv4(ip) => {
            let l4 = match &ip.l4 {
                L4::Tcp { hdr, payload } => {
                    ports.push(hdr.source_port);
                    ports.push(hdr.destination_port);
                    format!("tcp [{}] len {}", tcp_flags_str(hdr), payload.len())
                }
                L4::Udp { hdr, payload } => {
                    ports.push(hdr.source_port);
                    ports.push(hdr.destination_port);
                    match VxlanRepr::parse_udp(hdr.destination_port, payload) {
                        Some(v) => {
                            let inner = match Frame::parse(&v.inner) {
                                Ok(i) => norm_frame(&i, ports),
                                Err(e) => format!("unparsed ({e})"),
                            };
                            format!("udp vxlan vni {} [{inner}]", v.vni)
                        }
                        None => format!("udp len {}", payload.len()),
                    }
                }
                L4::Icmp(i) => format!("icmp {} {}", i.icmp_type, i.code),
                L4::Raw(b) => format!("proto {} len {}", ip.proto(), b.len()),
            };
            format!(
                "ip {} > {} ttl {}{} len {} {l4}",
                ip.src(),
                ip.dst(),
                ip.hdr.time_to_live,
                if ip.hdr.dont_fragment { " DF" } else { "" },
                ip.total_len()
            )
        }
    };
    format!("{} > {} {l3}", f.src, f.dst)
}

/// Whether a real frame is kernel housekeeping the simulator does not model
/// (IGMP membership reports when devices come up); such frames are left out
/// of the comparison and counted.
pub fn is_housekeeping(bytes: &[u8]) -> bool {
    match Frame::parse(bytes) {
        Ok(f) => matches!(&f.payload, L3::Ipv4(ip) if ip.proto() == 2),
        Err(_) => false,
    }
}

/// One interface's comparison, in one direction.
#[derive(Debug)]
pub struct IfaceDiff {
    pub host: String,
    pub dev: String,
    pub dir: String,
    pub sim: usize,
    pub real: usize,
    /// The first difference, if any.
    pub first: Option<String>,
}

impl IfaceDiff {
    pub fn matches(&self) -> bool {
        self.first.is_none()
    }
}

/// Compares every interface present on either side.
pub fn compare(
    sim: &BTreeMap<(String, String, String), Vec<Vec<u8>>>,
    real: &BTreeMap<(String, String, String), Vec<Vec<u8>>>,
) -> (Vec<IfaceDiff>, PortMap) {
    let mut map = PortMap::default();
    let mut keys: Vec<&(String, String, String)> = sim.keys().chain(real.keys()).collect();
    keys.sort();
    keys.dedup();
    let empty = Vec::new();
    let mut out = Vec::new();
    for k in keys {
        let s = sim.get(k).unwrap_or(&empty);
        let r = real.get(k).unwrap_or(&empty);
        let mut first = None;
        for i in 0..s.len().max(r.len()) {
            let (a, b) = (
                s.get(i).map(|x| normalize(x)),
                r.get(i).map(|x| normalize(x)),
            );
            let why = match (&a, &b) {
                (Some(a), Some(b)) => {
                    if a.text != b.text {
                        Some(format!(
                            "frame {}:\n    sim:  {}\n    real: {}",
                            i + 1,
                            a.text,
                            b.text
                        ))
                    } else if a.ports.len() != b.ports.len()
                        || !a.ports.iter().zip(&b.ports).all(|(x, y)| map.pair(*x, *y))
                    {
                        Some(format!(
                            "frame {}: ports {:?} (sim) do not map consistently to {:?} (real)\n    {}",
                            i + 1,
                            a.ports,
                            b.ports,
                            a.text
                        ))
                    } else {
                        None
                    }
                }
                (Some(a), None) => Some(format!(
                    "frame {}: only in the simulation: {}",
                    i + 1,
                    a.text
                )),
                (None, Some(b)) => Some(format!(
                    "frame {}: only on the real kernel: {}",
                    i + 1,
                    b.text
                )),
                (None, None) => None,
            };
            if let Some(w) = why {
                first = Some(w);
                break;
            }
        }
        out.push(IfaceDiff {
            host: k.0.clone(),
            dev: k.1.clone(),
            dir: k.2.clone(),
            sim: s.len(),
            real: r.len(),
            first,
        });
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_must_map_one_to_one() {
        let mut m = PortMap::default();
        assert!(m.pair(40000, 51000));
        assert!(m.pair(40000, 51000));
        assert!(!m.pair(40000, 51001));
        assert!(!m.pair(40001, 51000));
        assert!(m.pair(80, 80));
        assert_eq!(m.renamed(), 1);
    }
}
