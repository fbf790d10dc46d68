//! Load balancing: servers, backends and the choice of a server
//! (HAProxy's `balance` algorithms, ingress-nginx's round robin).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

use crate::app::haproxy_stats::{Counters, Health, StatsCfg};
use crate::net::netfilter::TableKind;
use crate::net::netfilter::{Chooser, RuleRef, ScriptChooser};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Tcp,
    Http,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastConn,
    Source,
    /// random(N): N weighted draws, the least loaded wins.
    Random(u32),
}

impl Balance {
    /// src/backend.c `backend_lb_algo_str()`
    pub fn algo(self) -> &'static str {
        match self {
            Balance::RoundRobin => "roundrobin",
            Balance::LeastConn => "leastconn",
            Balance::Source => "source",
            Balance::Random(_) => "random",
        }
    }

    pub fn name(self) -> String {
        match self {
            Balance::RoundRobin => "roundrobin".into(),
            Balance::LeastConn => "leastconn".into(),
            Balance::Source => "source".into(),
            Balance::Random(n) => format!("random({n})"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Server {
    pub name: String,
    pub addr: Ipv4Addr,
    pub port: u16,
    pub weight: u32,
    pub check: bool,
    /// running (not stopped by its checks)
    pub up: bool,
    /// current connections (leastconn, random)
    pub conns: u32,
    /// smooth weighted round robin's current weight
    pub(super) cw: i64,
    /// what its checks found (src/check.c `struct check`)
    pub health: Health,
    pub c: Counters,
}

impl Server {
    pub fn new(name: &str, addr: Ipv4Addr, port: u16, weight: u32, check: bool) -> Server {
        Server {
            name: name.to_string(),
            addr,
            port,
            weight,
            check,
            up: true,
            conns: 0,
            cw: 0,
            health: Health {
                enabled: check,
                in_progress: false,
                status: "INI",
                desc: "Initializing",
                code: None,
                duration_ms: None,
                info: String::new(),
                rise: 2,
                fall: 3,
                health: 2,
                running: true,
                failed_checks: 0,
                down_trans: 0,
                last_change_s: 0,
                down_time_s: 0,
            },
            c: Counters::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Backend {
    pub name: String,
    pub mode: Mode,
    pub balance: Balance,
    pub servers: Vec<Server>,
    /// `option httpchk METHOD PATH` (None: a TCP connect check)
    pub httpchk: Option<(String, String)>,
    pub inter_ns: u64,
    pub rise: u32,
    pub fall: u32,
    pub forwardfor: bool,
    /// `stick on src`: client address -> server
    pub stick_src: bool,
    sticks: BTreeMap<Ipv4Addr, usize>,
    /// leastconn's round robin among equals
    lc_next: usize,
    /// `http-check expect status N` (None: 2xx and 3xx pass)
    pub expect_status: Option<u16>,
    /// `stats ...` of a backend section
    pub stats: Option<StatsCfg>,
    /// the proxy's id (`iid` of the stats page), in configuration order
    pub uuid: u32,
    pub c: Counters,
    /// seconds since the epoch of the last UP/DOWN change, time spent
    /// DOWN, DOWN transitions
    pub last_change_s: u64,
    pub down_time_s: u64,
    pub down_trans: u64,
}

impl Backend {
    pub fn new(name: &str, mode: Mode) -> Backend {
        Backend {
            name: name.to_string(),
            mode,
            balance: Balance::RoundRobin,
            servers: Vec::new(),
            httpchk: None,
            inter_ns: 2_000_000_000,
            rise: 2,
            fall: 3,
            forwardfor: false,
            stick_src: false,
            sticks: BTreeMap::new(),
            lc_next: 0,
            expect_status: None,
            stats: None,
            uuid: 0,
            c: Counters::default(),
            last_change_s: 0,
            down_time_s: 0,
            down_trans: 0,
        }
    }

    /// Servers were renumbered (`moved`: old index to new): stick-table
    /// entries follow them, entries of removed servers go.
    pub fn rebase_sticks(&mut self, moved: &dyn Fn(usize) -> Option<usize>) {
        self.sticks = std::mem::take(&mut self.sticks)
            .into_iter()
            .filter_map(|(c, i)| moved(i).map(|n| (c, n)))
            .collect();
        self.lc_next = 0;
    }

    /// Picks a server for a client; None when no server is UP. The string
    /// says why, for the trace.
    /// With `script` (`podpath paths`), `random`'s weighted draws are made
    /// as a chain of binary decisions (server i with weight_i / remaining
    /// weight), which the path enumeration forces both ways.
    pub fn choose(
        &mut self,
        client: Ipv4Addr,
        rng: &mut ChaCha8Rng,
        mut script: Option<&mut ScriptChooser>,
        program: &str,
    ) -> Option<(usize, String)> {
        let up: Vec<usize> = (0..self.servers.len())
            .filter(|&i| self.servers[i].up && self.servers[i].weight > 0)
            .collect();
        if up.is_empty() {
            return None;
        }
        if self.stick_src {
            if let Some(&s) = self.sticks.get(&client) {
                if up.contains(&s) {
                    return Some((
                        s,
                        format!("stick-table: {client} sticks to {}", self.servers[s].name),
                    ));
                }
            }
        }
        let total: u32 = up.iter().map(|&i| self.servers[i].weight).sum();
        let (s, why) = match self.balance {
            Balance::RoundRobin => {
                // smooth weighted round robin
                let mut best = up[0];
                for &i in &up {
                    self.servers[i].cw += self.servers[i].weight as i64;
                    if self.servers[i].cw > self.servers[best].cw {
                        best = i;
                    }
                }
                self.servers[best].cw -= total as i64;
                (
                    best,
                    format!(
                        "roundrobin over {} UP servers (total weight {total})",
                        up.len()
                    ),
                )
            }
            Balance::LeastConn => {
                // fewest connections per weight; round robin among equals
                let load = |s: &Server| (s.conns as u64 * 1_000_000) / s.weight.max(1) as u64;
                let min = up
                    .iter()
                    .map(|&i| load(&self.servers[i]))
                    .min()
                    .unwrap_or(0);
                let eq: Vec<usize> = up
                    .iter()
                    .copied()
                    .filter(|&i| load(&self.servers[i]) == min)
                    .collect();
                let pick = eq[self.lc_next % eq.len()];
                self.lc_next = self.lc_next.wrapping_add(1);
                (
                    pick,
                    format!(
                        "leastconn: {} has {} connection(s), the fewest",
                        self.servers[pick].name, self.servers[pick].conns
                    ),
                )
            }
            Balance::Source => {
                let mut h: u32 = 0x811c_9dc5;
                for b in client.octets() {
                    h ^= b as u32;
                    h = h.wrapping_mul(0x0100_0193);
                }
                let mut slot = h % total;
                let mut pick = up[0];
                for &i in &up {
                    if slot < self.servers[i].weight {
                        pick = i;
                        break;
                    }
                    slot -= self.servers[i].weight;
                }
                (
                    pick,
                    format!("source: hash of {client} mod total weight {total}"),
                )
            }
            Balance::Random(draws) => {
                let mut best: Option<usize> = None;
                for d in 0..draws.max(1) {
                    let mut pick = up[up.len() - 1];
                    if let Some(sc) = script.as_deref_mut() {
                        let mut remaining = total;
                        for (k, &i) in up.iter().enumerate().take(up.len() - 1) {
                            let w = self.servers[i].weight;
                            let p = w as f64 / remaining as f64;
                            let at = RuleRef {
                                table: TableKind::Nat,
                                chain: format!(
                                    "app:{program} backend {} random draw {} server {}",
                                    self.name,
                                    d + 1,
                                    self.servers[i].name
                                ),
                                rule: k + 1,
                            };
                            let threshold = (p * 2_147_483_648.0).round() as u32;
                            if sc.statistic_random(&at, p, threshold) {
                                pick = i;
                                break;
                            }
                            remaining -= w;
                        }
                    } else {
                        let mut slot = rng.next_u32() % total;
                        for &i in &up {
                            if slot < self.servers[i].weight {
                                pick = i;
                                break;
                            }
                            slot -= self.servers[i].weight;
                        }
                    }
                    best = Some(match best {
                        Some(b) if self.servers[b].conns <= self.servers[pick].conns => b,
                        _ => pick,
                    });
                }
                let b = best.unwrap_or(up[0]);
                (
                    b,
                    format!("random({draws}): {draws} weighted draws, the least loaded"),
                )
            }
        };
        if self.stick_src {
            self.sticks.insert(client, s);
        }
        Some((s, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    fn be(balance: Balance, weights: &[u32]) -> Backend {
        let mut b = Backend::new("be", Mode::Tcp);
        b.balance = balance;
        for (i, w) in weights.iter().enumerate() {
            b.servers.push(Server::new(
                &format!("s{i}"),
                Ipv4Addr::new(10, 0, 0, i as u8 + 1),
                80,
                *w,
                false,
            ));
        }
        b
    }

    #[test]
    fn roundrobin_follows_weights() {
        let mut b = be(Balance::RoundRobin, &[3, 1]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let picks: Vec<usize> = (0..8)
            .map(|_| {
                b.choose(Ipv4Addr::new(1, 1, 1, 1), &mut rng, None, "t")
                    .unwrap()
                    .0
            })
            .collect();
        assert_eq!(picks.iter().filter(|&&p| p == 0).count(), 6);
        assert_eq!(picks, [0, 0, 1, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn down_servers_get_nothing_and_source_is_stable() {
        let mut b = be(Balance::Source, &[1, 1, 1]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c = Ipv4Addr::new(192, 168, 1, 100);
        let first = b.choose(c, &mut rng, None, "t").unwrap().0;
        for _ in 0..5 {
            assert_eq!(b.choose(c, &mut rng, None, "t").unwrap().0, first);
        }
        for s in &mut b.servers {
            s.up = false;
        }
        assert!(b.choose(c, &mut rng, None, "t").is_none());
    }

    #[test]
    fn leastconn_prefers_the_idle_server() {
        let mut b = be(Balance::LeastConn, &[1, 1]);
        b.servers[0].conns = 3;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(
            b.choose(Ipv4Addr::new(1, 1, 1, 1), &mut rng, None, "t")
                .unwrap()
                .0,
            1
        );
    }
}
