//! Seed 000, the default scenario: browser -> external HAProxy (tcp) ->
//! keepalived VIP internal HAProxy -> ingress-nginx on a node -> Service
//! (kube-proxy DNAT in OUTPUT) -> pod, and back.

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

const SCENARIO: &str = include_str!("../../scenarios/browser-to-pod.yaml");

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "browser-to-pod.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn steps(t: &Trace, id: &str) -> Vec<(String, String)> {
    let f = t
        .flows
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no flow {id}"));
    f.hops
        .iter()
        .flat_map(|h| {
            h.steps
                .iter()
                .map(move |s| (h.host.clone(), s.what.clone()))
        })
        .collect()
}

fn has(st: &[(String, String)], host: &str, what: &str) -> bool {
    st.iter().any(|(h, w)| h == host && w.contains(what))
}

fn outcome<'a>(t: &'a Trace, id: &str) -> &'a str {
    &t.flows.iter().find(|f| f.id == id).expect("flow").outcome
}

#[test]
fn every_hop_of_the_seed() {
    let t = run(SCENARIO);
    for (k, ingress) in [
        (1, "ingress-1 10.0.0.100:80"),
        (2, "ingress-2 10.0.0.101:80"),
        (3, "ingress-3 10.0.0.102:80"),
    ] {
        let id = format!("browser#{k}");
        assert!(
            outcome(&t, &id).starts_with("HTTP 200 OK"),
            "{id}: {}",
            outcome(&t, &id)
        );
        assert!(outcome(&t, &id).contains("\"pod\":\"api-server-5d8f7-"));
        let s = steps(&t, &id);
        // 1. browser -> 203.0.113.10:80, accepted by the external HAProxy
        assert!(has(&s, "browser", "connect() from 192.168.1.100:"));
        assert!(
            has(
                &s,
                "ext-lb",
                "SYN to listening socket 203.0.113.10:80 (haproxy ext-lb)"
            ) || has(
                &s,
                "ext-lb",
                "SYN to listening socket *:80 (haproxy ext-lb)"
            )
        );
        // 2. its own connection to the VIP, held by ilb-1 (the VRRP master)
        assert!(has(&s, "ext-lb", "to 10.0.0.50:80: SYN"));
        assert!(has(&s, "ilb-1", "(haproxy ilb-1)"));
        // 3. roundrobin over the ingress controllers (ext-lb's TCP health
        // check resets its connection before the handshake's delayed ACK,
        // so the internal HAProxy never accepts it: no pick goes to it)
        assert!(
            has(&s, "ilb-1", &format!("-> server {ingress}")),
            "{id}: {ingress}"
        );
        // 4. ingress-nginx: Host + Prefix /api/v1 -> the Service
        assert!(s.iter().any(|(_, w)| w.contains(
            "(Ingress default/api-ingress: host api.example.com path /api/v1 (Prefix)) -> server default-api-service-8080-0 10.96.0.10:8080"
        )));
        // 5. kube-proxy on that node: DNAT in nat/OUTPUT (a local process)
        assert!(s
            .iter()
            .any(|(h, w)| h.starts_with("node-")
                && w.contains("DNAT: 10.96.0.10:8080 -> 10.244.0.1")));
        // 6. the pod sees the rewritten URI
        assert!(s.iter().any(|(_, w)| w.contains("api: GET / -> 200 OK")));
    }
    // the VIP: ilb-1 MASTER at 0, the backups stay BACKUP
    assert!(t.events.iter().any(|e| e.time_ns == 0
        && e.what.contains("ilb-1: keepalived ilb-1 VI_1: MASTER (initial state MASTER): ip addr add 10.0.0.50/24 dev eth0")));
    assert!(!t
        .events
        .iter()
        .any(|e| e.what.contains("ilb-2: keepalived ilb-2 VI_1: MASTER")));
}

#[test]
fn ingress_answers_404_for_unknown_hosts_and_503_without_endpoints() {
    let t = run(&SCENARIO.replace("host: api.example.com}", "host: www.example.com}"));
    assert!(
        outcome(&t, "browser#1").starts_with("HTTP 404 Not Found"),
        "{}",
        outcome(&t, "browser#1")
    );
    assert!(
        steps(&t, "browser#1")
            .iter()
            .any(|(_, w)| w
                .contains("ingress-nginx: 404 (no Ingress rule for host 'www.example.com'"))
    );
    // the Ingress names a Service that does not exist: ingress-nginx has
    // an upstream without endpoints and answers 503
    let t = run(&SCENARIO.replace(
        "                    name: api-service\n",
        "                    name: api-svc\n",
    ));
    assert!(
        outcome(&t, "browser#1").starts_with("HTTP 503 Service Temporarily Unavailable"),
        "{}",
        outcome(&t, "browser#1")
    );
    // without service-upstream, ingress-nginx goes to the endpoints itself
    let t = run(&SCENARIO.replace(
        "        nginx.ingress.kubernetes.io/service-upstream: \"true\"\n",
        "",
    ));
    let s = steps(&t, "browser#1");
    assert!(outcome(&t, "browser#1").starts_with("HTTP 200 OK"));
    assert!(s.iter().any(
        |(_, w)| w.contains("-> server default-api-service-8080-") && w.contains("10.244.0.1")
    ));
    assert!(!s.iter().any(|(_, w)| w.contains("DNAT: 10.96.0.10:8080")));
}

#[test]
fn the_backups_take_the_vip_when_the_master_stops() {
    let text = SCENARIO.replace(
        "count: 3, start: 100ms, interval: 50ms}",
        "count: 1, start: 5s}\nfaults:\n  - {at: 1500ms, stop: ilb-1/keepalived}",
    );
    let t = run(&text);
    // ilb-2 (priority 90) has the shorter skew time: it wins over ilb-3
    let m = t
        .events
        .iter()
        .find(|e| e.what.contains("VI_1: MASTER (") && !e.what.contains("ilb-1"))
        .expect("a new master");
    assert!(m.what.starts_with("ilb-2:"), "{}", m.what);
    assert!(
        outcome(&t, "browser").starts_with("HTTP 200 OK"),
        "{}",
        outcome(&t, "browser")
    );
    assert!(has(&steps(&t, "browser"), "ilb-2", "(haproxy ilb-2)"));
}
