//! DNS messages (RFC 1035), the subset a resolver and CoreDNS exchange for A
//! lookups: header, one question, A answers (with a compression pointer to
//! the question name, as CoreDNS writes them), NXDOMAIN.

use std::net::Ipv4Addr;

use super::WireError;

pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_SRV: u16 = 33;

/// The query types a flow may ask, by their names (RFC 1035, 3596, 2782).
pub const QTYPES: &[(&str, u16)] = &[
    ("A", TYPE_A),
    ("CNAME", TYPE_CNAME),
    ("PTR", TYPE_PTR),
    ("TXT", TYPE_TXT),
    ("AAAA", TYPE_AAAA),
    ("SRV", TYPE_SRV),
];

/// A query type's name (`TYPE65` for one not in [`QTYPES`], as dig
/// prints it).
pub fn qtype_name(t: u16) -> String {
    QTYPES
        .iter()
        .find(|(_, v)| *v == t)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("TYPE{t}"))
}
pub const CLASS_IN: u16 = 1;
pub const RCODE_NXDOMAIN: u8 = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRepr {
    pub id: u16,
    pub response: bool,
    pub rd: bool,
    pub ra: bool,
    pub aa: bool,
    pub rcode: u8,
    pub qname: String,
    pub qtype: u16,
    pub answers: Vec<(Ipv4Addr, u32)>,
    /// AAAA answers (RFC 3596), with their TTL.
    pub answers6: Vec<(std::net::Ipv6Addr, u32)>,
    /// PTR answers: the names, with their TTL.
    pub names: Vec<(String, u32)>,
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len().min(63) as u8);
        out.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    out.push(0);
}

impl DnsRepr {
    pub fn query(id: u16, name: &str) -> DnsRepr {
        DnsRepr {
            id,
            response: false,
            rd: true,
            ra: false,
            aa: false,
            rcode: 0,
            qname: name.trim_end_matches('.').to_string(),
            qtype: TYPE_A,
            answers: vec![],
            answers6: vec![],
            names: vec![],
        }
    }

