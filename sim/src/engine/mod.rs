//! The event queue, the virtual clock, the seeded random streams and the run
//! loop.
//!
//! Events sit in a queue ordered by `(time, sequence)`; nothing reads the wall
//! clock. Each host draws from its own ChaCha stream seeded from the scenario
//! seed and the host's name, so adding a host does not change another host's
//! draws. The same world and seed give the same trace, byte for byte.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rand_chacha::ChaCha8Rng;

mod faults;
pub mod paths;
mod start;
use rand_core::{Rng, SeedableRng};

use crate::app::{AppEvent, Runtime};
use crate::net::host::{Ctx, DevKind, HostTimer, Meta, Output};
use crate::trace::Point;
use crate::trace::{
    Capture, DeviceInfo, Direction, HostInfo, SharedBytes, SharedName, Trace, TraceSink,
};
use crate::wire::Ipv4Repr;
use crate::world::World;

#[derive(Debug)]
enum Event {
    Rx {
        host: usize,
        dev: usize,
        bytes: SharedBytes,
        meta: Meta,
    },
    Timer {
        host: usize,
        timer: HostTimer,
    },
    StartFlow {
        spec: usize,
        k: u32,
    },
    App {
        host: usize,
        app: usize,
        ev: AppEvent,
    },
    SendLocal {
        host: usize,
        ip: Ipv4Repr,
        meta: Meta,
        note: Option<String>,
    },
    SendLocal6 {
        host: usize,
        ip: crate::wire::Ipv6Repr,
        meta: Meta,
        note: Option<String>,
    },
    Fault {
        idx: usize,
    },
    SendRaw {
        host: usize,
        dev: usize,
        ip: Ipv4Repr,
        meta: Meta,
        note: String,
    },
    Garp {
        host: usize,
        dev: usize,
        ip: std::net::Ipv4Addr,
        meta: Meta,
        note: String,
    },
    /// A daemon starts.
    Daemon {
        host: usize,
        app: usize,
    },
}

/// With daemons (VRRP adverts, health checks), which never fall silent, a
/// run ends this long after the scenario's last fault and the last outcome
/// of its flows.
pub const SETTLE_NS: u64 = 1_000_000_000;

/// Upper bound on events in one run: a guard against a forwarding loop that
/// TTL would end only after many hops, not a kernel limit.
pub const MAX_EVENTS: u64 = 2_000_000;

pub struct Engine {
    pub world: World,
    queue: BTreeMap<(u64, u64), Event>,
    seq: u64,
    now: u64,
    next_pkt: u64,
    sink: TraceSink,
    flow_ids: Vec<u32>,
    /// Flow instances `(spec, k)` that start when the one before them has
    /// ended (`FlowSpec::after_previous`), not yet started.
    waiting: std::collections::BTreeSet<(usize, u32)>,
    /// The trace flow of every started instance `(spec, k)`.
    started: BTreeMap<(usize, u32), u32>,
    events: u64,
    /// Forced branch choices, for path enumeration.
    pub script: Option<crate::net::netfilter::ScriptChooser>,
    events_log: Vec<crate::trace::TraceEvent>,
    /// Any daemon in the world (then the run ends by `SETTLE_NS`).
    daemons: bool,
    /// Faults and flow starts not yet dispatched.
    pending_starts: usize,
    /// Time of the last fault or flow outcome.
    last_activity_ns: u64,
    /// Draws for lossy links (seeded from the scenario's seed).
    loss_rng: ChaCha8Rng,
    /// The hosts' and devices' names as captures share them.
    names: Names,
    /// Flows alone ([`Engine::run_flows`]): no captures, no host list.
    flows_only: bool,
}

/// Host and device names made once for the captures that repeat them
/// (per host: its name, then its devices'), checked against the host's
/// current names on every use, so a renamed device gets its new name.
#[derive(Default)]
struct Names(Vec<Vec<SharedName>>);

