//! SCTP against the real kernel's conntrack and NAT
//! (sim/tests/data/sctp/router-dnat.yaml): this machine's kernel has no
//! SCTP sockets (the sctp module is absent: `socket(AF_INET,
//! SOCK_STREAM, IPPROTO_SCTP)` is EPROTONOSUPPORT) but its conntrack
//! tracks SCTP (nf_conntrack_proto_sctp is built in) and its NAT rewrites
//! SCTP ports (nf_nat_proto.c sctp_manip_pkt, CRC32c recomputed). So the
//! association podpath simulates is replayed through it: three network
//! namespaces (client, router, server) built as the scenario says, the
//! router with the scenario's iptables rules; each SCTP packet the
//! simulated client or server sent is sent from a raw socket of the same
//! namespace, in the same order; after each one the router's conntrack
//! entry (/proc/net/nf_conntrack) must be in the state podpath's router
//! was in after the same packet (its timeout within 2 s of the state's),
//! and what arrives at the server and back at the client (tcpdump on
//! their eth0) must be byte for byte the SCTP packets that arrived in the
//! simulation: the DNATed destination and port, the reply's source
//! restored to the service address, the CRC32c the kernel recomputed.
//! Skipped, with the reason printed, where namespaces cannot be made.

mod common;

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};

use podpath_sim::trace::{Action, Direction};
use podpath_sim::wire::{Frame, L4};

const SCENARIO: &str = include_str!("../../sim/tests/data/sctp/router-dnat.yaml");

/// One SCTP packet: who sent it (client or server), the IP addresses,
/// the SCTP bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sctp {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    bytes: Vec<u8>,
}

fn sctp_of(frame: &[u8]) -> Option<Sctp> {
    let f = Frame::parse(frame).ok()?;
    let ip = f.ipv4()?;
    match (&ip.l4, ip.proto()) {
        (L4::Raw(b), 132) => Some(Sctp {
            src: ip.src(),
            dst: ip.dst(),
            bytes: b.clone(),
        }),
        _ => None,
    }
}

