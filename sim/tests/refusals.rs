//! Input that cannot mean anything is refused as the real component refuses
//! it (the kernel, iptables-restore, sysctl, the API server), with its words
//! and the place in the file; none of it runs silently.

use podpath_sim::scenario::{load, ScenarioError};

const HEAD: &str = "apiVersion: podpath/v1\nkind: Scenario\nmetadata: {name: x}\n";

fn err(body: &str) -> ScenarioError {
    match load(&format!("{HEAD}{body}"), "bad.yaml", None) {
        Ok(_) => panic!("scenario should not load:\n{body}"),
        Err(e) => e,
    }
}

fn ok(body: &str) {
    if let Err(e) = load(&format!("{HEAD}{body}"), "good.yaml", None) {
        panic!("scenario should load: {e}\n{body}");
    }
}

const TWO: &str = "hosts:\n  a:\n    kind: client\n    devices:\n      eth0: {addrs: [10.0.0.1/24]}\n  b:\n    kind: client\n    devices:\n      eth0: {addrs: [10.0.0.2/24]}\n";

#[test]
fn mtu_bounds_per_device_type() {
    let e = err("hosts:\n  a:\n    kind: client\n    devices:\n      eth0: {mtu: 0}\n");
    assert_eq!((e.line, e.key.as_str()), (8, "hosts.a.devices.eth0.mtu"));
    assert_eq!(
        e.message,
        "'0': expected an integer 68-65535 for a veth device (the kernel: mtu less than device minimum)"
    );
    let e = err("hosts:\n  a:\n    kind: client\n    devices:\n      eth0: {mtu: 70000}\n");
    assert!(e.message.contains("mtu greater than device maximum"), "{e}");
    let e = err("hosts:\n  a:\n    kind: client\n    devices:\n      eth0: {mtu: big}\n");
    assert_eq!(e.key, "hosts.a.devices.eth0.mtu");
    assert!(
        e.message.starts_with("'big': expected an integer 68-65535"),
        "{e}"
    );
    // vxlan: at most 65535 less its headroom, and within its lower device
    let e = err(
        "hosts:\n  a:\n    kind: node\n    devices:\n      vx: {type: vxlan, vni: 1, mtu: 65500}\n",
    );
    assert!(
        e.message
            .contains("expected an integer 68-65485 for a vxlan device"),
        "{e}"
    );
    let e = err("hosts:\n  a:\n    kind: node\n    devices:\n      eth0: {addrs: [10.0.0.1/24]}\n      vx: {type: vxlan, vni: 1, dev: eth0, mtu: 1480}\n");
    assert_eq!(e.key, "hosts.a.devices.vx.mtu");
    assert!(e.message.contains("is more than 1450"), "{e}");
    // dummy devices take any MTU, as the kernel's dummy driver does
    ok("hosts:\n  a:\n    kind: node\n    devices:\n      d0: {type: dummy, mtu: 0}\n");
    ok("hosts:\n  a:\n    kind: node\n    devices:\n      eth0: {mtu: 68}\n      vx: {type: vxlan, vni: 1, mtu: 1450}\n");
}

#[test]
fn durations_that_overflow_the_virtual_clock() {
    let e = err(&format!(
        "{TWO}links:\n  - {{a: a/eth0, b: b/eth0, latency: 6000000h}}\n"
    ));
    assert_eq!(e.key, "links[0].latency");
    assert_eq!(
        e.message,
        "duration '6000000h' overflows the virtual clock: at most 2^62 ns (about 146 years)"
    );
    let e = err(&format!("{TWO}horizon: 1e30s\n"));
    assert_eq!(e.key, "horizon");
    assert!(e.message.contains("overflows the virtual clock"), "{e}");
    let e = err(&format!("{TWO}horizon: soon\n"));
    assert!(
        e.message
            .contains("expected a number and a unit (ns, us, ms, s, m, h)"),
        "{e}"
    );
}

