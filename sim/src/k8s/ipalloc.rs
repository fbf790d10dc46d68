//! The API server's ClusterIP allocation: what `kubectl apply` of a
//! Service without `clusterIP` gets, and the families of a dual-stack one.
//!
//! Read from kubernetes/kubernetes:
//! - `pkg/registry/core/service/storage/alloc.go` (`initIPFamilyFields`:
//!   a Service without `ipFamilies` gets the families of the ClusterIPs it
//!   gives, else the cluster's primary family, and the secondary one too
//!   when PreferDualStack or RequireDualStack on a dual-stack cluster;
//!   RequireDualStack on a single-stack cluster and a family the cluster
//!   does not serve are refused; `allocClusterIPs`: each family without an
//!   address gets one from its range);
//! - `pkg/registry/core/service/ipallocator/ipallocator.go`
//!   (`NewAllocatorCIDRRange`: the network address is never given, nor an
//!   IPv4 range's broadcast one, an IPv6 range holds at most 65536;
//!   `calculateRangeOffset`: min(max(16, size/16), 256) addresses at the
//!   bottom are the static band, handed out dynamically only when the rest
//!   is full; `AllocateNext` picks at random in the upper band first);
//! - `pkg/controlplane/controller/kubernetesservice` (the `kubernetes`
//!   Service takes the range's first address).
//!
//! Simplification (named in `podpath explain`): the dynamic pick is not
//! random but a stable hash of the Service's namespace, name and family
//! into the upper band, probing upwards to the first free address (then
//! the static band), so the same manifests give the same addresses
//! everywhere. Addresses a manifest gives are taken as given (not checked
//! against the range).

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;

use super::meta::err_at;
use super::objects::{Cluster, Service};
use super::K8sError;

/// The service ranges of a cluster: its primary family's first.
#[derive(Clone, Debug)]
pub struct ServiceRanges {
    pub ranges: Vec<IpNet>,
}

/// One family's range as the bitmap allocator sees it: the first usable
/// address, how many there are, the static band's size.
struct Range {
    base: u128,
    max: u128,
    offset: u128,
    v6: bool,
}

impl Range {
    fn of(net: IpNet) -> Range {
        let (bits, v6) = match net {
            IpNet::V4(_) => (32u32, false),
            IpNet::V6(_) => (128, true),
        };
        let host_bits = bits - u32::from(net.prefix_len());
        let size: u128 = if host_bits >= 127 {
            u128::MAX
        } else {
            1u128 << host_bits
        };
        let mut max = size;
        if v6 {
            max = max.min(65536);
        } else {
            // the broadcast address
            max = max.saturating_sub(1);
        }
        // the network address
        max = max.saturating_sub(1);
        let offset = if size < 16 {
            0
        } else {
            (size / 16).clamp(16, 256)
        };
        Range {
            base: to_u128(net.network()) + 1,
            max,
            offset: offset.min(max),
            v6,
        }
    }

    fn index(&self, a: IpAddr) -> Option<u128> {
        let x = to_u128(a);
        (a.is_ipv6() == self.v6 && x >= self.base && x - self.base < self.max)
            .then(|| x - self.base)
    }

    fn addr(&self, i: u128) -> IpAddr {
        let x = self.base + i;
        if self.v6 {
            IpAddr::V6(x.into())
        } else {
            IpAddr::V4((x as u32).into())
        }
    }

    /// `AllocateNext` with the upper band first, from a stable start.
    fn next(&self, used: &BTreeSet<u128>, key: &str) -> Option<u128> {
        let upper = self.max - self.offset;
        if upper > 0 {
            let start = u128::from(crate::det::stable_hash(key.as_bytes())) % upper;
            for k in 0..upper {
                let i = self.offset + (start + k) % upper;
                if !used.contains(&i) {
                    return Some(i);
                }
            }
        }
        (0..self.offset).find(|i| !used.contains(i))
    }
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn family_name(v6: bool) -> &'static str {
    if v6 {
        "IPv6"
    } else {
        "IPv4"
    }
}

/// A Service the allocator gives addresses to: not headless, not
/// ExternalName.
fn allocates(s: &Service) -> bool {
    s.spec.svc_type.as_deref() != Some("ExternalName")
        && s.spec.cluster_ip.as_deref() != Some("None")
        && s.spec.cluster_ips.first().map(String::as_str) != Some("None")
}

