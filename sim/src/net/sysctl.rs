//! sysctls the stack reads, with the kernel's defaults.

use std::collections::BTreeMap;

/// A value the kernel refuses for a sysctl key: sysctl(8)'s words for
/// `sysctl -w`, then what the key expects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SysctlError {
    /// The key takes an integer and `value` is not one.
    #[error("'{value}': sysctl: setting key \"{key}\": Invalid argument (expected an integer)")]
    NotAnInteger { key: String, value: String },
    /// The key takes an integer from `lo` to `hi` and `value` is not one.
    #[error("'{value}': sysctl: setting key \"{key}\": Invalid argument (expected an integer {lo}-{hi})")]
    OutOfRange {
        key: String,
        value: String,
        lo: i64,
        hi: i64,
    },
    /// The key takes three integers (`tcp_rmem`) and `value` is not that.
    #[error("'{value}': sysctl: setting key \"{key}\": Invalid argument (expected three integers of at least 1, e.g. \"4096 131072 6291456\")")]
    Triple { key: String, value: String },
    /// The key takes a port range (`ip_local_port_range`) and `value` is not one.
    #[error("'{value}': sysctl: setting key \"{key}\": Invalid argument (expected two port numbers 1-65535, the first not above the second, e.g. \"32768 60999\")")]
    PortRange { key: String, value: String },
}

#[derive(Clone, Debug, Default)]
pub struct Sysctl {
    /// Shared between copies of the host until one sets a key (a world's
    /// copy for a `reach` probe only reads them).
    values: std::sync::Arc<BTreeMap<String, String>>,
    /// What the packet path reads on every packet, as [`Sysctl::int`]
    /// would read it, kept beside `values` by [`Sysctl::set`]: every node
    /// of a 1,000-node broadcast domain reads proxy_arp for each ARP
    /// request it hears, and a lookup of the full key in `values`
    /// compares long `net.ipv4.conf.` keys several times over.
    hot: std::sync::Arc<Hot>,
}

/// The per-packet keys, parsed (see [`Sysctl::hot`]).
#[derive(Clone, Debug, Default)]
struct Hot {
    ip_forward: i64,
    /// `net.ipv4.conf.DEV.KEY` as set, by device (`all` too, as the
    /// full key names it): [`CONF_KEYS`] order.
    conf: BTreeMap<String, [i64; 3]>,
}

/// The per-device keys [`Hot`] keeps (their defaults are all 0).
const CONF_KEYS: [&str; 3] = ["proxy_arp", "rp_filter", "route_localnet"];

