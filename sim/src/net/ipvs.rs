//! IPVS (the kernel's L4 load balancer, as kube-proxy's ipvs mode drives
//! it): virtual services on local addresses (kube-proxy binds them to the
//! kube-ipvs0 dummy), real servers, schedulers, masquerading (NAT)
//! forwarding with `net.ipv4.vs.conntrack=1`.
//!
//! A new connection to a virtual service, seen where IPVS hooks LOCAL_IN
//! (after filter INPUT), gets a real server from the scheduler; the packet's
//! destination is rewritten and the conntrack entry altered so its replies
//! match (`ip_vs_update_conntrack`); it leaves as IPVS's NAT transmitter
//! sends it (routed to the real server, then POSTROUTING: kube-proxy's
//! masquerade). Later packets of the connection follow conntrack.
//!
//! Schedulers: rr, wrr, lc, wlc, sh (kube-proxy's `--ipvs-scheduler`;
//! wlc is ipvsadm's default).
//!
//! Simplifications (listed by `podpath explain`): the replies' source is
//! restored by conntrack's reverse translation at PREROUTING, not by IPVS's
//! own hook at FORWARD/LOCAL_IN (so filter FORWARD sees the virtual address
//! on replies); IPVS's connection table is conntrack's (no separate
//! timeouts); sh hashes the source address over the real servers directly
//! (the kernel uses a 256-bucket table); clients on the node itself go
//! through loopback (the kernel's LOCAL_OUT hook is not modelled); the
//! forwarded packet skips the LOCAL_OUT hook `ip_vs_nat_send_or_cont`
//! sends it through (straight to POSTROUTING).
//!
//! Both families: a virtual service's address is IPv4 or IPv6
//! (`ip_vs_in_hook` at NF_INET_LOCAL_IN for NFPROTO_IPV4 and
//! NFPROTO_IPV6), its real servers of the same family.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    /// Weighted least-connection (ipvsadm's default).
    Wlc,
    Sh,
}

impl Scheduler {
    pub fn from_name(s: &str) -> Option<Scheduler> {
        Some(match s {
            "rr" => Scheduler::Rr,
            "wrr" => Scheduler::Wrr,
            "lc" => Scheduler::Lc,
            "wlc" => Scheduler::Wlc,
            "sh" => Scheduler::Sh,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Sh => "sh",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServer {
    pub ip: IpAddr,
    pub port: u16,
    pub weight: u32,
    /// Connections scheduled to it (lc's count).
    pub conns: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualService {
    /// 6 tcp, 17 udp
    pub proto: u8,
    /// The virtual address (IPv4 or IPv6: `-A -t [ADDR6]:PORT`); its real
    /// servers are of its family (kube-proxy's proxier of each family
    /// writes its own).
    pub vip: IpAddr,
    pub vport: u16,
    pub scheduler: Scheduler,
    pub reals: Vec<RealServer>,
    /// rr/wrr position
    next: usize,
    /// wrr: the current weight round
    cw: u32,
    /// `-p TIMEOUT [-M NETMASK]`: clients of one masked address stay with
    /// the real server they got first while its template lives.
    pub persistence: Option<Persistence>,
    /// Persistence templates: masked client -> (real server, expiry ns).
    templates: std::collections::BTreeMap<IpAddr, ((IpAddr, u16), u64)>,
}

/// A persistent service's settings (`ipvsadm -p TIMEOUT -M NETMASK`; for
/// an IPv6 service the netmask is a prefix length, kept here as the mask).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Persistence {
    pub timeout_ns: u64,
    pub netmask: IpAddr,
}

/// `ip_vs_conn_fill_param_persist`'s masked client: the address under the
/// service's netmask (a mask of the other family leaves it whole).
fn masked(src: IpAddr, mask: IpAddr) -> IpAddr {
    match (src, mask) {
        (IpAddr::V4(a), IpAddr::V4(m)) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & u32::from(m))),
        (IpAddr::V6(a), IpAddr::V6(m)) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & u128::from(m))),
        (a, _) => a,
    }
}

impl VirtualService {
    pub fn new(
        proto: u8,
        vip: IpAddr,
        vport: u16,
        scheduler: Scheduler,
        reals: Vec<RealServer>,
    ) -> Self {
        VirtualService {
            proto,
            vip,
            vport,
            scheduler,
            reals,
            next: 0,
            cw: 0,
            persistence: None,
            templates: Default::default(),
        }
    }

