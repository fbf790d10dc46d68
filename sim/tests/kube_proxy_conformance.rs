//! Replays every packet flow of `tests/data/kube-proxy/` (kube-proxy's own test
//! expectations, copied with their provenance: see its README) through the
//! netfilter engine, the way the kernel would walk it, and reduces the result to
//! the vocabulary of kube-proxy's own test tracer (see that directory's README).
//!
//! The walk is the kernel's, not the tracer's: nat PREROUTING with conntrack
//! state NEW; the DNAT (address and port) applied; the routing decision (local
//! when the new destination is one of the node's addresses, or in 127.0.0.0/8)
//! picks filter INPUT or FORWARD, entered through the jump rules kube-proxy
//! installs; an accepted packet then runs nat POSTROUTING, where MASQUERADE
//! fires when KUBE-MARK-MASQ marked it. Each `statistic` branch is forced in
//! turn, so every endpoint a Service can pick is reached. The test fails if any
//! flow disagrees, or if any case listed in index.json was not replayed.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use podpath_sim::net::netfilter::ScriptChooser;
use podpath_sim::net::netfilter::{
    addrtype, ctbits, AddrClass, EvalEnv, NfPacket, NfState, Ruleset, TableKind, Target, Verdict,
};
use serde_json::Value;

fn conformance_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.join("tests/data/kube-proxy")
}

struct NodeAddrs {
    local: BTreeSet<Ipv4Addr>,
}

impl AddrClass for NodeAddrs {
    fn addr_type(&self, a: Ipv4Addr, _dev: Option<&str>) -> u16 {
        // The node's local routing table: its own addresses and 127.0.0.0/8.
        if self.local.contains(&a) || a.octets()[0] == 127 {
            addrtype::LOCAL
        } else {
            addrtype::UNICAST
        }
    }
}

/// The filter-table jump rules kube-proxy installs outside its restore payload
/// (pkg/proxy/iptables/proxier.go `iptablesJumpChains`), in the order they end
/// up in a node's INPUT/FORWARD/OUTPUT chains.
const FILTER_JUMPS: &[(&str, &str)] = &[
    ("INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL"),
    ("INPUT", "-m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS"),
    ("INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES"),
    ("FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL"),
    ("FORWARD", "-m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"),
    ("FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES"),
];

/// The chains whose verdicts kube-proxy's tracer reports.
const ORACLE_CHAINS: &[&str] = &[
    "KUBE-SERVICES",
    "KUBE-EXTERNAL-SERVICES",
    "KUBE-NODEPORTS",
    "KUBE-PROXY-FIREWALL",
];

#[derive(Debug, Default)]
struct BranchResult {
    dnat: Option<String>,
    verdict: Option<String>,
    masquerade: bool,
}

fn run_branch(
    rs: &Ruleset,
    flow: &Value,
    node: &NodeAddrs,
    script: Vec<bool>,
) -> (BranchResult, Vec<bool>) {
    let proto = match flow["protocol"].as_str().unwrap() {
        "TCP" => 6,
        "UDP" => 17,
        "SCTP" => 132,
        p => panic!("protocol {p}"),
    };
    let mut pkt = NfPacket {
        src: flow["source_ip"].as_str().unwrap().parse().unwrap(),
        dst: flow["dest_ip"].as_str().unwrap().parse().unwrap(),
        proto,
        sport: Some(43210),
        dport: Some(flow["dest_port"].as_u64().unwrap() as u16),
        tcp_flags: (proto == 6).then_some(0x02),
        in_if: Some("eth0".into()),
        ct_state: ctbits::NEW,
        ..Default::default()
    };
    let mut chooser = ScriptChooser {
        script,
        ..Default::default()
    };
    let mut state = NfState::default();
    let mut res = BranchResult::default();
    let pre = {
        let mut env = EvalEnv {
            addr: node,
            chooser: &mut chooser,
            state: &mut state,
            now_ns: 0,
            assume: Default::default(),
        };
        rs.run_hook(TableKind::Nat, "PREROUTING", &mut pkt, &mut env)
    };
    assert_eq!(
        pre.verdict,
        Verdict::Accept,
        "nat PREROUTING never drops here"
    );
    if let Some(Target::Dnat { to, .. }) = &pre.nat {
        let addr = to.addr_lo.unwrap();
        let port = to.ports.map(|p| p.0).or(pkt.dport).unwrap();
        res.dnat = Some(format!("{addr}:{port}"));
        pkt.dst = podpath_sim::net::netfilter::conntrack::v4(addr);
        pkt.dport = Some(port);
        pkt.ct_state |= ctbits::DNAT;
    }
    let local = node.addr_type(pkt.dst, None) & addrtype::LOCAL != 0;
    let hook = if local { "INPUT" } else { "FORWARD" };
    if !local {
        pkt.out_if = Some("cni0".into());
    }
    let filter = {
        let mut env = EvalEnv {
            addr: node,
            chooser: &mut chooser,
            state: &mut state,
            now_ns: 0,
            assume: Default::default(),
        };
        rs.run_hook(TableKind::Filter, hook, &mut pkt, &mut env)
    };
    let last = filter.steps.last().unwrap();
    if last.rule > 0 && ORACLE_CHAINS.contains(&last.chain.as_str()) {
        res.verdict = Some(
            match filter.verdict {
                Verdict::Accept => "ACCEPT",
                Verdict::Drop => "DROP",
                Verdict::Reject(_) => "REJECT",
            }
            .to_string(),
        );
    }
    if filter.verdict == Verdict::Accept {
        let post = {
            let mut env = EvalEnv {
                addr: node,
                chooser: &mut chooser,
                state: &mut state,
                now_ns: 0,
                assume: Default::default(),
            };
            rs.run_hook(TableKind::Nat, "POSTROUTING", &mut pkt, &mut env)
        };
        res.masquerade = matches!(post.nat, Some(Target::Masquerade { .. }));
        assert_eq!(
            res.masquerade,
            pre.steps.iter().any(|s| s.chain == "KUBE-MARK-MASQ"),
            "MASQUERADE fires exactly when KUBE-MARK-MASQ marked the packet"
        );
    } else {
        res.masquerade = pkt.mark & 0x4000 != 0;
    }
    let taken: Vec<bool> = chooser.taken.iter().map(|t| t.2).collect();
    (res, taken)
}