/// Every key podpath reads, with its default. Keys with `DEV` apply per device
/// (`conf.DEV.` falls back to `conf.default.` only at device creation in the
/// kernel; podpath reads `conf.all.` and `conf.DEV.` as the kernel does at
/// packet time for rp_filter and route_localnet).
pub const KNOWN: &[(&str, &str)] = &[
    ("net.ipv4.ip_forward", "0"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.conf.DEV.rp_filter", "0"),
    ("net.ipv4.conf.all.route_localnet", "0"),
    ("net.ipv4.conf.DEV.route_localnet", "0"),
    ("net.ipv4.conf.all.forwarding", "0"),
    ("net.ipv4.conf.all.proxy_arp", "0"),
    ("net.ipv4.conf.DEV.proxy_arp", "0"),
    ("net.ipv4.ip_local_port_range", "32768 60999"),
    ("net.ipv4.tcp_syn_retries", "6"),
    // Linux 6.5+; set 0 for the exponential-only backoff of older kernels.
    ("net.ipv4.tcp_syn_linear_timeouts", "4"),
    ("net.ipv4.tcp_retries2", "15"),
    // SYN options (net/ipv4/tcp_output.c tcp_syn_options): timestamps
    // (2: without the random offset), SACK-permitted, window scale
    ("net.ipv4.tcp_timestamps", "1"),
    ("net.ipv4.tcp_sack", "1"),
    ("net.ipv4.tcp_window_scaling", "1"),
    // the largest receive buffer, which sets the window scale a SYN
    // offers (tcp_select_initial_window); tcp_rmem is per namespace
    ("net.ipv4.tcp_rmem", "4096 131072 6291456"),
    ("net.core.rmem_max", "212992"),
    ("net.ipv4.ip_default_ttl", "64"),
    ("net.netfilter.nf_conntrack_max", "262144"),
    ("net.netfilter.nf_conntrack_tcp_loose", "1"),
    ("net.netfilter.nf_conntrack_acct", "0"),
    ("net.bridge.bridge-nf-call-iptables", "0"),
    ("net.bridge.bridge-nf-call-ip6tables", "0"),
    // net/ipv4/icmp.c icmp_rcv: an echo or timestamp request to a
    // broadcast or multicast address is ignored while this is 1 (default).
    ("net.ipv4.icmp_echo_ignore_broadcasts", "1"),
    // icmpv4_xrlim_allow: the ms between errors to one peer (a burst of
    // 6 first), for the types of icmp_ratemask (0x1818: destination
    // unreachable but fragmentation needed, source quench, time exceeded,
    // parameter problem)
    ("net.ipv4.icmp_ratelimit", "1000"),
    ("net.ipv4.icmp_ratemask", "6168"),
    // icmpv6_xrlim_allow: the same for ICMPv6 errors but Packet Too Big
    // (net.ipv6.icmp.ratemask 0-1,3-127), shorter to wider prefixes
    ("net.ipv6.icmp.ratelimit", "1000"),
    // 0 off, 1 on unless a socket opts out (default), 2 only when a
    // socket opts in, 3 forced (net/ipv6/sysctl_net_ipv6.c)
    ("net.ipv6.auto_flowlabels", "1"),
    // IPv6 (net/ipv6/addrconf.c ipv6_devconf and ipv6_devconf_dflt).
    // Writing conf.all.forwarding sets every device's (addrconf_fixup_
    // forwarding); ip6_forward reads conf.all's.
    ("net.ipv6.conf.all.forwarding", "0"),
    ("net.ipv6.conf.DEV.forwarding", "0"),
    // conf.all at 1 disables IPv6 on every device (addrconf_disable_ipv6).
    ("net.ipv6.conf.all.disable_ipv6", "0"),
    ("net.ipv6.conf.DEV.disable_ipv6", "0"),
    ("net.ipv6.conf.all.accept_ra", "1"),
    ("net.ipv6.conf.DEV.accept_ra", "1"),
    ("net.ipv6.conf.all.accept_dad", "1"),
    ("net.ipv6.conf.DEV.accept_dad", "1"),
    // ndisc_redirect_rcv: a host takes redirects (a router never does)
    ("net.ipv6.conf.all.accept_redirects", "1"),
    ("net.ipv6.conf.DEV.accept_redirects", "1"),
    ("net.ipv6.conf.all.hop_limit", "64"),
    ("net.ipv6.conf.DEV.hop_limit", "64"),
    // 0 eui64, 1 none, 2 stable-privacy, 3 random (IN6_ADDR_GEN_MODE_*)
    ("net.ipv6.conf.all.addr_gen_mode", "0"),
    ("net.ipv6.conf.DEV.addr_gen_mode", "0"),
];

/// How the kernel parses a key's value when it is written (the `proc_handler`
/// of its `ctl_table`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handler {
    /// `proc_dointvec`: any int.
    Int,
    /// `proc_dointvec_minmax` with `extra1`/`extra2`.
    IntRange(i64, i64),
    /// `ipv4_local_port_range`: two ints 1-65535, the first not above the
    /// second.
    PortRange,
    /// `proc_dointvec_minmax` over three ints of at least 1 (tcp_rmem,
    /// tcp_wmem).
    Triple,
}