    /// A query of type `qtype`.
    pub fn query_type(id: u16, name: &str, qtype: u16) -> DnsRepr {
        DnsRepr {
            qtype,
            ..DnsRepr::query(id, name)
        }
    }

    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.id.to_be_bytes());
        let mut f1 = 0u8;
        if self.response {
            f1 |= 0x80;
        }
        if self.aa {
            f1 |= 0x04;
        }
        if self.rd {
            f1 |= 0x01;
        }
        let f2 = (if self.ra { 0x80 } else { 0 }) | (self.rcode & 0x0f);
        out.push(f1);
        out.push(f2);
        out.extend_from_slice(&1u16.to_be_bytes());
        let an = self.answers.len() + self.answers6.len() + self.names.len();
        out.extend_from_slice(&(an as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        put_name(&mut out, &self.qname);
        out.extend_from_slice(&self.qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        for (a, ttl) in &self.answers {
            out.extend_from_slice(&[0xc0, 12]);
            out.extend_from_slice(&TYPE_A.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
            out.extend_from_slice(&ttl.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&a.octets());
        }
        for (a, ttl) in &self.answers6 {
            out.extend_from_slice(&[0xc0, 12]);
            out.extend_from_slice(&TYPE_AAAA.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
            out.extend_from_slice(&ttl.to_be_bytes());
            out.extend_from_slice(&16u16.to_be_bytes());
            out.extend_from_slice(&a.octets());
        }
        for (n, ttl) in &self.names {
            let mut rdata = Vec::new();
            put_name(&mut rdata, n);
            out.extend_from_slice(&[0xc0, 12]);
            out.extend_from_slice(&TYPE_PTR.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
            out.extend_from_slice(&ttl.to_be_bytes());
            out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            out.extend_from_slice(&rdata);
        }
        out
    }

    pub fn parse(b: &[u8]) -> Result<DnsRepr, WireError> {
        let bad = |d: &str| WireError::Malformed {
            layer: "DNS",
            detail: d.to_string(),
        };
        if b.len() < 12 {
            return Err(WireError::Truncated(format!(
                "DNS header needs 12 bytes, got {}",
                b.len()
            )));
        }
        let qd = u16::from_be_bytes([b[4], b[5]]);
        let an = u16::from_be_bytes([b[6], b[7]]);
        if qd != 1 {
            return Err(bad("expected exactly one question"));
        }
        let mut i = 12;
        let mut labels = Vec::new();
        loop {
            let n = *b.get(i).ok_or_else(|| bad("name runs past the end"))? as usize;
            i += 1;
            if n == 0 {
                break;
            }
            if n > 63 {
                return Err(bad("compressed or oversized label in the question"));
            }
            let l = b
                .get(i..i + n)
                .ok_or_else(|| bad("label runs past the end"))?;
            labels.push(String::from_utf8_lossy(l).to_string());
            i += n;
        }
        let qtype = u16::from_be_bytes([
            *b.get(i).ok_or_else(|| bad("no qtype"))?,
            *b.get(i + 1).ok_or_else(|| bad("no qtype"))?,
        ]);
        i += 4;
        let mut answers = Vec::new();
        let mut answers6 = Vec::new();
        let mut names = Vec::new();
        for _ in 0..an {
            // name: a pointer or labels
            match b.get(i) {
                Some(x) if x & 0xc0 == 0xc0 => i += 2,
                Some(_) => loop {
                    let n = *b
                        .get(i)
                        .ok_or_else(|| bad("answer name runs past the end"))?
                        as usize;
                    i += 1 + n;
                    if n == 0 {
                        break;
                    }
                },
                None => return Err(bad("answer missing")),
            }
            let hdr = b
                .get(i..i + 10)
                .ok_or_else(|| bad("answer header runs past the end"))?;
            let ty = u16::from_be_bytes([hdr[0], hdr[1]]);
            let ttl = u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
            let len = u16::from_be_bytes([hdr[8], hdr[9]]) as usize;
            i += 10;
            let data = b
                .get(i..i + len)
                .ok_or_else(|| bad("answer data runs past the end"))?;
            if ty == TYPE_A && len == 4 {
                answers.push((Ipv4Addr::new(data[0], data[1], data[2], data[3]), ttl));
            }
            if ty == TYPE_AAAA && len == 16 {
                let o: [u8; 16] = data.try_into().expect("16 bytes");
                answers6.push((std::net::Ipv6Addr::from(o), ttl));
            }
            if ty == TYPE_PTR {
                // uncompressed labels (a pointer ends the name here)
                let mut ls = Vec::new();
                let mut j = 0;
                while let Some(&n) = data.get(j) {
                    if n == 0 || n & 0xc0 != 0 {
                        break;
                    }
                    let l = data.get(j + 1..j + 1 + n as usize).unwrap_or(&[]);
                    ls.push(String::from_utf8_lossy(l).to_string());
                    j += 1 + n as usize;
                }
                names.push((ls.join("."), ttl));
            }
            i += len;
        }
        Ok(DnsRepr {
            id: u16::from_be_bytes([b[0], b[1]]),
            response: b[2] & 0x80 != 0,
            aa: b[2] & 0x04 != 0,
            rd: b[2] & 0x01 != 0,
            ra: b[3] & 0x80 != 0,
            rcode: b[3] & 0x0f,
            qname: labels.join("."),
            qtype,
            answers,
            answers6,
            names,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn query_and_answer_roundtrip() {
        let q = DnsRepr::query(0x1234, "myservice.default.svc.cluster.local.");
        let b = q.emit();
        assert_eq!(b.len(), 12 + 37 + 4);
        assert_eq!(DnsRepr::parse(&b).unwrap(), q);
        let mut a = q.clone();
        a.response = true;
        a.aa = true;
        a.ra = true;
        a.answers = vec![(Ipv4Addr::new(10, 96, 0, 42), 30)];
        let back = DnsRepr::parse(&a.emit()).unwrap();
        assert_eq!(back.answers, vec![(Ipv4Addr::new(10, 96, 0, 42), 30)]);
        for n in 0..a.emit().len() {
            let _ = DnsRepr::parse(&a.emit()[..n]);
        }
        let mut p = DnsRepr::query_type(7, "5.0.244.10.in-addr.arpa", TYPE_PTR);
        p.response = true;
        p.names = vec![("web.default.svc.cluster.local".into(), 5)];
        let back = DnsRepr::parse(&p.emit()).unwrap();
        assert_eq!(back, p);
        assert_eq!(qtype_name(TYPE_AAAA), "AAAA");
        // AAAA answers (RFC 3596: 16 bytes of address)
        let mut q6 = DnsRepr::query_type(9, "web.default.svc.cluster.local", TYPE_AAAA);
        q6.response = true;
        q6.answers6 = vec![("fd00:10:96::5".parse().unwrap(), 5)];
        let b6 = q6.emit();
        assert_eq!(b6.len(), 12 + 31 + 4 + 12 + 16);
        assert_eq!(DnsRepr::parse(&b6).unwrap(), q6);
        assert_eq!(qtype_name(65), "TYPE65");
    }
}
