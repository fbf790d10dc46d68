//! The trace: the one output of a run, and the single source of every renderer.
//!
//! A run has flows; a flow has hops; a hop is one host's handling of one packet
//! (where it came in, where it went out), made of ordered steps with kernel
//! names (batfish's shape). Every packet observation on a device also goes to
//! `captures`, with its bytes, for pcapng.

use serde::Serialize;

/// A whole run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Trace {
    pub scenario: String,
    pub seed: u64,
    pub hosts: Vec<HostInfo>,
    pub flows: Vec<FlowTrace>,
    /// Faults of the scenario's timeline, as they happened.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub events: Vec<TraceEvent>,
    #[serde(skip)]
    pub captures: Vec<Capture>,
}

/// Something that happened to the topology (a fault of the timeline).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TraceEvent {
    pub time_ns: u64,
    pub what: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HostInfo {
    pub name: String,
    pub kind: String,
    pub devices: Vec<DeviceInfo>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeviceInfo {
    pub name: String,
    pub kind: String,
    pub mac: String,
    pub mtu: u32,
    pub addrs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The pcap link type: "ethernet" or "raw".
    pub link: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FlowTrace {
    pub id: String,
    pub description: String,
    pub hops: Vec<Hop>,
    /// How the flow ended, in words ("HTTP 200 OK in 1.402 ms", "connection
    /// timed out after 7 SYNs", ...).
    pub outcome: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Hop {
    /// Position of the hop in the whole run (global order of first touch).
    pub seq: u32,
    pub time_ns: u64,
    pub host: String,
    pub packet: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// Incoming device, None for a packet the host itself generated.
    pub in_dev: Option<String>,
    /// Outgoing device, None when delivered locally or dropped.
    pub out_dev: Option<String>,
    /// The packet as it arrived (or was generated).
    pub before: String,
    /// The packet as it left, when it left.
    pub after: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Step {
    /// Where in the stack: "nat/PREROUTING", "routing", "neigh", "bridge", "tcp", ...
    pub point: String,
    /// What happened, in words.
    pub what: String,
    pub action: Action,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    Info,
    Rule {
        table: String,
        chain: String,
        rule: usize,
        line: usize,
    },
    Dnat {
        from: String,
        to: String,
    },
    Snat {
        from: String,
        to: String,
    },
    Conntrack {
        state: String,
        tuple: String,
    },
    Route {
        table: String,
        prefix: String,
        via: Option<String>,
        dev: Option<String>,
        src: Option<String>,
        rtype: String,
    },
    Neigh {
        ip: String,
        mac: Option<String>,
        state: String,
    },
    Bridge {
        bridge: String,
        port: String,
    },
    Encap {
        outer: String,
    },
    Decap {
        inner: String,
    },
    Deliver {
        socket: String,
    },
    Transmit {
        dev: String,
    },
    App {
        app: String,
    },
    Drop {
        reason: String,
    },
    Reject {
        with: String,
    },
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

/// One packet seen on one device, as tcpdump on that device would see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Capture {
    pub time_ns: u64,
    pub host: String,
    pub dev: String,
    pub dir: Direction,
    pub packet: u64,
    pub flow: String,
    /// The hop that produced or received the packet (seq), if any.
    pub hop: Option<u32>,
    pub comment: String,
    pub bytes: Vec<u8>,
}

/// Builds hops while hosts process packets. Hops can nest (a host that queues
/// a packet and emits an ARP request opens the ARP's hop inside the first).
#[derive(Debug, Default)]
pub struct TraceSink {
    pub flows: Vec<FlowTrace>,
    open: Vec<(usize, Hop)>,
    next_seq: u32,
    pub captures: Vec<Capture>,
}

impl TraceSink {
    pub fn add_flow(&mut self, id: String, description: String) -> u32 {
        self.flows.push(FlowTrace {
            id,
            description,
            hops: Vec::new(),
            outcome: String::new(),
        });
        (self.flows.len() - 1) as u32
    }

    #[allow(clippy::too_many_arguments)]
    pub fn begin_hop(
        &mut self,
        flow: u32,
        time_ns: u64,
        host: &str,
        packet: u64,
        parent: Option<u64>,
        in_dev: Option<&str>,
        before: String,
    ) -> u32 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.open.push((
            flow as usize,
            Hop {
                seq,
                time_ns,
                host: host.to_string(),
                packet,
                parent,
                in_dev: in_dev.map(str::to_string),
                out_dev: None,
                before,
                after: None,
                steps: Vec::new(),
            },
        ));
        seq
    }

    /// The sequence number the next hop will get.
    pub fn peek_seq(&self) -> u32 {
        self.next_seq
    }

    /// The sequence number of the innermost open hop.
    pub fn current_hop(&self) -> Option<u32> {
        self.open.last().map(|(_, h)| h.seq)
    }

    pub fn step(&mut self, point: &str, what: String, action: Action) {
        if let Some((_, h)) = self.open.last_mut() {
            h.steps.push(Step {
                point: point.to_string(),
                what,
                action,
            });
        }
    }

    pub fn set_out(&mut self, dev: &str, after: String) {
        if let Some((_, h)) = self.open.last_mut() {
            h.out_dev = Some(dev.to_string());
            h.after = Some(after);
        }
    }

    pub fn end_hop(&mut self) {
        if let Some((f, h)) = self.open.pop() {
            if let Some(flow) = self.flows.get_mut(f) {
                flow.hops.push(h);
            }
        }
    }

    pub fn set_outcome(&mut self, flow: u32, outcome: String) {
        if let Some(f) = self.flows.get_mut(flow as usize) {
            f.outcome = outcome;
        }
    }

    pub fn has_outcome(&self, flow: u32) -> bool {
        self.flows
            .get(flow as usize)
            .is_some_and(|f| !f.outcome.is_empty())
    }

    pub fn flow_id(&self, flow: u32) -> String {
        self.flows
            .get(flow as usize)
            .map(|f| f.id.clone())
            .unwrap_or_default()
    }

    /// Finishes: hops of each flow sorted by their global sequence.
    pub fn finish(mut self) -> (Vec<FlowTrace>, Vec<Capture>) {
        while !self.open.is_empty() {
            self.end_hop();
        }
        for f in &mut self.flows {
            f.hops.sort_by_key(|h| h.seq);
        }
        (self.flows, self.captures)
    }
}
