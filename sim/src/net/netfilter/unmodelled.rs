//! What a real tool loads but podpath does not evaluate yet.
//!
//! `iptables-restore`, `nft -f`, `ipset restore` and `ipvsadm -R` accept
//! constructs podpath has no model of (`-m string`, `-j NFQUEUE` to a
//! listener, `u32` expressions...). podpath never refuses what the real tool
//! accepts: such a construct is kept, listed as [`Unmodelled`] with its line
//! (by `podpath inspect`, and once per run), and when a packet reaches it
//! the trace says what was assumed. `--assume-unmodelled match|nomatch`
//! ([`Assume`]) chooses whether an unmodelled match holds; an unmodelled
//! target or statement is passed over (evaluation goes on with the next
//! rule or statement), and the trace says so.

use std::fmt;

/// A construct kept but not evaluated.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmodelled {
    /// 1-based line of the construct in its source text (0 when the text
    /// was given without lines, e.g. one rule inserted at run time).
    pub line: usize,
    /// The construct as the tool names it: `-m string`, `-j NFQUEUE`,
    /// `nft: osf name`, `ipset: hash:mac`.
    pub construct: String,
    /// What a packet that reaches it gets, in words for the trace:
    /// "treated as not matching", "passed over".
    pub effect: String,
}

impl fmt::Display for Unmodelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} is not modelled: {}",
            self.line, self.construct, self.effect
        )
    }
}

/// What an unmodelled match is taken to do (`--assume-unmodelled`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Assume {
    /// The match does not hold (the default: a rule podpath cannot
    /// evaluate does not fire).
    #[default]
    NoMatch,
    /// The match holds.
    Match,
}

impl Assume {
    /// Parses the `--assume-unmodelled` value.
    pub fn parse(s: &str) -> Option<Assume> {
        match s {
            "nomatch" | "no-match" => Some(Assume::NoMatch),
            "match" => Some(Assume::Match),
            _ => None,
        }
    }

    /// Whether an unmodelled match holds under this assumption.
    pub fn holds(self) -> bool {
        self == Assume::Match
    }

    /// The words the trace uses for an unmodelled match.
    pub fn effect(self) -> &'static str {
        match self {
            Assume::NoMatch => "treated as not matching",
            Assume::Match => "treated as matching",
        }
    }
}
