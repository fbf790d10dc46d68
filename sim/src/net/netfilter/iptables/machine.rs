//! What iptables-restore looks up on the machine it runs on, beyond the
//! dump itself: the ipsets a `-m set`/`-j SET` names, the nfacct objects
//! a `-m nfacct` names and the label names of connlabel.conf. A dump alone
//! does not say what the machine held, so [`super::Ruleset::parse`] checks
//! none of these; where the machine is known (its `ipset save`, its
//! `nfacct list`, its connlabel.conf), [`super::Ruleset::check_machine`]
//! refuses what iptables-restore would have refused there.

use std::collections::BTreeSet;

use super::parse::ParseError;
use super::Ruleset;

/// The machine state a rule's names are looked up in; `None`: not known
/// (nothing is checked).
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// The names of the ipsets the kernel holds.
    pub ipsets: Option<BTreeSet<String>>,
    /// The names of the nfacct accounting objects.
    pub nfacct: Option<BTreeSet<String>>,
    /// The label names connlabel.conf defines (none when it is missing).
    pub connlabels: Option<BTreeSet<String>>,
}

impl Machine {
    /// A machine of which nothing is known.
    pub fn unknown() -> Machine {
        Machine::default()
    }

    /// A machine holding no ipset, no nfacct object and no connlabel.conf.
    pub fn bare() -> Machine {
        Machine {
            ipsets: Some(BTreeSet::new()),
            nfacct: Some(BTreeSet::new()),
            connlabels: Some(BTreeSet::new()),
        }
    }

    /// The refusal of one rule's `words` on this machine, when there is one.
    fn refusal(&self, words: &[String]) -> Option<String> {
        let mut ext = "";
        for (k, w) in words.iter().enumerate() {
            let next = words.get(k + 1).map(String::as_str);
            match (w.as_str(), next) {
                ("-m" | "--match" | "-j" | "--jump", Some(n)) => ext = n,
                // libxt_set.c get_set_byname (-m set --match-set, -j SET
                // --add-set/--del-set/--map-set): the set is looked up
                // by IP_SET_OP_GET_BYNAME when the rule is parsed:
                // xtables_error(PARAMETER_PROBLEM, "Set %s doesn't exist.")
                ("--match-set" | "--add-set" | "--del-set" | "--map-set", Some(n))
                    if matches!(ext, "set" | "SET")
                        && self.ipsets.as_ref().is_some_and(|s| !s.contains(n)) =>
                {
                    return Some(format!("Set {n} doesn't exist."));
                }
                // xt_nfacct.c nfacct_mt_checkentry: nfnl_acct_find_get
                // finds no object: "accounting object `%s' does not
                // exists", -ENOENT; libiptc.c TC_STRERROR: "No
                // chain/target/match by that name"
                ("--nfacct-name", Some(n))
                    if ext == "nfacct" && self.nfacct.as_ref().is_some_and(|s| !s.contains(n)) =>
                {
                    return Some(super::fcheck::kernel_errno(
                        format!("xt_nfacct: accounting object `{n}' does not exists"),
                        "No chain/target/match by that name",
                    ));
                }
                // libxt_connlabel.c connlabel_mt_parse: a label that is
                // not a number is looked up in connlabel.conf
                // (nfct_labelmap_get_bit): "label '%s' not found or
                // invalid value"
                ("--label", Some(n)) if ext == "connlabel" => {
                    let number = !n.is_empty() && super::fcheck::strtoul(n).is_some();
                    if !number && self.connlabels.as_ref().is_some_and(|s| !s.contains(n)) {
                        return Some(format!("label '{n}' not found or invalid value"));
                    }
                }
                _ => {}
            }
        }
        None
    }
}

impl Ruleset {
    /// Refuses what iptables-restore refuses on `machine` of this ruleset
    /// (read from `source`): a set, an nfacct object or a label name the
    /// machine does not hold.
    pub fn check_machine(&self, machine: &Machine, source: &str) -> Result<(), ParseError> {
        for t in self.tables.values() {
            for c in &t.chains {
                for r in &c.rules {
                    let Ok(words) = super::parse::words(&r.text) else {
                        continue;
                    };
                    if let Some(message) = machine.refusal(&words) {
                        return Err(ParseError {
                            file: source.to_string(),
                            line: r.line,
                            column: 0,
                            message,
                            text: format!("-A {} {}", c.name, r.text),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(rule: &str, m: &Machine) -> Result<Ruleset, ParseError> {
        let t = format!("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT {rule}\nCOMMIT\n");
        let rs = Ruleset::parse(&t, "m.rules")?;
        rs.check_machine(m, "m.rules").map(|()| rs)
    }

    #[test]
    fn names_the_machine_lacks_are_refused_with_the_tools_words() {
        let mut m = Machine::bare();
        for (rule, want) in [
            ("-m set --match-set foo src", "Set foo doesn't exist."),
            ("-j SET --add-set foo src,dst", "Set foo doesn't exist."),
            (
                "-m nfacct --nfacct-name wrong",
                "accounting object `wrong' does not exists",
            ),
            (
                "-m connlabel --label \"foobar_not_there\"",
                "label 'foobar_not_there' not found or invalid value",
            ),
        ] {
            let e = load(rule, &m).expect_err(rule);
            assert_eq!((e.file.as_str(), e.line), ("m.rules", 3));
            assert!(e.message.contains(want), "{rule}: {e}");
            // not checked where the machine is unknown
            load(rule, &Machine::unknown()).expect(rule);
        }
        load("-m connlabel --label 40", &m).expect("a label number needs no name");
        m.ipsets = Some(["foo".to_string()].into());
        m.nfacct = Some(["wrong".to_string()].into());
        m.connlabels = Some(["foobar_not_there".to_string()].into());
        for rule in [
            "-m set --match-set foo src",
            "-j SET --add-set foo src,dst",
            "-m nfacct --nfacct-name wrong",
            "-m connlabel --label \"foobar_not_there\"",
        ] {
            load(rule, &m).expect(rule);
        }
    }
}
