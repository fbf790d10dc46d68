//! felix's rule renderer for what a Kubernetes NetworkPolicy needs: a
//! policy rule's iptables rules (match blocks and mark bits), the policy
//! and profile chains, the per-endpoint chains and the dispatch chains.
//!
//! Read from projectcalico/calico v3.32.1 `felix/rules/`:
//! - `policy.go`: `ProtoRuleToIptablesRules` and its `matchBlockBuilder`
//!   (blocks for more than one port split or named port, more than one
//!   positive CIDR, negated CIDRs that do not fit the main rule; the first
//!   positive block writes the all-blocks bit (scratch 0), later ones the
//!   this-block bit (scratch 1) folded in by `-m mark --mark 0/S1 -j MARK
//!   --set-mark 0/S0`; negated blocks start from the all-blocks bit set and
//!   clear it), `CalculateRuleMatch` (the order of the match fragments),
//!   `CombineMatchAndActionsForProtoRule` (allow: set the accept mark, then
//!   `-m mark --mark A/A --jump RETURN`), `ProtoRulesToIptablesRules`
//!   (trailing RETURN rules stripped; the chain comment on the first rule,
//!   an empty rule carrying it when there is none), `SplitPortList` (15
//!   multiport slots, a range taking two), `PolicyChainName` /
//!   `ProfileChainName` (`GetLengthLimitedID` of `knp/NS/NAME` and of the
//!   profile name, 28 characters);
//! - `endpoints.go`: `endpointIptablesChain` (conntrack ACCEPT and INVALID
//!   DROP, clear accept|pass, VXLAN/IPIP encapsulation dropped from
//!   workloads, `Start of tier default`, a jump per policy with its `Return
//!   if policy accepted`, `End of tier default. Drop if no policies passed
//!   packet`, each profile with `Return if profile accepted`, `Drop if no
//!   profiles matched`);
//! - `dispatch.go`: `interfaceNameDispatchChains` /
//!   `buildSingleDispatchChainTree` / `sortAndDivideEndpointNamesToPrefixTree`
//!   (names sorted, binned by the character after their common prefix; a
//!   bin of several names gets a child chain `cali-from-wl-dispatch-X`
//!   reached by `--goto`, the `Unknown interface` drop at the end of each).

use super::conv::PRule;
use super::rule::{length_limited_id, Chain, Rule, A, M, MAX_CHAIN_NAME};

/// felix's mark bits (`IptablesMarkMask` 0xffff0000 allocated from the
/// lowest bit: `felix/dataplane/driver.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marks {
    pub accept: u32,
    pub pass: u32,
    pub scratch0: u32,
    pub scratch1: u32,
}

/// The bits a default felix uses: accept 0x10000, pass 0x20000 (drop
/// 0x40000, unused by iptables rules), scratch 0x80000 and 0x100000.
pub const DEFAULT_MARKS: Marks = Marks {
    accept: 0x10000,
    pass: 0x20000,
    scratch0: 0x80000,
    scratch1: 0x100000,
};

impl Marks {
    /// `allCalicoMarkBits`.
    pub fn all(&self) -> u32 {
        self.accept | self.pass | self.scratch0 | self.scratch1
    }
}

