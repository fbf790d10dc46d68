//! Snapshot bundles: a bundle taken from real namespaces (the hairpin
//! topology, captured by `podpath live --netns --bundle-out`) replays to the
//! same path; broken bundles give errors naming the file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use podpath_sim::engine::Engine;
use podpath_sim::scenario::bundle;
use podpath_sim::trace::Action;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bundles/hairpin")
}

fn fs_reader(p: &str) -> Result<String, bundle::ReadError> {
    std::fs::read_to_string(dir().join(p)).map_err(|e| bundle::ReadError::Io {
        path: p.to_string(),
        source: e,
    })
}

#[test]
fn real_hairpin_snapshot_replays_with_kernel_state() {
    let (world, warnings) = bundle::load(&fs_reader, "hairpin", 1).unwrap();
    // The kernel's own MACs, hairpin flag and routes came through.
    let node = &world.hosts[0];
    assert_eq!(node.name, "node");
    let veth = &node.devs[node.dev_index("veth-a").unwrap()];
    assert!(veth.hairpin);
    assert_eq!(node.devs[veth.master.unwrap()].name, "cni0");
    assert!(node.sysctl.bridge_nf_call_iptables() && node.sysctl.ip_forward());
    assert!(node.nf.rule_count() > 10);
    // Nothing is left out: the broadcast routes of table local are kept.
    assert!(warnings.is_empty(), "{warnings:?}");
    let bcast = node.fib.tables[&podpath_sim::net::fib::TABLE_LOCAL]
        .values()
        .flatten()
        .filter(|r| r.rtype == podpath_sim::net::fib::RouteType::Broadcast)
        .count();
    assert_eq!(bcast, 2);
    let t = Engine::new(world).run();
    let f = &t.flows[0];
    assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
    assert!(f
        .hops
        .iter()
        .any(|h| h.host == "node" && h.steps.iter().any(|s| s.what.contains("(hairpin)"))));
    assert!(f.hops.iter().any(|h| h
        .steps
        .iter()
        .any(|s| matches!(&s.action, Action::Dnat { to, .. } if to == "10.244.0.5:8080"))));
}

fn with(files: &[(&str, &str)]) -> impl Fn(&str) -> Result<String, bundle::ReadError> {
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    for f in [
        "bundle.json",
        "node/ip-link.json",
        "node/ip-addr.json",
        "node/ip-route.json",
        "node/ip-rule.json",
        "node/ip-neigh.json",
        "node/bridge-fdb.json",
        "node/iptables-save.txt",
        "node/sysctl.txt",
    ] {
        if let Ok(t) = std::fs::read_to_string(dir().join(f)) {
            m.insert(f.to_string(), t);
        }
    }
    m.insert(
        "bundle.json".into(),
        r#"{"format":"podpath-snapshot/1","hosts":["node"],"links":[],"flows":[],"apps":[]}"#
            .into(),
    );
    for (k, v) in files {
        m.insert(k.to_string(), v.to_string());
    }
    move |p: &str| {
        m.get(p)
            .cloned()
            .ok_or_else(|| bundle::ReadError::NotFound(p.to_string()))
    }
}