/// The handler of a known key (the generic `DEV` form for per-device keys).
/// Read in the kernel's tables: net/ipv4/devinet.c (`devinet_sysctl_forward`,
/// `devinet_conf_proc`: proc_dointvec), net/ipv4/sysctl_net_ipv4.c
/// (`ip_local_port_range`, `tcp_syn_retries` 1..MAX_TCP_SYNCNT=127,
/// `tcp_syn_linear_timeouts` 0..127, `tcp_retries2` proc_dointvec,
/// `ip_default_ttl` 1..255), net/netfilter/nf_conntrack_standalone.c
/// (`nf_conntrack_max` 0..INT_MAX, `nf_conntrack_tcp_loose` 0..1), net/bridge/br_netfilter_hooks.c
/// (`brnf_sysctl_call_tables`: proc_dointvec, non-zero stored as 1).
fn handler(generic: &str) -> Handler {
    match generic {
        "net.ipv4.ip_local_port_range" => Handler::PortRange,
        "net.ipv4.tcp_rmem" => Handler::Triple,
        "net.ipv4.tcp_syn_retries" => Handler::IntRange(1, 127),
        "net.ipv4.tcp_syn_linear_timeouts" => Handler::IntRange(0, 127),
        "net.ipv4.ip_default_ttl" => Handler::IntRange(1, 255),
        "net.netfilter.nf_conntrack_max" => Handler::IntRange(0, i32::MAX as i64),
        // sysctl_net_ipv4.c: proc_dou8vec_minmax 0..1
        "net.ipv4.icmp_echo_ignore_broadcasts" => Handler::IntRange(0, 1),
        // sysctl_net_ipv4.c / sysctl_net_ipv6.c: proc_dointvec_ms_jiffies
        "net.ipv4.icmp_ratelimit" | "net.ipv6.icmp.ratelimit" => {
            Handler::IntRange(0, i32::MAX as i64)
        }
        // nf_conntrack_standalone.c: proc_dou8vec_minmax 0..1
        "net.netfilter.nf_conntrack_tcp_loose" => Handler::IntRange(0, 1),
        // nf_conntrack_standalone.c: proc_dou8vec_minmax 0..1
        "net.netfilter.nf_conntrack_acct" => Handler::IntRange(0, 1),
        // addrconf.c: hop_limit proc_dointvec_minmax 1..255 (addrconf_
        // sysctl), accept_ra and accept_dad proc_dointvec, addr_gen_mode
        // 0..3 (addrconf_sysctl_addr_gen_mode refuses the rest).
        "net.ipv6.conf.all.hop_limit" | "net.ipv6.conf.DEV.hop_limit" => Handler::IntRange(1, 255),
        "net.ipv6.auto_flowlabels" => Handler::IntRange(0, 3),
        "net.ipv6.conf.all.addr_gen_mode" | "net.ipv6.conf.DEV.addr_gen_mode" => {
            Handler::IntRange(0, 3)
        }
        _ => Handler::Int,
    }
}

/// An int as `proc_dointvec` reads it (`strtoul` with base 0: decimal,
/// `0x` hex, leading-0 octal; an optional sign; surrounding blanks).
fn proc_int(v: &str) -> Option<i64> {
    let t = v.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let n = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse::<i64>().ok()?
    };
    let n = if neg { -n } else { n };
    (i32::MIN as i64..=i32::MAX as i64)
        .contains(&n)
        .then_some(n)
}

/// `net.ipv4.conf.DEV.KEY` -> (DEV, KEY); device names may contain dots
/// (`flannel.1`).
pub fn per_device(k: &str) -> Option<(&str, &str)> {
    let rest = k.strip_prefix("net.ipv4.conf.")?;
    let (dev, key) = rest.rsplit_once('.')?;
    (!dev.is_empty()).then_some((dev, key))
}

/// `net.ipv6.conf.DEV.KEY` -> (DEV, KEY).
pub fn per_device6(k: &str) -> Option<(&str, &str)> {
    let rest = k.strip_prefix("net.ipv6.conf.")?;
    let (dev, key) = rest.rsplit_once('.')?;
    (!dev.is_empty()).then_some((dev, key))
}

/// A per-device key's generic form (`net.ipv4.conf.DEV.KEY`,
/// `net.ipv6.conf.DEV.KEY`), for a device other than `all` and
/// `default`; the key itself otherwise.
fn generic_key(k: &str) -> String {
    match (per_device(k), per_device6(k)) {
        (Some((dev, key)), _) if dev != "all" && dev != "default" => {
            format!("net.ipv4.conf.DEV.{key}")
        }
        (_, Some((dev, key))) if dev != "all" && dev != "default" => {
            format!("net.ipv6.conf.DEV.{key}")
        }
        _ => k.to_string(),
    }
}