impl Names {
    fn of(
        &mut self,
        h: &crate::net::host::Host,
        host: usize,
        dev: usize,
    ) -> (SharedName, SharedName) {
        if self.0.len() <= host {
            self.0.resize(host + 1, Vec::new());
        }
        let v = &mut self.0[host];
        if v.is_empty() || v[0] != h.name {
            v.clear();
            v.push(SharedName::from(&h.name));
        }
        let dn = h.devs.get(dev).map(|d| d.name.as_str()).unwrap_or_default();
        if v.len() <= dev + 1 {
            v.resize(dev + 2, SharedName::default());
        }
        if v[dev + 1] != dn {
            v[dev + 1] = SharedName::from(dn);
        }
        (v[0].clone(), v[dev + 1].clone())
    }
}

impl Engine {
    pub fn new(world: World) -> Engine {
        let daemons = Self::daemons(&world);
        Self::with_daemons(world, &daemons)
    }

    /// The programs of `world` that run from time 0 (keepalived, a proxy
    /// with health checks), in host and app order.
    pub fn daemons(world: &World) -> Vec<(usize, usize)> {
        let mut daemons = Vec::new();
        for (h, apps) in world.apps.iter().enumerate() {
            for (a, app) in apps.iter().enumerate() {
                if app.is_daemon() {
                    daemons.push((h, a));
                }
            }
        }
        daemons
    }

    /// [`Engine::new`] with the world's daemons ([`Engine::daemons`])
    /// found already: what runs of copies of one world (`reach`'s probes)
    /// look up once.
    pub fn with_daemons(world: World, daemons: &[(usize, usize)]) -> Engine {
        let mut e = Engine {
            world,
            queue: BTreeMap::new(),
            seq: 0,
            now: 0,
            next_pkt: 0,
            sink: TraceSink::default(),
            flow_ids: Vec::new(),
            waiting: Default::default(),
            started: BTreeMap::new(),
            script: None,
            events_log: Vec::new(),
            events: 0,
            daemons: false,
            pending_starts: 0,
            last_activity_ns: 0,
            loss_rng: ChaCha8Rng::seed_from_u64(0),
            names: Names::default(),
            flows_only: false,
        };
        e.loss_rng = ChaCha8Rng::seed_from_u64(e.world.seed ^ 0x6c6f_7373);
        // Daemons start first, at time 0, in host and app order.
        e.daemons = !daemons.is_empty();
        for &(host, app) in daemons {
            let s = e.seq;
            e.seq += 1;
            e.queue.insert((0, s), Event::Daemon { host, app });
        }
        // Faults go before flows that start at the same time.
        for (i, f) in e.world.faults.iter().enumerate() {
            let s = e.seq;
            e.seq += 1;
            e.queue.insert((f.at_ns, s), Event::Fault { idx: i });
        }
        for (i, f) in e.world.flows.iter().enumerate() {
            for k in 0..f.count {
                if f.after_previous && (k > 0 || i > 0) {
                    e.waiting.insert((i, k));
                    continue;
                }
                let at = if f.after_previous {
                    0
                } else {
                    f.start_ns + k as u64 * f.interval_ns
                };
                let s = e.seq;
                e.seq += 1;
                e.queue.insert((at, s), Event::StartFlow { spec: i, k });
            }
        }
        e.pending_starts = e.world.faults.len()
            + e.world
                .flows
                .iter()
                .map(|f| f.count as usize)
                .sum::<usize>();
        e
    }

    /// With daemons: every fault applied, every flow started and ended, and
    /// `SETTLE_NS` passed since.
    fn settled(&self, at: u64) -> bool {
        self.daemons
            && self.pending_starts == 0
            && self.flow_ids.iter().all(|f| self.sink.has_outcome(*f))
            && at > self.last_activity_ns + SETTLE_NS
    }

    fn push(&mut self, at: u64, ev: Event) {
        let s = self.seq;
        self.seq += 1;
        self.queue.insert((at, s), ev);
    }

