//! ipsets, as `-m set --match-set NAME FLAGS` tests them, loaded from `ipset
//! save` text (`create NAME TYPE ...`, `add NAME ELEMENT`).
//!
//! Types: `hash:ip`, `hash:net`, `hash:ip,port`, `hash:ip,port,ip`,
//! `hash:ip,port,net`, `hash:net,port`, `bitmap:port`. Timeouts, counters and
//! `nomatch` entries are not modelled.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::NfPacket;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Ip,
    Net,
    Port,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Elem {
    Net(Ipv4Net),
    /// protocol (0 = any) and port
    Port(u8, u16),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipset {
    pub name: String,
    pub kind: String,
    pub dims: Vec<Dim>,
    pub members: Vec<Vec<Elem>>,
}

#[derive(Clone, Debug, Default)]
pub struct IpsetStore {
    pub sets: BTreeMap<String, Ipset>,
}

fn dims_of(kind: &str) -> Option<Vec<Dim>> {
    let (_, d) = kind.split_once(':')?;
    let mut out = Vec::new();
    for p in d.split(',') {
        out.push(match p {
            "ip" => Dim::Ip,
            "net" => Dim::Net,
            "port" => Dim::Port,
            _ => return None,
        });
    }
    Some(out)
}

impl IpsetStore {
    /// Parses `ipset save` text. Errors name the line.
    pub fn parse(text: &str, source: &str) -> Result<IpsetStore, String> {
        let mut st = IpsetStore::default();
        for (n, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let w: Vec<&str> = l.split_whitespace().collect();
            match w[0] {
                "create" | "-N" => {
                    if w.len() < 3 {
                        return Err(format!("{source}:{}: create needs NAME TYPE", n + 1));
                    }
                    let dims = dims_of(w[2]).ok_or_else(|| {
                        format!("{source}:{}: unsupported set type '{}'", n + 1, w[2])
                    })?;
                    st.sets.insert(
                        w[1].to_string(),
                        Ipset {
                            name: w[1].to_string(),
                            kind: w[2].to_string(),
                            dims,
                            members: Vec::new(),
                        },
                    );
                }
                "add" | "-A" => {
                    if w.len() < 3 {
                        return Err(format!("{source}:{}: add needs NAME ELEMENT", n + 1));
                    }
                    let set = st.sets.get_mut(w[1]).ok_or_else(|| {
                        format!(
                            "{source}:{}: add to set '{}' that was not created",
                            n + 1,
                            w[1]
                        )
                    })?;
                    let parts: Vec<&str> = w[2].split(',').collect();
                    if parts.len() != set.dims.len() {
                        return Err(format!(
                            "{source}:{}: element '{}' has {} parts, set {} ({}) needs {}",
                            n + 1,
                            w[2],
                            parts.len(),
                            set.name,
                            set.kind,
                            set.dims.len()
                        ));
                    }
                    let mut elems = Vec::new();
                    for (p, d) in parts.iter().zip(&set.dims) {
                        let e = match d {
                            Dim::Ip | Dim::Net => {
                                let net = if p.contains('/') {
                                    p.parse::<Ipv4Net>().ok().map(|n| n.trunc())
                                } else {
                                    p.parse::<Ipv4Addr>()
                                        .ok()
                                        .map(|a| Ipv4Net::new(a, 32).expect("/32"))
                                };
                                Elem::Net(net.ok_or_else(|| {
                                    format!("{source}:{}: bad address '{p}'", n + 1)
                                })?)
                            }
                            Dim::Port => {
                                let (proto, port) = match p.split_once(':') {
                                    Some((pr, po)) => (
                                        match pr {
                                            "tcp" => 6,
                                            "udp" => 17,
                                            "sctp" => 132,
                                            _ => {
                                                return Err(format!(
                                                    "{source}:{}: bad protocol '{pr}'",
                                                    n + 1
                                                ))
                                            }
                                        },
                                        po,
                                    ),
                                    None => (0, *p),
                                };
                                let port = port.parse::<u16>().map_err(|_| {
                                    format!("{source}:{}: bad port '{port}'", n + 1)
                                })?;
                                Elem::Port(proto, port)
                            }
                        };
                        elems.push(e);
                    }
                    set.members.push(elems);
                }
                other => {
                    return Err(format!(
                        "{source}:{}: unexpected '{other}': expected create or add",
                        n + 1
                    ))
                }
            }
        }
        Ok(st)
    }

    /// Whether the packet is in set `name`, reading each dimension from the
    /// source (`true`) or destination (`false`) as the flags say.
    pub fn test(&self, name: &str, flags: &[bool], pkt: &NfPacket) -> bool {
        let Some(set) = self.sets.get(name) else {
            return false;
        };
        set.members.iter().any(|m| {
            m.iter().enumerate().all(|(i, e)| {
                let src = flags
                    .get(i)
                    .copied()
                    .unwrap_or(*flags.last().unwrap_or(&true));
                match e {
                    Elem::Net(n) => n.contains(if src { &pkt.src } else { &pkt.dst }),
                    Elem::Port(proto, port) => {
                        (*proto == 0 || *proto == pkt.proto)
                            && (if src { pkt.sport } else { pkt.dport }) == Some(*port)
                    }
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn hash_ip_port() {
        let st = IpsetStore::parse(
            "create KUBE-CLUSTER-IP hash:ip,port family inet\nadd KUBE-CLUSTER-IP 10.96.0.10,tcp:53\n",
            "s",
        )
        .unwrap();
        let mut p = NfPacket {
            dst: "10.96.0.10".parse().unwrap(),
            proto: 6,
            dport: Some(53),
            ..Default::default()
        };
        assert!(st.test("KUBE-CLUSTER-IP", &[false, false], &p));
        p.proto = 17;
        assert!(!st.test("KUBE-CLUSTER-IP", &[false, false], &p));
        assert!(IpsetStore::parse("add X 1.2.3.4\n", "s").is_err());
    }
}