    /// Picks a real server for a new connection from `src` at `now_ns`:
    /// on a persistent service, the real server of the client's live
    /// template when it still has weight, else the scheduler's choice, which
    /// becomes the template (ip_vs_core.c ip_vs_sched_persist: the template
    /// is keyed by the client address under the netmask).
    ///
    /// Simplification: a template expires `timeout` after the last
    /// connection it placed, not after the last of its connections ended.
    pub fn schedule_at(&mut self, src: IpAddr, now_ns: u64) -> Option<usize> {
        let Some(p) = self.persistence else {
            return self.schedule(src);
        };
        let key = masked(src, p.netmask);
        if let Some(&(rs, exp)) = self.templates.get(&key) {
            if exp > now_ns {
                if let Some(i) = self
                    .reals
                    .iter()
                    .position(|r| (r.ip, r.port) == rs && r.weight > 0)
                {
                    self.reals[i].conns += 1;
                    self.templates.insert(key, (rs, now_ns + p.timeout_ns));
                    return Some(i);
                }
            }
        }
        let i = self.schedule(src)?;
        let r = &self.reals[i];
        self.templates
            .insert(key, ((r.ip, r.port), now_ns + p.timeout_ns));
        Some(i)
    }

    /// Picks a real server for a new connection from `src` (the scheduler
    /// alone, without persistence).
    pub fn schedule(&mut self, src: IpAddr) -> Option<usize> {
        let n = self.reals.len();
        let live: Vec<usize> = (0..n).filter(|&i| self.reals[i].weight > 0).collect();
        if live.is_empty() {
            return None;
        }
        let pick = match self.scheduler {
            Scheduler::Rr => {
                let i = live[self.next % live.len()];
                self.next = (self.next + 1) % live.len();
                i
            }
            Scheduler::Wrr => {
                // ip_vs_wrr: walk servers, lowering the current weight by the
                // weights' gcd each round; pick the first at or above it
                let max = live
                    .iter()
                    .map(|&i| self.reals[i].weight)
                    .max()
                    .unwrap_or(1);
                let g = live
                    .iter()
                    .map(|&i| self.reals[i].weight)
                    .fold(0, gcd)
                    .max(1);
                loop {
                    self.next = (self.next + 1) % n;
                    if self.next == 0 {
                        self.cw = if self.cw <= g { max } else { self.cw - g };
                    }
                    if self.reals[self.next].weight >= self.cw && self.reals[self.next].weight > 0 {
                        break self.next;
                    }
                }
            }
            Scheduler::Lc => *live
                .iter()
                .min_by_key(|&&i| (self.reals[i].conns, i))
                .expect("live"),
            Scheduler::Wlc => {
                // ip_vs_wlc_schedule: the least conns/weight, compared as
                // loh * dw > doh * lw; the first of equals wins
                let mut least = live[0];
                for &d in &live[1..] {
                    let (l, x) = (&self.reals[least], &self.reals[d]);
                    if u64::from(l.conns) * u64::from(x.weight)
                        > u64::from(x.conns) * u64::from(l.weight)
                    {
                        least = d;
                    }
                }
                least
            }
            Scheduler::Sh => {
                let h = match src {
                    IpAddr::V4(a) => crate::det::stable_hash(&a.octets()),
                    IpAddr::V6(a) => crate::det::stable_hash(&a.octets()),
                } as usize;
                live[h % live.len()]
            }
        };
        self.reals[pick].conns += 1;
        Some(pick)
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A host's IPVS table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipvs {
    pub services: Vec<VirtualService>,
}

impl Ipvs {
    /// kube-proxy's sync (`ipvsadm -a/-d` on the existing virtual services):
    /// real servers that stay keep their connection counts, a virtual
    /// service that stays keeps its scheduler position.
    pub fn sync(&mut self, new: Vec<VirtualService>) {
        let old = std::mem::take(&mut self.services);
        self.services = new
            .into_iter()
            .map(|mut v| {
                if let Some(o) = old
                    .iter()
                    .find(|o| (o.proto, o.vip, o.vport) == (v.proto, v.vip, v.vport))
                {
                    for r in v.reals.iter_mut() {
                        if let Some(or) = o.reals.iter().find(|x| (x.ip, x.port) == (r.ip, r.port))
                        {
                            r.conns = or.conns;
                        }
                    }
                    if !v.reals.is_empty() {
                        v.next = o.next % v.reals.len();
                    }
                    v.cw = o.cw;
                    if v.persistence.is_some() {
                        v.templates = o.templates.clone();
                    }
                }
                v
            })
            .collect();
    }

