//! `why`'s candidates for a missing neighbour: the drop "no ARP reply for
//! IP on DEV after N requests: neighbour FAILED" (net/ipv4/arp.c's
//! `arp_solicit` given up, `neigh_invalidate`); and for a frame dropped at
//! a device that is down ("DEV is down"): that device up.
//!
//! - The address is a host's on a device that is down: that device up.
//! - No static neighbour (`ip neigh replace IP lladdr MAC`) is proposed:
//!   in podpath's kernel a host that holds the address and is up on the
//!   link always answers (arp_ignore=0, arp_filter=0, no ARP filtering
//!   modelled), so where it is not answered, a static entry would not
//!   reach it either. `ip neigh` is a command patches take.
//! - Nobody has the address (a gateway such as calico's 169.254.1.1 that
//!   only proxy ARP answers): proxy ARP on the device at the other end of
//!   the link (`net.ipv4.conf.DEV.proxy_arp=1`: `arp_process` answers for
//!   an address it routes through another device, when forwarding is on).

use podpath_sim::trace::Hop;
use podpath_sim::world::World;

use super::Candidate;

/// `(IP, DEV)` of a neighbour-failed drop.
fn failed(reason: &str) -> Option<(std::net::Ipv4Addr, &str)> {
    let rest = reason.strip_prefix("no ARP reply for ")?;
    let (ip, rest) = rest.split_once(" on ")?;
    let (dev, rest) = rest.split_once(" after ")?;
    rest.ends_with("neighbour FAILED").then_some(())?;
    Some((ip.parse().ok()?, dev))
}

pub fn candidates(world: &World, h: &Hop, reason: &str, out: &mut Vec<Candidate>) {
    // a frame sent or received on a device that is down (net/core/dev.c
    // drops it: no carrier): that device up
    if let Some(dev) = reason.strip_suffix(" is down").filter(|d| !d.contains(' ')) {
        out.push(Candidate::commands(
            &h.host,
            format!("{dev} up on {}", h.host),
            format!("ip link set dev {dev} up"),
        ));
        return;
    }
    let Some((ip, dev)) = failed(reason) else {
        return;
    };
    let Some(host) = world.hosts.iter().find(|x| x.name == h.host) else {
        return;
    };
    let owners: Vec<(&str, &podpath_sim::net::device::Device)> = world
        .hosts
        .iter()
        .filter(|o| o.name != h.host)
        .flat_map(|o| {
            o.devs
                .iter()
                .filter(|d| d.addrs.iter().any(|a| a.addr() == ip))
                .map(move |d| (o.name.as_str(), d))
        })
        .collect();
    for (o, d) in owners.iter().filter(|(_, d)| !d.up) {
        out.push(Candidate::commands(
            o,
            format!(
                "{} up on {o}: it holds {ip}, and a device that is down answers no ARP",
                d.name
            ),
            format!("ip link set dev {} up", d.name),
        ));
    }
    if !owners.is_empty() {
        return;
    }
    // nobody has it: the other end of the link may answer for it
    let Some(peer) = host
        .devs
        .iter()
        .find(|d| d.name == dev)
        .and_then(|d| d.peer.as_ref())
    else {
        return;
    };
    let Some(p) = world.hosts.get(peer.host) else {
        return;
    };
    let Some(pd) = p.devs.get(peer.dev) else {
        return;
    };
    if p.sysctl.proxy_arp(&pd.name) {
        return;
    }
    let key = format!("net.ipv4.conf.{}.proxy_arp=1", pd.name);
    out.push(Candidate::commands(
        &p.name,
        format!(
            "proxy ARP on {}'s {} (the other end of {}'s {dev}): it answers for {ip} with its own MAC and routes what comes",
            p.name, pd.name, h.host
        ),
        format!("sysctl -w {key}"),
    ));
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_drop_names_the_address_and_device() {
        assert_eq!(
            super::failed(
                "no ARP reply for 169.254.1.1 on eth0 after 3 requests: neighbour FAILED"
            ),
            Some(("169.254.1.1".parse().unwrap(), "eth0"))
        );
        assert_eq!(super::failed("no route to host"), None);
    }
}
