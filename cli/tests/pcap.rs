//! The pcapng a run writes: read back with pcap-file, and decoded by tshark
//! (when installed; CI installs it) with every checksum verified.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};

fn write_capture(name: &str) -> PathBuf {
    write_capture_of(name, Some("minikube-service"))
}

fn write_capture_of(name: &str, scenario: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("podpath-pcap-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("run.pcapng");
    let mut args = vec!["run"];
    args.extend(scenario);
    let o = Command::new(env!("CARGO_BIN_EXE_podpath"))
        .args(&args)
        .args(["--pcap", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    f
}

#[test]
fn pcapng_has_one_interface_per_device_nanosecond_times_and_directions() {
    let f = write_capture("read");
    let bytes = std::fs::read(&f).unwrap();
    let mut r = PcapNgReader::new(&bytes[..]).unwrap();
    let mut ifaces: Vec<String> = Vec::new();
    let mut per_iface: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut last_ts = std::time::Duration::ZERO;
    let mut names = 0;
    while let Some(b) = r.next_block() {
        match b.unwrap() {
            Block::InterfaceDescription(idb) => {
                assert!(idb
                    .options
                    .contains(&InterfaceDescriptionOption::IfTsResol(9)));
                let name = idb
                    .options
                    .iter()
                    .find_map(|o| match o {
                        InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .unwrap();
                ifaces.push(name);
            }
            Block::NameResolution(n) => names += n.records.len(),
            Block::EnhancedPacket(p) => {
                assert!(p.timestamp >= last_ts, "timestamps never go back");
                last_ts = p.timestamp;
                let flags = p.options.iter().find_map(|o| match o {
                    EnhancedPacketOption::Flags(f) => Some(*f),
                    _ => None,
                });
                let e = per_iface
                    .entry(ifaces[p.interface_id as usize].clone())
                    .or_default();
                match flags {
                    Some(1) => e.0 += 1,
                    Some(2) => e.1 += 1,
                    other => panic!("direction flags {other:?}"),
                }
                assert!(p.options.iter().any(|o| matches!(o, EnhancedPacketOption::Comment(c) if c.starts_with("flow health#"))));
            }
            _ => {}
        }
    }
    assert_eq!(
        ifaces,
        vec![
            "api-server-26psx/eth0",
            "api-server-nlj5w/eth0",
            "laptop/eth0",
            "minikube/bridge",
            "minikube/eth0",
            "minikube/veth7d04a6b3",
            "minikube/vethc2a1e0f9"
        ]
    );
    assert!(names >= 5, "addresses resolved to host names");
    // What the laptop sends, the node receives, frame for frame.
    assert_eq!(per_iface["laptop/eth0"].1, per_iface["minikube/eth0"].0);
    assert_eq!(per_iface["minikube/eth0"].1, per_iface["laptop/eth0"].0);
    // Virtual time 0 is 2026-01-01T00:00:00Z.
    assert!(last_ts.as_secs() >= 1_767_225_600 && last_ts.as_secs() < 1_767_225_600 + 10);
    std::fs::remove_dir_all(f.parent().unwrap()).unwrap();
}

fn tshark(test: &str) -> Option<&'static str> {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Some("tshark")
    } else {
        common::skip(
            test,
            "tshark is not installed (scripts/test installs it as root: apt-get install tshark)",
        );
        None
    }
}

#[test]
fn tshark_decodes_the_capture_with_valid_checksums_and_no_warnings() {
    let Some(ts) = tshark("pcap::tshark_decodes_the_capture_with_valid_checksums_and_no_warnings")
    else {
        return;
    };
    let f = write_capture("tshark");
    let out = Command::new(ts)
        .args([
            "-r",
            f.to_str().unwrap(),
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
        ])
        .args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "frame.interface_name",
            "-e",
            "ip.checksum.status",
            "-e",
            "tcp.checksum.status",
            "-e",
            "http.request.uri",
            "-e",
            "http.response.code",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let (mut requests, mut responses, mut checked) = (0, 0, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        *count.entry(f[0].to_string()).or_default() += 1;
        if !f[1].is_empty() {
            assert_eq!(f[1], "1", "IP checksum must be good: {line}");
            if !f[2].is_empty() {
                assert_eq!(f[2], "1", "TCP checksum must be good: {line}");
            }
            checked += 1;
        }
        if f[3] == "/health" {
            requests += 1;
        }
        if f[4] == "200" {
            responses += 1;
        }
    }
    assert!(checked > 100);
    // 4 requests and responses, each on laptop/eth0 and minikube/eth0 (port
    // 30080); tshark does not decode the pods' port 8080 as HTTP by default.
    assert_eq!(requests, 4 * 2, "{count:?}");
    // Responses also show on the bridge: br_netfilter has already restored
    // the NodePort source (192.168.49.2:30080) when the frame goes up.
    assert_eq!(responses, 4 * 3, "{count:?}");
    // Every frame a pod sends crosses its veth peer on the node.
    assert_eq!(
        count["api-server-26psx/eth0"],
        count["minikube/vethc2a1e0f9"]
    );
    assert_eq!(
        count["api-server-nlj5w/eth0"],
        count["minikube/veth7d04a6b3"]
    );
    assert_eq!(count["laptop/eth0"], count["minikube/eth0"]);
    let warn = Command::new(ts)
        .args(["-r", f.to_str().unwrap(), "-q", "-z", "expert,warn"])
        .output()
        .unwrap();
    let w = String::from_utf8_lossy(&warn.stdout);
    assert!(!w.contains("Warning"), "tshark warnings:\n{w}");
    std::fs::remove_dir_all(f.parent().unwrap()).unwrap();
}

/// A TUN device (tailscale0) is captured as raw IP (LINKTYPE_RAW), and the
/// WireGuard messages on the underlay decode as WireGuard transport data.
#[test]
fn tshark_decodes_tun_raw_ip_and_wireguard() {
    let Some(ts) = tshark("pcap::tshark_decodes_tun_raw_ip_and_wireguard") else {
        return;
    };
    let f = write_capture_of("wg", Some("headcni-host-mode"));
    let out = Command::new(ts)
        .args(["-r", f.to_str().unwrap(), "-o", "ip.check_checksum:TRUE"])
        .args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "frame.interface_name",
            "-e",
            "frame.protocols",
            "-e",
            "wg.type",
            "-e",
            "wg.counter",
            "-e",
            "ip.checksum.status",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut raw, mut wg) = (0, 0);
    for line in text.lines() {
        let c: Vec<&str> = line.split('|').collect();
        if c[0] == "node-1/tailscale0" {
            assert!(c[1].starts_with("raw:ip:"), "{line}");
            raw += 1;
        }
        if c[2] == "4" {
            assert!(c[1].contains(":udp:wg"), "{line}");
            wg += 1;
        }
        // (an ICMP error quotes an IP header: two statuses)
        for st in c[4].split(',').filter(|x| !x.is_empty()) {
            assert_eq!(st, "1", "IP checksum must be good: {line}");
        }
    }
    assert!(raw >= 10 && wg >= 20, "raw {raw} wg {wg}\n{text}");
    let w = String::from_utf8_lossy(&out.stderr);
    assert!(!w.contains("Warning"), "tshark warnings:\n{w}");
}

/// Every golden pcapng reads in tshark with no warning; its per-interface
/// packet counts are the trace's; in nodeport-vxlan the VXLAN frames on the
/// underlay decode down to the inner TCP packet, and flannel.1 shows the
/// inner packet alone.
#[test]
fn tshark_reads_every_golden_pcapng() {
    let Some(ts) = tshark("pcap::tshark_reads_every_golden_pcapng") else {
        return;
    };
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../golden");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("capture.pcapng").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "{dirs:?}");
    for d in dirs {
        let f = d.join("capture.pcapng");
        let out = Command::new(ts)
            // Linux's VXLAN port 8472 is not the IANA one tshark knows
            .args([
                "-r",
                f.to_str().unwrap(),
                "-o",
                "ip.check_checksum:TRUE",
                "-d",
                "udp.port==8472,vxlan",
            ])
            .args([
                "-T",
                "fields",
                "-E",
                "separator=|",
                "-e",
                "frame.interface_name",
                "-e",
                "vxlan.vni",
                "-e",
                "ip.src",
                "-e",
                "tcp.dstport",
                "-e",
                "ip.checksum.status",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let w = String::from_utf8_lossy(&out.stderr);
        assert!(
            !w.contains("Warning") && !w.contains("appears to be damaged"),
            "{}: {w}",
            f.display()
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for line in text.lines() {
            let c: Vec<&str> = line.split('|').collect();
            *count.entry(c[0].to_string()).or_default() += 1;
            for st in c[4].split(',').filter(|x| !x.is_empty()) {
                assert_eq!(st, "1", "{}: bad IP checksum: {line}", f.display());
            }
        }
        let name = d.file_name().unwrap().to_str().unwrap().to_string();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("trace.json")).unwrap()).unwrap();
        assert_eq!(json["scenario"], name);
        let total: usize = count.values().sum();
        assert!(total > 20, "{name}: {count:?}");
        // per interface, exactly what the simulation captured
        let yaml = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../scenarios/{name}.yaml")),
        )
        .unwrap();
        let world = podpath_sim::scenario::load(&yaml, &name, None).unwrap();
        let trace = podpath_sim::engine::Engine::new(world).run();
        let mut want: BTreeMap<String, usize> = BTreeMap::new();
        for c in &trace.captures {
            *want.entry(format!("{}/{}", c.host, c.dev)).or_default() += 1;
        }
        assert_eq!(count, want, "{name}: tshark's per-interface counts");
        if name == "nodeport-vxlan" {
            // underlay: VNI 1 with the outer and inner source addresses
            let vx: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("node-a/eth0|1|"))
                .collect();
            assert!(!vx.is_empty(), "{text}");
            assert!(
                vx.iter()
                    .any(|l| l.contains("|10.1.1.110,10.244.0.0|9376|")),
                "outer 10.1.1.110, inner 10.244.0.0 -> :9376: {vx:?}"
            );
            // the tunnel device shows the inner packet only
            assert!(text
                .lines()
                .any(|l| l.starts_with("node-a/flannel.1||10.244.0.0|9376|")));
            assert_eq!(count.get("node-a/flannel.1"), count.get("node-b/flannel.1"));
        }
    }
}

/// tshark reads the default scenario's daemons and proxies as the real
/// ones look on the wire: VRRP adverts (TTL 255, group MAC, valid
/// checksum), gratuitous ARP for the VIP, and ingress-nginx's request
/// headers on the way to the pod.
#[test]
fn tshark_decodes_vrrp_garp_and_ingress_headers() {
    let Some(ts) = tshark("pcap::tshark_decodes_vrrp_garp_and_ingress_headers") else {
        return;
    };
    let f = write_capture_of("vrrp", Some("browser-to-pod"));
    let fields = |filter: &str, fields: &[&str]| -> String {
        let mut c = Command::new(ts);
        c.args(["-r", f.to_str().unwrap(), "-Y", filter, "-T", "fields"]);
        for x in fields {
            c.args(["-e", x]);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let v = fields(
        "vrrp",
        &[
            "frame.interface_name",
            "ip.ttl",
            "vrrp.prio",
            "vrrp.checksum.status",
            "vrrp.ip_addr",
            "eth.dst",
        ],
    );
    let first = v.lines().next().expect("VRRP adverts");
    assert_eq!(
        first,
        "ilb-1/eth0\t255\t100\t1\t10.0.0.50\t01:00:5e:00:00:12"
    );
    let g = fields(
        "arp.isgratuitous==1",
        &["frame.interface_name", "arp.src.proto_ipv4"],
    );
    assert_eq!(
        g.lines().filter(|l| *l == "ilb-1/eth0\t10.0.0.50").count(),
        5,
        "{g}"
    );
    let h = fields(
        "http.request and frame.interface_name contains \"cni0\"",
        &["http.request.line"],
    );
    assert!(h.contains("X-Real-IP: 10.0.0.53"), "{h}");
    assert!(h.contains("X-Forwarded-Host: api.example.com"), "{h}");
    let u = fields(
        "http.request and frame.interface_name contains \"cni0\"",
        &["http.request.uri"],
    );
    assert!(u.lines().all(|l| l == "/"), "rewrite-target: {u}");
}

/// The sidecars' mTLS as tshark reads it: a ClientHello with Istio's SNI
/// from productpage's pod, the ServerHello from reviews', then only TLS
/// records on the wire between the pods (no HTTP in clear text).
#[test]
fn tshark_decodes_the_sidecars_tls() {
    let Some(ts) = tshark("pcap::tshark_decodes_the_sidecars_tls") else {
        return;
    };
    let f = write_capture_of("istio", Some("istio-sidecar"));
    let out = Command::new(ts)
        .args([
            "-r",
            f.to_str().unwrap(),
            "-d",
            "tcp.port==9080,tls",
            "-Y",
            "tls.handshake.type",
        ])
        .args([
            "-T",
            "fields",
            "-e",
            "frame.interface_name",
            "-e",
            "tls.handshake.type",
            "-e",
            "tls.handshake.extensions_server_name",
        ])
        .output()
        .unwrap();
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(
        t.lines().any(|l| l == "productpage-v1-6b746f74dc-9stp2/eth0\t1\toutbound_.9080_._.reviews.default.svc.cluster.local"),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l.starts_with("reviews-v1-545db77b95-2kqv6/eth0\t2")),
        "{t}"
    );
    let out = Command::new(ts)
        .args([
            "-r",
            f.to_str().unwrap(),
            "-Y",
            "http and frame.interface_name contains \"eth0\" and tcp.port==9080",
        ])
        .args(["-T", "fields", "-e", "frame.interface_name"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "",
        "HTTP in clear text between the sidecars"
    );
}

/// The ALB scenario on the wire: the pod receives the request from inside
/// the cluster, with the client's address in X-Forwarded-For.
#[test]
fn tshark_sees_x_forwarded_for_at_the_pod() {
    let Some(ts) = tshark("pcap::tshark_sees_x_forwarded_for_at_the_pod") else {
        return;
    };
    let f = write_capture_of("alb", Some("cloud-lb-alb"));
    let out = Command::new(ts)
        .args([
            "-r",
            f.to_str().unwrap(),
            "-Y",
            "http.request and frame.interface_name == \"ip-172-31-0-10/cni0\"",
        ])
        .args(["-T", "fields", "-e", "ip.src", "-e", "http.x_forwarded_for"])
        .output()
        .unwrap();
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.lines().any(|l| l == "10.0.2.1\t1.2.3.4"), "{t}");
}

/// SCTP as tshark reads it (sctp-diameter): every CRC32c good, the MME's
/// association chunk by chunk on its eth0 (INIT, INIT ACK, COOKIE ECHO,
/// COOKIE ACK, DATA, SACK+DATA bundled, SHUTDOWN, SHUTDOWN ACK, SHUTDOWN
/// COMPLETE) with the Service address restored on the replies, the
/// probe's unanswered INIT, and the closed port's INIT answered by ABORT.
#[test]
fn tshark_decodes_sctp_with_good_crc32c() {
    let Some(ts) = tshark("pcap::tshark_decodes_sctp_with_good_crc32c") else {
        return;
    };
    let f = write_capture_of("sctp", Some("sctp-diameter"));
    let out = Command::new(ts)
        .args([
            "-r",
            f.to_str().unwrap(),
            "-o",
            "sctp.checksum:crc-32c",
            "-Y",
            "sctp",
        ])
        .args(["-T", "fields", "-E", "separator=|"])
        .args(["-e", "frame.interface_name", "-e", "sctp.checksum.status"])
        .args([
            "-e",
            "sctp.chunk_type",
            "-e",
            "ip.src",
            "-e",
            "sctp.dstport",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut mme = Vec::new();
    let mut probe = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f[1], "1", "CRC32c must be good: {line}");
        let row = format!("{} {} {}", f[2], f[3], f[4]);
        match f[0] {
            "mme/eth0" => mme.push(row),
            "probe/eth0" => probe.push(row),
            _ => {}
        }
    }
    let assoc: Vec<&str> = mme
        .iter()
        .map(String::as_str)
        .filter(|r| r.ends_with(" 3868") || r.contains(" 10.96.38.68 "))
        .collect();
    let dirs = ["10.244.0.10", "10.96.38.68"];
    let want: Vec<String> = ["1", "2", "10", "11", "0", "3,0", "7", "8", "14"]
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} {}", dirs[i % 2]))
        .collect();
    let got: Vec<String> = assoc
        .iter()
        .map(|r| r.rsplit_once(' ').unwrap().0.to_string())
        .collect();
    assert_eq!(got, want, "{mme:?}");
    // the probe: its INIT to the Service (dropped by the policy), its INIT
    // to the closed port, and that port's ABORT
    assert_eq!(probe.len(), 3, "{probe:?}");
    assert_eq!(probe[0], "1 10.244.0.11 3868");
    assert_eq!(probe[1], "1 10.244.0.11 3869");
    assert!(probe[2].starts_with("6 10.244.0.10 "), "{probe:?}");
    let warn = Command::new(ts)
        .args([
            "-r",
            f.to_str().unwrap(),
            "-o",
            "sctp.checksum:crc-32c",
            "-q",
            "-z",
            "expert,warn",
        ])
        .output()
        .unwrap();
    let w = String::from_utf8_lossy(&warn.stdout);
    assert!(!w.contains("Warning"), "tshark warnings:\n{w}");
    std::fs::remove_dir_all(f.parent().unwrap()).unwrap();
}
