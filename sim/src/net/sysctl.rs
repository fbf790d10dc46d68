//! sysctls the stack reads, with the kernel's defaults.

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct Sysctl {
    pub values: BTreeMap<String, String>,
}

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
    ("net.ipv4.ip_default_ttl", "64"),
    ("net.netfilter.nf_conntrack_max", "262144"),
    ("net.bridge.bridge-nf-call-iptables", "0"),
];

/// `net.ipv4.conf.DEV.KEY` -> (DEV, KEY); device names may contain dots
/// (`flannel.1`).
pub fn per_device(k: &str) -> Option<(&str, &str)> {
    let rest = k.strip_prefix("net.ipv4.conf.")?;
    let (dev, key) = rest.rsplit_once('.')?;
    (!dev.is_empty()).then_some((dev, key))
}

impl Sysctl {
    pub fn set(&mut self, k: &str, v: &str) {
        let k = k.replace('/', ".");
        // ip_forward and conf.all.forwarding are the same switch.
        if k == "net.ipv4.conf.all.forwarding" {
            self.values
                .insert("net.ipv4.ip_forward".into(), v.trim().into());
        }
        self.values.insert(k, v.trim().to_string());
    }

    /// Whether podpath reads this key (after replacing a device name by DEV).
    pub fn is_known(k: &str) -> bool {
        let k = k.replace('/', ".");
        if KNOWN.iter().any(|(n, _)| *n == k) {
            return true;
        }
        match per_device(&k) {
            Some((_, key)) => {
                let generic = format!("net.ipv4.conf.DEV.{key}");
                KNOWN.iter().any(|(n, _)| *n == generic)
            }
            None => false,
        }
    }

    pub fn get(&self, k: &str) -> String {
        if let Some(v) = self.values.get(k) {
            return v.clone();
        }
        let generic = match per_device(k) {
            Some((dev, key)) if dev != "all" => format!("net.ipv4.conf.DEV.{key}"),
            _ => k.to_string(),
        };
        KNOWN
            .iter()
            .find(|(n, _)| *n == generic)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    }

    pub fn int(&self, k: &str) -> i64 {
        self.get(k).trim().parse().unwrap_or(0)
    }

    pub fn ip_forward(&self) -> bool {
        self.int("net.ipv4.ip_forward") != 0
    }

    /// The effective rp_filter of a device: max(conf.all, conf.DEV).
    pub fn rp_filter(&self, dev: &str) -> i64 {
        self.int("net.ipv4.conf.all.rp_filter")
            .max(self.int(&format!("net.ipv4.conf.{dev}.rp_filter")))
    }

    pub fn route_localnet(&self, dev: &str) -> bool {
        self.int("net.ipv4.conf.all.route_localnet") != 0
            || self.int(&format!("net.ipv4.conf.{dev}.route_localnet")) != 0
    }

    pub fn port_range(&self) -> (u16, u16) {
        let v = self.get("net.ipv4.ip_local_port_range");
        let mut it = v.split_whitespace().filter_map(|x| x.parse::<u16>().ok());
        match (it.next(), it.next()) {
            (Some(a), Some(b)) if a <= b => (a, b),
            _ => (32768, 60999),
        }
    }

    pub fn bridge_nf_call_iptables(&self) -> bool {
        self.int("net.bridge.bridge-nf-call-iptables") != 0
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
}
