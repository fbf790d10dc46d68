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

/// A line of `ipset save` text podpath cannot load: where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct IpsetError {
    /// Where the text comes from (the scenario file and key).
    pub file: String,
    /// The line in the text (1-based).
    pub line: usize,
    pub kind: IpsetErrorKind,
}

/// What is wrong with a line of `ipset save` text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpsetErrorKind {
    /// `create` with fewer than two words after it.
    #[error("create needs NAME TYPE")]
    CreateArgs,
    /// A set type not among the supported ones.
    #[error("unsupported set type '{0}'")]
    SetType(String),
    /// `add` with fewer than two words after it.
    #[error("add needs NAME ELEMENT")]
    AddArgs,
    /// `add` to a set no `create` before it made.
    #[error("add to set '{0}' that was not created")]
    NoSuchSet(String),
    /// An element with another number of comma-separated parts than the
    /// set's type has dimensions.
    #[error("element '{element}' has {parts} parts, set {set} ({kind}) needs {needs}")]
    Parts {
        element: String,
        parts: usize,
        set: String,
        /// The set's type, e.g. `hash:ip,port`.
        kind: String,
        needs: usize,
    },
    /// An address or network part that is neither `A.B.C.D` nor `A.B.C.D/N`.
    #[error("bad address '{0}'")]
    Address(String),
    /// A port part's protocol other than tcp, udp or sctp.
    #[error("bad protocol '{0}'")]
    Protocol(String),
    /// A port part that is not a number 0-65535.
    #[error("bad port '{0}'")]
    Port(String),
    /// A line that starts with neither `create` nor `add`.
    #[error("unexpected '{0}': expected create or add")]
    Keyword(String),
}

#[derive(Clone, Debug, Default)]
pub struct IpsetStore {
    pub sets: BTreeMap<String, Ipset>,
    /// What `ipset restore` loads but podpath does not evaluate, by line.
    pub unmodelled: Vec<super::Unmodelled>,
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
    pub fn parse(text: &str, source: &str) -> Result<IpsetStore, IpsetError> {
        let mut st = IpsetStore::default();
        for (n, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let w: Vec<&str> = l.split_whitespace().collect();
            let err = |kind| IpsetError {
                file: source.to_string(),
                line: n + 1,
                kind,
            };
            match w[0] {
                "create" | "-N" => {
                    if w.len() < 3 {
                        return Err(err(IpsetErrorKind::CreateArgs));
                    }
                    let dims = dims_of(w[2])
                        .ok_or_else(|| err(IpsetErrorKind::SetType(w[2].to_string())))?;
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
                        return Err(err(IpsetErrorKind::AddArgs));
                    }
                    let set = st
                        .sets
                        .get_mut(w[1])
                        .ok_or_else(|| err(IpsetErrorKind::NoSuchSet(w[1].to_string())))?;
                    let parts: Vec<&str> = w[2].split(',').collect();
                    if parts.len() != set.dims.len() {
                        return Err(err(IpsetErrorKind::Parts {
                            element: w[2].to_string(),
                            parts: parts.len(),
                            set: set.name.clone(),
                            kind: set.kind.clone(),
                            needs: set.dims.len(),
                        }));
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
                                Elem::Net(
                                    net.ok_or_else(|| err(IpsetErrorKind::Address(p.to_string())))?,
                                )
                            }
                            Dim::Port => {
                                let (proto, port) = match p.split_once(':') {
                                    Some((pr, po)) => (
                                        match pr {
                                            "tcp" => 6,
                                            "udp" => 17,
                                            "sctp" => 132,
                                            _ => {
                                                return Err(err(IpsetErrorKind::Protocol(
                                                    pr.to_string(),
                                                )))
                                            }
                                        },
                                        po,
                                    ),
                                    None => (0, *p),
                                };
                                let port = port
                                    .parse::<u16>()
                                    .map_err(|_| err(IpsetErrorKind::Port(port.to_string())))?;
                                Elem::Port(proto, port)
                            }
                        };
                        elems.push(e);
                    }
                    set.members.push(elems);
                }
                other => return Err(err(IpsetErrorKind::Keyword(other.to_string()))),
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
