//! The neighbour table (ARP): states, resolution with requests on the wire,
//! packets queued while a neighbour is incomplete, permanent entries.
//!
//! NUD states as the kernel runs them: a STALE entry used to send goes to
//! DELAY; after `delay_first_probe_time` (5 s) without confirmation it goes to
//! PROBE and sends unicast ARP requests to the cached MAC, `ucast_solicit` (3)
//! of them 1 s apart, then FAILED; an ARP reply makes it REACHABLE.
//!
//! Simplifications (listed by `podpath explain`): REACHABLE turns STALE after
//! exactly `base_reachable_time` (30 s, not a random 15-45 s); upper layers
//! (TCP) never confirm reachability, so a DELAY entry always probes;
//! gratuitous ARP updates existing entries only.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::wire::{Ipv4Repr, Mac};

use crate::net::host::Meta;

pub const RETRANS_NS: u64 = 1_000_000_000;
pub const MCAST_SOLICIT: u32 = 3;
pub const REACHABLE_NS: u64 = 30_000_000_000;
pub const UNRES_QLEN: usize = 101;
pub const DELAY_FIRST_PROBE_NS: u64 = 5_000_000_000;
pub const UCAST_SOLICIT: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nud {
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
    Permanent,
    Failed,
}

impl Nud {
    pub fn name(self) -> &'static str {
        match self {
            Nud::Incomplete => "INCOMPLETE",
            Nud::Reachable => "REACHABLE",
            Nud::Stale => "STALE",
            Nud::Delay => "DELAY",
            Nud::Probe => "PROBE",
            Nud::Permanent => "PERMANENT",
            Nud::Failed => "FAILED",
        }
    }
}

/// A packet waiting for its next hop's MAC.
#[derive(Clone, Debug)]
pub struct Pending {
    pub ip: Ipv4Repr,
    pub meta: Meta,
    /// Set for br_netfilter's bridged DNAT (`nf_bridge->bridged_dnat`): once
    /// resolved, the frame continues bridging as if it had arrived on
    /// `physin`, keeping its source MAC and mark.
    pub bridged: Option<BridgedDnat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BridgedDnat {
    pub physin: usize,
    pub src_mac: crate::wire::Mac,
    pub mark: u32,
}

#[derive(Clone, Debug)]
pub struct NeighEntry {
    pub mac: Option<Mac>,
    pub state: Nud,
    pub updated_ns: u64,
    pub probes: u32,
    pub queue: Vec<Pending>,
    /// The last packet sent through the entry (probes belong to its flow).
    pub last_use: Option<Meta>,
}

#[derive(Clone, Debug, Default)]
pub struct NeighTable {
    /// (device index, address) -> entry
    pub entries: BTreeMap<(usize, Ipv4Addr), NeighEntry>,
}

impl NeighTable {
    pub fn add_permanent(&mut self, dev: usize, ip: Ipv4Addr, mac: Mac) {
        self.entries.insert(
            (dev, ip),
            NeighEntry {
                mac: Some(mac),
                state: Nud::Permanent,
                updated_ns: 0,
                probes: 0,
                queue: Vec::new(),
                last_use: None,
            },
        );
    }

    /// The usable MAC for `ip` on `dev`, with the state it is in now.
    pub fn resolve(&self, dev: usize, ip: Ipv4Addr, now: u64) -> Option<(Mac, Nud)> {
        let e = self.entries.get(&(dev, ip))?;
        let mac = e.mac?;
        let st = match e.state {
            Nud::Reachable if now.saturating_sub(e.updated_ns) > REACHABLE_NS => Nud::Stale,
            Nud::Incomplete | Nud::Failed => return None,
            s => s,
        };
        Some((mac, st))
    }

    /// Records a MAC learned from ARP. `create` is false for replies nobody
    /// asked for, as the kernel does not create entries from unsolicited ARP
    /// unless it was a request addressed to us.
    pub fn learn(
        &mut self,
        dev: usize,
        ip: Ipv4Addr,
        mac: Mac,
        now: u64,
        create: bool,
    ) -> Vec<Pending> {
        self.update(dev, ip, mac, now, create, true)
    }

    /// `neigh_update` from ARP: a reply (`solicited`) confirms the entry
    /// (REACHABLE); a request only refreshes the address (STALE, or unchanged
    /// when the address is the same).
    pub fn update(
        &mut self,
        dev: usize,
        ip: Ipv4Addr,
        mac: Mac,
        now: u64,
        create: bool,
        solicited: bool,
    ) -> Vec<Pending> {
        match self.entries.get_mut(&(dev, ip)) {
            Some(e) if e.state == Nud::Permanent => Vec::new(),
            Some(e)
                if !solicited
                    && e.mac == Some(mac)
                    && !matches!(e.state, Nud::Incomplete | Nud::Failed) =>
            {
                Vec::new()
            }
            Some(e) => {
                e.mac = Some(mac);
                e.state = if solicited {
                    Nud::Reachable
                } else {
                    Nud::Stale
                };
                e.updated_ns = now;
                e.probes = 0;
                std::mem::take(&mut e.queue)
            }
            None => {
                if create {
                    self.entries.insert(
                        (dev, ip),
                        NeighEntry {
                            mac: Some(mac),
                            state: Nud::Stale,
                            updated_ns: now,
                            probes: 0,
                            queue: Vec::new(),
                            last_use: None,
                        },
                    );
                }
                Vec::new()
            }
        }
    }
}