impl Sysctl {
    pub fn set(&mut self, k: &str, v: &str) {
        let k = k.replace('/', ".");
        // ip_forward and conf.all.forwarding are the same switch.
        let values = std::sync::Arc::make_mut(&mut self.values);
        if k == "net.ipv4.conf.all.forwarding" {
            values.insert("net.ipv4.ip_forward".into(), v.trim().into());
        }
        values.insert(k.clone(), v.trim().to_string());
        self.hot_update(&k);
    }

    /// Keeps [`Hot`] equal to what [`Sysctl::int`] reads of `k` (just set).
    fn hot_update(&mut self, k: &str) {
        if k == "net.ipv4.ip_forward" || k == "net.ipv4.conf.all.forwarding" {
            let n = self.int("net.ipv4.ip_forward");
            std::sync::Arc::make_mut(&mut self.hot).ip_forward = n;
        }
        if let Some((dev, key)) = per_device(k) {
            if let Some(i) = CONF_KEYS.iter().position(|c| *c == key) {
                let n = self.int(k);
                std::sync::Arc::make_mut(&mut self.hot)
                    .conf
                    .entry(dev.to_string())
                    .or_insert([0; 3])[i] = n;
            }
        }
    }

    /// `net.ipv4.conf.{dev}.{CONF_KEYS[i]}` as an int, without building
    /// the key: as set, else the default (0 for each of them).
    fn conf_int(&self, dev: &str, i: usize) -> i64 {
        self.hot.conf.get(dev).map_or(0, |v| v[i])
    }

    /// The effective proxy_arp of a device: conf.all or conf.DEV at 1
    /// (`IN_DEV_PROXY_ARP`, read as `arp_fwd_proxy` does).
    pub fn proxy_arp(&self, dev: &str) -> bool {
        self.conf_int("all", 0) == 1 || self.conf_int(dev, 0) == 1
    }

    /// Whether the kernel takes `v` for key `k` (a known key), as `sysctl -w`
    /// would: the error is sysctl(8)'s words and what the key expects.
    pub fn validate(k: &str, v: &str) -> Result<(), SysctlError> {
        let k = k.replace('/', ".");
        let generic = generic_key(&k);
        let (key, value) = (k.clone(), v.to_string());
        match handler(&generic) {
            Handler::Int => match proc_int(v) {
                Some(_) => Ok(()),
                None => Err(SysctlError::NotAnInteger { key, value }),
            },
            Handler::IntRange(lo, hi) => match proc_int(v) {
                Some(n) if (lo..=hi).contains(&n) => Ok(()),
                _ => Err(SysctlError::OutOfRange { key, value, lo, hi }),
            },
            Handler::PortRange => {
                let w: Vec<Option<i64>> = v.split_whitespace().map(proc_int).collect();
                match w.as_slice() {
                    [Some(a), Some(b)]
                        if (1..=65535).contains(a) && (1..=65535).contains(b) && a <= b =>
                    {
                        Ok(())
                    }
                    _ => Err(SysctlError::PortRange { key, value }),
                }
            }
            Handler::Triple => {
                let w: Vec<Option<i64>> = v.split_whitespace().map(proc_int).collect();
                match w.as_slice() {
                    [Some(a), Some(b), Some(c)] if *a >= 1 && *b >= 1 && *c >= 1 => Ok(()),
                    _ => Err(SysctlError::Triple { key, value }),
                }
            }
        }
    }

    /// The window scale a SYN offers (`tcp_select_initial_window`): the
    /// larger of tcp_rmem's maximum and rmem_max, halved until it fits in
    /// 16 bits, at most 14 times.
    pub fn tcp_rcv_wscale(&self) -> u8 {
        let rmem = self
            .value("net.ipv4.tcp_rmem")
            .split_whitespace()
            .nth(2)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(6_291_456);
        let mut space = rmem.max(self.int("net.core.rmem_max").max(0) as u64);
        let mut ws = 0;
        while space > 65535 && ws < 14 {
            space >>= 1;
            ws += 1;
        }
        ws
    }