#[test]
fn iptables_targets_only_where_the_kernel_takes_them() {
    let rules = |t: &str| {
        format!(
            "hosts:\n  a:\n    kind: node\n    iptables: |\n{}",
            t.lines()
                .map(|l| format!("      {l}\n"))
                .collect::<String>()
        )
    };
    let e = err(&rules(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT",
    ));
    assert_eq!(e.line, 11);
    assert_eq!(e.key, "hosts.a.iptables");
    assert!(
        e.message.starts_with("MASQUERADE is only valid in table nat, not mangle (the kernel: ip_tables: MASQUERADE target: only valid in nat table, not mangle;"),
        "{e}"
    );
    // a user chain is checked from the hooks that reach it
    let e = err(&rules(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:MYCHAIN - [0:0]\n-A PREROUTING -j MYCHAIN\n-A MYCHAIN -j MASQUERADE\nCOMMIT",
    ));
    assert_eq!(e.line, 12);
    assert!(
        e.message.contains("MASQUERADE in chain MYCHAIN is reached from PREROUTING, but is only usable from POSTROUTING"),
        "{e}"
    );
    let e = err(&rules(
        "*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -j SNAT --to-source 10.0.0.1\nCOMMIT",
    ));
    assert!(
        e.message
            .contains("SNAT in chain OUTPUT is reached from OUTPUT"),
        "{e}"
    );
    let e = err(&rules(
        "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j REJECT\nCOMMIT",
    ));
    assert!(
        e.message
            .contains("REJECT is only valid in table filter, not nat"),
        "{e}"
    );
    let e = err(&rules(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -j REJECT --reject-with tcp-reset\nCOMMIT",
    ));
    assert!(e.message.contains("TCP_RESET invalid for non-tcp"), "{e}");
    // an unreachable user chain has no hooks yet: the kernel takes it
    ok(&rules(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:SPARE - [0:0]\n-A SPARE -j MASQUERADE\nCOMMIT",
    ));
    ok(&rules(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j REJECT --reject-with tcp-reset\nCOMMIT",
    ));
}

#[test]
fn sysctl_values_the_kernel_refuses() {
    let e = err("hosts:\n  a:\n    kind: node\n    sysctl: {net.ipv4.ip_forward: banana}\n");
    assert_eq!(
        (e.line, e.key.as_str()),
        (7, "hosts.a.sysctl.net.ipv4.ip_forward")
    );
    assert_eq!(
        e.message,
        "'banana': sysctl: setting key \"net.ipv4.ip_forward\": Invalid argument (expected an integer)"
    );
    let e = err("hosts:\n  a:\n    kind: node\n    sysctl: {net.ipv4.ip_local_port_range: \"60999 32768\"}\n");
    assert!(e.message.contains("the first not above the second"), "{e}");
    ok("hosts:\n  a:\n    kind: node\n    sysctl: {net.ipv4.ip_forward: true, net.ipv4.conf.all.rp_filter: 2}\n");
}

#[test]
fn flow_counts_are_bounded() {
    let traffic =
        |t: &str| format!("{TWO}traffic:\n  - {{id: t, from: a, ping: {{dst: 10.0.0.2}}, {t}}}\n");
    let e = err(&traffic("count: 100000000"));
    assert_eq!(e.key, "traffic[0].count");
    assert!(
        e.message.starts_with("count 100000000: podpath keeps every flow's trace in memory and runs at most 100000 flows"),
        "{e}"
    );
    // the default horizon is 300 s and the default interval 100 ms: the
    // 3002nd ping would start at 300.1 s
    let e = err(&traffic("count: 5000"));
    assert_eq!(
        e.message,
        "flows 3002-5000 of 't' would start after the horizon (300.000 s) and never run: lower count or interval, or raise horizon"
    );
    let e = err(&traffic("start: 400s"));
    assert!(
        e.message
            .starts_with("flows 1-1 of 't' would start after the horizon"),
        "{e}"
    );
    ok(&traffic("count: 3001"));
}

#[test]
fn expectations_are_checked_when_read() {
    let traffic = |t: &str| {
        format!("{TWO}traffic:\n  - {{id: t, from: a, ping: {{dst: 10.0.0.2}}, expect: {t}}}\n")
    };
    let e = err(&traffic("arrived"));
    assert!(e.message.contains("unknown expectation 'arrived'"), "{e}");
    let e = err(&traffic("{status: 700}"));
    assert!(
        e.message
            .contains("status 700: expected an HTTP status 100-599"),
        "{e}"
    );
    let e = err(&traffic("{dropped: false}"));
    assert!(e.message.contains("'dropped: false' says nothing"), "{e}");
    let e = err(&traffic("{}"));
    assert!(e.message.contains("an empty 'expect' says nothing"), "{e}");
    ok(&traffic("answered"));
    ok(&traffic("{servedBy: b, answered: true}"));
}