/// Forces every `statistic` branch in turn (depth first, "match" first, which
/// is rule order).
fn all_branches(rs: &Ruleset, flow: &Value, node: &NodeAddrs) -> Vec<BranchResult> {
    let mut out = Vec::new();
    let mut todo: Vec<Vec<bool>> = vec![vec![]];
    while let Some(script) = todo.pop() {
        let n = script.len();
        let (res, taken) = run_branch(rs, flow, node, script);
        out.push(res);
        let mut alts = Vec::new();
        for j in n..taken.len() {
            if taken[j] {
                let mut s = taken[..j].to_vec();
                s.push(false);
                alts.push(s);
            }
        }
        // depth first, earlier rules first
        for a in alts.into_iter() {
            todo.push(a);
        }
        assert!(out.len() < 1000, "branch explosion");
    }
    out
}

#[test]
fn kube_proxy_conformance_flows() {
    let dir = conformance_dir();
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("index.json"))
            .expect("tests/data/kube-proxy/index.json is part of the repo"),
    )
    .unwrap();
    let cases = index["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 30, "index.json lists 30 cases");
    let mut flows_run = 0;
    let mut failures = Vec::new();
    for case in cases {
        let d = dir.join(case["dir"].as_str().unwrap());
        let files = &case["files"];
        let rules_path = d.join(files["rules"].as_str().unwrap());
        let text = std::fs::read_to_string(&rules_path).unwrap();
        let mut rs = Ruleset::parse(&text, &rules_path.display().to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        let env: Value = serde_json::from_str(
            &std::fs::read_to_string(d.join(files["env"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        for p in env["prepend_rules"].as_array().unwrap() {
            let table = TableKind::from_name(p["table"].as_str().unwrap()).unwrap();
            rs.insert_rule(
                table,
                p["chain"].as_str().unwrap(),
                0,
                p["rule"].as_str().unwrap(),
                "prepend_rules",
            )
            .unwrap();
        }
        // Install kube-proxy's filter jump rules where the payload lacks them.
        let filter_has_jumps = !rs
            .table(TableKind::Filter)
            .chain("FORWARD")
            .unwrap()
            .rules
            .is_empty();
        if rs
            .table(TableKind::Nat)
            .chain("POSTROUTING")
            .unwrap()
            .rules
            .is_empty()
        {
            rs.insert_rule(
                TableKind::Nat,
                "POSTROUTING",
                0,
                "-m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING",
                "kube-proxy jump rules",
            )
            .unwrap();
        }
        if !filter_has_jumps {
            let mut counts = std::collections::BTreeMap::new();
            for (chain, rule) in FILTER_JUMPS {
                let target = rule.rsplit(' ').next().unwrap();
                if rs.table(TableKind::Filter).chain(target).is_none() {
                    continue;
                }
                let pos = counts.entry(*chain).or_insert(0usize);
                rs.insert_rule(
                    TableKind::Filter,
                    chain,
                    *pos,
                    rule,
                    "kube-proxy jump rules",
                )
                .unwrap();
                *pos += 1;
            }
        }
        let node = NodeAddrs {
            local: env["node_ips"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|v| v.as_str().unwrap().parse::<Ipv4Addr>().ok())
                .collect(),
        };
        let flows: Value = serde_json::from_str(
            &std::fs::read_to_string(d.join(files["flows"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        let flows = flows.as_array().unwrap();
        assert_eq!(flows.len() as u64, case["flows"].as_u64().unwrap());
        for flow in flows {
            flows_run += 1;
            let branches = all_branches(&rs, flow, &node);
            let mut outputs: Vec<String> = Vec::new();
            for b in &branches {
                if let Some(d) = &b.dnat {
                    if !outputs.contains(d) {
                        outputs.push(d.clone());
                    }
                }
            }
            let mut verdicts: Vec<String> = Vec::new();
            for b in &branches {
                if let Some(v) = &b.verdict {
                    if !verdicts.contains(v) {
                        verdicts.push(v.clone());
                    }
                }
            }
            outputs.extend(verdicts);
            let got = outputs.join(", ");
            let masq: BTreeSet<bool> = branches.iter().map(|b| b.masquerade).collect();
            let want = flow["expected_output"].as_str().unwrap();
            let want_masq = flow["expected_masquerade"].as_bool().unwrap();
            if got != want || masq.len() != 1 || !masq.contains(&want_masq) {
                failures.push(format!(
                    "{} / {:?}: got {:?} masq {:?}, want {:?} masq {}",
                    case["case"].as_str().unwrap(),
                    flow["name"].as_str().unwrap(),
                    got,
                    masq,
                    want,
                    want_masq
                ));
            }
        }
    }
    assert_eq!(flows_run, 85, "all 85 flows replayed");
    assert!(
        failures.is_empty(),
        "{} of 85 flows disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
