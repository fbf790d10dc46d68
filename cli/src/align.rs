//! Live diffs that compare like with like: when the real kernel's random
//! choices (the `-m statistic` or `numgen` endpoint, an ephemeral port, an
//! ISN) differ from the simulation's, the simulation is re-run with the
//! choices the real run made.
//!
//! Each connection draws its choices from a random stream of its own
//! ([`podpath_sim::world::FlowSpec::streams`]); another stream number gives
//! it other choices and changes nothing else (not the rules, routes or any
//! other connection). For each connection in turn, the streams 1..=
//! [`TRIES`] are tried and the one whose run agrees best with the real
//! captures is kept, when it agrees better than the one before: first the
//! order in which connection requests reached interfaces (which pod each
//! connection went to, connection after connection: a connection aligned
//! extends it even while the next ones still differ), then the frames in
//! common per interface whatever their order, then the interface
//! directions that match, then the frames matched before the first
//! difference. What remains different after that is a true difference: no
//! choice of the random draws explains it.
//!
//! Simplification (named in `podpath explain`): the choices shared by a
//! host rather than drawn per connection (NAT's port allocator,
//! HAProxy's and Envoy's balancing) are not aligned; a connection's
//! choices are aligned one connection at a time (greedily, in the order
//! the connections start).

use std::collections::BTreeMap;

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;
use podpath_sim::world::World;

/// Streams tried per connection (with 2 endpoints, the chance that none of
/// 8 streams picks the real one is 1 in 256).
pub const TRIES: u64 = 8;
/// Connections aligned at most.
pub const MAX_CONNECTIONS: usize = 32;

type Frames = BTreeMap<(String, String, String), Vec<Vec<u8>>>;
type Times = BTreeMap<(String, String, String), Vec<u64>>;

/// The interfaces connection requests (TCP SYNs, inner ones of a tunnel
/// too) arrived on, in the order they arrived: which pod each connection
/// reached, and in which order, whatever the ports and timings.
fn syn_events(frames: &Frames, times: &Times) -> Vec<String> {
    let mut ev: Vec<(u64, String)> = Vec::new();
    for (k, fs) in frames.iter().filter(|(k, _)| k.2 == "in") {
        let ts = times.get(k);
        for (i, b) in fs.iter().enumerate() {
            if crate::diff::normalize(b).text.contains("tcp [S] ") {
                let t = ts.and_then(|t| t.get(i)).copied().unwrap_or(0);
                ev.push((t, format!("{}/{}", k.0, k.1)));
            }
        }
    }
    ev.sort();
    ev.into_iter().map(|(_, k)| k).collect()
}

/// [`syn_events`] of a run: its captures are in the order they happened
/// (frames of one instant in the order the stack handled them).
fn sim_events(t: &Trace) -> Vec<String> {
    t.captures
        .iter()
        .filter(|c| c.dir == podpath_sim::trace::Direction::In)
        .filter(|c| crate::diff::normalize(&c.bytes).text.contains("tcp [S] "))
        .map(|c| format!("{}/{}", c.host, c.dev))
        .collect()
}

/// How many events two sequences share before they part.
fn common_prefix(a: &[String], b: &[String]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The run of `w`, how well it agrees with the real run ([`Score`]) and
/// the number of interface directions.
fn score(w: &World, (real, events): (&Frames, &[String])) -> (Trace, Score, usize) {
    let t = Engine::new(w.clone()).run();
    let sim = crate::diff::sim_captures(&t, &|_| true);
    let r = crate::diff::report(&sim, real.clone());
    let common = crate::diff::overlap(&sim, real);
    let order = common_prefix(&sim_events(&t), events);
    (t, (order, common, r.matched, r.agreed), r.total)
}

/// How well a run agrees with the real one: connection requests reaching
/// the same interfaces in the same order, frames in common, interface
/// directions that match, frames matched before the first difference.
type Score = (usize, usize, usize, usize);

/// `world` with the connections' streams that agree best with `real`, its
/// run, and the connections whose stream changed (`id=N`).
pub fn align(mut world: World, (real, times): (&Frames, &Times)) -> (World, Trace, Vec<String>) {
    let events = syn_events(real, times);
    let real = (real, events.as_slice());
    let (mut trace, mut best, total) = score(&world, real);
    let mut aligned = Vec::new();
    let conns: Vec<(usize, u32)> = world
        .flows
        .iter()
        .enumerate()
        .flat_map(|(i, f)| (0..f.count.max(1)).map(move |k| (i, k)))
        .take(MAX_CONNECTIONS)
        .collect();
    for (i, k) in conns {
        if best.2 == total {
            break;
        }
        let mut kept = None;
        for n in 1..=TRIES {
            let mut w = world.clone();
            let s = &mut w.flows[i].streams;
            if s.len() <= k as usize {
                s.resize(k as usize + 1, 0);
            }
            s[k as usize] = n;
            let (t, sc, _) = score(&w, real);
            if sc > best {
                best = sc;
                kept = Some((w, t, n));
            }
        }
        if let Some((w, t, n)) = kept {
            let f = &w.flows[i];
            let id = if f.count > 1 {
                format!("{}#{}", f.id, k + 1)
            } else {
                f.id.clone()
            };
            aligned.push(format!("{id}={n}"));
            world = w;
            trace = t;
        }
    }
    (world, trace, aligned)
}
