//! The `segments` and `links` sections: the wires between hosts. A
//! segment is a switch (a host with bridge br0 and a port per member); a
//! link joins two veth ends, as `ip link set ... netns` pairs would.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::error::{Errs, ScenarioError};
use super::schema::{LinkDoc, ScenarioDoc};
use super::value::duration;
use crate::app::App;
use crate::det::host_rng;
use crate::net::host::{DevKind, Device, Host, HostKind, Peer};
use crate::wire::Mac;

/// (a end, b end, latency, key path for errors)
type LinkSpec = (
    Spanned<String>,
    Spanned<String>,
    Option<Spanned<String>>,
    String,
);

/// (member, switch port, latency, key path)
pub(super) type SegLink = (Spanned<String>, String, Option<Spanned<String>>, String);

/// `segments`: a switch host per segment (after the scenario's hosts, with
/// no apps), its name added to `names`; the links from its ports to the
/// members, to be joined with the `links`.
pub(super) fn build_segments(
    doc: &ScenarioDoc,
    hosts: &mut Vec<Host>,
    all_apps: &mut Vec<Vec<App>>,
    names: &mut Vec<String>,
    seed: u64,
    e: &Errs,
) -> Result<Vec<SegLink>, ScenarioError> {
    let mut seg_links: Vec<SegLink> = Vec::new();
    for (si, sd) in doc.segments.iter().enumerate() {
        let sn = sd.name.value.clone();
        if names.contains(&sn) {
            return Err(e.at(
                &sd.name,
                format!("segments[{si}].name"),
                format!("'{sn}' is already a host name"),
            ));
        }
        let hi = hosts.len();
        let mut h = Host::new(hi, &sn, HostKind::Switch, host_rng(seed, &sn));
        let br = Device::new("br0", DevKind::Bridge, Mac::derived(&format!("{sn}/br0")));
        h.devs.push(br);
        for (mi, m) in sd.members.iter().enumerate() {
            let pn = format!("p{}", mi + 1);
            let mut d = Device::new(&pn, DevKind::Veth, Mac::derived(&format!("{sn}/{pn}")));
            d.master = Some(1);
            h.devs.push(d);
            seg_links.push((
                m.clone(),
                format!("{sn}/{pn}"),
                sd.latency.clone(),
                format!("segments[{si}].members[{mi}]"),
            ));
        }
        hosts.push(h);
        all_apps.push(Vec::new());
        names.push(sn);
    }
    Ok(seg_links)
}

/// One end of a link, `HOST/DEVICE` (key path `k`): a veth device of a
/// host or a segment's switch.
fn resolve_end(
    s: &Spanned<String>,
    k: String,
    hosts: &[Host],
    names: &BTreeMap<&str, usize>,
    e: &Errs,
) -> Result<(usize, usize), ScenarioError> {
    let (hn, dn) = s
        .value
        .split_once('/')
        .ok_or_else(|| e.at(s, k.clone(), format!("'{}': expected HOST/DEVICE", s.value)))?;
    let hi = *names
        .get(hn)
        .ok_or_else(|| e.at(s, k.clone(), format!("no host '{hn}'")))?;
    let di = hosts[hi]
        .dev_index(dn)
        .ok_or_else(|| e.at(s, k.clone(), format!("no device '{dn}' on host {hn}")))?;
    if hosts[hi].devs[di].kind != DevKind::Veth {
        return Err(e.at(
            s,
            k,
            format!(
                "{hn}/{dn} is a {}; links join veth/ethernet devices",
                hosts[hi].devs[di].kind.name()
            ),
        ));
    }
    Ok((hi, di))
}

/// `links`, then the segments' member links: each joins two veth ends
/// (each linked once, never to itself) with the link's latency both ways.
pub(super) fn build_links(
    doc: &ScenarioDoc,
    seg_links: Vec<SegLink>,
    hosts: &mut [Host],
    names: &[&String],
    e: &Errs,
) -> Result<(), ScenarioError> {
    let mut all_links: Vec<LinkSpec> = doc
        .links
        .iter()
        .enumerate()
        .map(|(li, l)| {
            (
                l.a.clone(),
                l.b.clone(),
                l.latency.clone(),
                format!("links[{li}]"),
            )
        })
        .collect();
    for (m, port, lat, key) in seg_links {
        let b = Spanned {
            value: port,
            referenced: m.referenced,
            defined: m.defined,
        };
        all_links.push((m, b, lat, key));
    }
    // host name -> index (the first host of a name, as a scan would find)
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        index.entry(n.as_str()).or_insert(i);
    }
    for (a, b, lat, li) in &all_links {
        // a segment's member is its `a` end (the switch port is `b`)
        let ka = if li.starts_with("segments") {
            li.clone()
        } else {
            format!("{li}.a")
        };
        let (ah, ad) = resolve_end(a, ka, hosts, &index, e)?;
        let (bh, bd) = resolve_end(b, format!("{li}.b"), hosts, &index, e)?;
        let ld = LinkDoc {
            a: a.clone(),
            b: b.clone(),
            latency: lat.clone(),
        };
        let latency = match &ld.latency {
            Some(l) => {
                duration(&l.value).map_err(|m| e.at(l, format!("{li}.latency"), m.to_string()))?
            }
            None => 0,
        };
        for (h, d, k) in [(ah, ad, &ld.a), (bh, bd, &ld.b)] {
            if hosts[h].devs[d].peer.is_some() {
                return Err(e.at(k, li.clone(), format!("{} is already linked", k.value)));
            }
        }
        if (ah, ad) == (bh, bd) {
            return Err(e.at(
                &ld.b,
                format!("{li}.b"),
                "a device cannot be linked to itself".into(),
            ));
        }
        hosts[ah].devs[ad].peer = Some(Peer {
            host: bh,
            dev: bd,
            latency_ns: latency,
            loss_ppm: 0,
        });
        hosts[bh].devs[bd].peer = Some(Peer {
            host: ah,
            dev: ad,
            latency_ns: latency,
            loss_ppm: 0,
        });
    }
    Ok(())
}