impl Cluster {
    /// Fills each Service's `ipFamilies` and missing ClusterIPs as the
    /// API server does on create, from `ranges` (the cluster's
    /// `--service-cluster-ip-range`s, primary first).
    pub fn allocate_cluster_ips(&mut self, ranges: &ServiceRanges) -> Result<(), K8sError> {
        let fams: Vec<bool> = ranges
            .ranges
            .iter()
            .map(|n| matches!(n, IpNet::V6(_)))
            .collect();
        let bands: Vec<Range> = ranges.ranges.iter().map(|n| Range::of(*n)).collect();
        let mut used: Vec<BTreeSet<u128>> = vec![BTreeSet::new(); bands.len()];
        // the addresses given are taken first
        for s in &self.services {
            for a in s
                .spec
                .cluster_ips
                .iter()
                .chain(s.spec.cluster_ip.iter())
                .filter_map(|c| c.parse::<IpAddr>().ok())
            {
                for (b, u) in bands.iter().zip(used.iter_mut()) {
                    if let Some(i) = b.index(a) {
                        u.insert(i);
                    }
                }
            }
        }
        for si in 0..self.services.len() {
            if !allocates(&self.services[si]) {
                continue;
            }
            let want = families(&self.services[si], &fams)?;
            let s = &mut self.services[si];
            let mut ips: Vec<String> = if s.spec.cluster_ips.is_empty() {
                s.spec.cluster_ip.iter().cloned().collect()
            } else {
                s.spec.cluster_ips.clone()
            };
            for &v6 in want.iter().skip(ips.len()) {
                let Some(r) = fams.iter().position(|f| *f == v6) else {
                    continue;
                };
                let key = format!(
                    "{}/{}/{}",
                    s.metadata.ns(),
                    s.metadata.name,
                    family_name(v6)
                );
                // the `kubernetes` Service: the range's first address
                let pick = if (s.metadata.ns(), s.metadata.name.as_str())
                    == ("default", "kubernetes")
                    && !used[r].contains(&0)
                {
                    Some(0)
                } else {
                    bands[r].next(&used[r], &key)
                };
                let Some(i) = pick else {
                    return Err(err_at(
                        &s.metadata,
                        format!("Service {}/{}", s.metadata.ns(), s.metadata.name),
                        "spec.clusterIPs",
                        format!(
                            "failed to allocate a serviceIP: range is full ({})",
                            ranges.ranges[r]
                        ),
                    ));
                };
                used[r].insert(i);
                ips.push(bands[r].addr(i).to_string());
            }
            s.spec.ip_families = want.iter().map(|v6| family_name(*v6).to_string()).collect();
            s.spec.cluster_ip = ips.first().cloned();
            s.spec.cluster_ips = ips;
        }
        Ok(())
    }
}