/// `SplitPortList`.
pub fn split_ports(ports: &[(u16, u16)]) -> Vec<Vec<(u16, u16)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut left = 15;
    for &p in ports {
        let need = if p.0 == p.1 { 1 } else { 2 };
        if left < need {
            out.push(std::mem::take(&mut cur));
            left = 15;
        }
        cur.push(p);
        left -= need;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `matchBlockBuilder`.
struct Blocks {
    marks: Marks,
    using: bool,
    done_first_positive: bool,
    rules: Vec<Rule>,
}

impl Blocks {
    fn initial(&mut self, bits: u32) {
        if !self.using {
            self.rules.push(Rule::new(
                vec![],
                A::MaskedMark(bits, self.marks.scratch0 | self.marks.scratch1),
            ));
            self.using = true;
        }
    }

    fn positive_mark(&self) -> u32 {
        if self.done_first_positive {
            self.marks.scratch1
        } else {
            self.marks.scratch0
        }
    }

    fn finish_positive(&mut self) {
        if !self.done_first_positive {
            self.done_first_positive = true;
            return;
        }
        self.rules.push(Rule::new(
            vec![M::MarkClear(self.marks.scratch1)],
            A::ClearMark(self.marks.scratch0),
        ));
    }

    fn ports(
        &mut self,
        proto: &Option<String>,
        splits: &[Vec<(u16, u16)>],
        named: &[String],
        dst: bool,
    ) {
        self.initial(0);
        let mark = self.positive_mark();
        for s in splits {
            let mut m = Vec::new();
            if let Some(p) = proto {
                m.push(M::Proto(p.clone(), false));
            }
            m.push(M::Ports {
                dst,
                ranges: s.clone(),
            });
            self.rules.push(Rule::new(m, A::SetMark(mark)));
        }
        for n in named {
            let flags = if dst { "dst,dst" } else { "src,src" };
            self.rules.push(Rule::new(
                vec![M::Set {
                    name: n.clone(),
                    flags,
                    neg: false,
                }],
                A::SetMark(mark),
            ));
        }
        self.finish_positive();
    }

    fn cidrs(&mut self, cidrs: &[String], dst: bool) {
        self.initial(0);
        let mark = self.positive_mark();
        for c in cidrs {
            let m = if dst {
                M::Dst(c.clone(), false)
            } else {
                M::Src(c.clone(), false)
            };
            self.rules.push(Rule::new(vec![m], A::SetMark(mark)));
        }
        self.finish_positive();
    }

    fn negated(&mut self, cidrs: &[String], dst: bool) {
        self.initial(self.marks.scratch0);
        for c in cidrs {
            let m = if dst {
                M::Dst(c.clone(), false)
            } else {
                M::Src(c.clone(), false)
            };
            self.rules
                .push(Rule::new(vec![m], A::ClearMark(self.marks.scratch0)));
        }
    }
}

/// An allow rule's iptables rules (`ProtoRuleToIptablesRules` for action
/// allow, flow logs off): the blocks, the rule setting the accept mark
/// (its index in the result is the second value), and its RETURN.
///
/// `v6`: for ip6tables (the IP sets' `cali60` names).
pub fn proto_rule(r: &PRule, marks: Marks, v6: bool) -> (Vec<Rule>, usize) {
    let mut r = r.clone();
    let mut b = Blocks {
        marks,
        using: false,
        done_first_positive: false,
        rules: Vec::new(),
    };
    let names = |v: &[super::conv::IpSetDef]| v.iter().map(|s| s.name_for(v6)).collect::<Vec<_>>();
    let src_splits = split_ports(&r.src_ports);
    if src_splits.len() + r.src_named.len() > 1 {
        b.ports(&r.proto, &src_splits, &names(&r.src_named), false);
        r.src_ports.clear();
        r.src_named.clear();
    }
    let dst_splits = split_ports(&r.dst_ports);
    if dst_splits.len() + r.dst_named.len() > 1 {
        b.ports(&r.proto, &dst_splits, &names(&r.dst_named), true);
        r.dst_ports.clear();
        r.dst_named.clear();
    }
    if r.src_nets.len() > 1 {
        b.cidrs(&r.src_nets, false);
        r.src_nets.clear();
    }
    if r.dst_nets.len() > 1 {
        b.cidrs(&r.dst_nets, true);
        r.dst_nets.clear();
    }
    if r.src_nets.len() + r.not_src_nets.len() > 1 {
        b.negated(&r.not_src_nets, false);
        r.not_src_nets.clear();
    }
    if r.dst_nets.len() + r.not_dst_nets.len() > 1 {
        b.negated(&r.not_dst_nets, true);
        r.not_dst_nets.clear();
    }
    let mut m = rule_match(&r, v6);
    if b.using {
        m.push(M::MarkSet(marks.scratch0));
    }
    let mut rules = b.rules;
    let at = rules.len();
    rules.push(Rule::new(m, A::SetMark(marks.accept)));
    rules.push(Rule::new(vec![M::MarkSet(marks.accept)], A::Return));
    (rules, at)
}

/// `CalculateRuleMatch`, for the fields a Kubernetes policy uses (`v6`:
/// `IPSetConfigV6.NameForMainIPSet`, the `cali60` names).
pub fn rule_match(r: &PRule, v6: bool) -> Vec<M> {
    let mut m = Vec::new();
    if let Some(p) = &r.proto {
        m.push(M::Proto(p.clone(), false));
    }
    if let [n] = &r.src_nets[..] {
        m.push(M::Src(n.clone(), false));
    }
    let set = |s: &super::conv::IpSetDef, flags: &'static str| M::Set {
        name: s.name_for(v6),
        flags,
        neg: false,
    };
    m.extend(r.src_ipsets.iter().map(|s| set(s, "src")));
    if !r.src_ports.is_empty() {
        m.push(M::Ports {
            dst: false,
            ranges: r.src_ports.clone(),
        });
    }
    m.extend(r.src_named.iter().map(|s| set(s, "src,src")));
    if let [n] = &r.dst_nets[..] {
        m.push(M::Dst(n.clone(), false));
    }
    m.extend(r.dst_ipsets.iter().map(|s| set(s, "dst")));
    if !r.dst_ports.is_empty() {
        m.push(M::Ports {
            dst: true,
            ranges: r.dst_ports.clone(),
        });
    }
    m.extend(r.dst_named.iter().map(|s| set(s, "dst,dst")));
    if let [n] = &r.not_src_nets[..] {
        m.push(M::Src(n.clone(), true));
    }
    if let [n] = &r.not_dst_nets[..] {
        m.push(M::Dst(n.clone(), true));
    }
    m
}

