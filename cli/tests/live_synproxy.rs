//! SYNPROXY against the real kernel: the recipe of
//! sim/tests/data/tproxy/synproxy-iptables.yaml is built out of two
//! network namespaces (client and server, a veth between them), curl
//! fetches a page through it, the server's veth and loopback are
//! captured, and the same handshake invariants must hold in the
//! kernel's capture and in podpath's trace: the SYN-ACK's ISN is the
//! cookie (not the server's), it acknowledges the client's ISN + 1; the
//! server hears a SYN (no ACK flag) with the client's ISN only after the
//! client's ACK; the proxy's window update acknowledges the client's
//! ISN plus one; the server's data reaches the client in the cookie's
//! sequence space (seqadj). Skipped, with the reason printed, where network
//! namespaces cannot be created.

mod common;

use std::process::Command;

const SCENARIO: &str = include_str!("../../sim/tests/data/tproxy/synproxy-iptables.yaml");

/// One packet of a capture: source, destination, flags, seq, ack.
#[derive(Debug, Clone)]
struct Pkt {
    src: String,
    dst: String,
    flags: String,
    seq: Option<u32>,
    ack: Option<u32>,
}

/// `tcpdump -n -S` lines (and podpath's summaries, which use the same
/// words) as packets.
fn parse(line: &str) -> Option<Pkt> {
    let i = line
        .find("IP ")
        .map(|i| i + 3)
        .or_else(|| line.strip_prefix("TCP ").map(|_| 4))?;
    let rest = &line[i..];
    let (src, rest) = rest.split_once(" > ")?;
    let (dst, rest) = rest.split_once(' ')?;
    let dst = dst.trim_end_matches(':');
    let flags = rest.split('[').nth(1)?.split(']').next()?.to_string();
    let num = |key: &str| {
        rest.split(key)
            .nth(1)
            .and_then(|r| r.split([',', ' ', ':']).next())
            .and_then(|n| n.parse::<u32>().ok())
    };
    // tcpdump writes ports after a dot, podpath after a colon
    let norm = |a: &str| match a.rsplit_once(':') {
        Some((h, p)) => format!("{h}.{p}"),
        None => a.to_string(),
    };
    Some(Pkt {
        src: norm(src),
        dst: norm(dst),
        flags,
        seq: num("seq "),
        ack: num("ack "),
    })
}

/// The invariants, on the server side's packets (`wire`: the veth/eth0,
/// both directions; `lo`: what reaches the server from the proxy).
fn check(wire: &[Pkt], lo: &[Pkt], who: &str) {
    let client = "192.168.1.10";
    let from_client = |p: &&Pkt| p.src.starts_with(client);
    let to_client = |p: &&Pkt| p.dst.starts_with(client);
    let syn = wire
        .iter()
        .find(|p| from_client(p) && p.flags == "S")
        .expect(who);
    let isn = syn.seq.expect(who);
    let synack = wire
        .iter()
        .find(|p| to_client(p) && p.flags == "S.")
        .expect(who);
    let cookie = synack.seq.expect(who);
    assert_eq!(synack.ack, Some(isn.wrapping_add(1)), "{who}: {synack:?}");
    // the server's SYN: the client's ISN, no ACK flag
    let server_syn = lo
        .iter()
        .find(|p| from_client(p) && p.flags == "S")
        .expect(who);
    assert_eq!(server_syn.seq, Some(isn), "{who}: {server_syn:?}");
    // the proxy's window update to the client
    assert!(
        wire.iter()
            .any(|p| to_client(&p) && p.flags == "." && p.ack == Some(isn.wrapping_add(1))),
        "{who}: no window update acknowledging {}: {wire:#?}",
        isn.wrapping_add(1)
    );
    // the server's data in the cookie's space
    let data = wire
        .iter()
        .find(|p| to_client(p) && p.flags == "P.")
        .expect(who);
    assert_eq!(data.seq, Some(cookie.wrapping_add(1)), "{who}: {data:?}");
    println!(
        "{who}: {} packets on the wire, {} on lo; ISN {isn}, cookie {cookie}",
        wire.len(),
        lo.len()
    );
}

