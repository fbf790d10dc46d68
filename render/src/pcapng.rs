//! The trace's captures as pcapng: one Interface Description Block per
//! `host/device` (if_name `host/device`, if_tsresol 9: nanoseconds), virtual
//! timestamps from a fixed epoch, the direction in each packet's `epb_flags`
//! (inbound 1 / outbound 2), a comment naming the hop, and a Name Resolution
//! Block mapping every address of the scenario to its host.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::name_resolution::{
    Ipv4Record, Ipv6Record, NameResolutionBlock, Record,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness};
use podpath_sim::trace::{Direction, Trace};

/// Virtual time 0 is 2026-01-01T00:00:00Z in the capture.
pub use podpath_sim::trace::EPOCH_UNIX_S;

/// Interfaces in the order the file declares them: (host, device).
pub fn interfaces(trace: &Trace) -> Vec<(String, String)> {
    let used: std::collections::BTreeSet<(&str, &str)> = trace
        .captures
        .iter()
        .map(|c| (c.host.as_str(), c.dev.as_str()))
        .collect();
    let mut out = Vec::new();
    for h in &trace.hosts {
        for d in &h.devices {
            if used.contains(&(h.name.as_str(), d.name.as_str())) {
                out.push((h.name.clone(), d.name.clone()));
            }
        }
    }
    out
}

pub fn render(trace: &Trace) -> Vec<u8> {
    let shb = SectionHeaderBlock {
        endianness: Endianness::Little,
        major_version: 1,
        minor_version: 0,
        section_length: -1,
        options: vec![
            SectionHeaderOption::UserApplication(Cow::Owned(format!(
                "podpath {}",
                env!("CARGO_PKG_VERSION")
            ))),
            SectionHeaderOption::Comment(Cow::Owned(format!(
                "scenario {} seed {}; timestamps are virtual time from {}",
                trace.scenario, trace.seed, "2026-01-01T00:00:00Z"
            ))),
        ],
    };
    let mut w = PcapNgWriter::with_section_header(Vec::new(), shb).expect("writing to memory");
    let ifs = interfaces(trace);
    let mut index: BTreeMap<(String, String), u32> = BTreeMap::new();
    for (i, (h, d)) in ifs.iter().enumerate() {
        let link = trace
            .hosts
            .iter()
            .find(|x| &x.name == h)
            .and_then(|x| x.devices.iter().find(|y| &y.name == d))
            .map(|y| y.link.as_str())
            .unwrap_or("ethernet");
        let idb = InterfaceDescriptionBlock {
            linktype: if link == "raw" {
                DataLink::RAW
            } else {
                DataLink::ETHERNET
            },
            snaplen: 262_144,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Owned(format!("{h}/{d}"))),
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        };
        w.write_pcapng_block(idb).expect("writing to memory");
        index.insert((h.clone(), d.clone()), i as u32);
    }
    let mut records = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for h in &trace.hosts {
        for d in &h.devices {
            for a in d.addrs.iter().chain(&d.addrs6) {
                let ip = a.split('/').next().unwrap_or("");
                let Ok(addr) = ip.parse::<std::net::IpAddr>() else {
                    continue;
                };
                if addr.is_loopback() || !seen.insert(addr) {
                    continue;
                }
                let names = vec![Cow::Owned(h.name.clone())];
                records.push(match addr {
                    std::net::IpAddr::V4(a) => Record::Ipv4(Ipv4Record {
                        ip_addr: Cow::Owned(a.octets().to_vec()),
                        names,
                    }),
                    std::net::IpAddr::V6(a) => Record::Ipv6(Ipv6Record {
                        ip_addr: Cow::Owned(a.octets().to_vec()),
                        names,
                    }),
                });
            }
        }
    }
    if !records.is_empty() {
        records.push(Record::End);
        w.write_pcapng_block(NameResolutionBlock {
            records,
            options: vec![],
        })
        .expect("writing to memory");
    }
    for c in &trace.captures {
        let Some(&iface) = index.get(&(c.host.to_string(), c.dev.to_string())) else {
            continue;
        };
        let flags = match c.dir {
            Direction::In => 1u32,
            Direction::Out => 2u32,
        };
        let epb = EnhancedPacketBlock {
            interface_id: iface,
            timestamp: Duration::from_secs(EPOCH_UNIX_S) + Duration::from_nanos(c.time_ns),
            original_len: c.bytes.len() as u32,
            data: Cow::Borrowed(&c.bytes),
            options: vec![
                EnhancedPacketOption::Flags(flags),
                EnhancedPacketOption::Comment(Cow::Owned(format!(
                    "flow {}: {}",
                    c.flow, c.comment
                ))),
            ],
        };
        w.write_pcapng_block(epb).expect("writing to memory");
    }
    w.into_inner()
}