/// A policy or profile chain's rules (`ProtoRulesToIptablesRules`) and,
/// per Calico rule, the index of the rule that sets the accept mark
/// (None when stripped or absent).
pub fn rules_chain(
    prules: &[PRule],
    marks: Marks,
    comment: &str,
    v6: bool,
) -> (Vec<Rule>, Vec<usize>) {
    let mut rules = Vec::new();
    let mut at = Vec::new();
    for p in prules {
        let (rs, i) = proto_rule(p, marks, v6);
        at.push(rules.len() + i);
        rules.extend(rs);
    }
    while rules.last().is_some_and(|r| r.a == A::Return) {
        rules.pop();
    }
    if rules.is_empty() {
        rules.push(Rule::default());
    }
    rules[0].comments.push(comment.to_string());
    (rules, at)
}

/// A profile's rules: `kns.NS` allows all, `ksa.NS.SA` has none.
pub fn profile_chain(prefix: &str, name: &str, allow: bool, dir: &str, marks: Marks) -> Chain {
    let prules = if allow {
        vec![PRule::default()]
    } else {
        vec![]
    };
    // a profile's rules use no IP set: the same for both versions
    let (rules, _) = rules_chain(&prules, marks, &format!("Profile {name} {dir}"), false);
    Chain {
        name: length_limited_id(prefix, name, MAX_CHAIN_NAME),
        rules,
    }
}

/// `PolicyChainName` of a Kubernetes NetworkPolicy (`knp/NS/NAME`).
pub fn policy_chain_name(prefix: &str, ns: &str, name: &str) -> String {
    length_limited_id(prefix, &format!("knp/{ns}/{name}"), MAX_CHAIN_NAME)
}