/// `initIPFamilyFields`: the families a Service gets, in order (IPv6
/// true).
fn families(s: &Service, cluster: &[bool]) -> Result<Vec<bool>, K8sError> {
    let o = format!("Service {}/{}", s.metadata.ns(), s.metadata.name);
    let bad = |f: &str, m: String| Err(err_at(&s.metadata, o.clone(), f, m));
    let given: Vec<bool> = s
        .spec
        .cluster_ips
        .iter()
        .chain(
            s.spec
                .cluster_ip
                .iter()
                .filter(|_| s.spec.cluster_ips.is_empty()),
        )
        .filter_map(|c| c.parse::<IpAddr>().ok())
        .map(|a| a.is_ipv6())
        .collect();
    let mut want: Vec<bool> = if !s.spec.ip_families.is_empty() {
        s.spec.ip_families.iter().map(|f| f == "IPv6").collect()
    } else if !given.is_empty() {
        given.clone()
    } else {
        cluster.iter().take(1).copied().collect()
    };
    let dual = cluster.len() > 1;
    match s.spec.ip_family_policy.as_deref() {
        Some("RequireDualStack") if !dual => {
            return bad(
                "spec.ipFamilyPolicy",
                "Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services".into(),
            )
        }
        Some("RequireDualStack" | "PreferDualStack") if dual && want.len() < 2 => {
            let other = !want[0];
            want.push(other);
        }
        _ => {}
    }
    for (i, v6) in want.iter().enumerate() {
        if !cluster.contains(v6) {
            return bad(
                &format!("spec.ipFamilies[{i}]"),
                format!(
                    "Invalid value: \"{}\": not configured on this cluster",
                    family_name(*v6)
                ),
            );
        }
    }
    Ok(want)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(r: &[&str]) -> ServiceRanges {
        ServiceRanges {
            ranges: r.iter().map(|x| x.parse().unwrap()).collect(),
        }
    }

    fn cluster(yaml: &str) -> Cluster {
        Cluster::from_text(yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"))
    }

    /// `calculateRangeOffset` and the usable addresses of ipallocator.go
    /// (its tests: a /24 has 254 addresses and a 16-address static band;
    /// a /12 caps the band at 256; an IPv6 /112 holds 65535 past its
    /// network address, and a /64 is capped at 65536 - 1).
    #[test]
    fn ranges_as_the_bitmap_allocator_sizes_them() {
        let r = Range::of("10.0.0.0/24".parse().unwrap());
        assert_eq!((r.max, r.offset), (254, 16));
        let r = Range::of("10.96.0.0/12".parse().unwrap());
        assert_eq!((r.max, r.offset), ((1 << 20) - 2, 256));
        let r = Range::of("fd00:10:96::/112".parse().unwrap());
        assert_eq!((r.max, r.offset), (65535, 256));
        let r = Range::of("fd00::/64".parse().unwrap());
        assert_eq!((r.max, r.offset), (65535, 256));
        let r = Range::of("10.0.0.0/29".parse().unwrap());
        assert_eq!((r.max, r.offset), (6, 0));
    }

    #[test]
    fn services_get_their_families_and_addresses() {
        let mut c = cluster(
            "apiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, namespace: default}\nspec: {ports: [{port: 443}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {ipFamilyPolicy: PreferDualStack, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: v6, namespace: default}\nspec: {ipFamilies: [IPv6], ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: given, namespace: default}\nspec: {clusterIP: 10.96.200.7, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: headless, namespace: default}\nspec: {clusterIP: None, ports: [{port: 80}]}\n",
        );
        c.allocate_cluster_ips(&ranges(&["10.96.0.0/16", "fd00:10:96::/112"]))
            .unwrap();
        let svc = |n: &str| c.services.iter().find(|s| s.metadata.name == n).unwrap();
        assert_eq!(svc("kubernetes").spec.cluster_ips, ["10.96.0.1"]);
        assert_eq!(svc("kubernetes").spec.ip_families, ["IPv4"]);
        let web = &svc("web").spec;
        assert_eq!(web.ip_families, ["IPv4", "IPv6"]);
        let (a, b): (IpAddr, IpAddr) = (
            web.cluster_ips[0].parse().unwrap(),
            web.cluster_ips[1].parse().unwrap(),
        );
        assert!(a.is_ipv4() && b.is_ipv6(), "{web:?}");
        // the dynamic band: past the 256-address static one
        assert!(
            to_u128(a) - to_u128("10.96.0.0".parse().unwrap()) > 256,
            "{a}"
        );
        assert_eq!(web.cluster_ip.as_deref(), Some(web.cluster_ips[0].as_str()));
        assert!(svc("v6").spec.cluster_ips[0].contains(':'));
        assert_eq!(svc("given").spec.cluster_ips, ["10.96.200.7"]);
        assert_eq!(svc("headless").spec.cluster_ip.as_deref(), Some("None"));
        // the same manifests, the same addresses
        let mut again = cluster(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {ipFamilyPolicy: PreferDualStack, ports: [{port: 80}]}\n",
        );
        again
            .allocate_cluster_ips(&ranges(&["10.96.0.0/16", "fd00:10:96::/112"]))
            .unwrap();
        assert_eq!(again.services[0].spec.cluster_ips, web.cluster_ips);
    }

    #[test]
    fn refusals_in_the_api_servers_words() {
        let one = |spec: &str, r: &[&str]| {
            let mut c = cluster(&format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: s, namespace: default}}\nspec: {spec}\n"
            ));
            c.allocate_cluster_ips(&ranges(r)).map(|_| c)
        };
        let e = one(
            "{ipFamilyPolicy: RequireDualStack, ports: [{port: 80}]}",
            &["10.96.0.0/16"],
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("this cluster is not configured for dual-stack services"),
            "{e}"
        );
        let e = one(
            "{ipFamilies: [IPv6], ports: [{port: 80}]}",
            &["10.96.0.0/16"],
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("\"IPv6\": not configured on this cluster"),
            "{e}"
        );
        // a full range
        let mut c = cluster(
            "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: default}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: c, namespace: default}\nspec: {ports: [{port: 80}]}\n",
        );
        let e = c
            .allocate_cluster_ips(&ranges(&["10.0.0.0/30"]))
            .unwrap_err();
        assert!(e.message.contains("range is full"), "{e}");
        // PreferDualStack on a single-stack cluster: its family alone
        let c = one(
            "{ipFamilyPolicy: PreferDualStack, ports: [{port: 80}]}",
            &["10.96.0.0/16"],
        )
        .unwrap();
        assert_eq!(c.services[0].spec.ip_families, ["IPv4"]);
    }
}
