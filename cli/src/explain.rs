//! `podpath explain`: what is modelled and what is simplified. Every
//! simplification named in a doc comment of podpath-sim is listed here.

pub const TEXT: &str = r#"podpath models each host as a Linux network namespace and walks every packet
through the kernel's order:

  ingress dev -> bridge (FDB, hairpin, br_netfilter) -> raw PREROUTING -> conntrack
  -> mangle PREROUTING -> nat PREROUTING (first packet only) -> route input
  (ip rules, tables, LPM, rp_filter) -> local: mangle/filter INPUT, nat INPUT -> socket
  | forward: TTL, MTU, mangle/filter FORWARD -> mangle/nat POSTROUTING (first packet
  only) -> neighbour (ARP on the wire) -> egress dev.
  Locally generated: route output -> raw OUTPUT -> conntrack -> mangle/nat/filter
  OUTPUT (re-route after DNAT) -> POSTROUTING.

IPv6 takes the same walk through ip6tables (see ipv6 below and
SIMPLIFIED): ipv6_rcv -> raw/conntrack/mangle/nat PREROUTING -> route
input -> mangle/filter/nat INPUT and local delivery, or ip6_forward ->
mangle/filter FORWARD -> mangle/nat POSTROUTING -> neighbour discovery
-> egress dev; local: route, source -> raw/conntrack/mangle/nat/filter
OUTPUT (re-route after DNAT) -> POSTROUTING.

Packets are real Ethernet frames with correct IPv4/IPv6/TCP/UDP/ICMP/ICMPv6
checksums.
Every random choice comes from a seeded ChaCha stream. A flow's own choices
(ephemeral port, ISN, socket hash, DNS id, statistic/numgen match) come from a
stream per (host, flow), seeded from the scenario seed, the host name and the
flow id, so adding or changing a flow leaves the others' choices unchanged;
NAT's port choice (--random, --random-fully) stays per host (the kernel's
allocator is state the flows share), and so do the programs' own choices
(HAProxy's and Envoy's balancing) and the neighbour table.
Time is virtual: link latencies, ARP and TCP timers run on the event clock.

