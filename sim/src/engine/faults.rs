//! The timeline's faults applied to the world: links down and up, a node
//! down, `conntrack -F`, a process stopped, the control plane's resync
//! after an endpoint goes, a lossy or slow link. Each one leaves a line in
//! the trace's timeline.

use super::{fmt_ppm, Engine, Event};
use crate::app::{App, AppEvent};
use crate::world::{FaultKind, HostResync};

impl Engine {
    /// Applies a fault of the timeline to the world.
    pub(super) fn fault(&mut self, idx: usize) {
        let f = self.world.faults[idx].clone();
        let what = match f.kind {
            FaultKind::LinkDown { host, dev } => self.link_set(host, dev, false),
            FaultKind::LinkUp { host, dev } => self.link_set(host, dev, true),
            FaultKind::NodeDown { host } => self.node_down(host),
            FaultKind::ConntrackFlush { host } => self.conntrack_flush(host),
            FaultKind::ProcessStop { host, app } => self.process_stop(host, app),
            FaultKind::Resync { idx } => self.resync(idx),
            FaultKind::Loss { host, dev, ppm } => self.link_loss(host, dev, ppm),
            FaultKind::Latency { host, dev, ns } => self.link_latency(host, dev, ns),
        };
        self.events_log.push(crate::trace::TraceEvent {
            time_ns: self.now,
            what,
        });
    }

    /// `ip link set DEV up|down`.
    fn link_set(&mut self, host: usize, dev: usize, up: bool) -> String {
        let hosts = &mut self.world.hosts;
        hosts[host].set_link_up(dev, up);
        format!(
            "{}/{} {}",
            hosts[host].name,
            hosts[host].devs[dev].name,
            if up { "up" } else { "down" }
        )
    }

    /// The node stops: every device down.
    fn node_down(&mut self, host: usize) -> String {
        let hosts = &mut self.world.hosts;
        hosts[host].all_links_down();
        format!("{} down (every device)", hosts[host].name)
    }

    /// `conntrack -F`: every entry of the host's table gone.
    fn conntrack_flush(&mut self, host: usize) -> String {
        let hosts = &mut self.world.hosts;
        let n = hosts[host].conntrack_flush();
        format!("{}: conntrack -F ({n} entries)", hosts[host].name)
    }

    /// A process stops: its listening sockets close, and the program hears
    /// SIGTERM.
    fn process_stop(&mut self, host: usize, app: usize) -> String {
        let h = &mut self.world.hosts[host];
        h.close_sockets_of(app);
        let name = format!("{}: {} stopped", h.name, self.world.apps[host][app].name());
        // a daemon hears SIGTERM (keepalived says goodbye)
        self.push(
            self.now,
            Event::App {
                host,
                app,
                ev: AppEvent::Stop,
            },
        );
        name
    }

    /// The control plane's reaction to a change of the cluster's objects:
    /// kube-proxy's rules and IPVS servers, the endpoints pushed to the
    /// programs that learn them, UDP conntrack entries to the endpoint gone.
    fn resync(&mut self, idx: usize) -> String {
        let r = self.world.resyncs[idx].clone();
        let mut rules = Vec::new();
        let mut ipvs = Vec::new();
        let mut apps = Vec::new();
        let mut judges = Vec::new();
        let mut udp = 0;
        for hr in r.hosts {
            self.resync_host(hr, &mut rules, &mut ipvs, (&mut apps, &mut judges));
        }
        if let Some(ep) = r.endpoint {
            for h in self.world.hosts.iter_mut() {
                udp += h.conntrack_delete_udp_dnat_to(ep);
            }
        }
        let mut what = r.what;
        let mut kp = Vec::new();
        if !rules.is_empty() {
            kp.push(format!(
                "its {} on {}",
                if r.hosts_nft {
                    "nftables table"
                } else {
                    "iptables/ipset state"
                },
                rules.join(", ")
            ));
        }
        if !ipvs.is_empty() {
            kp.push(format!("the IPVS real servers on {}", ipvs.join(", ")));
        }
        if !judges.is_empty() {
            // the objects new connections are judged by (kube-network-
            // policies); an established one keeps its verdict (ct label)
            kp.push(format!("its evaluator's objects on {}", judges.join(", ")));
        }
        let agent = &r.agent;
        if agent == "none" {
            what.push_str(": the CNI enforces no NetworkPolicy, no node changes");
        } else if kp.is_empty() {
            what.push_str(&format!(": no {agent} changes"));
        } else {
            what.push_str(&format!(": {agent} updated {}", kp.join(" and ")));
        }
        if !apps.is_empty() {
            what.push_str(&format!("; endpoints pushed to {}", apps.join(", ")));
        }

        if udp > 0 {
            what.push_str(&format!(
                "; {udp} UDP conntrack entries DNATed to it deleted"
            ));
        }
        what
    }