/// The simulation: the packets the client and the server sent, in order
/// (host, packet); what arrived at each; the router's conntrack state
/// after each SCTP packet it forwarded.
struct Sim {
    sent: Vec<(&'static str, Sctp)>,
    arrived: [Vec<Sctp>; 2],
    states: Vec<String>,
}

fn simulate() -> Sim {
    let w = podpath_sim::scenario::load(SCENARIO, "router-dnat.yaml", None).unwrap();
    let t = podpath_sim::engine::Engine::new(w).run();
    let f = &t.flows[0];
    assert!(f.disposition.answered(), "{}", f.outcome);
    let mut sent = Vec::new();
    let mut arrived = [Vec::new(), Vec::new()];
    for c in &t.captures {
        let (Some(p), true) = (sctp_of(&c.bytes), &*c.dev == "eth0") else {
            continue;
        };
        match (&*c.host, c.dir) {
            ("client", Direction::Out) => sent.push(("client", p)),
            ("server", Direction::Out) => sent.push(("server", p)),
            ("client", Direction::In) => arrived[0].push(p),
            ("server", Direction::In) => arrived[1].push(p),
            _ => {}
        }
    }
    // a packet that waited for ARP is captured once, when it leaves
    sent.dedup();
    let mut states = Vec::new();
    for h in f.hops.iter().filter(|h| h.host == "router") {
        for s in &h.steps {
            if let Action::Conntrack { state, tuple } = &s.action {
                if tuple.starts_with("sctp") {
                    // the packet that made the entry: NEW in the trace,
                    // the entry itself CLOSED (the INIT's transition)
                    states.push(if state == "NEW" {
                        "CLOSED".to_string()
                    } else {
                        state.clone()
                    });
                }
            }
        }
    }
    Sim {
        sent,
        arrived,
        states,
    }
}

/// The namespaces, deleted when dropped.
struct Lab {
    ns: [String; 3],
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in &self.ns {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

fn sh(ns: &str, cmd: &str) -> String {
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c", cmd])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{ns}: {cmd}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn build() -> Lab {
    let id = std::process::id();
    let lab = Lab {
        ns: [
            format!("pps{id}c"),
            format!("pps{id}r"),
            format!("pps{id}s"),
        ],
    };
    for n in &lab.ns {
        let o = Command::new("ip")
            .args(["netns", "add", n])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let [c, r, s] = &lab.ns;
    sh(
        c,
        &format!("ip link add eth0 type veth peer name eth0 netns {r}"),
    );
    sh(
        r,
        &format!("ip link add eth1 type veth peer name eth0 netns {s}"),
    );
    sh(c, "ip addr add 10.0.1.2/24 dev eth0 && ip link set eth0 up && ip link set lo up && ip route add default via 10.0.1.1");
    sh(r, "ip addr add 10.0.1.1/24 dev eth0 && ip addr add 10.0.2.1/24 dev eth1 && ip link set eth0 up && ip link set eth1 up && ip link set lo up && sysctl -qw net.ipv4.ip_forward=1");
    sh(s, "ip addr add 10.0.2.2/24 dev eth0 && ip link set eth0 up && ip link set lo up && ip route add default via 10.0.2.1");
    // the router's rules, as the scenario gives them
    let doc = podpath_sim::scenario::parse(SCENARIO, "router-dnat.yaml").unwrap();
    let rules = doc.hosts["router"]
        .iptables
        .as_ref()
        .unwrap()
        .value
        .to_string();
    let o = Command::new("ip")
        .args(["netns", "exec", r, "iptables-restore"])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            ch.stdin.take().unwrap().write_all(rules.as_bytes())?;
            ch.wait_with_output()
        })
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // the ends have no SCTP stack: their kernels would answer each packet
    // with ICMP protocol unreachable, which the simulated hosts (with
    // SCTP) do not send
    for n in [c, s] {
        sh(
            n,
            "iptables -A OUTPUT -p icmp --icmp-type protocol-unreachable -j DROP",
        );
    }
    lab
}

/// tcpdump on eth0 of `ns`, SCTP only, once it listens.
fn tcpdump(ns: &str, file: &str) -> Child {
    let mut ch = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "tcpdump",
            "-i",
            "eth0",
            "-U",
            "--immediate-mode",
            "-n",
            "-w",
            file,
            "sctp",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(ch.stderr.take().unwrap());
    let mut line = String::new();
    // tcpdump says "listening on eth0" once the capture runs (bounded:
    // it exits on error, ending the stream)
    while err.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("listening on") {
        line.clear();
    }
    ch
}

/// The router's SCTP entry: (state, [ASSURED], seconds left).
fn router_entry(r: &str) -> Option<(String, bool, u64)> {
    let t = sh(r, "cat /proc/net/nf_conntrack");
    let l = t.lines().find(|l| l.contains(" sctp "))?;
    let w: Vec<&str> = l.split_whitespace().collect();
    // ipv4 2 sctp 132 TIMEOUT STATE src=...
    Some((
        w[5].to_string(),
        l.contains("[ASSURED]"),
        w[4].parse().ok()?,
    ))
}

fn timeout_of(state: &str) -> u64 {
    match state {
        "CLOSED" => 10,
        "COOKIE_WAIT" | "COOKIE_ECHOED" => 3,
        "ESTABLISHED" => 210,
        "HEARTBEAT_SENT" => 30,
        _ => 3,
    }
}

fn read_pcap(file: &str) -> Vec<Sctp> {
    let f = std::fs::File::open(file).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(f).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        if let Some(s) = sctp_of(&p.unwrap().data) {
            out.push(s);
        }
    }
    out
}

#[test]
fn sctp_association_through_real_conntrack_and_nat() {
    let test = "live_sctp::sctp_association_through_real_conntrack_and_nat";
    if let Some(why) = common::netns_unavailable(&["iptables-restore", "tcpdump", "python3"]) {
        common::skip(test, &why);
        return;
    }
    let sim = simulate();
    assert_eq!(sim.sent.len(), 9, "{:?}", sim.sent);
    assert_eq!(sim.states.len(), 9, "{:?}", sim.states);
    let lab = build();
    let [c, r, s] = &lab.ns;
    let dir = std::env::temp_dir().join(format!("podpath-live-sctp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pc = dir.join("c.pcap").to_string_lossy().to_string();
    let ps = dir.join("s.pcap").to_string_lossy().to_string();
    let mut dumps = [tcpdump(c, &pc), tcpdump(s, &ps)];
    let send = "import socket,sys\nk=socket.socket(socket.AF_INET,socket.SOCK_RAW,132)\nk.sendto(bytes.fromhex(sys.argv[1]),(sys.argv[2],0))";
    let mut got = Vec::new();
    for (i, (who, p)) in sim.sent.iter().enumerate() {
        let ns = if *who == "client" { c } else { s };
        let hex: String = p.bytes.iter().map(|b| format!("{b:02x}")).collect();
        let o = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "python3",
                "-c",
                send,
                &hex,
                &p.dst.to_string(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // the router has the packet once its entry moved (bounded wait)
        let want = &sim.states[i];
        let mut entry = None;
        for _ in 0..50 {
            entry = router_entry(r);
            let shown = entry
                .as_ref()
                .map(|(st, a, _)| format!("{st}{}", if *a { " [ASSURED]" } else { "" }));
            if shown.as_deref() == Some(want.as_str()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let (st, assured, left) = entry.unwrap_or_default();
        got.push(format!("{st}{}", if assured { " [ASSURED]" } else { "" }));
        let t = timeout_of(&st);
        assert!(
            left <= t && left + 2 >= t,
            "packet {i}: {st} with {left} s left (the state's timeout is {t} s)"
        );
    }
    eprintln!("the router's states: {got:?}");
    assert_eq!(
        got, sim.states,
        "the router's conntrack states, packet by packet"
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    for d in &mut dumps {
        let _ = Command::new("kill").arg(d.id().to_string()).output();
        let _ = d.wait();
    }
    let real_c = read_pcap(&pc);
    let real_s = read_pcap(&ps);
    assert_eq!(
        (real_c.len(), real_s.len()),
        (9, 9),
        "every packet captured"
    );
    // what arrived at each end: the same SCTP packets (the packets each
    // end sent itself are in its capture too: left out)
    let arrived = |v: &[Sctp], me: Ipv4Addr| -> Vec<Sctp> {
        v.iter().filter(|p| p.dst == me).cloned().collect()
    };
    assert_eq!(
        arrived(&real_s, Ipv4Addr::new(10, 0, 2, 2)),
        sim.arrived[1],
        "at the server: DNATed, CRC32c recomputed"
    );
    assert_eq!(
        arrived(&real_c, Ipv4Addr::new(10, 0, 1, 2)),
        sim.arrived[0],
        "back at the client: the service address restored"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
