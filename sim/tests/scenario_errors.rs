//! Broken scenarios: each error names the file, the line (and column where
//! there is one), the key, and what was expected. Nothing panics.

mod common;

use podpath_sim::scenario::{load, ScenarioError};

const HEAD: &str = "apiVersion: podpath/v1\nkind: Scenario\nmetadata: {name: x}\n";

fn err(body: &str) -> ScenarioError {
    match load(&format!("{HEAD}{body}"), "bad.yaml", None) {
        Ok(_) => panic!("scenario should not load:\n{body}"),
        Err(e) => e,
    }
}

#[test]
fn bad_yaml() {
    let e = err("hosts: [unclosed\n");
    assert_eq!((e.file.as_str(), e.line), ("bad.yaml", 4));
    assert!(e.to_string().starts_with("bad.yaml:4:"), "{e}");
}

#[test]
fn unknown_key() {
    let e = err("hosts:\n  a:\n    kind: client\n    colour: red\n");
    assert_eq!((e.line, e.column), (7, 5));
    assert!(e.message.contains("unknown field `colour`"), "{e}");
    let e = err("hosts: {}\nlinkz: []\n");
    assert_eq!(e.line, 5);
    assert!(e.message.contains("linkz"), "{e}");
}

#[test]
fn bad_cidr() {
    let e =
        err("hosts:\n  a:\n    kind: client\n    devices:\n      eth0: {addrs: [10.0.0.300/24]}\n");
    assert_eq!(e.line, 8);
    assert_eq!(e.key, "hosts.a.devices.eth0.addrs");
    assert!(e.message.contains("10.0.0.300/24"), "{e}");
}

#[test]
fn unknown_device_in_route() {
    let e = err("hosts:\n  a:\n    kind: client\n    devices:\n      eth0: {addrs: [10.0.0.1/24]}\n    routes:\n      - {dst: default, via: 10.0.0.254, dev: eth9}\n");
    assert_eq!(e.line, 10);
    assert_eq!(e.key, "hosts.a.routes[0].dev");
    assert!(e.message.contains("no device 'eth9'"), "{e}");
}

#[test]
fn gateway_off_subnet() {
    let e = err("hosts:\n  a:\n    kind: client\n    devices:\n      eth0: {addrs: [10.0.0.1/24]}\n    routes:\n      - {dst: default, via: 10.9.0.254, dev: eth0}\n");
    assert_eq!(e.key, "hosts.a.routes[0].via");
    assert!(e.message.contains("onlink"), "{e}");
}

#[test]
fn malformed_iptables_line() {
    let e = err("hosts:\n  a:\n    kind: node\n    iptables: |\n      *filter\n      :INPUT ACCEPT [0:0]\n      -A INPUT -p tcp --dport 99999 -j ACCEPT\n      COMMIT\n");
    assert_eq!((e.line, e.column), (10, 31));
    assert_eq!(e.key, "hosts.a.iptables");
    assert!(e.message.contains("bad port '99999'"), "{e}");
}

#[test]
fn jump_to_missing_chain() {
    let e = err("hosts:\n  a:\n    kind: node\n    iptables: |\n      *nat\n      :FOO - [0:0]\n      -A FOO -j NOWHERE\n      COMMIT\n");
    assert_eq!(e.line, 10);
    assert!(e.message.contains("NOWHERE"), "{e}");
}