    /// Runs to the end (empty queue, or the horizon) and returns the trace.
    /// Runs with every random rule match following `script` (unscripted
    /// decisions take the match branch); returns the trace and the decisions.
    pub fn run_scripted(
        mut self,
        script: Vec<bool>,
    ) -> (Trace, crate::net::netfilter::ScriptChooser) {
        self.script = Some(crate::net::netfilter::ScriptChooser {
            script,
            ..Default::default()
        });
        self.drain();
        let chooser = self.script.take().unwrap_or_default();
        (self.finish(), chooser)
    }

    pub fn run(mut self) -> Trace {
        self.drain();
        self.finish()
    }

    /// Runs as [`Engine::run`] does, but keeps only the trace's flows (and
    /// events): no captures and no host list, which a caller that reads
    /// the flows alone (`podpath reach`, a probe per run) does not pay
    /// for; and it stops as soon as every flow has started and has its
    /// outcome (a probe's handshake answered or timed out), so what would
    /// follow (a connection's close, FIN by FIN; TIME_WAIT) is not run.
    /// Up to that instant the flows are the same as `run`'s: captures are
    /// only recorded, never read, by the run.
    pub fn run_flows(mut self) -> Trace {
        self.flows_only = true;
        self.sink.lean = true;
        self.drain();
        let (flows, _) = self.sink.finish();
        Trace {
            scenario: self.world.scenario.clone(),
            seed: self.world.seed,
            hosts: Vec::new(),
            flows,
            events: self.events_log,
            captures: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(((at, _), ev)) = self.queue.pop_first() {
            if at > self.world.horizon_ns || self.settled(at) {
                break;
            }
            if matches!(ev, Event::Fault { .. } | Event::StartFlow { .. }) {
                self.pending_starts = self.pending_starts.saturating_sub(1);
                self.last_activity_ns = self.last_activity_ns.max(at);
            }
            self.events += 1;
            if self.events > MAX_EVENTS {
                break;
            }
            self.now = at;
            self.dispatch(ev);
            if !self.waiting.is_empty() {
                self.start_waiting();
            }
            if self.flows_only && self.fates_known() {
                break;
            }
        }
    }

    /// Every flow has started and has its outcome ([`Engine::run_flows`]
    /// stops there).
    fn fates_known(&self) -> bool {
        self.pending_starts == 0
            && self.waiting.is_empty()
            && !self.flow_ids.is_empty()
            && self.flow_ids.iter().all(|f| self.sink.has_outcome(*f))
    }

    /// Queues, at the current time, each waiting flow instance whose
    /// predecessor has ended (has an outcome).
    fn start_waiting(&mut self) {
        let flows = &self.world.flows;
        let ready: Vec<(usize, u32)> = self
            .waiting
            .iter()
            .copied()
            .filter(|&(i, k)| {
                let before = if k > 0 {
                    (i, k - 1)
                } else {
                    (i - 1, flows[i - 1].count.max(1) - 1)
                };
                self.started
                    .get(&before)
                    .is_some_and(|&f| self.sink.has_outcome(f))
            })
            .collect();
        for (spec, k) in ready {
            self.waiting.remove(&(spec, k));
            self.push(self.now, Event::StartFlow { spec, k });
        }
    }

    fn finish(self) -> Trace {
        let hosts = self.host_infos();
        let (flows, captures) = self.sink.finish();
        Trace {
            scenario: self.world.scenario.clone(),
            seed: self.world.seed,
            hosts,
            flows,
            events: self.events_log,
            captures,
        }
    }

    fn host_infos(&self) -> Vec<HostInfo> {
        self.world
            .hosts
            .iter()
            .map(|h| HostInfo {
                name: h.name.clone(),
                kind: h.kind.name().into(),
                namespace: h.namespace.clone(),
                devices: h
                    .devs
                    .iter()
                    .enumerate()
                    .map(|(i, d)| DeviceInfo {
                        name: d.name.clone(),
                        kind: d.kind.name().into(),
                        mac: d.mac.to_string(),
                        mtu: d.mtu,
                        addrs: d.addrs.iter().map(|a| a.to_string()).collect(),
                        addrs6: h
                            .ip6
                            .addrs
                            .get(&i)
                            .into_iter()
                            .flatten()
                            .map(|a| {
                                let flags: Vec<&str> = [
                                    (a.tentative, "tentative"),
                                    (a.dadfailed, "dadfailed"),
                                    (a.nodad, "nodad"),
                                    (a.noprefixroute, "noprefixroute"),
                                ]
                                .iter()
                                .filter(|(on, _)| *on)
                                .map(|(_, n)| *n)
                                .collect();
                                std::iter::once(a.net.to_string())
                                    .chain(flags.iter().map(|f| f.to_string()))
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .collect(),
                        master: d.master.map(|m| h.devs[m].name.clone()),
                        peer: d.peer.map(|p| {
                            let ph = &self.world.hosts[p.host];
                            format!("{}/{}", ph.name, ph.devs[p.dev].name)
                        }),
                        link: if matches!(d.kind, DevKind::Tun | DevKind::Ipip) {
                            "raw".into()
                        } else {
                            "ethernet".into()
                        },
                    })
                    .collect(),
            })
            .collect()
    }

    fn capture(
        &mut self,
        host: usize,
        dev: usize,
        dir: Direction,
        bytes: SharedBytes,
        meta: Meta,
        hop: Option<u32>,
    ) {
        if self.flows_only {
            return;
        }
        let (host_name, dev_name) = self.names.of(&self.world.hosts[host], host, dev);
        let d = if dir == Direction::In { "in" } else { "out" };
        // "hop SEQ HOST DIR" (or "HOST DIR"), written into a string of
        // its exact length: two million of them at 1,000 nodes
        let digits = |mut n: u32| {
            let mut k = 1;
            while n >= 10 {
                n /= 10;
                k += 1;
            }
            k
        };
        let len = hop.map_or(0, |s| 5 + digits(s)) + host_name.len() + 1 + d.len();
        let mut comment = String::with_capacity(len);
        if let Some(s) = hop {
            let _ = write!(comment, "hop {s} ");
        }
        comment.push_str(&host_name);
        comment.push(' ');
        comment.push_str(d);
        let flow = self.sink.flow_name(meta.flow);
        self.sink.captures.push(Capture {
            time_ns: self.now,
            host: host_name,
            dev: dev_name,
            dir,
            packet: meta.pkt,
            flow,
            hop,
            comment,
            bytes,
        });
    }

    fn dispatch(&mut self, ev: Event) {
        if let Event::Fault { idx } = ev {
            self.fault(idx);
            return;
        }
        let host = match &ev {
            Event::Rx { host, .. }
            | Event::Timer { host, .. }
            | Event::App { host, .. }
            | Event::SendLocal { host, .. }
            | Event::SendLocal6 { host, .. }
            | Event::SendRaw { host, .. }
            | Event::Garp { host, .. }
            | Event::Daemon { host, .. } => *host,
            Event::StartFlow { spec, .. } => self.world.flows[*spec].from,
            Event::Fault { .. } => return,
        };
        if let Event::Rx {
            dev, bytes, meta, ..
        } = &ev
        {
            let hop = self.sink.peek_seq();
            self.capture(host, *dev, Direction::In, bytes.clone(), *meta, Some(hop));
        }
        let mut ctx = Ctx {
            now: self.now,
            trace: &mut self.sink,
            out: Vec::new(),
            next_pkt: &mut self.next_pkt,
            script: self.script.as_mut(),
            flow: match &ev {
                Event::Rx { meta, .. }
                | Event::SendLocal { meta, .. }
                | Event::SendLocal6 { meta, .. }
                | Event::SendRaw { meta, .. }
                | Event::Garp { meta, .. } => Some(meta.flow),
                _ => None,
            },
        };
        let World {
            hosts, apps, flows, ..
        } = &mut self.world;
        let mut rt = Runtime {
            h: &mut hosts[host],
            apps: &mut apps[host],
        };
        match ev {
            Event::Rx {
                dev, bytes, meta, ..
            } => rt.h.receive(&mut ctx, dev, &bytes, meta),
            Event::Timer { timer, .. } => match timer {
                HostTimer::Neigh { dev, ip } => rt.h.neigh_timer(&mut ctx, dev, ip),
                HostTimer::Ndisc { dev, ip } => rt.h.ndisc_timer(&mut ctx, dev, ip),
                HostTimer::Tcp { key, gen } => rt.h.tcp_timer(&mut ctx, key, gen),
                HostTimer::TcpDelack { key, gen } => rt.h.tcp_delack(&mut ctx, key, gen),
                HostTimer::Sctp { key, gen } => rt.h.sctp_timer(&mut ctx, key, gen),
                HostTimer::SctpSack { key, gen } => rt.h.sctp_sack_timer(&mut ctx, key, gen),
                HostTimer::App { app, token } => {
                    rt.app_event(&mut ctx, app, AppEvent::Timer { token })
                }
            },
            Event::App { app, ev, .. } => rt.app_event(&mut ctx, app, ev),
            Event::SendLocal { ip, meta, note, .. } => rt.h.send_local(&mut ctx, ip, meta, note),
            Event::SendLocal6 { ip, meta, note, .. } => rt.h.send_local6(&mut ctx, ip, meta, note),
            Event::Fault { .. } => {}
            Event::SendRaw {
                dev,
                ip,
                meta,
                note,
                ..
            } => rt.h.send_raw(&mut ctx, dev, ip, meta, note),
            Event::Garp {
                dev,
                ip,
                meta,
                note,
                ..
            } => rt.h.send_garp(&mut ctx, dev, ip, meta, note),
            Event::Daemon { app, .. } => {
                let name = rt.apps[app].name();
                let flow = ctx.trace.add_flow(
                    name.clone(),
                    format!("{name} on {} (daemon)", rt.h.name),
                    &rt.h.name,
                    true,
                );
                rt.app_event(&mut ctx, app, AppEvent::Start { flow });
            }
            Event::StartFlow { spec, k } => {
                let flow = start::start_flow(&mut rt, &mut ctx, &flows[spec], k);
                self.flow_ids.push(flow);
                self.started.insert((spec, k), flow);
            }
        }
        let outs = std::mem::take(&mut ctx.out);
        for o in outs {
            self.apply(host, o);
        }
    }

    /// Runs a program's reaction to an event at once (within the current
    /// event, as a socket wakes its waiting reader), then what it asked for.
    fn deliver_now(&mut self, host: usize, app: usize, ev: AppEvent) {
        let mut ctx = Ctx {
            now: self.now,
            trace: &mut self.sink,
            out: Vec::new(),
            next_pkt: &mut self.next_pkt,
            script: self.script.as_mut(),
            flow: None,
        };
        let World { hosts, apps, .. } = &mut self.world;
        Runtime {
            h: &mut hosts[host],
            apps: &mut apps[host],
        }
        .app_event(&mut ctx, app, ev);
        let outs = std::mem::take(&mut ctx.out);
        for o in outs {
            self.apply(host, o);
        }
    }

    /// A frame sent out of `dev`: captured, then looped back, or carried
    /// over the link to its peer after the link's latency (or lost on it).
    fn transmit(
        &mut self,
        host: usize,
        dev: usize,
        bytes: SharedBytes,
        meta: Meta,
        hop: Option<u32>,
    ) {
        self.capture(host, dev, Direction::Out, bytes.clone(), meta, hop);
        let d = &self.world.hosts[host].devs[dev];
        if d.kind == DevKind::Loopback {
            self.push(
                self.now,
                Event::Rx {
                    host,
                    dev,
                    bytes,
                    meta,
                },
            );
        } else if let Some(p) = d.peer {
            if p.loss_ppm > 0 && self.loss_rng.next_u32() % 1_000_000 < p.loss_ppm {
                // lost on the wire: a hop at the far end that ends
                // at once, so the trace shows where it vanished
                let ph = &self.world.hosts[p.host];
                let summary = crate::wire::Frame::parse(&bytes)
                    .map(|f| crate::wire::describe(&f))
                    .unwrap_or_else(|e| (format!("malformed frame ({e})"), Default::default()));
                self.sink.begin_hop(
                    meta.flow,
                    self.now + p.latency_ns,
                    &ph.name,
                    meta.pkt,
                    meta.parent,
                    Some(&ph.devs[p.dev].name),
                    summary,
                );
                let reason = format!(
                    "lost on the link {}/{} -> {}/{} (loss {})",
                    self.world.hosts[host].name,
                    self.world.hosts[host].devs[dev].name,
                    ph.name,
                    ph.devs[p.dev].name,
                    fmt_ppm(p.loss_ppm)
                );
                self.sink.step(
                    Point::Link,
                    format!("DROP: {reason}"),
                    crate::trace::Action::Drop { reason },
                );
                self.sink.end_hop();
            } else {
                self.push(
                    self.now + p.latency_ns,
                    Event::Rx {
                        host: p.host,
                        dev: p.dev,
                        bytes,
                        meta,
                    },
                );
            }
        }
    }

    /// Carries out one output of a host's event: frames onto links,
    /// captures, events queued, the trace's outcomes, logs and timeline.
    fn apply(&mut self, host: usize, o: Output) {
        match o {
            Output::Tx {
                dev,
                bytes,
                meta,
                hop,
            } => self.transmit(host, dev, bytes, meta, hop),
            Output::Capture {
                dev,
                out,
                bytes,
                meta,
                hop,
            } => {
                self.capture(
                    host,
                    dev,
                    if out { Direction::Out } else { Direction::In },
                    bytes.into(),
                    meta,
                    hop,
                );
            }
            Output::Rx { dev, bytes, meta } => self.push(
                self.now,
                Event::Rx {
                    host,
                    dev,
                    bytes: bytes.into(),
                    meta,
                },
            ),
            Output::Timer { at_ns, timer } => self.push(at_ns, Event::Timer { host, timer }),
            Output::SendLocal { ip, meta, note } => self.push(
                self.now,
                Event::SendLocal {
                    host,
                    ip,
                    meta,
                    note,
                },
            ),
            Output::SendLocal6 { ip, meta, note } => self.push(
                self.now,
                Event::SendLocal6 {
                    host,
                    ip,
                    meta,
                    note,
                },
            ),
            Output::Socket { owner, ev } => self.push(
                self.now,
                Event::App {
                    host,
                    app: owner,
                    ev: ev.into(),
                },
            ),
            Output::SocketNow { owner, ev } => self.deliver_now(host, owner, ev.into()),
            Output::Outcome {
                flow,
                disposition,
                text,
            } => {
                if self.flow_ids.contains(&flow) {
                    self.last_activity_ns = self.last_activity_ns.max(self.now);
                }
                self.sink.set_outcome(flow, disposition, text)
            }
            Output::AppLog {
                flow,
                program,
                line,
            } => {
                let host = self.world.hosts[host].name.clone();
                self.sink.add_log(
                    flow,
                    crate::trace::AppLog {
                        time_ns: self.now,
                        host,
                        program,
                        line,
                    },
                );
            }
            Output::ResponseBody { flow, body } => self.sink.set_response_body(flow, body),
            Output::Served { flow, app } => {
                let name = self.world.hosts[host].name.clone();
                self.sink.set_served_by(flow, &name, &app);
            }
            Output::SendRaw {
                dev,
                ip,
                meta,
                note,
            } => self.push(
                self.now,
                Event::SendRaw {
                    host,
                    dev,
                    ip,
                    meta,
                    note,
                },
            ),
            Output::Garp {
                dev,
                ip,
                meta,
                note,
            } => self.push(
                self.now,
                Event::Garp {
                    host,
                    dev,
                    ip,
                    meta,
                    note,
                },
            ),
            Output::Event { what } => self.events_log.push(crate::trace::TraceEvent {
                time_ns: self.now,
                what,
            }),
        }
    }
}

/// A loss share for people: `30%`, `0.5%`, `0.0001%`.
fn fmt_ppm(ppm: u32) -> String {
    let pct = f64::from(ppm) / 10_000.0;
    let s = format!("{pct:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}