    /// One host's share of a resync: its iptables, nftables, ipsets and
    /// IPVS state replaced, its programs' endpoints updated. Names the host
    /// in `rules` / `ipvs` and the updated programs in `apps`.
    fn resync_host(
        &mut self,
        hr: HostResync,
        rules: &mut Vec<String>,
        ipvs: &mut Vec<String>,
        (apps, judges): (&mut Vec<String>, &mut Vec<String>),
    ) {
        let h = &mut self.world.hosts[hr.host];
        if let Some(notes) = hr.rule_notes {
            // felix's notes belong to the rules it wrote with them
            h.rule_notes = notes;
        }
        if let Some(nf) = hr.iptables {
            h.replace_iptables(nf);
            rules.push(h.name.clone());
        }
        if let Some((nft, text)) = hr.nftables {
            // kube-proxy's transaction replaces its table; the
            // affinity sets' entries stay (nft_dyn)
            h.replace_nftables(nft, text);
            if !rules.contains(&h.name) {
                rules.push(h.name.clone());
            }
        }
        if let Some(sets) = hr.ipsets {
            h.replace_ipsets(sets);
            if !rules.contains(&h.name) {
                rules.push(h.name.clone());
            }
        }
        if let Some(v) = hr.ipvs {
            h.sync_ipvs(v);
            ipvs.push(h.name.clone());
        }
        if let Some((queue, program, listener)) = hr.nfqueue {
            // the program re-reads the objects; started where the node ran
            // none (a cluster without policies runs no evaluator)
            match h.nf_state.nfqueue.get_mut(&queue) {
                Some(b) => b.listener = listener,
                None => {
                    h.nf_state.nfqueue.insert(
                        queue,
                        crate::net::netfilter::nfqueue::QueueBinding {
                            program: program.clone(),
                            copy_range: 128,
                            listener,
                            last_id: 0,
                        },
                    );
                    crate::app::runtime::spawn(
                        h,
                        &mut self.world.apps[hr.host],
                        App::Nfqueue(crate::app::nfqueue::NfqueueProgram {
                            name: program.clone(),
                            queue,
                        }),
                    );
                }
            }
            judges.push(h.name.clone());
        }
        for (ai, new) in hr.apps {
            if let Some(old) = self.world.apps[hr.host].get_mut(ai) {
                if old.update_endpoints(new) {
                    apps.push(format!("{} ({})", h.name, old.name()));
                }
            }
        }
    }

    /// A link starts losing `ppm` of its frames, both directions.
    fn link_loss(&mut self, host: usize, dev: usize, ppm: u32) -> String {
        let hosts = &mut self.world.hosts;
        let mut s = format!(
            "{}/{} link loses {} of frames",
            hosts[host].name,
            hosts[host].devs[dev].name,
            fmt_ppm(ppm)
        );
        if let Some(p) = hosts[host].devs[dev].peer.as_mut() {
            p.loss_ppm = ppm;
            let (ph, pd) = (p.host, p.dev);
            if let Some(back) = hosts[ph].devs[pd].peer.as_mut() {
                back.loss_ppm = ppm;
            }
        } else {
            s.push_str(" (no link: ignored)");
        }
        s
    }

    /// A link's one-way latency becomes `ns`, both directions.
    fn link_latency(&mut self, host: usize, dev: usize, ns: u64) -> String {
        let hosts = &mut self.world.hosts;
        let mut s = format!(
            "{}/{} link latency {} us",
            hosts[host].name,
            hosts[host].devs[dev].name,
            ns / 1000
        );
        if let Some(p) = hosts[host].devs[dev].peer.as_mut() {
            p.latency_ns = ns;
            let (ph, pd) = (p.host, p.dev);
            if let Some(back) = hosts[ph].devs[pd].peer.as_mut() {
                back.latency_ns = ns;
            }
        } else {
            s.push_str(" (no link: ignored)");
        }
        s
    }
}