/// Deletes the namespaces when the test ends, whatever happens.
struct Netns(Vec<String>);
impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

fn sh(script: &str) -> String {
    let o = Command::new("timeout")
        .args(["60", "sh", "-c", script])
        .output()
        .expect("sh");
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn kernel_capture() -> Result<(Vec<Pkt>, Vec<Pkt>), String> {
    let id = std::process::id() % 10000;
    let (c, s) = (format!("pspc{id}"), format!("psps{id}"));
    let _ns = Netns(vec![c.clone(), s.clone()]);
    let dir = std::env::temp_dir().join(format!("podpath-synproxy-{id}"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("index.html"), "hi\n").map_err(|e| e.to_string())?;
    let rules = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -i vs -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -j CT --notrack\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i vs -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460\n-A INPUT -i vs -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
    std::fs::write(dir.join("rules"), rules).map_err(|e| e.to_string())?;
    let d = dir.display();
    let out = sh(&format!(
        "set -e
ip netns add {c}; ip netns add {s}
ip link add pspv{id}c type veth peer name pspv{id}s
ip link set pspv{id}c netns {c} name vc; ip link set pspv{id}s netns {s} name vs
ip -n {c} addr add 192.168.1.10/24 dev vc; ip -n {c} link set vc up; ip -n {c} link set lo up
ip -n {s} addr add 192.168.1.1/24 dev vs; ip -n {s} link set vs up; ip -n {s} link set lo up
ip netns exec {s} sysctl -q -w net.netfilter.nf_conntrack_tcp_loose=0
ip netns exec {s} iptables-restore < {d}/rules
ip netns exec {s} timeout 20 python3 -m http.server 80 --bind 192.168.1.1 -d {d} >/dev/null 2>&1 &
ip netns exec {s} timeout 10 tcpdump -n -U -i vs -w {d}/vs.pcap tcp >/dev/null 2>&1 &
ip netns exec {s} timeout 10 tcpdump -n -U -i lo -w {d}/lo.pcap tcp >/dev/null 2>&1 &
sleep 2
ip netns exec {c} timeout 5 curl -s -m 4 http://192.168.1.1/
sleep 1
kill %2 %3 2>/dev/null || true
sleep 1
kill %1 2>/dev/null || true
echo done"
    ));
    if !out.contains("hi\n") {
        return Err(format!("curl through the kernel's SYNPROXY failed:\n{out}"));
    }
    let read = |f: &str| -> Vec<Pkt> {
        sh(&format!("tcpdump -n -S -r {d}/{f} 2>/dev/null"))
            .lines()
            .filter_map(parse)
            .collect()
    };
    let r = (read("vs.pcap"), read("lo.pcap"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(r)
}

#[test]
fn synproxy_handshake_matches_the_kernel() {
    // podpath's side first (always runs)
    let w = podpath_sim::scenario::load(SCENARIO, "synproxy-iptables.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    let t = podpath_sim::engine::Engine::new(w).run();
    let hops = t.flows.iter().flat_map(|f| f.hops.iter());
    let (mut wire, mut lo) = (Vec::new(), Vec::new());
    for h in hops.filter(|h| h.host == "web") {
        // as the capture on eth0 sees them: arriving, and leaving by eth0
        if h.in_dev.as_deref() == Some("eth0") {
            wire.extend(parse(&h.before));
        }
        if let Some(a) = &h.after {
            match h.out_dev.as_deref() {
                Some("eth0") => wire.extend(parse(a)),
                Some("lo") => lo.extend(parse(a)),
                _ => {}
            }
        }
    }
    check(&wire, &lo, "podpath");
    if let Some(why) =
        common::netns_unavailable(&["tcpdump", "iptables-restore", "python3", "curl"])
    {
        common::skip("live_synproxy kernel differential test", &why);
        return;
    }
    match kernel_capture() {
        Ok((kwire, klo)) => check(&kwire, &klo, "kernel"),
        Err(e) => panic!("{e}"),
    }
}