    /// Whether podpath reads this key (after replacing a device name by DEV).
    pub fn is_known(k: &str) -> bool {
        let k = k.replace('/', ".");
        if KNOWN.iter().any(|(n, _)| *n == k) {
            return true;
        }
        let generic = match (per_device(&k), per_device6(&k)) {
            (Some((_, key)), _) => format!("net.ipv4.conf.DEV.{key}"),
            (_, Some((_, key))) => format!("net.ipv6.conf.DEV.{key}"),
            _ => return false,
        };
        KNOWN.iter().any(|(n, _)| *n == generic)
    }

    pub fn get(&self, k: &str) -> String {
        self.value(k).to_string()
    }

    /// The value of `k`: as set, else the default of its key (the generic
    /// `net.ipv4.conf.DEV.KEY` for a device's key), else empty. Read on
    /// every packet (rp_filter, proxy_arp on every ARP request of a
    /// 1,000-node broadcast domain), so it borrows rather than copies.
    fn value(&self, k: &str) -> &str {
        if let Some(v) = self.values.get(k) {
            return v;
        }
        let default = match (per_device(k), per_device6(k)) {
            (Some((dev, key)), _) if dev != "all" => KNOWN
                .iter()
                .find(|(n, _)| n.strip_prefix("net.ipv4.conf.DEV.") == Some(key)),
            (_, Some((dev, key))) if dev != "all" => KNOWN
                .iter()
                .find(|(n, _)| n.strip_prefix("net.ipv6.conf.DEV.") == Some(key)),
            _ => KNOWN.iter().find(|(n, _)| *n == k),
        };
        default.map(|(_, v)| *v).unwrap_or_default()
    }

    pub fn int(&self, k: &str) -> i64 {
        self.value(k).trim().parse().unwrap_or(0)
    }

    pub fn ip_forward(&self) -> bool {
        self.ip_forward_int() != 0
    }

    /// `net.ipv4.ip_forward` as an int.
    pub fn ip_forward_int(&self) -> i64 {
        self.hot.ip_forward
    }

    /// The effective rp_filter of a device: max(conf.all, conf.DEV).
    pub fn rp_filter(&self, dev: &str) -> i64 {
        self.conf_int("all", 1).max(self.conf_int(dev, 1))
    }

    pub fn route_localnet(&self, dev: &str) -> bool {
        self.conf_int("all", 2) != 0 || self.conf_int(dev, 2) != 0
    }

    pub fn port_range(&self) -> (u16, u16) {
        let v = self.value("net.ipv4.ip_local_port_range");
        let mut it = v.split_whitespace().filter_map(|x| x.parse::<u16>().ok());
        match (it.next(), it.next()) {
            (Some(a), Some(b)) if a <= b => (a, b),
            _ => (32768, 60999),
        }
    }

    /// `net.ipv6.conf.all.forwarding`, what ip6_forward reads.
    pub fn ip6_forward(&self) -> bool {
        self.int("net.ipv6.conf.all.forwarding") != 0
    }

    /// Whether IPv6 is off on a device: conf.all or conf.DEV
    /// `disable_ipv6` at 1 (conf.all propagates to every device).
    pub fn ipv6_disabled(&self, dev: &str) -> bool {
        self.int("net.ipv6.conf.all.disable_ipv6") != 0
            || self.int(&format!("net.ipv6.conf.{dev}.disable_ipv6")) != 0
    }

    /// A device's IPv6 key as an int (`net.ipv6.conf.DEV.KEY`).
    pub fn conf6(&self, dev: &str, key: &str) -> i64 {
        self.int(&format!("net.ipv6.conf.{dev}.{key}"))
    }

    pub fn bridge_nf_call_iptables(&self) -> bool {
        self.int("net.bridge.bridge-nf-call-iptables") != 0
    }