#[test]
fn bad_link_and_traffic() {
    let e = err("hosts:\n  a: {kind: client}\nlinks:\n  - {a: a/eth0, b: b/eth0}\n");
    assert_eq!(e.key, "links[0].a");
    assert!(e.message.contains("no device 'eth0'"), "{e}");
    let e = err("hosts:\n  a: {kind: client}\ntraffic:\n  - {id: t, from: z, http: {get: 'http://1.2.3.4/'}}\n");
    assert_eq!(e.key, "traffic[0].from");
    let e = err("hosts:\n  a: {kind: client}\ntraffic:\n  - {id: t, from: a, http: {get: 'http://api.example.com/'}}\n");
    assert!(
        e.message
            .contains("'api.example.com' is a name, and host 'a' has no resolvConf"),
        "{e}"
    );
    let e = err("hosts:\n  a: {kind: client}\ntraffic:\n  - {id: t, from: a, http: {get: 'http://a_b!/'}}\n");
    assert!(
        e.message
            .contains("neither an IPv4 address nor a host name"),
        "{e}"
    );
    let e = err("hosts:\n  a: {kind: client}\ntraffic:\n  - {id: t, from: a, dns: {query: web}}\n");
    assert!(
        e.message
            .contains("no 'server', and host 'a' has no resolvConf"),
        "{e}"
    );
    let e = err("hosts:\n  a: {kind: client, resolvConf: {nameserver: 10.0.0.300}}\n");
    assert_eq!(e.key, "hosts.a.resolvConf.nameserver");
    // curl -4 and -6: one family at a time, and of the literal's family
    let e = err("hosts:\n  a: {kind: client}\ntraffic:\n  - {id: t, from: a, http: {get: 'http://1.2.3.4/', ipv4: true, ipv6: true}}\n");
    assert_eq!(e.key, "traffic[0].http.ipv6");
    assert!(
        e.message.contains("`ipv4: true` and `ipv6: true` together"),
        "{e}"
    );
    let e = err("hosts:\n  a: {kind: client}\ntraffic:\n  - {id: t, from: a, http: {get: 'http://[2001:db8::1]/', ipv4: true}}\n");
    assert_eq!(e.key, "traffic[0].http.ipv4");
    assert!(
        e.message
            .contains("is an IPv6 address: `ipv4: true` (curl -4)"),
        "{e}"
    );
    let e = err("hosts:\n  a: {kind: client}\ntraffic:\n  - {id: t, from: a, http: {get: 'http://1.2.3.4/', ipv6: true}}\n");
    assert_eq!(e.key, "traffic[0].http.ipv6");
}

#[test]
fn wrong_api_version_and_kinds() {
    let Err(e) = load(
        "apiVersion: v2\nkind: Scenario\nmetadata: {name: x}\nhosts: {}\n",
        "f.yaml",
        None,
    ) else {
        panic!("v2 accepted")
    };
    assert_eq!((e.line, e.key.as_str()), (1, "apiVersion"));
    let e = err("hosts:\n  a: {kind: toaster}\n");
    assert!(e.message.contains("unknown host kind"), "{e}");
    let e = err("hosts:\n  a:\n    kind: node\n    sysctl: {net.ipv4.tcp_bogus: 1}\n");
    assert!(e.message.contains("does not model sysctl"), "{e}");
}

/// A seeded mutation fuzzer over the embedded scenario: byte flips, cuts and
/// duplicated lines must give errors or worlds, never panics. (`fuzz/` has
/// the coverage-guided targets; this keeps a cheap version in `cargo test`.)
#[test]
fn mutated_scenarios_never_panic() {
    let base = include_str!("../../scenarios/minikube-service.yaml");
    for (text, _) in common::mutations(base, 1, 300, b" :-/{}[]!0x\"9a") {
        let _ = std::panic::catch_unwind(|| load(&text, "m.yaml", None)).expect("loader panicked");
    }
}

#[test]
fn duplicate_key_is_named_without_library_advice() {
    let e = err("hosts:\n  a:\n    kind: client\n    kind: node\n");
    assert_eq!(e.line, 7);
    assert_eq!(
        e.message,
        "duplicate key 'kind' (each key may appear once in a mapping)"
    );
}

