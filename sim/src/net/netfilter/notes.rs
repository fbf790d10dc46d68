//! What a generated rule stands for, beside the rules themselves: a
//! per-host table from (table, chain, rule number) to the NetworkPolicy
//! verdict the rule carries out, written by the component that generated
//! the rules (felix's renderer, `k8s::calico`) and read where the iptables
//! walk's steps enter the trace (`hook::trace_table_steps`), so that a
//! packet a policy chain accepts or an end-of-tier rule drops is traced
//! with the policy's name, without reading comments back.

use std::collections::BTreeMap;

/// The verdict a rule stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleNote {
    /// The rule admits the packet for `policy` (`NS/NAME`) by its rule
    /// `rule` (0-based) of `direction` (`ingress` / `egress`).
    Allow {
        direction: String,
        policy: String,
        rule: usize,
    },
    /// The rule drops what no policy of `policies` (those selecting the
    /// endpoint for `direction`) admitted.
    Deny {
        direction: String,
        policies: Vec<String>,
    },
}

/// Notes by (table name, chain, 1-based rule number); the ip6tables
/// tables' names are prefixed `ip6:` ([`table_key`]).
pub type RuleNotes = BTreeMap<(String, String, usize), RuleNote>;

/// The table part of a note's key: `filter` for iptables' filter table,
/// `ip6:filter` for ip6tables' (felix writes chains of the same names in
/// both, their rules differing).
pub fn table_key(table: &str, v6: bool) -> String {
    if v6 {
        format!("ip6:{table}")
    } else {
        table.to_string()
    }
}