#[test]
fn broken_bundles_name_the_file_and_line() {
    let r = with(&[(
        "node/ip-route.json",
        "[{\"dst\": \"10.0.0.0/8\",\n \"dev\": }]",
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!((e.file.as_str(), e.line), ("node/ip-route.json", 2), "{e}");
    let r = with(&[("bundle.json", r#"{"format":"other/2","hosts":["node"]}"#)]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert!(e.message.contains("podpath-snapshot/1"), "{e}");
    let r = with(&[(
        "node/iptables-save.txt",
        "*nat\n:X - [0:0]\n-A X -j NOWHERE\nCOMMIT\n",
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!(
        (e.file.as_str(), e.line),
        ("node/iptables-save.txt", 3),
        "{e}"
    );
    let r = with(&[(
        "bundle.json",
        r#"{"format":"podpath-snapshot/1","hosts":["node"],"links":[{"a":"node/eth9","b":"node/veth-a"}]}"#,
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert!(e.message.contains("no interface 'eth9'"), "{e}");
    let r = with(&[("node/sysctl.txt", "")]);
    assert!(bundle::load(&r, "b", 0).is_ok());
    let r = |p: &str| {
        if p == "bundle.json" {
            Ok(r#"{"format":"podpath-snapshot/1","hosts":["x"]}"#.to_string())
        } else {
            Err(bundle::ReadError::NotFound(p.to_string()))
        }
    };
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!(e.file, "x/ip-link.json", "{e}");
}

#[test]
fn unsupported_devices_and_apps_are_warned_about() {
    let link = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00"},
 {"ifindex":5,"ifname":"wg0","flags":["UP"],"mtu":1420,"link_type":"none","linkinfo":{"info_kind":"wireguard"}}]"#;
    let r = with(&[
        ("node/ip-link.json", link),
        ("node/ip-addr.json", "[]"),
        ("node/ip-route.json", "[]"),
        ("node/bridge-fdb.json", "[]"),
        (
            "bundle.json",
            r#"{"format":"podpath-snapshot/1","hosts":["node"],"apps":[{"host":"node","kind":"squid","config":"node/squid.conf"}]}"#,
        ),
    ]);
    let (_, w) = bundle::load(&r, "b", 0).unwrap();
    assert!(
        w.iter().any(|x| x.contains("node/ip-link.json")
            && x.contains("wg0")
            && x.contains("wireguard")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|x| x.contains("squid") && x.contains("not modelled")),
        "{w:?}"
    );
}

/// bundle.json is read key by key: an unknown key (a typo such as `flow`
/// for `flows`) or a value of the wrong type is an error naming the key,
/// its line and what was expected; a route dump without the local table
/// gets a warning naming the command that writes a complete one.
#[test]
fn bundle_keys_and_types_are_checked() {
    let r = with(&[(
        "bundle.json",
        "{\"format\":\"podpath-snapshot/1\",\"hosts\":[\"node\"],\n \"flow\":[]}",
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!((e.file.as_str(), e.line), ("bundle.json", 2), "{e}");
    assert!(
        e.message
            .starts_with("unknown field `flow`, expected one of"),
        "{e}"
    );
    assert!(e.message.contains("`flows`"), "{e}");
    let r = with(&[(
        "bundle.json",
        "{\"format\":\"podpath-snapshot/1\",\"hosts\":[\"node\"],\"flows\":[\n {\"from\":\"node\",\"dst\":5}]}",
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!(e.key, "flows[0].dst", "{e}");
    assert_eq!(e.line, 2, "{e}");
    assert!(
        e.message
            .contains("invalid type: integer `5`, expected a string"),
        "{e}"
    );
    let r = with(&[(
        "bundle.json",
        r#"{"format":"podpath-snapshot/1","hosts":["node"],"flows":[{"from":"node","dst":"10.0.0.1:80","request":"HTTP GET / Host: x","proto":"udp"}]}"#,
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert!(
        e.message
            .contains("flows[0].proto: 'udp', but request 'HTTP GET / Host: x' is sent over tcp"),
        "{e}"
    );
    // a route whose "dst" is not a string, as `ip -j route` never writes
    let r = with(&[("node/ip-route.json", r#"[{"dst": 5, "dev": "lo"}]"#)]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!(
        (e.file.as_str(), e.key.as_str()),
        ("node/ip-route.json", "[0].dst"),
        "{e}"
    );
    assert!(e.message.contains("5 is not a string"), "{e}");
    // the main table only (`ip -j route show`): loads, with a warning
    let main_only = std::fs::read_to_string(dir().join("node/ip-route.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&main_only).unwrap();
    let kept: Vec<&serde_json::Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["table"].as_str() != Some("local"))
        .collect();
    assert!(kept.len() < v.as_array().unwrap().len());
    let main_only = serde_json::to_string(&kept).unwrap();
    let r = with(&[("node/ip-route.json", &main_only)]);
    let (_, w) = bundle::load(&r, "b", 0).unwrap();
    assert!(
        w.iter().any(
            |x| x.contains("node/ip-route.json: no route of table local")
                && x.contains("`ip -j route show table all`")
        ),
        "{w:?}"
    );
    let (_, w) = bundle::load(&with(&[]), "b", 0).unwrap();
    assert!(!w.iter().any(|x| x.contains("table local")), "{w:?}");
}

/// The hairpin bundle with three flows: without `start` each runs when the
/// one before has ended (as a script of curl calls does), so no packet of
/// a flow comes before the previous flow's last answer; with `start: 0` on
/// each they are sent at once.
#[test]
fn bundle_flows_run_one_after_another_unless_they_give_a_start() {
    let flows = |start: &str| {
        let f = |id: &str| {
            format!(
                r#"{{"id":"{id}","from":"pod","proto":"tcp","dst":"10.96.0.30:80","request":"HTTP GET / Host: 10.96.0.30"{start}}}"#
            )
        };
        format!(
            r#"{{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{{"a":"node/veth-a","b":"pod/eth0"}}],"flows":[{},{},{}],"apps":[{{"host":"pod","kind":"http-server","listen":"0.0.0.0:8080","routes":{{"/":{{"body":"me"}}}}}}]}}"#,
            f("a"),
            f("b"),
            f("c")
        )
    };
    let run = |doc: String| {
        let read = move |p: &str| {
            if p == "bundle.json" {
                Ok(doc.clone())
            } else {
                fs_reader(p)
            }
        };
        let (world, _) = bundle::load(&read, "seq", 1).unwrap();
        let t = Engine::new(world).run();
        for f in &t.flows {
            assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
        }
        // (first packet, last packet carrying the HTTP answer) in the run's
        // capture order: links here have no latency, so order, not time,
        // tells
        let times = |id: &str| -> (usize, usize) {
            let of: Vec<(usize, &podpath_sim::trace::Capture)> = t
                .captures
                .iter()
                .enumerate()
                .filter(|(_, c)| c.flow == id && c.host == "pod")
                .collect();
            let answer = of
                .iter()
                .rfind(|(_, c)| c.bytes.windows(12).any(|w| w == b"HTTP/1.1 200"))
                .map(|(i, _)| *i)
                .unwrap();
            (of[0].0, answer)
        };
        ["a", "b", "c"].map(times)
    };
    let seq = run(flows(""));
    // b's first packet after a's answer, c's after b's
    assert!(seq[1].0 > seq[0].1, "{seq:?}");
    assert!(seq[2].0 > seq[1].1, "{seq:?}");
    // at once: b's SYN goes out before a is over
    let at_once = run(flows(r#","start":0"#));
    assert!(at_once[1].0 < at_once[0].1, "{at_once:?}");
    assert!(at_once[2].0 < at_once[1].1, "{at_once:?}");
}

/// The hairpin bundle with keepalived holding a VIP on the node's cni0
/// and HAProxy bound to it in front of the Service: the programs start
/// from their config files in the bundle, the flow waits for keepalived
/// to become MASTER (`start`), goes VIP:8000 -> HAProxy ->
/// the pod; a refused config names its file and line.
#[test]
fn bundle_runs_haproxy_on_a_keepalived_vip() {
    let keepalived = "vrrp_instance VI_1 {\n state MASTER\n interface cni0\n virtual_router_id 51\n priority 100\n advert_int 1\n virtual_ipaddress {\n  10.244.0.100/24\n }\n}\n";
    let haproxy = "defaults\n mode tcp\n timeout connect 5s\n timeout client 50s\n timeout server 50s\nfrontend vip\n bind 10.244.0.100:8000\n default_backend svc\nbackend svc\n server s1 10.244.0.5:8080\n";
    let doc = r#"{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{"a":"node/veth-a","b":"pod/eth0"}],
      "apps":[{"host":"pod","kind":"http-server","listen":"0.0.0.0:8080","routes":{"/":{"body":"me"}}},
              {"host":"node","kind":"keepalived","config":"node/keepalived.conf"},
              {"host":"node","kind":"haproxy","config":"node/haproxy.cfg"}],
      "flows":[{"id":"vip","from":"pod","proto":"tcp","dst":"10.244.0.100:8000","request":"HTTP GET / Host: vip","start":5}]}"#;
    let files = |cfg: &'static str| {
        move |p: &str| match p {
            "bundle.json" => Ok(doc.to_string()),
            "node/keepalived.conf" => Ok(keepalived.to_string()),
            "node/haproxy.cfg" => Ok(cfg.to_string()),
            _ => fs_reader(p),
        }
    };
    let (world, _) = bundle::load(&files(haproxy), "vip", 1).unwrap();
    let t = Engine::new(world).run();
    let f = t.flows.iter().find(|f| f.id == "vip").unwrap();
    assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
    // the answer came from the pod through HAProxy's own connection
    assert_eq!(f.response_body.as_deref(), Some("me"), "{f:?}");
    assert!(f.hops.iter().any(|h| h.host == "node"
        && h.steps
            .iter()
            .any(|s| s.what.contains("connect() from 10.244.0.1:"))));
    let bad = "frontend vip\n bind 10.244.0.100:8000\n nonsense here\n";
    let Err(e) = bundle::load(&files(bad), "vip", 1) else {
        panic!("a bad haproxy.cfg loaded")
    };
    let e = e.to_string();
    assert!(e.starts_with("node/haproxy.cfg:3:"), "{e}");
}

/// `segments`: two namespaces plugged into one switch (a bridge with a port
/// per member), as a snapshot of namespaces on a shared bridge records
/// them; a UDP DNS query crosses it, and a member naming a missing
/// interface is an error naming the segment's key.
#[test]
fn bundle_segments_are_switches() {
    let link = |ifname: &str, mac: &str| {
        format!(
            r#"[{{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00"}},
{{"ifindex":2,"ifname":"{ifname}","flags":["BROADCAST","UP"],"mtu":1500,"link_type":"ether","address":"{mac}","linkinfo":{{"info_kind":"veth"}}}}]"#
        )
    };
    let addr = |ifname: &str, a: &str| {
        format!(
            r#"[{{"ifindex":1,"ifname":"lo","addr_info":[{{"family":"inet","local":"127.0.0.1","prefixlen":8}}]}},
{{"ifindex":2,"ifname":"{ifname}","addr_info":[{{"family":"inet","local":"{a}","prefixlen":24}}]}}]"#
        )
    };
    let route = |ifname: &str, a: &str| {
        format!(
            r#"[{{"dst":"10.9.0.0/24","dev":"{ifname}","protocol":"kernel","scope":"link","prefsrc":"{a}"}},
{{"type":"local","dst":"{a}","table":"local","dev":"{ifname}","protocol":"kernel","scope":"host","prefsrc":"{a}"}}]"#
        )
    };
    let doc = |member: &str| {
        format!(
            r#"{{"format":"podpath-snapshot/1","hosts":["a","b"],"segments":[{{"name":"lan","bridge":"br-lan","members":["a/eth0","{member}"]}}],
 "apps":[{{"host":"b","kind":"dns-server","listen":"0.0.0.0:53","records":{{"x.test":"10.9.0.99"}}}}],
 "flows":[{{"id":"q","from":"a","proto":"udp","dst":"10.9.0.2:53","request":"DNS A x.test"}}]}}"#
        )
    };
    let files = |member: &'static str| {
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        m.insert("bundle.json".into(), doc(member));
        for (h, ifn, mac, a) in [
            ("a", "eth0", "02:00:00:00:00:0a", "10.9.0.1"),
            ("b", "eth1", "02:00:00:00:00:0b", "10.9.0.2"),
        ] {
            m.insert(format!("{h}/ip-link.json"), link(ifn, mac));
            m.insert(format!("{h}/ip-addr.json"), addr(ifn, a));
            m.insert(format!("{h}/ip-route.json"), route(ifn, a));
            m.insert(format!("{h}/bridge-fdb.json"), "[]".into());
            m.insert(format!("{h}/ip-neigh.json"), "[]".into());
            m.insert(format!("{h}/iptables-save.txt"), String::new());
            m.insert(format!("{h}/sysctl.txt"), String::new());
            m.insert(format!("{h}/ip-rule.json"), r#"[{"priority":0,"src":"all","table":"local"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]"#.into());
        }
        move |p: &str| {
            m.get(p)
                .cloned()
                .ok_or_else(|| bundle::ReadError::NotFound(p.to_string()))
        }
    };
    let (world, w) = bundle::load(&files("b/eth1"), "seg", 1).unwrap();
    let sw = world.hosts.iter().find(|h| h.name == "lan").unwrap();
    assert_eq!(sw.devs[1].name, "br-lan");
    let t = Engine::new(world).run();
    assert!(
        t.flows[0].outcome.contains("10.9.0.99"),
        "{} {w:?}",
        t.flows[0].outcome
    );
    assert!(t.flows[0].hops.iter().any(|h| h.host == "lan"));
    let Err(e) = bundle::load(&files("b/eth9"), "seg", 1) else {
        panic!("a member without its interface loaded")
    };
    assert!(
        e.to_string()
            .contains("segments[0].members[1]: no interface 'eth9' on b"),
        "{e}"
    );
}

/// The hairpin bundle with the given flows (JSON objects), the pod's HTTP
/// server, a UDP echo server on the pod's port 7, and `pod_rules` as the
/// pod's iptables-save; the run's trace.
fn hairpin_with(flows: &str, pod_rules: &'static str) -> podpath_sim::trace::Trace {
    let doc = format!(
        r#"{{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{{"a":"node/veth-a","b":"pod/eth0"}}],
 "apps":[{{"host":"pod","kind":"http-server","listen":"0.0.0.0:8080","routes":{{"/":{{"body":"me"}},"/x":{{"body":"posted"}}}}}},
         {{"host":"pod","kind":"udp-echo-server","listen":"0.0.0.0:7"}}],
 "flows":[{flows}]}}"#
    );
    let read = move |p: &str| match p {
        "bundle.json" => Ok(doc.clone()),
        "pod/iptables-save.txt" if !pod_rules.is_empty() => Ok(pod_rules.to_string()),
        _ => fs_reader(p),
    };
    let (world, _) = bundle::load(&read, "keys", 1).unwrap();
    Engine::new(world).run()
}

fn outcome<'a>(t: &'a podpath_sim::trace::Trace, id: &str) -> &'a str {
    &t.flows.iter().find(|f| f.id == id).unwrap().outcome
}

/// Every flow key of DESIGN §5 that podpath honours: the method, header
/// lines and body of an HTTP request go on the wire as given; a pinned
/// source port and a bound source address are used (a foreign address is
/// EADDRNOTAVAIL, as bind() says); `uid` is what `-m owner` sees;
/// `timeout_s` ends a connect that gets no answer; a UDP datagram's bytes
/// come back from an echo server; an ICMP echo carries the id and seq
/// given.
#[test]
fn bundle_flow_keys_are_honoured() {
    let t = hairpin_with(
        r#"{"id":"post","from":"pod","dst":"10.96.0.30:80","request":"HTTP POST /x Host: svc","headers":["Host: svc","X-Trace: 1"],"body":{"length":5,"byte":"z"}},
           {"id":"pinned","from":"pod","dst":"10.96.0.30:80","request":"HTTP GET / Host: svc","src_port_hint":40000,"src":"10.244.0.5"},
           {"id":"foreign","from":"pod","dst":"10.96.0.30:80","request":"HTTP GET / Host: svc","src":"10.244.0.77"},
           {"id":"nobody","from":"pod","dst":"10.244.0.99:80","request":"HTTP GET / Host: x","timeout_s":0.5},
           {"id":"echo","from":"pod","proto":"udp","dst":"10.244.0.5:7","request":"UDP hello there"},
           {"id":"ping","from":"pod","proto":"icmp","dst":"10.244.0.1","request":"ICMP echo id=0x1234 seq=7"}"#,
        "",
    );
    assert!(
        outcome(&t, "post").starts_with("HTTP 200 OK"),
        "{}",
        outcome(&t, "post")
    );
    let wire = |id: &str, needle: &[u8]| {
        t.captures
            .iter()
            .any(|c| c.flow == id && c.bytes.windows(needle.len()).any(|w| w == needle))
    };
    assert!(wire(
        "post",
        b"POST /x HTTP/1.1\r\nHost: svc\r\nX-Trace: 1\r\n\r\nzzzzz"
    ));
    assert!(outcome(&t, "pinned").starts_with("HTTP 200 OK"));
    // the SYN leaves from port 40000 (0x9c40)
    assert!(t.captures.iter().any(|c| c.flow == "pinned"
        && c.host == "pod"
        && c.bytes.len() > 37
        && c.bytes[34..36] == [0x9c, 0x40]));
    assert!(
        outcome(&t, "foreign").contains("EADDRNOTAVAIL"),
        "{}",
        outcome(&t, "foreign")
    );
    assert!(
        outcome(&t, "nobody").starts_with("curl: (28) Operation timed out after 500.000 ms"),
        "{}",
        outcome(&t, "nobody")
    );
    assert!(
        outcome(&t, "echo").contains("11 bytes: hello there"),
        "{}",
        outcome(&t, "echo")
    );
    assert!(
        outcome(&t, "ping").contains("10.244.0.1"),
        "{}",
        outcome(&t, "ping")
    );
    // id 0x1234, seq 7 right after the ICMP type, code and checksum
    assert!(wire("ping", &[0x08, 0x00]) && wire("ping", &[0x12, 0x34, 0x00, 0x07]));

    // a datagram from a raw socket with the node's address forged: the
    // echo goes to the node, whose stack has no such socket
    let t2 = hairpin_with(
        r#"{"id":"forged","from":"pod","proto":"udp","dst":"10.244.0.5:7","request":"UDP knock","src":"10.244.0.1","src_port_hint":4444,"spoofed":true,"timeout_s":0.2}"#,
        "",
    );
    assert!(
        outcome(&t2, "forged").contains("from the forged source 10.244.0.1:4444 (raw socket)"),
        "{}",
        outcome(&t2, "forged")
    );
    // the echo (UDP 7 -> 4444, 0x0007 0x115c) reaches the node
    assert!(t2
        .captures
        .iter()
        .any(|c| c.host == "node" && c.bytes.windows(4).any(|w| w == [0x00, 0x07, 0x11, 0x5c])));

    // -m owner on the pod: uid 1000's connection is rejected, root's is not
    let owner = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -m owner --uid-owner 1000 -j REJECT --reject-with tcp-reset\nCOMMIT\n";
    let t = hairpin_with(
        r#"{"id":"user","from":"pod","dst":"10.96.0.30:80","request":"HTTP GET / Host: svc","uid":1000},
           {"id":"root","from":"pod","dst":"10.96.0.30:80","request":"HTTP GET / Host: svc"}"#,
        owner,
    );
    assert!(
        !outcome(&t, "user").starts_with("HTTP 200"),
        "{}",
        outcome(&t, "user")
    );
    assert!(
        outcome(&t, "root").starts_with("HTTP 200 OK"),
        "{}",
        outcome(&t, "root")
    );
}

/// A `broadcast` route of the snapshot (table local, as the kernel adds it
/// for 10.244.0.0/24): a ping to 10.244.0.255 leaves the pod to
/// ff:ff:ff:ff:ff:ff (no ARP), the node delivers it locally as a broadcast
/// and ignores it (icmp_echo_ignore_broadcasts=1, the default); a UDP
/// datagram to it finds no socket and, a broadcast, gets no ICMP error.
#[test]
fn bundle_broadcast_routes_deliver_locally_as_broadcasts() {
    let t = hairpin_with(
        r#"{"id":"bping","from":"pod","proto":"icmp","dst":"10.244.0.255","request":"ICMP echo id=0x1 seq=1"},
           {"id":"budp","from":"pod","proto":"udp","dst":"10.244.0.255:9","request":"UDP hi","timeout_s":0.2}"#,
        "",
    );
    let f = t.flows.iter().find(|f| f.id == "bping").unwrap();
    let steps: Vec<&str> = f
        .hops
        .iter()
        .filter(|h| h.host == "node")
        .flat_map(|h| h.steps.iter().map(|s| s.what.as_str()))
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("broadcast address of cni0")),
        "{steps:#?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.contains("icmp_echo_ignore_broadcasts=1")),
        "{steps:#?}"
    );
    assert!(t
        .captures
        .iter()
        .any(|c| c.flow == "bping" && c.host == "pod" && c.bytes[0..6] == [0xff; 6]));
    // no echo reply, no port unreachable
    assert!(!t
        .captures
        .iter()
        .any(|c| c.host == "node" && c.bytes.len() > 34 && c.bytes[23] == 1 && c.bytes[34] == 0));
    assert!(!t
        .captures
        .iter()
        .any(|c| c.flow == "budp" && c.bytes.len() > 34 && c.bytes[23] == 1 && c.bytes[34] == 3));
    // -m addrtype sees the broadcast route's address as BROADCAST
    // (inet_addr_type: RTN_BROADCAST of table local)
    let t = hairpin_with(
        r#"{"id":"budp","from":"pod","proto":"udp","dst":"10.244.0.255:9","request":"UDP hi","timeout_s":0.2}"#,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p udp -m addrtype --dst-type BROADCAST -j DROP\nCOMMIT\n",
    );
    assert!(!t.captures.iter().any(|c| c.flow == "budp"));
}

/// An ICMP timestamp query is answered by the node's kernel
/// (icmp_timestamp: type 14, the originate timestamp copied, receive and
/// transmit the time in ms since midnight UT); a plain TCP connect does
/// the handshake and closes with no payload; a spoofed SYN's SYN-ACK goes
/// to the forged address, whose kernel answers RST (no socket); a spoofed
/// ping's reply goes to the forged host; a `udp-listener` receives and
/// does not answer.
#[test]
fn bundle_timestamp_connect_spoofed_and_udp_listener_flows() {
    let doc = r#"{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{"a":"node/veth-a","b":"pod/eth0"}],
 "apps":[{"host":"pod","kind":"http-server","listen":"0.0.0.0:8080","routes":{"/":{"body":"me"}}},
         {"host":"pod","kind":"udp-listener","listen":"0.0.0.0:5353"}],
 "flows":[{"id":"ts","from":"pod","dst":"10.244.0.1","request":"ICMP timestamp id=0x4321 seq=3"},
          {"id":"conn","from":"node","dst":"10.244.0.5:8080"},
          {"id":"closed","from":"node","dst":"10.244.0.5:9"},
          {"id":"syn","from":"node","dst":"10.244.0.5:8080","request":"HTTP GET / Host: x","src":"10.244.0.77","spoofed":true,"timeout_s":0.3},
          {"id":"forged-syn","from":"pod","proto":"tcp","dst":"10.244.0.1:22","request":"HTTP GET / Host: x","src":"10.244.0.5","src_port_hint":4242,"spoofed":true,"timeout_s":0.3},
          {"id":"fping","from":"node","proto":"icmp","dst":"10.244.0.5","request":"ICMP echo id=0x7 seq=1","src":"10.244.0.1","spoofed":true,"timeout_s":0.3},
          {"id":"sink","from":"node","proto":"udp","dst":"10.244.0.5:5353","request":"UDP hello","timeout_s":0.2}]}"#;
    let read = move |p: &str| match p {
        "bundle.json" => Ok(doc.to_string()),
        _ => fs_reader(p),
    };
    let (world, w) = bundle::load(&read, "flows", 1).unwrap();
    assert!(
        w.iter()
            .any(|x| x.contains("udp-listener 5353 runs as a sink")),
        "{w:?}"
    );
    let t = Engine::new(world).run();
    let ts = outcome(&t, "ts");
    assert!(
        ts.starts_with("ICMP timestamp reply from 10.244.0.1: icmp_seq=3"),
        "{ts}"
    );
    // type 14 code 0, id 0x4321 seq 3 on the wire from the node
    assert!(t.captures.iter().any(|c| c.flow == "ts"
        && c.host == "node"
        && c.bytes.len() >= 54
        && c.bytes[34..36] == [14, 0]
        && c.bytes[38..42] == [0x43, 0x21, 0, 3]));
    let conn = outcome(&t, "conn");
    assert!(
        conn.starts_with("connected to 10.244.0.5:8080 in"),
        "{conn}"
    );
    assert!(
        outcome(&t, "closed").contains("connection refused"),
        "{}",
        outcome(&t, "closed")
    );
    let syn = outcome(&t, "syn");
    assert!(
        syn.contains("TCP SYN sent to 10.244.0.5:8080 from the forged source 10.244.0.77"),
        "{syn}"
    );
    // the pod's own address forged towards the node: the node's SYN-ACK
    // comes to the pod, which has no socket for it and answers RST
    let f = t.flows.iter().find(|f| f.id == "forged-syn").unwrap();
    assert!(
        f.hops.iter().any(|h| h.host == "pod"
            && h.steps
                .iter()
                .any(|s| s.what.contains("no socket") && s.what.contains("RST"))),
        "{:#?}",
        f.hops
            .iter()
            .flat_map(|h| h.steps.iter().map(|s| s.what.clone()))
            .collect::<Vec<_>>()
    );
    let fping = outcome(&t, "fping");
    assert!(
        fping.contains(
            "from the forged source 10.244.0.1 (raw socket): no answer can reach the sender"
        ),
        "{fping}"
    );
    let sink = outcome(&t, "sink");
    assert!(
        sink.starts_with("UDP: no answer from 10.244.0.5:5353"),
        "{sink}"
    );
    let sf = t.flows.iter().find(|f| f.id == "sink").unwrap();
    assert!(
        sf.served_app
            .as_deref()
            .is_some_and(|s| s.contains("udp-listener")),
        "{:?}",
        sf.served_app
    );
}

/// DNS query types beyond A against a dns-server (a table of A records,
/// as CoreDNS's kubernetes plugin serves Services): AAAA of a name it
/// holds is an empty NOERROR answer, of a name it lacks NXDOMAIN; PTR of
/// an address it holds (`DNS PTR 10.244.0.5`, asked as dig -x asks)
/// gives the name; SRV and TXT of a held name are empty NOERROR answers.
#[test]
fn bundle_dns_query_types_beyond_a() {
    let doc = r#"{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{"a":"node/veth-a","b":"pod/eth0"}],
 "apps":[{"host":"pod","kind":"dns-server","listen":"0.0.0.0:53","records":{"web.default.svc.cluster.local":"10.244.0.5"}}],
 "flows":[{"id":"aaaa","from":"node","dst":"10.244.0.5:53","request":"DNS AAAA web.default.svc.cluster.local"},
          {"id":"aaaa-nx","from":"node","dst":"10.244.0.5:53","request":"DNS AAAA nope.default.svc.cluster.local"},
          {"id":"ptr","from":"node","dst":"10.244.0.5:53","request":"DNS PTR 10.244.0.5"},
          {"id":"ptr-nx","from":"node","dst":"10.244.0.5:53","request":"DNS PTR 10.244.0.99"},
          {"id":"srv","from":"node","dst":"10.244.0.5:53","request":"DNS SRV web.default.svc.cluster.local"},
          {"id":"a","from":"node","dst":"10.244.0.5:53","request":"DNS A web.default.svc.cluster.local"}]}"#;
    let read = move |p: &str| match p {
        "bundle.json" => Ok(doc.to_string()),
        _ => fs_reader(p),
    };
    let (world, _) = bundle::load(&read, "dns", 1).unwrap();
    let t = Engine::new(world).run();
    let o = |id| outcome(&t, id).to_string();
    assert!(o("aaaa").starts_with("DNS AAAA web.default.svc.cluster.local: no AAAA record (NOERROR, empty answer) from 10.244.0.5"), "{}", o("aaaa"));
    assert!(o("aaaa-nx").contains(": NXDOMAIN from"), "{}", o("aaaa-nx"));
    assert!(
        o("ptr").starts_with(
            "DNS PTR 5.0.244.10.in-addr.arpa -> web.default.svc.cluster.local from 10.244.0.5"
        ),
        "{}",
        o("ptr")
    );
    assert!(o("ptr-nx").contains(": NXDOMAIN from"), "{}", o("ptr-nx"));
    assert!(
        o("srv").contains("no SRV record (NOERROR, empty answer)"),
        "{}",
        o("srv")
    );
    assert!(
        o("a").starts_with("DNS A web.default.svc.cluster.local -> 10.244.0.5"),
        "{}",
        o("a")
    );
    // qtype 28 (AAAA) on the wire, after the question name
    let qname_end = b"\x07cluster\x05local\x00\x00\x1c\x00\x01";
    assert!(t
        .captures
        .iter()
        .any(|c| c.flow == "aaaa" && c.bytes.windows(qname_end.len()).any(|w| w == qname_end)));
}

/// A DNS flow's socket bound as `dig -b ADDR#PORT` binds it, each attempt
/// waiting `timeout_s`; a DNS query from a raw socket with a forged source;
/// a ping socket bound to an address (`ping -I ADDR`), and refused as
/// bind() refuses an address the host does not hold.
#[test]
fn bundle_dns_and_icmp_client_options() {
    let doc = r#"{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{"a":"node/veth-a","b":"pod/eth0"}],
 "apps":[{"host":"pod","kind":"dns-server","listen":"0.0.0.0:53","records":{"web.default.svc.cluster.local":"10.244.0.5"}}],
 "flows":[{"id":"bound","from":"node","dst":"10.244.0.5:53","request":"DNS A web.default.svc.cluster.local","src":"10.244.0.1","src_port_hint":5300},
          {"id":"inuse","from":"pod","dst":"10.244.0.5:53","request":"DNS A web.default.svc.cluster.local","src_port_hint":53},
          {"id":"slow","from":"node","dst":"10.244.0.5:54","request":"DNS A web.default.svc.cluster.local","timeout_s":1},
          {"id":"spoof","from":"node","dst":"10.244.0.5:53","request":"DNS A web.default.svc.cluster.local","src":"10.244.0.77","src_port_hint":4444,"spoofed":true},
          {"id":"ping-i","from":"node","dst":"10.244.0.5","request":"ICMP echo id=0x7 seq=1","src":"10.244.0.1"},
          {"id":"ping-bad","from":"node","dst":"10.244.0.5","request":"ICMP echo id=0x8 seq=1","src":"10.9.9.9"}]}"#;
    let read = move |p: &str| match p {
        "bundle.json" => Ok(doc.to_string()),
        _ => fs_reader(p),
    };
    let (world, _) = bundle::load(&read, "dnsopts", 1).unwrap();
    let t = Engine::new(world).run();
    let o = |id| outcome(&t, id).to_string();
    assert!(
        o("bound").starts_with("DNS A web.default.svc.cluster.local -> 10.244.0.5"),
        "{}",
        o("bound")
    );
    // the query left from the bound port 5300 (UDP source port on the wire)
    let from_5300 = t
        .captures
        .iter()
        .any(|c| c.flow == "bound" && c.bytes.windows(4).any(|w| w == [0x14, 0xb4, 0x00, 0x35]));
    assert!(from_5300, "no query from port 5300");
    assert!(
        o("inuse").contains("bind to port 53: Address already in use (EADDRINUSE)"),
        "{}",
        o("inuse")
    );
    // the server on the pod still answers on port 53 afterwards
    assert!(o("bound").contains("10.244.0.5"));
    // two attempts a second apart, then given up (no one listens on 54)
    let f = t.flows.iter().find(|f| f.id == "slow").unwrap();
    let sends: Vec<u64> = f
        .hops
        .iter()
        .filter(|h| h.host == "node" && h.in_dev.is_none())
        .map(|h| h.time_ns)
        .collect();
    assert_eq!(sends.len(), 2, "{sends:?}");
    assert_eq!(sends[1] - sends[0], 1_000_000_000, "{sends:?}");
    let spoof = o("spoof");
    assert!(spoof.contains("10.244.0.77:4444"), "{spoof}");
    assert!(o("ping-i").contains("from 10.244.0.5"), "{}", o("ping-i"));
    let pi = t.flows.iter().find(|f| f.id == "ping-i").unwrap();
    assert_eq!(pi.hops[0].pkt.src, Some("10.244.0.1".parse().unwrap()));
    assert!(
        o("ping-bad").contains("bind to 10.9.9.9: Cannot assign requested address (EADDRNOTAVAIL)"),
        "{}",
        o("ping-bad")
    );
}

/// What podpath does not model yet is refused by name, never run as
/// something else.
#[test]
fn bundle_flow_keys_not_modelled_are_refused() {
    for (flow, want) in [
        (
            r#"{"from":"pod","dst":"10.244.0.5:53","request":"DNS MX x.test"}"#,
            "DNS MX queries are not modelled yet",
        ),
        (
            r#"{"from":"pod","dst":"10.244.0.1","request":"ICMP timestamp id=0x1 seq=1","src_port_hint":4000}"#,
            "an ICMP query has no port",
        ),
        (
            r#"{"from":"pod","dst":"10.96.0.30:80","request":"HTTP GET /","body":{"length":2,"byte":"xy"}}"#,
            "is not one byte",
        ),
        (
            r#"{"from":"pod","dst":"10.96.0.30:80","request":"HTTP GET /","timeout_s":-1}"#,
            "timeout_s",
        ),
    ] {
        let doc = format!(
            r#"{{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{{"a":"node/veth-a","b":"pod/eth0"}}],"flows":[{flow}]}}"#
        );
        let read = move |p: &str| match p {
            "bundle.json" => Ok(doc.clone()),
            _ => fs_reader(p),
        };
        let Err(e) = bundle::load(&read, "keys", 1) else {
            panic!("{flow} loaded")
        };
        assert!(e.to_string().contains(want), "{flow}: {e}");
    }
}

/// `ipset-save.txt` is loaded before the iptables that use its sets: a
/// rule's `-m set` matches the set's members; without the file the rule's
/// set does not exist, and the bundle is refused as iptables-restore
/// refuses it, naming the line.
#[test]
fn bundle_ipsets_load_before_iptables() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -m set --match-set blocked dst -j REJECT --reject-with tcp-reset\nCOMMIT\n";
    let run = |sets: Option<&'static str>| {
        let doc = r#"{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{"a":"node/veth-a","b":"pod/eth0"}],
 "apps":[{"host":"pod","kind":"http-server","listen":"0.0.0.0:8080","routes":{"/":{"body":"me"}}}],
 "flows":[{"id":"f","from":"pod","dst":"10.96.0.30:80","request":"HTTP GET / Host: svc"}]}"#;
        let read = move |p: &str| match p {
            "bundle.json" => Ok(doc.to_string()),
            "pod/iptables-save.txt" => Ok(rules.to_string()),
            "pod/ipset-save.txt" => sets
                .map(str::to_string)
                .ok_or_else(|| bundle::ReadError::NotFound(p.into())),
            _ => fs_reader(p),
        };
        bundle::load(&read, "sets", 1).map(|(w, _)| Engine::new(w).run())
    };
    let t = run(Some(
        "create blocked hash:ip family inet hashsize 1024 maxelem 65536\nadd blocked 10.96.0.30\n",
    ))
    .unwrap();
    assert!(
        t.flows[0].outcome.contains("connection refused (RST)"),
        "{}",
        t.flows[0].outcome
    );
    let t = run(Some(
        "create blocked hash:ip family inet hashsize 1024 maxelem 65536\nadd blocked 10.1.2.3\n",
    ))
    .unwrap();
    assert!(
        t.flows[0].outcome.starts_with("HTTP 200 OK"),
        "{}",
        t.flows[0].outcome
    );
    let Err(e) = run(None) else {
        panic!("a rule with a missing set loaded")
    };
    assert!(
        e.to_string()
            .starts_with("pod/iptables-save.txt:5:0: Set blocked doesn't exist"),
        "{e}"
    );
}

/// A snapshot taken where iptables-save, bridge or sysctl is not installed
/// lists what it could not write under `missing`: those files read as
/// empty, each with a warning; a file absent without being listed is still
/// an error naming it.
#[test]
fn files_a_snapshot_lists_as_missing_read_as_empty() {
    let files = |listed: &str| {
        let b =
            format!(r#"{{"format":"podpath-snapshot/1","hosts":["node"],"missing":[{listed}]}}"#);
        let inner = with(&[("bundle.json", b.as_str())]);
        move |p: &str| match p {
            "node/iptables-save.txt" | "node/bridge-fdb.json" | "node/sysctl.txt" => {
                Err(bundle::ReadError::NotFound(p.to_string()))
            }
            _ => inner(p),
        }
    };
    let all = r#"{"host":"node","file":"iptables-save.txt","why":"iptables-save is not installed"},
        {"host":"node","file":"bridge-fdb.json","why":"bridge is not installed"},
        {"host":"node","file":"sysctl.txt","why":"sysctl is not installed"}"#;
    let (world, w) = bundle::load(&files(all), "b", 0).unwrap();
    assert_eq!(world.hosts[0].nf.rule_count(), 0);
    assert!(
        w.iter().any(|x| x
            == "node/iptables-save.txt: not in the snapshot (iptables-save is not installed); read as empty"),
        "{w:?}"
    );
    assert_eq!(
        w.iter()
            .filter(|x| x.contains("not in the snapshot"))
            .count(),
        3
    );
    let two = r#"{"host":"node","file":"bridge-fdb.json","why":"bridge is not installed"},
        {"host":"node","file":"sysctl.txt","why":"sysctl is not installed"}"#;
    let e = bundle::load(&files(two), "b", 0).err().unwrap();
    assert_eq!(e.file, "node/iptables-save.txt", "{e}");
    let e = bundle::load(&files(r#"{"host":"node","file":"x"}"#), "b", 0)
        .err()
        .unwrap();
    assert!(e.message.contains("missing field `why`"), "{e}");
}

/// `conntrack.txt` (`conntrack -L`) loads the machine's connections: a
/// packet of a connection the node already tracks, DNATed to the pod, is
/// ESTABLISHED at once and NATed from the entry, without the nat table's
/// rules; `ipvsadm-save.txt` fills the host's IPVS table.
#[test]
fn bundle_conntrack_and_ipvsadm_are_loaded() {
    let ct = "tcp      6 431999 ESTABLISHED src=10.244.0.5 dst=10.96.0.30 sport=40000 dport=80 src=10.244.0.5 dst=10.244.0.5 sport=8080 dport=40000 [ASSURED] mark=0 use=1\nconntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n";
    let ipvs = "-A -t 10.96.0.77:80 -s rr\n-a -t 10.96.0.77:80 -r 10.244.0.5:8080 -m -w 1\n";
    let doc = r#"{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{"a":"node/veth-a","b":"pod/eth0"}],
 "apps":[{"host":"pod","kind":"http-server","listen":"0.0.0.0:8080","routes":{"/":{"body":"me"}}}],
 "flows":[{"id":"mid","from":"pod","dst":"10.96.0.30:80","request":"HTTP GET / Host: svc","src_port_hint":40000}]}"#;
    let read = move |p: &str| match p {
        "bundle.json" => Ok(doc.to_string()),
        "node/conntrack.txt" => Ok(ct.to_string()),
        "node/ipvsadm-save.txt" => Ok(ipvs.to_string()),
        _ => fs_reader(p),
    };
    let (world, w) = bundle::load(&read, "ct", 1).unwrap();
    assert_eq!(world.hosts[0].ipvs.services.len(), 1, "{w:?}");
    assert_eq!(world.hosts[0].ct.len(), 1, "{w:?}");
    let t = Engine::new(world).run();
    let f = &t.flows[0];
    // the SYN's hop on the node (the first with a TCP packet)
    let node_first = f
        .hops
        .iter()
        .find(|h| h.host == "node" && h.steps.iter().any(|s| s.what.contains("tcp src=")))
        .unwrap();
    let texts: Vec<&str> = node_first.steps.iter().map(|s| s.what.as_str()).collect();
    assert!(
        texts
            .iter()
            .any(|s| s.starts_with("ESTABLISHED tcp src=10.244.0.5 dst=10.96.0.30 sport=40000")),
        "{texts:#?}"
    );
    assert!(
        !texts.iter().any(|s| s.contains("KUBE-SERVICES")),
        "{texts:#?}"
    );

    // the same entry dumped as [OFFLOAD] (in a flowtable on the machine):
    // the node has no nft flowtable, so it is an ordinary entry, said in
    // the warnings and at the connection's first packet
    let ct_off = ct.replace("[ASSURED]", "[OFFLOAD] [ASSURED]");
    let read = move |p: &str| match p {
        "bundle.json" => Ok(doc.to_string()),
        "node/conntrack.txt" => Ok(ct_off.clone()),
        _ => fs_reader(p),
    };
    let (world, w) = bundle::load(&read, "ct", 1).unwrap();
    assert!(
        w.iter()
            .any(|x| x.contains("[OFFLOAD]: no flowtable in the nft ruleset: an ordinary entry")),
        "{w:?}"
    );
    let t = Engine::new(world).run();
    let said = t.flows[0]
        .hops
        .iter()
        .filter(|h| h.host == "node")
        .flat_map(|h| &h.steps)
        .filter(|s| s.what.contains("was [OFFLOAD] in the conntrack -L dump"))
        .count();
    assert_eq!(said, 1);
}

/// An `ipvsadm -S` without `-n`: the service's host name comes from the
/// bundle's `etc/hosts`, a real server's from the bundle's own host `pod`
/// (its address); a name neither knows stays unmodelled, said once.
#[test]
fn bundle_ipvsadm_host_names_resolve_from_etc_hosts_and_bundle_hosts() {
    let ipvs = "-A -t lb-vip:http -s rr\n-a -t lb-vip:http -r pod:8080 -m -w 1\n-A -t nowhere:http -s rr\n";
    let doc = r#"{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{"a":"node/veth-a","b":"pod/eth0"}],
 "flows":[]}"#;
    let read = move |p: &str| match p {
        "bundle.json" => Ok(doc.to_string()),
        "etc/hosts" => Ok("127.0.0.1 localhost\n10.96.0.77 lb-vip\n".to_string()),
        "node/ipvsadm-save.txt" => Ok(ipvs.to_string()),
        _ => fs_reader(p),
    };
    let (world, w) = bundle::load(&read, "ipvs-names", 1).unwrap();
    let svc = &world.hosts[0].ipvs.services;
    assert_eq!(svc.len(), 1, "{w:?}");
    assert_eq!(svc[0].vip.to_string(), "10.96.0.77");
    assert_eq!(svc[0].reals.len(), 1, "{w:?}");
    assert!(
        w.iter()
            .any(|x| x.contains("'lb-vip' resolved to 10.96.0.77 from etc/hosts")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|x| x.contains("'pod' resolved to 10.244.0.5 from the bundle's host pod")),
        "{w:?}"
    );
    assert_eq!(
        w.iter()
            .filter(|x| x.contains("host name 'nowhere'"))
            .count(),
        1,
        "{w:?}"
    );
    assert_eq!(svc[0].reals[0].ip.to_string(), "10.244.0.5");
}

/// An http-server's `response`: exactly those bytes answer every request,
/// then the server closes; an HTTP/1.0 answer without Content-Length is
/// read to the connection's end, as curl reads it.
#[test]
fn bundle_http_server_response_is_sent_as_given() {
    let doc = r#"{"format":"podpath-snapshot/1","hosts":["node","pod"],"links":[{"a":"node/veth-a","b":"pod/eth0"}],
 "apps":[{"host":"pod","kind":"http-server","listen":"0.0.0.0:8080","response":"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nhello from 1.0"}],
 "flows":[{"id":"f","from":"pod","dst":"10.96.0.30:80","request":"HTTP GET / Host: svc"}]}"#;
    let read = move |p: &str| match p {
        "bundle.json" => Ok(doc.to_string()),
        _ => fs_reader(p),
    };
    let (world, _) = bundle::load(&read, "raw", 1).unwrap();
    let t = Engine::new(world).run();
    let f = &t.flows[0];
    assert!(f.outcome.starts_with("HTTP 200 OK in "), "{}", f.outcome);
    assert!(f.outcome.ends_with(": hello from 1.0"), "{}", f.outcome);
    assert!(t.captures.iter().any(|c| c
        .bytes
        .windows(27)
        .any(|w| w == b"HTTP/1.0 200 OK\r\nServer: ol")));
}