/// One workload endpoint chain (`endpointIptablesChain`, normal chain type,
/// allow action ACCEPT, deny DROP, flow logs off): `policies` are the chain
/// names of the tier's policies; the index of the end-of-tier drop rule is
/// returned beside it.
pub fn endpoint_chain(
    name: String,
    policies: &[String],
    profiles: &[String],
    from_workload: bool,
    marks: Marks,
) -> (Chain, Option<usize>) {
    let mut r = vec![
        Rule::new(vec![M::Ct("RELATED,ESTABLISHED")], A::Accept),
        Rule::new(vec![M::Ct("INVALID")], A::Drop),
        Rule::new(vec![], A::ClearMark(marks.accept | marks.pass)),
    ];
    if from_workload {
        // AllowVXLANPacketsFromWorkloads / AllowIPIPPacketsFromWorkloads
        // default false
        r.push(
            Rule::new(
                vec![
                    M::Proto("17".into(), false),
                    M::Ports {
                        dst: true,
                        ranges: vec![(4789, 4789)],
                    },
                ],
                A::Drop,
            )
            .with_comment("Drop VXLAN encapped packets originating in workloads"),
        );
        r.push(
            Rule::new(vec![M::Proto("4".into(), false)], A::Drop)
                .with_comment("Drop IPinIP encapped packets originating in workloads"),
        );
    }
    let mut end = None;
    if !policies.is_empty() {
        r.push(Rule::new(vec![], A::ClearMark(marks.pass)).with_comment("Start of tier default"));
        for p in policies {
            r.push(Rule::new(
                vec![M::MarkClear(marks.pass)],
                A::Jump(p.clone()),
            ));
            r.push(
                Rule::new(vec![M::MarkSet(marks.accept)], A::Return)
                    .with_comment("Return if policy accepted"),
            );
        }
        end = Some(r.len());
        r.push(
            Rule::new(vec![M::MarkClear(marks.pass)], A::Drop)
                .with_comment("End of tier default. Drop if no policies passed packet"),
        );
    }
    for p in profiles {
        r.push(Rule::new(vec![], A::Jump(p.clone())));
        r.push(
            Rule::new(vec![M::MarkSet(marks.accept)], A::Return)
                .with_comment("Return if profile accepted"),
        );
    }
    r.push(Rule::new(vec![], A::Drop).with_comment("Drop if no profiles matched"));
    (Chain { name, rules: r }, end)
}

/// The dispatch chains for these interface names: child chains, then the
/// root (`interfaceNameDispatchChains` for one direction).
pub fn dispatch_chains(
    root: &str,
    ifaces: &[String],
    endpoint_pfx: &str,
    inbound: bool,
) -> Vec<Chain> {
    let mut names = ifaces.to_vec();
    names.sort();
    names.dedup();
    let common = common_prefix(&names);
    let mut bins: Vec<(String, Vec<String>)> = Vec::new();
    for n in &names {
        let pfx = if n.len() > common.len() {
            n[..common.len() + 1].to_string()
        } else {
            common.clone()
        };
        match bins.last_mut() {
            Some((p, v)) if *p == pfx => v.push(n.clone()),
            _ => bins.push((pfx, vec![n.clone()])),
        }
    }
    let m = |i: String| if inbound { M::InIf(i) } else { M::OutIf(i) };
    let act = |n: &str| A::Goto(length_limited_id(endpoint_pfx, n, MAX_CHAIN_NAME));
    let end = Rule::new(vec![], A::Drop).with_comment("Unknown interface");
    let mut chains = Vec::new();
    let mut root_rules = Vec::new();
    for (pfx, v) in &bins {
        if v.len() > 1 {
            let child = format!("{root}-{}", &pfx[common.len()..]);
            root_rules.push(Rule::new(
                vec![m(format!("{pfx}+"))],
                A::Goto(child.clone()),
            ));
            let mut rs: Vec<Rule> = v
                .iter()
                .map(|n| Rule::new(vec![m(n.clone())], act(n)))
                .collect();
            rs.push(end.clone());
            chains.push(Chain {
                name: child,
                rules: rs,
            });
        } else {
            root_rules.push(Rule::new(vec![m(v[0].clone())], act(&v[0])));
        }
    }
    root_rules.push(end);
    chains.push(Chain {
        name: root.to_string(),
        rules: root_rules,
    });
    chains
}

/// `stringutils.CommonPrefix`.
fn common_prefix(names: &[String]) -> String {
    let Some(first) = names.first() else {
        return String::new();
    };
    let mut n = first.len();
    for s in &names[1..] {
        n = n.min(
            first
                .bytes()
                .zip(s.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    first[..n].to_string()
}