#[test]
fn bad_ipvs_service_and_scheduler() {
    let e = err("hosts:\n  a:\n    kind: node\n    ipvs:\n      - {service: \"icmp 10.0.0.1:80\", reals: []}\n");
    assert_eq!(e.key, "hosts.a.ipvs[0].service");
    assert_eq!(e.line, 8);
    assert!(
        e.message.contains("expected 'tcp|udp|sctp ADDR:PORT'"),
        "{e}"
    );
    let e = err("hosts:\n  a:\n    kind: node\n    ipvs:\n      - {service: \"tcp 10.0.0.1:80\", scheduler: mh, reals: []}\n");
    assert_eq!(e.key, "hosts.a.ipvs[0].scheduler");
    assert!(e.message.contains("expected rr, wrr, lc or sh"), "{e}");
    let e = err("hosts:\n  a:\n    kind: node\n    ipvs:\n      - {service: \"tcp 10.0.0.1:80\", reals: [\"10.1.1.1:80 weight x\"]}\n");
    assert_eq!(e.key, "hosts.a.ipvs[0].reals[0]");
    let e = err("hosts:\n  a:\n    kind: node\n    ipset: |\n      add NOPE 1.2.3.4\n");
    assert_eq!(e.key, "hosts.a.ipset");
}

/// Two programs on one port: EADDRINUSE at the second one's `listen`, for
/// TCP and UDP alike (each protocol has its own ports).
#[test]
fn a_port_bound_twice_is_eaddrinuse() {
    let host = |apps: &str| {
        format!("hosts:\n  a:\n    kind: pod\n    devices:\n      eth0: {{addrs: [10.0.0.1/24]}}\n    apps:\n{apps}")
    };
    let http = |name: &str| {
        format!("      - kind: http-server\n        name: {name}\n        listen: \":80\"\n        routes:\n          /: {{body: x}}\n")
    };
    let dns = |name: &str| {
        format!("      - kind: dns-server\n        name: {name}\n        listen: \":53\"\n        records: {{a.example: 1.2.3.4}}\n")
    };
    let e = err(&host(&format!("{}{}", http("one"), http("two"))));
    assert_eq!(e.key, "hosts.a.apps[1].listen", "{e}");
    assert_eq!(e.message, "port 80 is already bound on a (EADDRINUSE)");
    assert_eq!(e.line, 17, "{e}");
    let e = err(&host(&format!("{}{}", dns("one"), dns("two"))));
    assert_eq!(e.message, "UDP port 53 is already bound on a (EADDRINUSE)");
    // TCP 53 and UDP 53 are different sockets
    let ok = format!(
        "{HEAD}{}traffic: []\n",
        host(&format!(
            "{}{}",
            dns("udp"),
            http("tcp").replace("\":80\"", "\":53\"")
        ))
    );
    assert!(load(&ok, "ok.yaml", None).is_ok());
}

#[test]
fn bad_sctp_traffic() {
    let hosts =
        "hosts:\n  a:\n    kind: client\n    devices:\n      eth0: {addrs: [10.0.0.1/24]}\n";
    let e = err(&format!(
        "{hosts}traffic:\n  - {{id: s, from: a, sctp: {{dst: \"10.0.0.2\"}}}}\n"
    ));
    assert_eq!(e.key, "traffic[0].sctp.dst");
    assert_eq!(e.line, 10);
    assert!(e.message.contains("'10.0.0.2' is not ADDR:PORT"), "{e}");
    let e = err(&format!(
        "{hosts}traffic:\n  - {{id: s, from: a, sctp: {{dst: \"10.0.0.2:0\"}}}}\n"
    ));
    assert!(e.message.contains("bad port '0': expected 1-65535"), "{e}");
    let e = err(&format!(
        "{hosts}traffic:\n  - {{id: s, from: a, sctp: {{dst: \"10.0.0.2:9\"}}, ping: {{dst: 10.0.0.2}}}}\n"
    ));
    assert!(
        e.message
            .contains("exactly one of 'http', 'dns', 'ping' or 'sctp'"),
        "{e}"
    );
}
