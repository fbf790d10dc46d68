//! A host's `/etc/resolv.conf`: the nameserver, search list and `ndots`
//! the resolver (glibc's `res_search`) reads.

/// A host's `/etc/resolv.conf`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvConf {
    /// The first nameserver, of either family.
    pub nameserver: std::net::IpAddr,
    pub search: Vec<String>,
    pub ndots: usize,
}

impl ResolvConf {
    /// The names glibc's `res_search` asks for, in order.
    pub fn candidates(&self, name: &str) -> Vec<String> {
        if let Some(n) = name.strip_suffix('.') {
            return vec![n.to_string()];
        }
        let dots = name.matches('.').count();
        let mut out = Vec::new();
        if dots >= self.ndots {
            out.push(name.to_string());
        }
        for d in &self.search {
            out.push(format!("{name}.{d}"));
        }
        if dots < self.ndots {
            out.push(name.to_string());
        }
        out
    }

    /// Reads resolv.conf text: the first `nameserver`, `search` (or
    /// `domain`), `options ndots:N`. None without a nameserver.
    pub fn parse(text: &str) -> Option<ResolvConf> {
        let mut ns = None;
        let mut search = Vec::new();
        let mut ndots = 1;
        for l in text.lines() {
            let mut w = l.split_whitespace();
            match w.next() {
                Some("nameserver") if ns.is_none() => ns = w.next().and_then(|a| a.parse().ok()),
                Some("search") | Some("domain") => search = w.map(str::to_string).collect(),
                Some("options") => {
                    for o in w {
                        if let Some(n) = o.strip_prefix("ndots:") {
                            ndots = n.parse::<usize>().unwrap_or(1).min(15);
                        }
                    }
                }
                _ => {}
            }
        }
        Some(ResolvConf {
            nameserver: ns?,
            search,
            ndots,
        })
    }

    /// The file's text.
    pub fn text(&self) -> String {
        let mut s = format!("nameserver {}\n", self.nameserver);
        if !self.search.is_empty() {
            s.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        s.push_str(&format!("options ndots:{}\n", self.ndots));
        s
    }
}