    pub fn find(&self, proto: u8, dst: IpAddr, dport: u16) -> Option<usize> {
        self.services
            .iter()
            .position(|v| v.proto == proto && v.vip == dst && v.vport == dport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(s: Scheduler, weights: &[u32]) -> VirtualService {
        VirtualService::new(
            6,
            Ipv4Addr::new(10, 96, 0, 1).into(),
            80,
            s,
            weights
                .iter()
                .enumerate()
                .map(|(i, w)| RealServer {
                    ip: Ipv4Addr::new(10, 244, 0, i as u8 + 2).into(),
                    port: 8080,
                    weight: *w,
                    conns: 0,
                })
                .collect(),
        )
    }

    /// `-p 300`: a client keeps its real server while the template lives
    /// (refreshed by each connection), another client is scheduled anew,
    /// an expired template or a server gone to weight 0 reschedules; with
    /// `-M 255.255.255.0` clients of one /24 share a template.
    #[test]
    fn persistence_templates() {
        let a: IpAddr = Ipv4Addr::new(10, 244, 1, 9).into();
        let b: IpAddr = Ipv4Addr::new(10, 244, 1, 10).into();
        let s = 1_000_000_000u64;
        let mut v = vs(Scheduler::Rr, &[1, 1, 1]);
        v.persistence = Some(Persistence {
            timeout_ns: 300 * s,
            netmask: Ipv4Addr::BROADCAST.into(),
        });
        assert_eq!(v.schedule_at(a, 0), Some(0));
        assert_eq!(v.schedule_at(a, 10 * s), Some(0));
        assert_eq!(v.schedule_at(b, 10 * s), Some(1));
        assert_eq!(v.schedule_at(a, 300 * s), Some(0), "refreshed at 10 s");
        assert_eq!(v.schedule_at(a, 601 * s), Some(2), "expired: rr goes on");
        v.reals[2].weight = 0;
        assert_eq!(v.schedule_at(a, 602 * s), Some(0), "quiesced: rescheduled");
        let mut m = vs(Scheduler::Rr, &[1, 1]);
        m.persistence = Some(Persistence {
            timeout_ns: 300 * s,
            netmask: Ipv4Addr::new(255, 255, 255, 0).into(),
        });
        assert_eq!(m.schedule_at(a, 0), Some(0));
        assert_eq!(m.schedule_at(b, 0), Some(0), "same /24");
        // without persistence every connection is the scheduler's
        let mut p = vs(Scheduler::Rr, &[1, 1]);
        assert_eq!(
            (p.schedule_at(a, 0), p.schedule_at(a, 0)),
            (Some(0), Some(1))
        );
    }

    #[test]
    fn schedulers() {
        let src: IpAddr = Ipv4Addr::new(10, 244, 1, 9).into();
        let mut rr = vs(Scheduler::Rr, &[1, 1, 1]);
        let picks: Vec<usize> = (0..6).map(|_| rr.schedule(src).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        // wrr 3:1: three to the first for one to the second
        let mut w = vs(Scheduler::Wrr, &[3, 1]);
        let picks: Vec<usize> = (0..8).map(|_| w.schedule(src).unwrap()).collect();
        assert_eq!(picks.iter().filter(|&&p| p == 0).count(), 6, "{picks:?}");
        // lc: the least loaded
        let mut lc = vs(Scheduler::Lc, &[1, 1]);
        lc.reals[0].conns = 5;
        assert_eq!(lc.schedule(src), Some(1));
        // wlc: conns/weight, 4/2 > 1/1 -> the second
        let mut wlc = vs(Scheduler::Wlc, &[2, 1]);
        wlc.reals[0].conns = 4;
        wlc.reals[1].conns = 1;
        assert_eq!(wlc.schedule(src), Some(1));
        wlc.reals[1].conns = 3;
        assert_eq!(wlc.schedule(src), Some(0));
        // sh: the same source, the same server
        let mut sh = vs(Scheduler::Sh, &[1, 1, 1]);
        let a = sh.schedule(src);
        assert!((0..5).all(|_| sh.schedule(src) == a));
        // weight 0 servers take nothing
        let mut z = vs(Scheduler::Rr, &[0, 0]);
        assert_eq!(z.schedule(src), None);
    }
}
