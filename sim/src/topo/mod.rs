//! The topology as a graph (petgraph): hosts as nodes, links (veth pairs and
//! wires) as edges labelled with their devices. Used for queries and layout.

use petgraph::graph::{NodeIndex, UnGraph};

use crate::world::World;

/// An undirected graph of the world: node weights are host names, edge
/// weights are `hostA/devA <-> hostB/devB`.
pub fn graph(world: &World) -> UnGraph<String, String> {
    let mut g = UnGraph::new_undirected();
    let nodes: Vec<NodeIndex> = world
        .hosts
        .iter()
        .map(|h| g.add_node(h.name.clone()))
        .collect();
    for (hi, h) in world.hosts.iter().enumerate() {
        for d in &h.devs {
            if let Some(p) = d.peer {
                // each link once: from the lower (host, dev) end
                let other = &world.hosts[p.host];
                if (hi, d.name.as_str()) < (p.host, other.devs[p.dev].name.as_str()) {
                    g.add_edge(
                        nodes[hi],
                        nodes[p.host],
                        format!(
                            "{}/{} <-> {}/{}",
                            h.name, d.name, other.name, other.devs[p.dev].name
                        ),
                    );
                }
            }
        }
    }
    g
}

/// Host names on a shortest path (by link count) between two hosts.
pub fn path(world: &World, from: &str, to: &str) -> Option<Vec<String>> {
    let g = graph(world);
    let a = g.node_indices().find(|&n| g[n] == from)?;
    let b = g.node_indices().find(|&n| g[n] == to)?;
    let (_, p) = petgraph::algo::astar(&g, a, |n| n == b, |_| 1, |_| 0)?;
    Some(p.into_iter().map(|n| g[n].clone()).collect())
}
