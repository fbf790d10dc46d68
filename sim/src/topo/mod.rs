//! The topology as a graph (petgraph): the layer-2 graph of a world, for
//! the checks a scenario must pass before it runs.
//!
//! podpath's bridges do not run STP (as a Linux bridge with `stp_state 0`,
//! the default): a frame flooded into a loop of bridges and links comes
//! back forever (net/bridge/br_forward.c floods to every port but the one
//! it came in on). So a world with an L2 loop is refused, naming the loop,
//! rather than run into a broadcast storm.

use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::unionfind::UnionFind;

use crate::net::device::DevKind;
use crate::world::World;

/// The layer-2 graph: one node per Ethernet device that can forward or
/// carry frames (veth ends, NICs on wires, bridges), named `host/dev`; an
/// edge per bridge port (port to its master), then an edge per link (veth
/// pair or wire). Edges are added in a fixed order (ports first, then links,
/// hosts and devices as the world lists them), so a loop is always closed by
/// a link, which is what the user can remove.
pub fn l2_graph(world: &World) -> (UnGraph<String, ()>, Vec<(NodeIndex, NodeIndex)>) {
    let mut g = UnGraph::new_undirected();
    let mut idx: Vec<Vec<Option<NodeIndex>>> = Vec::new();
    for h in &world.hosts {
        let row = h
            .devs
            .iter()
            .map(|d| {
                matches!(d.kind, DevKind::Veth | DevKind::Bridge)
                    .then(|| g.add_node(format!("{}/{}", h.name, d.name)))
            })
            .collect();
        idx.push(row);
    }
    let mut ports = Vec::new();
    let mut links = Vec::new();
    for (hi, h) in world.hosts.iter().enumerate() {
        for (di, d) in h.devs.iter().enumerate() {
            let Some(a) = idx[hi][di] else { continue };
            if let Some(Some(b)) = d.master.and_then(|m| idx[hi].get(m)) {
                ports.push((a, *b));
            }
            if let Some(p) = d.peer {
                // each link once, from its lower (host, dev) end
                if (hi, di) < (p.host, p.dev) {
                    if let Some(Some(b)) = idx.get(p.host).map(|r| r.get(p.dev).copied().flatten())
                    {
                        links.push((a, b));
                    }
                }
            }
        }
    }
    ports.extend(links);
    for &(a, b) in &ports {
        g.add_edge(a, b, ());
    }
    (g, ports)
}

/// A loop of the layer-2 graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L2Loop {
    /// The devices around it, `host/dev`, starting and ending at the same one.
    pub path: Vec<String>,
    /// The link whose adding closed the loop (its two ends, `host/dev`).
    pub closed_by: (String, String),
}

impl L2Loop {
    /// `sw1/br0 - sw1/p1 - sw2/p1 - ... - sw1/br0`.
    pub fn describe(&self) -> String {
        self.path.join(" - ")
    }
}

/// The loops of the layer-2 graph. Found with a union-find over the edges
/// in order: an edge between two devices already connected closes a loop,
/// which is that edge plus the (shortest, A*) path between them over the
/// edges seen so far.
pub fn l2_loops(world: &World) -> Vec<L2Loop> {
    let (g, edges) = l2_graph(world);
    let mut uf = UnionFind::<usize>::new(g.node_count());
    let mut seen: UnGraph<(), ()> = UnGraph::new_undirected();
    for _ in 0..g.node_count() {
        seen.add_node(());
    }
    let mut loops = Vec::new();
    for &(a, b) in &edges {
        if !uf.union(a.index(), b.index()) {
            let path = petgraph::algo::astar(&seen, a, |n| n == b, |_| 1, |_| 0)
                .map(|(_, p)| p)
                .unwrap_or_else(|| vec![a, b]);
            let mut names: Vec<String> = path.iter().map(|&n| g[n].clone()).collect();
            names.push(g[a].clone());
            loops.push(L2Loop {
                path: names,
                closed_by: (g[a].clone(), g[b].clone()),
            });
        }
        seen.add_edge(a, b, ());
    }
    loops
}