MODELLED
  wire        Ethernet, ARP, IPv4, ICMP, TCP, UDP, SCTP (common header, chunks,
              CRC32c), VXLAN header (parse/emit); IPv6 with hop-by-hop,
              routing (type 4 segments), fragment and destination options
              headers, ICMPv6 (echo, destination unreachable, packet too
              big, time exceeded, parameter problem) and Neighbor Discovery
              (RS, RA, NS, NA, redirect, their options), upper-layer
              checksums over the IPv6 pseudo-header
  devices     loopback, veth pairs (and wires), Linux bridge, dummy, vxlan,
              tun (raw IP, no ARP; pcap LINKTYPE_RAW);
              MTU; up/down; L2 segments (a switch: a bridge of its own)
  overlay     VXLAN: FDB (default 00:00:00:00:00:00 entry), learning on/off,
              VNI, dstport, local, outer source port from the inner flow,
              encapsulation through the host's OUTPUT/POSTROUTING, decap
  bridge      FDB learning, flooding, hairpin mode, br_netfilter hooks for
              bridged IPv4 (PREROUTING/FORWARD/POSTROUTING, physdev match), bridged
              DNAT (destination MAC rewritten) and DNAT that leaves the bridge
  routing     tables, ip rules (from/to/fwmark/iif/oif/not/priority, actions),
              longest-prefix match, route types unicast/local/blackhole/
              unreachable/prohibit/throw, onlink, src hints, source address
              selection, ip_forward, rp_filter strict/loose, route_localnet,
              martian sources/destinations, TTL, ICMP errors
  neighbours  ARP requests/replies on the wire, INCOMPLETE/REACHABLE/STALE/
              DELAY/PROBE/PERMANENT/FAILED, queued packets, 3 broadcast
              requests 1 s apart, unicast probes of a STALE entry after 5 s
  netfilter   iptables-save input; tables raw/mangle/nat/filter/security;
              user chains, jump/goto/RETURN, policies; matches -s -d -p -i -o
              -f, tcp/udp/sctp ports, sctp --chunk-types, multiport, tcp-flags/syn, icmp-type,
              comment, mark, connmark, conntrack/state (also --ctproto,
              --ctorig/repl src/dst/ports, --ctstatus, --ctexpire, --ctdir),
              addrtype, statistic random/nth, recent, set (ipset), physdev,
              nfacct, limit, iprange, hashlimit, rpfilter, ttl, time,
              pkttype, length, mac, owner, connlimit, tos, dscp, ecn,
              helper, devgroup, policy; targets ACCEPT DROP REJECT (icmp-* /
              tcp-reset) DNAT SNAT MASQUERADE (--random-fully, --to-ports)
              REDIRECT MARK CONNMARK LOG NFLOG ULOG NOTRACK CT NFQUEUE QUEUE
              TCPMSS CHECKSUM CLASSIFY AUDIT TTL TOS DSCP ECN SET TEE; every other match or target
              iptables knows is kept unmodelled (listed once per run;
              --assume-unmodelled match|nomatch); ip6tables-save runs on
              IPv6 packets (-s/-d, --icmpv6-type, -m hl, addrtype and the
              family-neutral matches; REJECT icmp6-* and tcp-reset; DNAT,
              SNAT, MASQUERADE, REDIRECT with [ADDR]:PORT ranges; NETMAP
              and IPv6 values of conntrack/iprange/recent kept
              unmodelled); a dump alone is not checked against
              the machine's ipsets, nfacct objects and connlabel.conf names
              (iptables-restore looks them up; Ruleset::check_machine does
              where the machine is known)
  nftables    `nft list ruleset` text or `nft -f` scripts (define, include,
              flush, delete; every family read and kept; ip/inet run at
              the IPv4 hooks, netdev ingress/egress (and inet ingress) on
              their devices' frames, bridge prerouting/input/forward/
              output/postrouting on bridged frames, arp input/output on
              ARP; ether/arp header matches, `ether saddr|daddr set` (a
              MAC, or numgen/jhash maps), `fwd to`, `dup to` a device):
              base chains by hook and priority between the iptables tables,
              jump/goto/return, sets and maps (interval, timeout, dynamic,
              concatenated ranges, interface-name and string keys), verdict
              maps, `numgen random|inc mod N` maps, fib type, ct state/
              status/mark, tcp flags, icmp type, sctp chunk NAME [FIELD], pkttype, marks with bit
              operations, `add|update @set`, dnat/snat to ranges, ports and
              maps (addr . port), numgen and jhash maps (`dnat to A :
              numgen ... map`), `ip saddr|daddr|ttl|dscp|ecn set`,
              masquerade and redirect with ports,
              limit and quota (named objects, objects chosen by maps,
              meters and per-element limits), netmap (`prefix to`),
              binding chains (`jump { ... }`), counter, log, queue,
              reject with every type; kube-proxy's nftables mode writes it
  conntrack   tuples both ways, NEW/ESTABLISHED/RELATED/INVALID/UNTRACKED and
              the SNAT/DNAT states, TCP states with kernel timeouts, NAT
              decided once per manip type, reply de-NAT, source port clash
              resolution, ICMP errors mapped to their connection (quoted
              packet rewritten), table-full drops (nf_conntrack_max), SCTP
              tracked with nf_conntrack_proto_sctp's state table (Linux
              6.x: CLOSED/COOKIE_WAIT/COOKIE_ECHOED/ESTABLISHED/SHUTDOWN_*/
              HEARTBEAT_SENT, their timeouts, the vtag rules, INVALID
              packets) and its ports NATed with the CRC32c recomputed
  transport   TCP handshake with the SYN options Linux writes (MSS,
              SACK-permitted, timestamps, window scale from tcp_rmem, each
              by its sysctl and agreed only when both ends offer it), TS on
              every segment after it (the MSS less its 12 bytes per
              segment), data with real sequence numbers, an out-of-order
              queue with SACK blocks in the ACKs (newest first, D-SACK for
              a copy, 3 beside TS), over IPv4 and IPv6 (connection keys of
              either family, [::] listeners taking both, tcp_v6_err:
              Packet Too Big lowers the MSS to the path MTU less 60 and
              sends the queue again cut to it),
              Linux's quick-ACK/delayed-ACK decisions, FIN,
              RST for closed ports, SYN retransmission with backoff
              (tcp_syn_retries), data/FIN retransmission on the RTO (RTT
              estimate, 200 ms floor, backoff, tcp_retries2 -> ETIMEDOUT,
              go-back-N in Loss), ICMP errors aborting connect; UDP sockets and
              ICMP port unreachable; ICMP echo; SCTP associations as Linux's
              net/sctp runs them (one-to-one sockets): INIT, INIT ACK with a
              State Cookie (no state kept), COOKIE ECHO/ACK, DATA and SACK
              (delayed SACK 200 ms, every second packet, bundled with
              outgoing DATA), SHUTDOWN/SHUTDOWN ACK/SHUTDOWN COMPLETE,
              ABORT, HEARTBEAT ACK, out-of-the-blue answers (RFC 9260 §8.4),
              verification tags (§8.5), T1-init/T1-cookie/T2/T3 timers
              (rto_initial 3 s doubled to rto_max 60 s, max_init_retransmits
              8, association_max_retrans 10), ICMP protocol unreachable
              ending a connect
  apps        HTTP/1.1 client (curl-like) and server (route table, JSON bodies);
              DNS A lookups over UDP: a CoreDNS-like server (records table,
              NXDOMAIN) and a stub resolver (timeout 5 s, 2 attempts); with a
              host's resolv.conf, glibc res_search's order (ndots, search list,
              next name after NXDOMAIN, a new connected socket per name)
  wireguard   a TUN device served by userspace WireGuard (tailscaled, HeadCNI):
              cryptokey routing by allowed-ips, transport messages (type 4,
              receiver index, counter, padded ciphertext, tag) in UDP 41641,
              allowed-ips checked on receive, endpoint roaming
  ipv6        addrconf: ::1 on lo, a link-local on every device that is up
              (addr_gen_mode eui64 from the MAC; none; stable/random as a
              hash of the name; TUN random; tunl0 none), given addresses
              with nodad/noprefixroute, disable_ipv6, the kernel's routes
              (local /128s, prefix and fe80::/64 routes at metric 256,
              ff00::/8); RFC 6724 source selection as ipv6_dev_get_saddr
              (rules 1, 2, 3, 5, 6 with addrlabel.c's labels, 8 capped at
              the prefix length; tentative addresses never chosen); ip -6
              route (any table, longest prefix then metric,
              unreachable/prohibit/blackhole/throw, onlink, route mtu) and
              ip -6 rule (from/to/fwmark/iif/oif/not/priority, a table or
              blackhole/unreachable/prohibit; defaults 0 local, 32766
              main; `family: inet6` or an IPv6 prefix in a scenario's
              `rules`, ip6-rule.json in a bundle); Neighbor
              Discovery (NS from the packet's own source or the link-local,
              to the solicited-node group, 3 tries 1 s apart, FAILED ->
              address unreachable per waiting packet; NA solicited/override/
              router; STALE/DELAY/PROBE; hop limit 255 required; DAD probes
              answered to all-nodes); ip6_forward (forwarding off, hop limit
              -> time exceeded, link-local source -> beyond scope, redirect
              when the packet leaves the device it came in on (sent before
              the packet; taken by a host whose first hop sent it, from a
              link-local source, accept_redirects), packet too
              big: routers never fragment); path MTU per destination from
              packet too big (never below 1280); fragmentation by the
              source (ip6_fragment) and reassembly (RFC 5722 overlaps
              dropped); hop-by-hop/destination option action bits;
              unknown next header -> parameter problem; auto flow labels
              (one per flow and direction, 0 for ND); ICMPv6 errors as
              icmp6_send sends them (quote up to 1280 bytes, none about an
              error or a multicast/unspecified source); ping -6 -c N with
              iputils' wording; VXLAN carrying IPv6, over an IPv4 or an
              IPv6 underlay (UDP over IPv6 with its checksum, MTU 1430);
              WireGuard endpoints over IPv6 (`[ADDR]:PORT`); curl to
              http://[ADDR]:PORT/; conntrack for IPv6 (ICMPv6 errors
              RELATED, ND and MLD untracked as nf_conntrack_icmpv6_error
              leaves them) and NAT66 with the quoted packet of an error
              translated back (nf_nat_icmpv6_reply_translation);
              br_netfilter for IPv6 (bridge-nf-call-ip6tables: PREROUTING
              at the bridge, the reroute after DNAT with the redirect the
              kernel then sends, bridged DNAT, FORWARD/POSTROUTING for
              bridged frames); nftables ip6 and inet tables on IPv6
              packets (ip6 saddr/daddr/nexthdr/hoplimit, icmpv6, meta
              nfproto, fib, ipv6_addr sets and concatenated maps, NAT of
              the packet's family); curl's lookups as glibc's
              getaddrinfo makes them (A and AAAA back to back on one
              socket through the resolv.conf search list, the answers
              sorted by rfc3484_sort with glibc's built-in tables, so a
              ULA before IPv4), then curl's Happy Eyeballs (the first
              address's family first, the other after 200 ms or at once
              when the first failed); curl -4/-6 (`ipv4: true`,
              `ipv6: true`: A or AAAA only)
  icmp        echo (ping -s SIZE -M do|dont, iputils' wording), errors quoting
              up to 548 bytes (icmp_send's 576-byte rule), fragmentation-
              needed with the next-hop MTU, RELATED conntrack with NAT
              translation only when the connection has that NAT
  arp         requests, replies, proxy ARP (proxy_arp, arp_fwd_proxy)
  haproxy     haproxy.cfg (frontend/backend/listen, mode tcp|http, bind, acl
              hdr(host)/path_beg/path/src + use_backend, default_backend,
              server weight/check/inter/rise/fall, default-server, balance
              roundrobin/leastconn/source/random(N), stick on src, option
              httpchk, option forwardfor): its own connection to the chosen
              server, health checks on the virtual clock
  keepalived  keepalived.conf vrrp_instance: VRRPv2 adverts (224.0.0.18,
              protocol 112, TTL 255, PASS auth), RFC 3768 timers (skew,
              Master_Down_Interval), preemption, the VIP added with 5
              gratuitous ARPs, a priority-0 advert when stopped
  ingress     ingress-nginx from Ingress objects (hostNetwork controller
              pods): host and path (Exact, Prefix, ImplementationSpecific),
              rewrite-target, service-upstream, X-Forwarded-*/X-Real-IP/
              X-Request-ID, 404 from the default backend, 503 without
              endpoints, /healthz on the default server
  istio       pods labelled sidecar.istio.io/inject get istio-init's nat
              rules (REDIRECT 15001/15006, -m owner 1337) and an Envoy that
              reads SO_ORIGINAL_DST, balances over the Service's endpoints
              itself, adds x-request-id/traceparent, speaks mTLS (TLS 1.3
              ClientHello/ServerHello and records) to the peer sidecar, and
              calls the app on 127.0.0.1
  forwarders  tcp-forward: a user-space TCP forwarder (minikube service
              tunnel, kubectl port-forward)
  daemons     keepalived and checking proxies run from time 0; a run with
              daemons ends 1 s after the last fault and the last outcome
  faults      a timeline in the scenario: link down/up, node down, conntrack
              flush, server process stopped (its sockets close: RST), link
              latency changed, link loss (a share of frames, seeded), an
              endpoint removed from its EndpointSlices (kube-proxy, ingress-
              nginx and sidecars resync at that instant; UDP conntrack
              entries DNATed to it deleted); listed in the trace with
              their time
  kubernetes  clusters from their objects (Node, Pod, Service, EndpointSlice):
              the EndpointSlice controller (pods selected by a Service's
              selector, targetPort by number or containerPort name, ready
              from the pod's Ready condition, 100 endpoints per slice),
              kube-proxy iptables mode rule for rule (1.28 layout, chain
              hashes, ClusterIP/NodePort/LB/externalIPs, traffic policies,
              affinity, terminating endpoints, source ranges), flannel vxlan
              and host-gw (devices, routes, neighbours, FDB, FLANNEL-* rules),
              the bridge CNI plugin (cni0, hairpin veths), calico BGP and
              IPIP (cali veths, proxy ARP, tunl0), kindnet, kubelet's pod
              resolv.conf, kube-proxy's service health servers on each
              node's healthCheckNodePort (200 with local endpoints, 503
              without); dual-stack and IPv6-only clusters (podIPs,
              podCIDRs, InternalIPs of both families, Services'
              clusterIPs/ipFamilies/ipFamilyPolicy as the API server
              validates them, one EndpointSlice per family, kube-proxy's
              IPv6 proxier in ip6tables and the `ip6 kube-proxy` nftables
              table, flannel-v6.1 over the IPv6 node network, calico BGP's
              /128 per pod and the host veth's link-local as the pods'
              IPv6 gateway, kindnet's ptp veths per family and its
              masquerade agent in ip6tables, CoreDNS AAAA for Services); kube-proxy ipvs
              mode (kube-ipvs0 with the
              Service IPs, virtual services with rr/wrr/lc/sh, the KUBE-*
              ipsets and the iptables rules ipvs mode writes);
              `podpath expand`, `podpath kube-proxy-rules`
  ipvs        virtual services on local addresses, scheduled at LOCAL_IN
              after filter INPUT, masquerading forward with conntrack
              (net.ipv4.vs.conntrack=1); ipsets of every type (hash:ip,
              hash:net, hash:ip,port, hash:net,port, hash:ip,port,ip,
              hash:ip,port,net, hash:net,port,net, hash:net,iface,
              hash:net,net, hash:ip,mark, bitmap:ip, bitmap:port,
              list:set; inet and inet6) as `ipset restore` loads them
              (create/add/del/test/flush/destroy/rename/swap, -exist);
              schedulers rr, wrr, lc, wlc, sh; `ipvsadm -S [-n]` dumps read
              (fwmark services, -g/-i, -p, other schedulers kept as
              unmodelled); `conntrack -L` dumps loaded into the table (a
              replay can start inside an established, NATed connection)
  inspect     `podpath inspect PATH...`: each dump's format (iptables-save,
              ip6tables-save, nft, ipset save, ipvsadm -S, ip -j, bridge -j,
              sysctl -a, conntrack -L) or a bundle; what is understood,
              simplified, unmodelled (with lines) and missing; --format json
  views       text and JSON traces; pcapng (one interface per host/device,
              ns timestamps, directions, comments, names); sequence diagrams
              as Mermaid, PlantUML, SVG and terminal text (merman); an HTML
              report; a terminal step-through (`podpath step`); every branch
              with its probability (`podpath paths`); golden-trace checks
              (`podpath check`); what changed between two worlds, flow by
              flow and reach cell by cell (`podpath diff`)
  live        `podpath live --netns`: the scenario built from network
              namespaces, flows through the real kernel, captures per device
              and direction, diff against the simulation and against a replay
              of the pre-traffic snapshot bundle

SIMPLIFIED (and where)
  - IPv6 (net/ip6, net/netfilter/hook6): ip6tables' HL, TCPMSS,
    TOS, NFQUEUE, TEE, TPROXY and SYNPROXY targets are not applied to
    IPv6 packets; a fragment is left untracked (no nf_defrag_ipv6 before
    conntrack); Neighbor Discovery the host sends skips OUTPUT (what it
    receives passes INPUT); SCTP has no IPv6 sockets, a UDP socket
    receives both families; the proxies (haproxy, ingress-nginx,
    envoy) listen and connect over IPv4 only; getaddrinfo's sort
    (app/gai.rs) never decides by rules 3, 4 or 7 (no deprecated or home
    addresses, no SIT/ip6tnl tunnels) and reads no /etc/gai.conf; when
    one answer of an A+AAAA pair is lost the resolver resends both
    together (glibc switches to single-request mode and asks them one
    after the other); curl's per-address connect timeout within a family
    (half the time left while addresses remain) is not applied, each
    attempt runs until TCP gives up; `[::]` stands for both an
    IPV6_V6ONLY socket and a dual-stack one in a bundle; a redirect
    taken never expires; router
    advertisements are shown, not acted on (no SLAAC, no default router
    from an RA); no anycast (subnet-router) addresses; ICMP and ICMPv6
    errors (and IPv6 redirects) are rate limited per peer as
    inet_peer_xrlim_allow does (a burst of 6, then one per
    net.ipv4.icmp_ratelimit / net.ipv6.icmp.ratelimit, shorter to wider
    IPv6 prefixes), not by the global limit (icmp_global_allow: 1000/s,
    burst 50, random credits); route choice among equal
    prefixes is by metric then order (no rt6_select round robin or
    reachability scoring); learnt path MTUs never expire (mtu_expires
    600 s); the reassembly timeout (60 s) is not modelled; a world
    starts after DAD (given addresses usable at once; one added at run
    time would be tentative); flow labels are a fixed hash, not the
    kernel's boot-seeded one; WireGuard's tunnel carries IPv4 only (its
    endpoints may be IPv6); Kubernetes dual-stack and IPv6-only clusters
    are built for flannel (vxlan, host-gw) and calico-bgp with kube-proxy
    in iptables or nftables mode: calico's IPIP has no IPv6 (refused, as
    it is), felix's IPv6 policy rules, the CNI plugin's proxy_ndp=1 on
    cali veths (no proxy entries are added, so it changes nothing),
    kube-proxy's ipvs mode runs both proxiers (the IPv6 one: virtual
    services on the IPv6 ClusterIPs and node address, KUBE-6-* sets of
    family inet6, kube-ipvs0 /128s, its ip6tables rules); `reach` probes SCTP over
    IPv4 only (SCTP over IPv6 is not modelled: it warns how many ports it
    leaves out); kindnet's dual-stack is its ptp plugin per family, and a
    NetworkPolicies are enforced over both families: felix writes its
    IPv6 ruleset in ip6tables (cali60 IP sets, family inet6; a rule whose
    ipBlock holds only the other family's CIDRs is left out of a
    version's ruleset, as FilterRuleToIPVersion does; cali-wl-to-host
    accepts ICMPv6 MLD, RS, NS and NA first), kindnet's
    kube-network-policies hands IPv6 packets to the same evaluator (its
    podips-v6 set and ip6 queue rules); calico's IPv6 block is the node's IPv6
    podCIDR, as its IPv4 block is the IPv4 one; the API
    server allocates the ClusterIPs a Service lacks (its families from
    ipFamilies, the addresses given or the cluster's primary, both for
    PreferDualStack and RequireDualStack on a dual-stack cluster; the
    kubernetes Service the range's first address) in the bitmap
    allocator's upper band, the pick a stable hash of the Service's name
    rather than random; addresses given are not checked against the
    range.                                  [net/ip6]
  - No IP fragmentation: a packet over the MTU without DF is dropped with a
    reason; with DF, forwarding sends ICMP fragmentation-needed.         [net/ipv4]
  - No GSO/TSO: every TCP segment is its own frame. A frame longer than
    a veth's (or a NIC's) MTU + 18 is dropped on receipt, as
    is_skb_forwardable drops it; a GSO superpacket would pass there.     [net/link]
  - No IP options processing; accept_local, arp_ignore, arp_announce and
    icmp_errors_use_inbound_ifaddr stay at their defaults.               [net/ipv4]
  - Routing: no multipath, no route cache or PMTU exceptions; metrics
    only break ties between equal prefixes. Broadcast routes of table
    local come from snapshots (a scenario's hosts get none unless it
    lists them): delivered locally as broadcasts (brd_input), sent to
    ff:ff:ff:ff:ff:ff; bc_forwarding, SO_BROADCAST and the sender's own
    looped-back copy are not modelled. `ip -brief link` carries no kind:
    its links are taken as Ethernet NICs (LOOPBACK as the loopback).     [net/fib]
  - Neighbours: REACHABLE turns STALE after exactly 30 s (not a random
    15-45 s); upper layers never confirm reachability, so a DELAY entry
    always probes; unsolicited ARP creates no entry.                     [net/neigh]
  - Bridge: no STP, VLAN filtering or FDB ageing; broadcast frames skip
    br_netfilter. A scenario whose bridges and links make a layer-2 loop
    is refused, naming the link that closes it (without STP a flooded
    frame would circle forever).                                         [net/bridge]
  - VXLAN: the outer source port is a stable hash of the inner flow, not
    the kernel's seeded jhash; no GBP/GPE.                               [net/overlay]
  - netfilter: counters are parsed and ignored; -m nfacct always matches;
    LOG, NFLOG, ULOG and AUDIT write a trace step, not a log line; -m
    limit's and -m hashlimit's buckets refill in nanoseconds of virtual
    time, not in jiffies (hashlimit's table never expires an entry); -m
    time reads the virtual clock as UTC seconds since 1970-01-01 (a
    Thursday), so --kerneltz and --localtz are UTC; -m pkttype derives
    the packet type from the IP destination (multicast, broadcast, else
    host); -m connlimit counts every live connection of the host with
    that source prefix, not only those the rule saw; -m devgroup sees
    every device in group 0; -m helper never matches (no conntrack
    helpers run); -m policy: no IPsec, so --pol none always holds and
    --pol ipsec never; -m connbytes reads the connection's packet and
    byte counters (conntrack counts every packet; the counters are seen
    when net.netfilter.nf_conntrack_acct is 1 or a connbytes rule forced
    accounting on, and a rule loaded before the first packet sees every
    connection's counters); -m socket
    looks the packet's socket up as xt_socket does (established, then
    listener; an ICMP error's quoted tuple is not looked up; sockets
    have no SO_MARK, so --restore-skmark restores 0); TPROXY and nft
    tproxy give the packet a transparent socket (apps with
    `transparent: true`; one listener a port, UDP sockets unconnected);
    TCPMSS lowers the MSS option a SYN carries (--clamp-mss-to-pmtu:
    the smaller of the output device's MTU and the reverse route's, less
    40) and inserts none into a SYN without one; CHECKSUM changes
    nothing (checksums are always complete); CT --zone/--helper/--timeout are recorded, but zones do
    not separate connections and no helper runs; CLASSIFY has no
    effect (no qdiscs); NFQUEUE and QUEUE (and nft queue) reach the
    program bound to the queue number (kube-network-policies), else the
    packet is dropped, or accepted with --queue-bypass / `bypass`; the
    program answers at once (no queueing delay, the queue never
    overflows), NF_ACCEPT reinjecting at the next hook entry; a queue
    number chosen per packet (nft fanout, a map) reaches no listener;
    SYNPROXY (and nft synproxy, named synproxy objects) answers with
    SYN cookies and opens the server connection as nf_synproxy_core.c
    does, but the seqadj translation is applied in the synproxy hook
    rather than at conntrack confirm, the server ACK's window is the
    client's last one (no td_maxwin), SACK blocks are not translated and
    a reopened connection is not reset; nf_conntrack_tcp_loose=0 makes a
    mid-stream ACK INVALID; the proxy's SYN to a local server is
    delivered after packets that arrived at the same virtual instant, so
    a client's first data sent with its ACK is taken as a second ACK
    (cookie_retrans: a second server SYN) and comes again after an RTO;
    TTL, TOS, DSCP and ECN rewrite the header (the rules after them
    see the new value; the bytes are written at the end of the hook
    with the checksums updated incrementally, csum_replace2); SET adds
    and deletes the packet's element in the host's ipsets as it passes
    (timeouts on the virtual clock; a hash:net element is added as a
    /32; MAC and list:set dimensions are not filled from a packet;
    --map-set applies skbmark, skbprio and skbqueue have no effect);
    TEE (and nft's `dup to`) sends an untracked clone to the gateway
    (its next hop) straight to POSTROUTING, without the OUTPUT hooks
    the kernel's ip_local_out runs; the other
    targets are kept unmodelled and passed over; nftables base chains
    of priority above 50 at INPUT/FORWARD/OUTPUT run before the security
    table, not after it; filter-type base chains of PREROUTING above -100
    run after the DNAT (as the kernel orders them), those of OUTPUT
    between -150 and 0 still before iptables' nat OUTPUT.                [net/netfilter]
  - ipset: the timeouts of loaded elements are kept but never expire
    during a run (elements -j SET adds do expire);
    packet/byte counters and skbinfo are kept, not updated or applied;
    MAC sets (hash:mac, hash:ip,mac, bitmap:ip,mac) are unmodelled (the
    packet carries no source MAC to netfilter): --assume-unmodelled
    decides; an inet6 set matches IPv6 packets only, an inet one IPv4
    packets only (the kernel's family check).                          [net/netfilter/ipset]
  - ipvsadm dumps: lc/wlc count the connections podpath scheduled, not the
    kernel's 256*active+inactive; -x/-y thresholds kept, not enforced. A
    host name (a dump without -n) is resolved from the bundle's etc/hosts,
    else from the bundle's host of that name (its first address: the
    machine's own resolver, DNS included, is not known), else kept
    unresolved (its service or real server left out).                    [net/ipvsadm]
  - user, group and host names (nft `meta skuid|skgid NAME`, iptables
    `-m owner --uid-owner|--gid-owner NAME`, ipvsadm host names) resolve
    through the dumped machine's etc/passwd, etc/group, etc/hosts (a
    bundle's etc/, `inspect --etc DIR`) as glibc's files backend answers
    getpwnam/getgrnam/gethostbyname (no sssd, LDAP or DNS); a name a
    given file lacks is the tool's refusal; without the file the name is
    kept unresolved and never matches unless --assume-unmodelled match. [net/names]
  - conntrack -L: a loaded entry's timeout counts from the replay's start;
    TCP window tracking starts afresh; an [OFFLOAD] entry goes into a
    flowtable of the host's nft ruleset (the one whose devices take both
    directions, else the first; routes as the FIB gives them now), else
    it is an ordinary entry (only nft_flow_offload sets IPS_OFFLOAD);
    IPv6 entries kept for when IPv6 lands.                              [net/netfilter/ct_list]
  - conntrack: TCP tracked by flags only (no window checks, so no INVALID
    from out-of-window segments); nf_conntrack_tcp_loose on by default (0 honoured); no helpers/expectations;
    NAT port search is linear from a hash (or seeded random) offset.     [net/conntrack]
  - TCP: delayed ACKs follow Linux (quick-ACK for the first segments,
    pingpong mode, 40 ms timer) but ato never grows past 40 ms; fixed
    window 64240 (shifted by the window scale after the handshake: no
    receive-window growth); SYN options and timestamps as Linux sends
    them, but TSval's offset is a fixed hash, SACK blocks are sent but
    not read (the sender resends from the hole on the RTO, go-back-N),
    a FIN past a hole is not held, and timestamps give no RTT sample (no
    RTT sample after a retransmitted SYN: RTO 3 s); no congestion window
    or fast retransmit (a loss costs an RTO; after a Packet Too Big every
    piece goes at once);
    RFC 6298 gains for later RTT samples; no SYN-ACK timer; TIME_WAIT
    kept to the end. A retransmission is skipped while the last copy
    waits in an ARP queue (skb_still_in_host_queue), that copy known by
    its source port, sequence number and SYN flag.                       [net/tcp]
  - endpointRemoved: the control plane reacts at the fault's instant (no
    watch/sync delay, no terminating phase); TCP connections to the
    endpoint keep their conntrack entries (as with kube-proxy, which only
    clears UDP); a HAProxy backend with health checks is not resynced.  [engine, scenario]
  - policyApplied/policyDeleted/podLabelsChanged/namespaceLabelsChanged:
    the objects change as the API server changes them and the CNI's policy
    agent reprograms the nodes at that instant (no watch delay);
    established connections stay as conntrack keeps them. A pod's new
    labels move it in or out of the EndpointSlices podpath's controller
    wrote, not of those the scenario gives.                             [scenario/events]
  - EndpointSlice controller: it writes the slices of a Service with a
    selector only where the manifests give none (given slices are a real
    controller's output and are kept as they are). A pod without
    status.conditions is taken as Ready; no pod is terminating; slice
    names end in five characters hashed from namespace, Service and
    slice number, not the API server's random suffix; IPv4 only.       [k8s/endpointslice]
  - Link loss: each frame on a lossy link is lost with the given share,
    drawn from the scenario's seed (same seed, same frames lost); no
    bursts or reordering.                                                [engine]
  - HTTP: one request per connection; no Date/Server headers.            [app/http]
  - DNS: the server's table holds A records only: it answers A, PTR for
    an address it holds, and NOERROR with an empty answer for any other
    type of a name it holds (no AAAA, SRV, TXT or CNAME records: CoreDNS's
    SRV for named ports is not served); resolvers ask A (gethostbyname)
    unless a bundle flow asks another type; one nameserver, no TCP
    fallback, no caching.                                                [app/dns]
  - kube-proxy: Services are written in service-port-name order (kube-proxy
    walks a Go map: its order varies; compare sorted, as its tests do); no
    topology hints; every sync is a full sync; IPv4 only; the health
    check server answers / and /healthz only, without its weight header,
    and a healthCheckNodePort the manifests omit is not allocated. ipvs mode:
    scheduler rr, weight 1 (kube-proxy's defaults); no KUBE-LOAD-BALANCER/
    KUBE-EXTERNAL-IP source-range sets. nftables mode: the layout its
    TestOverallNFTablesRules expects (filter-prerouting-pre-dnat,
    cluster-ips-check, nodeport-ips = the node IP); stale chains are not
    kept for a second sync.                                                                [k8s/kubeproxy_nft]
  - NetworkPolicy: read, defaulted and validated as the API server does,
    and evaluated by the API semantics (k8s/netpol evaluate). ipBlocks
    match pod addresses too, named egress ports resolve on the
    destination pod, host-network pods are never selected. Enforced on
    the calico CNIs as felix renders them (k8s/calico). Under kindnet
    they are enforced as kindnetd's kube-network-policies does (the
    version kind pins, f67f0fb): its `inet kindnet-network-policies`
    table queues the first packet to/from a selected pod to queue 101,
    its evaluator answers NF_ACCEPT with ct label 28 or NF_DROP; with no
    NetworkPolicy at all the table (empty sets, queueing nothing) is left
    out; the evaluator's objects are the cluster's manifests, and a policy
    or label change on the fault timeline is seen at its instant by new
    connections (an expanded scenario's written resync carries no
    objects: there only the nftables sets change). Where it parts from
    the API semantics: root-owned node sockets pass before the queue
    (`meta skuid 0 accept`); a verdict lasts the connection (StrictMode
    off); UDP 53 is judged at PREROUTING, every datagram; masqueraded
    NodePort traffic is judged with the node's address as source. Other
    CNIs do not enforce, and a run says so. A denied packet's drop step
    names the policies that selected the pod and the generated rule:
    felix's end-of-tier DROP (from the notes felix's renderer writes
    beside its rules, replaced with them at each resync) or the nft queue
    rule whose program answered NF_DROP.  [k8s/netpol, k8s/calico, k8s/kindnet_policy]
  - SCTP: single-homed (an INIT lists no address parameters; the
    peer's source address is the one path, so no multihoming and no
    heartbeats of idle paths); the State Cookie's layout is podpath's own,
    signed with a keyed CRC32c (Linux: HMAC-SHA1); no INIT collision or
    association restart (an INIT for a live association is discarded);
    DATA out of order is discarded (no gap-ack blocks: the peer's T3
    retransmits it); no message fragmentation above the path MTU, no
    PR-SCTP, no stream reconfiguration; every kernel has the sctp module
    (one without it answers an INIT with ICMP protocol unreachable);
    conntrack does not check the CRC32c (the receiving stack does), and
    SCTP entries of a `conntrack -L` dump are not imported (their
    verification tags are not in the dump).           [net/sctp, netfilter/ct_sctp]
  - reach: a probe is one connection attempt at time 0 on a fresh copy of
    the world (the scenario's traffic left out, its faults kept), given
    1 s (agnhost connect's --timeout=1s in the e2e suite): TCP allowed
    when the handshake completes, UDP when an answer comes back (pods
    answer on every UDP containerPort: DNS on 53, echo elsewhere), SCTP
    when the association comes up (the COOKIE ACK within 1 s; pods run
    an SCTP echo server on every SCTP containerPort). No probes share a
    run. Where the world has no fault, a probe starts with the neighbour
    entries and switch FDBs of a running cluster: every address ARP would
    resolve on an L2 segment or a veth pair (an address local to the far
    end, or one its proxy ARP answers) is REACHABLE, every far-end MAC is
    learned by the segment's switch; so a probe's trace has no ARP
    exchange and no unknown-unicast flood there (its verdict is the same:
    ARP there always resolves, and a flood's copies are dropped by the
    hosts it is not for). Over IPv6 the same: every next hop a host
    routes out of a device (a gateway, link-local ones included, or an
    on-link address) that a far end holds, across veths, bridges and
    switches, is REACHABLE, so a probe's trace has no neighbour
    solicitation. A dual-stack pod or Service is
    probed over each family it and the source have an address of. A
    probe's trace keeps of each netfilter table
    the deciding rule and the rules carrying a policy verdict.
    The spec engine allows a pod's probe of its own address (it stays on
    the pod's lo, where no CNI sees it); a Service probe is allowed only
    when every ready endpoint admits it (--compare compares with the
    endpoint the simulated connection reached); internalTrafficPolicy
    Local is not applied to the endpoint set. Bundles are refused (no
    Kubernetes objects in them).                                       [k8s/reach]
  - nftables: ip tables see IPv4 packets, ip6 tables IPv6 ones, inet
    tables both; `ip6 flowlabel`, `ip6 dscp` and the other IPv6 header
    fields besides saddr/daddr/nexthdr/hoplimit read nothing (the rule
    does not match); `tproxy ip6 to` is kept (a rule break on IPv4); a
    NAT statement runs on packets of its family only
    (nft_nat_inet_eval); what
    `inspect` lists as unmodelled
    (tproxy to an IPv6 address or a mapped one; objects chosen by maps, `meta hour`
    ranges across midnight...) are kept, matches obeying
    --assume-unmodelled, statements passed over; `meta skgid` is the
    socket owner's uid (uid = gid, as -m owner); `iifgroup`/`oifgroup`
    are 0 for every device (as -m devgroup); `meta time|hour|day` read
    the virtual clock as UTC, `meta time` in whole seconds; `fib ... oif`
    is the rpfilter reverse route; `tcp option maxseg size set` and `ct
    zone set` are trace steps (nft's MSS is not rewritten, unlike
    TCPMSS; zones do not separate connections, as CT --zone); `ip version` is 4 and `ip
    hdrlength` 5 (packets carry no IP options: `ip option X FIELD`
    breaks the rule, `ip option X` reads missing); podpath has no xfrm
    (`ipsec in|out ...` breaks the rule, `meta ipsec` is false)
    and loads no OS fingerprints (`osf name` is "unknown" on a TCP SYN
    and breaks on anything else); `ct packets|bytes|avgpkt` read the
    connection's counters, 0 unless net.netfilter.nf_conntrack_acct is
    1 (nft does not force accounting on), as 32-bit values; `numgen random mod N` is
    drawn as a cascade of 1/(N-i) decisions (same distribution,
    enumerable by `podpath paths`), `numgen inc` counts per rule;
    `jhash EXPR mod N` hashes the keys' register bytes with the kernel's
    jhash (lookup3) and the given seed, 0 when none is given (the
    kernel draws a random one when the rule is loaded); `symhash mod N`
    hashes the flow's keys made symmetric as __flow_hash_consistentify
    does (both directions, every packet: one bucket) with jhash and key
    0, not the kernel's boot-random hashrnd: which bucket a given flow
    takes on a real machine is not reproduced; `socket cgroupv2 level
    N` breaks for N >= 1 (podpath's programs live in the root cgroup
    only: no ancestor at that level) and is the root "/" at level 0;
    `meta ibrname|obrname` is the in/out port's bridge (no bridge port:
    the rule breaks); `ip saddr|daddr|ttl|dscp|ecn set` rewrite the
    header (a stateless rewrite: conntrack keeps the tuple it saw); at
    equal priority the iptables table runs before the nft base chain;
    plain `reject` answers ICMP port unreachable; limit and quota do not
    count packet lengths (a byte-rate limit is never exceeded; a quota is
    exhausted when its `used` already reaches it); pkttype broadcast
    comes from the destination's address type; `ct status` is derived
    from the conntrack state; `ct helper set` gives a new
    connection the object's helper, which `ct helper` reads, but no
    helper runs (no expectations); `flow add|offload @ft` offloads as nft_flow_offload_eval does
    and the flowtable's ingress fast path runs (NAT, TTL-1, cached next
    hop), in software only: no hardware offload, flowtable counters or
    VLAN/PPPoE encapsulation, and its 30 s idle GC does not expire a flow
    during a run; a chain an `nft -f` script adds rules to without
    defining it is iptables-nft's built-in chain
    of that table (its hook and priority, policy accept), else a regular
    chain of the kernel's ruleset; a table or chain a script deletes that
    is not in its text is taken as absent. Rule handles are allocated as
    nf_tables does for a fresh `nft -f` of the text (a table block's new
    chains, then its objects and sets, then its rules, each after its
    anonymous sets and binding chains; one-element anonymous sets folded
    as nft 1.0.6 folds them; a meter's set counted with the table's
    sets), for `delete|replace rule ... handle N` and `add|insert rule
    ... handle|index N`; a handle that names a rule of the same script is
    accepted (nft refuses it within one batch: podpath appends a patch's
    commands to the host's script, where a shell runs each on its own).  [net/nftables]
  - nftables frame hooks (netdev, bridge, arp, inet ingress): frames
    carry no 802.1Q tag, so `vlan ...` never matches (its `ether type
    8021q` dependency fails, as the kernel on an untagged frame) and a
    set update keyed by `vlan id` adds nothing; a frame hook sees no
    connection (`ct state` is invalid) and mark 0 (a `meta mark set`
    there is not carried into the IP stack); `reject` at netdev ingress
    and bridge prerouting/input answers as nft_reject_netdev/
    nft_reject_bridge do (a TCP reset or ICMP unreachable built as
    nf_reject_ipv4 builds it, TTL ip_default_ttl, sent back out of the
    in port with the MACs swapped; none for a broadcast/multicast
    frame); `fwd ip to ADDR device DEV` decreases the TTL and sends to
    neighbour ADDR on DEV (ARP if needed); `jhash` without `seed` uses seed 0 (the kernel
    draws one at load); bridge chains run around br_netfilter's hooks by
    priority (prerouting below 0 before its PREROUTING, forward below -1
    before its FORWARD), but postrouting chains after its POSTROUTING
    (the kernel: before) and a flooded frame's forward chains all after
    its FORWARD; at the IPv4 hooks `ether saddr` is the received
    frame's source and `ether daddr` reads nothing (the rule breaks);
    TUN/IPIP devices skip the egress hook.                   [net/netfilter/l2hook]
  - IPVS: replies are de-NATed by conntrack at PREROUTING, not by IPVS's
    own hook (filter FORWARD sees the virtual address on replies); the
    connection table is conntrack's (no separate IPVS timeouts); sh hashes
    the source over the real servers directly (no 256-bucket table);
    clients on the node itself reach a virtual service through loopback
    (no LOCAL_OUT IPVS hook); the forwarded packet's TTL or hop limit is
    decremented (decrement_ttl) and it goes to POSTROUTING without the
    LOCAL_OUT hook ip_vs_nat_send_or_cont passes it through (filter and
    mangle OUTPUT do not see it); a real server on the node itself is
    reached over lo, not handed to the local stack at once; SCTP over
    IPv6 is not scheduled (TCP and UDP are).                             [net/ipvs]
  - WireGuard: no handshake (types 1/2), cookies, keepalives or rekeying;
    ChaCha20 keystream + SHA-256 tag instead of ChaCha20-Poly1305 (same
    sizes); no DERP relays; live mode cannot build TUN devices yet.        [net/wireguard]
  - Proxy ARP answers at once (as with proxy_delay=0, which calico sets).  [net/ipv4]
  - No PMTU cache: after fragmentation-needed a sender keeps its MTU.     [net/fib]
  - Clusters: pods get one HTTP server per TCP container port (JSON naming
    the pod) and a DNS server on UDP 53; CNI choices are flannel vxlan,
    flannel host-gw, calico BGP and IPIP (IPAM block = node podCIDR, tunl0
    at the block's first address; no natOutgoing rules), kindnet.         [k8s/cluster]
  - Calico NetworkPolicy: felix v3.32.1's iptables rules and IP sets
    (cali-FORWARD, cali-INPUT, dispatch, cali-tw/fw, cali-pi/po, kns/ksa
    profiles, cali40s/cali40n sets), written only when the cluster has
    NetworkPolicies; no policy groups (cali-gi/go: one jump per policy),
    no cali-OUTPUT, raw, mangle or NAT chains; policies of a tier in name
    order; DefaultEndpointToHostAction ACCEPT (calico's manifests).       [k8s/calico]
  - HAProxy (2.6.0): roundrobin is smooth weighted round robin (same
    shares, possibly another first server); source hashes with FNV-1a;
    inter, rise and fall per backend; no retries/redispatch (503 in http
    mode, a close in tcp mode; %rc is 0); one request per client
    connection; in tcp mode a client's FIN is forwarded to the server
    and the stream ends at the server's FIN, a server's FIN ends it at
    once (no half-open client side); a layer-4 check connects with
    TCP_QUICKACK off and ends with an RST (HAProxy's nolinger close), its
    handshake ACK delayed 40 ms (the kernel's TCP_DELACK_MAX is 200 ms;
    the RST goes first either way); a check neither answered nor refused fails
    after inter; without `maxconn` in global, maxconn is 4096 (HAProxy
    derives it from ulimit -n); the process id is 1, nbthread 1 unless
    set.                                                                 [app/proxy, app/haproxy]
  - HAProxy logs: lines go into the flow's trace (`log` in the summary
    and trace), not as syslog datagrams to the `log` address; `%[...]`
    samples and the +X/+E modifiers are refused; no header captures
    (%hr/%hs empty); no TLS (%sslc/%sslv are `-`); times are UTC.        [app/haproxy_log]
  - HAProxy stats page: CSV and HTML as 2.6.0 writes them; the HTML has
    the light-theme stylesheet only and no hover tooltips; its system
    figures (ulimit-n, maxsock, tasks, idle) are computed from maxconn;
    the body is sent in 16 KiB chunks (HAProxy's follow its buffers);
    `;json`/`;typed` get a 501 and `stats admin` is refused.              [app/haproxy_stats]
  - keepalived: VRRPv2 only; one burst of 5 gratuitous ARPs (no repeat
    after garp_master_delay); whole-second advert_int; raw sends skip
    netfilter OUTPUT/POSTROUTING; vrrp_script, track_script and unicast
    peers are refused, not ignored.                                        [app/keepalived, net/ipv4]
  - ingress-nginx: round robin over endpoints (no EWMA), one request per
    connection, no TLS, annotations other than rewrite-target and
    service-upstream are ignored.                                        [app/ingress_nginx, k8s/ingress]
  - kubectl port-forward: the stream to the API server is plain TCP (TLS +
    SPDY/WebSocket in reality) and the last leg is a connection from the
    node to the pod's IP (the kubelet connects to localhost inside the
    pod's network namespace).                                            [scenarios/minikube-tunnel]
  - Envoy/mTLS: HTTP/1.1, one request per connection, round robin (not
    LEAST_REQUEST), inbound to 127.0.0.1 (Istio < 1.10), no metadata
    exchange or retries; no key exchange: record payloads are XORed with a
    ChaCha20 keystream keyed from the connection's addresses, with a
    16-byte SHA-256 tag (TLS 1.3's sizes, not its cryptography).         [app/envoy, wire/tls]
  - Multicast: local delivery to joined groups only, no IGMP, no
    multicast routing.                                                   [net/ipv4]
  - Live comparisons: namespaces run with the model's tcp_rmem, veths
    with gso_max_segs 1 (each TCP segment its own frame, as podpath sends
    it), and IPv6 disabled unless the world has IPv6 (then no DAD, RA or
    router solicitations); IGMP reports are left out of the diff; endpoint choices made
    by the kernel's random statistic match or numgen are aligned by
    re-running the simulation with another random stream per connection
    (up to 8 each, greedily in start order, the stream whose requests
    reach the real run's interfaces in its order kept); choices shared per
    host (NAT's port allocator, HAProxy's and Envoy's balancing) are not
    aligned, and --kind runs are not; a pure ACK
    sent alone on one side and folded into (or swapped with) the adjacent
    data segment on the other is a race between the kernel's ACK and the
    application's reply (also inside VXLAN or IPIP), tolerated and
    counted, as are up to 8 pure ACKs of the simulation folded into the
    real side's next data segment or FIN (Linux 6.6+ defers the ACKs of
    segments processed from a socket's backlog to one in
    tcp_release_cb) or overtaken by it (sent from another CPU of the
    real machine), and the simulation's last one or two pure ACKs where
    the real capture has none (acknowledgment numbers are not compared,
    so a fold anywhere shows there); a frame found up to 4
    places away among frames of other connections (a proxy's connect to
    its server racing its client's request) is tolerated and counted;
    a neighbour probe (unicast ARP request and its reply) on one side
    only is tolerated and counted: the kernel's DELAY timer fires a few
    ms late and a program slower than that leaves a fresh TCP
    confirmation, so whether it probes is a race (the simulator always
    probes);
    keepalived's VRRP adverts and gratuitous ARPs are compared as a class
    per interface direction (the same frames, as many gratuitous ARPs,
    VRRP adverts up to one more or fewer), not in order among the flows'
    frames; HAProxy and keepalived run for real, started when the flows'
    clock starts, and a host whose HAProxy binds an address it does not
    have gets ip_nonlocal_bind=1 (the simulator's bind() does not check
    that the address is local).                                          [cli/live]
  - `podpath diff`: a flow's fate is its disposition, who answered, its
    path of hosts, its NAT bindings and its first drop; times are not
    compared. Within a flow, the ports its hosts chose (a request's source
    port, an SNAT's allocated port, a VXLAN source port) are renamed in
    the order the flow first shows them, and ISNs, SCTP tags and ICMP ids
    are left out: a chosen port equal to a configured one in the same flow
    is renamed there too. A patch's `ip route del` removes only routes the
    scenario itself gives (not those the cluster makes); its iptables
    lines go into the host's iptables-restore text (before its table's
    COMMIT), its nft lines after its nft script. A bundle takes Commands
    only, applied to a copy of its dumps (a route's dst is matched as
    written: 10.0.0.1 and 10.0.0.1/32 differ; a static neighbour is
    PERMANENT).                                                         [cli/delta, cli/patch]
  - `podpath why`: the changes tried are those of its table (README):
    an iptables rule or policy outside KUBE-*/cali-* chains, an nft rule
    or policy outside the controllers' tables (deleted by its handle, or
    accepts inserted at the top of the chain), the sysctls a drop names,
    bridge-nf-call-iptables where a reply was bridged past conntrack, a
    default route, a NetworkPolicy rule added to the policy isolating the
    pod (a new policy where the manifests hold none), not-ready endpoints
    made ready, externalTrafficPolicy Cluster, an Ingress backend, for a
    packet too big the sender's MTU lowered to what the dropping device
    carries (less a tunnel's headers), that device's MTU raised, or
    TCPMSS clamping where it was dropped, a Service's selector where it
    selects no pod (the selector's keys with a pod's values, closest
    first) or its targetPort where its pods do not serve it (by name and
    number; slices the manifests give are deleted by the patch so the
    controller writes them anew), proxy ARP or a device up for a missing
    neighbour, a device up where one is down. No static neighbour is
    proposed (a holder that is up always answers ARP here); a Service
    without a selector gets an EndpointSlice with a pod declaring its
    targetPort (a named one is not resolved); a flow that fails with no drop
    step gets none. At most 3 changes and 64 re-runs; a fix is shown only when
    the re-run's flow succeeds.                                           [cli/cmd/why]
  - Snapshots (`snapshot --host`): the programs behind listening sockets
    are not known: a TCP listener becomes an http-server with no routes
    (it answers 404), a UDP one a udp-listener the replay runs as a sink
    (it receives and answers nothing); a
    namespace held only by an open file descriptor (no process, no
    /run/netns mount) is not found; a veth whose peer's nsid has no name
    is paired by the two ends' indexes.                                  [cli/snapshot]
  - Bundle flows: a flow without `start` begins the instant the one
    before has its outcome (a script's next command starts with no
    process start-up time); a UDP client's socket is not connect()ed, so
    ICMP errors do not end its wait (1 s unless `timeout_s`); a spoofed
    SYN or ICMP query ends after its wait (1 s unless `timeout_s`) with
    what was sent; a plain connect closes as soon as it is established;
    the virtual clock's 0 is midnight UT for ICMP timestamps; not
    modelled and refused by name: DNS types but A, AAAA, PTR, SRV, TXT
    and CNAME, spoofed DNS,
    src/src_port_hint/timeout_s on DNS flows, unspoofed src and
    src_port_hint on ICMP flows.                                         [scenario/bundle_flows]
"#;