    pub fn bridge_nf_call_ip6tables(&self) -> bool {
        self.int("net.bridge.bridge-nf-call-ip6tables") != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn defaults_and_per_device() {
        let mut s = Sysctl::default();
        assert!(!s.ip_forward());
        assert_eq!(s.port_range(), (32768, 60999));
        s.set("net.ipv4.conf.eth0.rp_filter", "1");
        assert_eq!(s.rp_filter("eth0"), 1);
        assert_eq!(s.rp_filter("eth1"), 0);
        s.set("net.ipv4.conf.all.rp_filter", "2");
        assert_eq!(s.rp_filter("eth0"), 2);
        s.set("net/ipv4/ip_forward", "1");
        assert!(s.ip_forward());
        assert!(Sysctl::is_known("net.ipv4.conf.cni0.rp_filter"));
        assert!(!Sysctl::is_known("net.ipv4.tcp_bogus"));
        s.set("net.ipv4.conf.flannel.1.rp_filter", "2");
        assert_eq!(s.rp_filter("flannel.1"), 2);
        assert_eq!(s.get("net.ipv4.conf.cni0.rp_filter"), "2".replace('2', "0"));
    }

    /// The parsed per-packet keys read what `int` of the full key reads,
    /// whatever was set (odd values, `forwarding` for `ip_forward`, a
    /// device called `all`, dotted device names).
    #[test]
    fn hot_keys_read_as_the_full_keys() {
        let mut s = Sysctl::default();
        let devs = ["eth0", "all", "flannel.1", "default", "cali1"];
        let check = |s: &Sysctl| {
            assert_eq!(s.ip_forward_int(), s.int("net.ipv4.ip_forward"));
            for d in devs {
                let full = |k: &str| s.int(&format!("net.ipv4.conf.{d}.{k}"));
                let all = |k: &str| s.int(&format!("net.ipv4.conf.all.{k}"));
                assert_eq!(
                    s.proxy_arp(d),
                    all("proxy_arp") == 1 || full("proxy_arp") == 1,
                    "{d}"
                );
                assert_eq!(s.rp_filter(d), all("rp_filter").max(full("rp_filter")));
                assert_eq!(
                    s.route_localnet(d),
                    all("route_localnet") != 0 || full("route_localnet") != 0
                );
            }
        };
        check(&s);
        for (k, v) in [
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv4.conf.all.forwarding", "0"),
            ("net/ipv4/conf/eth0/proxy_arp", " 1 "),
            ("net.ipv4.conf.flannel.1.rp_filter", "2"),
            ("net.ipv4.conf.default.route_localnet", "1"),
            ("net.ipv4.conf.cali1.proxy_arp", "0x1"),
            ("net.ipv4.conf.all.rp_filter", "1"),
            ("net.ipv4.conf.eth0.proxy_arp", "2"),
            ("net.ipv4.conf.all.proxy_arp", "1"),
            ("net.ipv4.conf.all.forwarding", "1"),
        ] {
            s.set(k, v);
            check(&s);
        }
    }

    #[test]
    fn values_are_refused_as_the_kernel_refuses_them() {
        for (k, v) in [
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv4.ip_forward", "2"),
            ("net.ipv4.ip_forward", " 0x1 "),
            ("net.ipv4.conf.eth0.rp_filter", "2"),
            ("net.ipv4.ip_local_port_range", "1024 65535"),
            ("net.ipv4.ip_default_ttl", "255"),
            ("net.ipv4.tcp_syn_retries", "1"),
        ] {
            assert_eq!(Sysctl::validate(k, v), Ok(()), "{k}={v}");
        }
        for (k, v, want) in [
            ("net.ipv4.ip_forward", "banana", "expected an integer"),
            ("net.ipv4.ip_forward", "1.5", "expected an integer"),
            ("net.ipv4.ip_default_ttl", "0", "expected an integer 1-255"),
            (
                "net.ipv4.ip_default_ttl",
                "256",
                "expected an integer 1-255",
            ),
            ("net.ipv4.tcp_syn_retries", "0", "expected an integer 1-127"),
            (
                "net.ipv4.ip_local_port_range",
                "60999 32768",
                "two port numbers",
            ),
            ("net.ipv4.ip_local_port_range", "0 100", "two port numbers"),
            ("net.ipv4.ip_local_port_range", "1024", "two port numbers"),
            (
                "net.netfilter.nf_conntrack_max",
                "-1",
                "expected an integer 0-2147483647",
            ),
        ] {
            let e = Sysctl::validate(k, v).unwrap_err().to_string();
            assert!(
                e.contains(&format!("sysctl: setting key \"{k}\": Invalid argument")),
                "{e}"
            );
            assert!(e.contains(want), "{k}={v}: {e}");
        }
    }
}
