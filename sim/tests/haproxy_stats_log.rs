//! What seed 000 tells a learner to look at: the internal HAProxy's
//! `listen stats` page (401 without credentials, the CSV export with each
//! server's check state) and its traffic log (`option tcplog` /
//! `option httplog`), checked against the bytes and formats of HAProxy
//! 2.6.0 (src/http.c, src/stats.c, src/log.c).

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use podpath_sim::engine::Engine;
use podpath_sim::trace::{Direction, FlowTrace, Trace};

const SCENARIO: &str = include_str!("../../scenarios/browser-to-pod.yaml");

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "browser-to-pod.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn flow<'a>(t: &'a Trace, id: &str) -> &'a FlowTrace {
    t.flows
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no flow {id}"))
}

/// The TCP payload a host received from `src_port` in one flow, in order.
fn received(t: &Trace, id: &str, host: &str, src_port: u16) -> Vec<u8> {
    let mut out = Vec::new();
    for c in t
        .captures
        .iter()
        .filter(|c| c.flow == id && c.host == host && c.dir == Direction::In)
    {
        let p = SlicedPacket::from_ethernet(&c.bytes).expect("a frame");
        if !matches!(p.net, Some(NetSlice::Ipv4(_))) {
            continue;
        }
        if let Some(TransportSlice::Tcp(tcp)) = p.transport {
            if tcp.source_port() == src_port {
                out.extend_from_slice(tcp.payload());
            }
        }
    }
    out
}

#[test]
fn stats_page_without_credentials_is_haproxys_401() {
    let t = run(SCENARIO);
    let bytes = received(&t, "stats", "ext-lb", 8080);
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(
        text,
        "HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nwww-authenticate: Basic realm=\"HAProxy Statistics\"\r\n\r\n<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"
    );
    let f = flow(&t, "stats");
    assert_eq!(f.served_by.as_deref(), Some("ilb-1"));
    // logged as the stats applet, intercepted locally: LR--
    let log = &f.logs[0];
    assert_eq!(log.host, "ilb-1");
    assert_eq!(log.program, "haproxy → 127.0.0.1 local0");
    assert!(
        log.line.starts_with("10.0.0.10:")
            && log.line.contains(
                " [01/Jan/2026:00:00:03.500] stats stats/<STATS> 0/-1/-1/-1/0 401 264 - - LR-- "
            ),
        "{}",
        log.line
    );
    assert!(
        log.line.ends_with(" 0/0 \"GET /stats HTTP/1.1\""),
        "{}",
        log.line
    );
}

#[test]
fn csv_export_lists_the_servers_and_their_checks() {
    let t = run(SCENARIO);
    // curl sent the URL's credentials as Basic authorization
    let req = String::from_utf8(received(&t, "stats-csv", "ilb-1", {
        let f = flow(&t, "stats-csv");
        let c = t
            .captures
            .iter()
            .find(|c| c.flow == f.id && c.host == "ilb-1")
            .unwrap();
        let p = SlicedPacket::from_ethernet(&c.bytes).unwrap();
        match p.transport {
            Some(TransportSlice::Tcp(tcp)) => tcp.source_port(),
            _ => panic!("tcp"),
        }
    }))
    .unwrap();
    assert!(
        req.starts_with("GET /stats;csv HTTP/1.1\r\nHost: 10.0.0.50:8080\r\nAuthorization: Basic YWRtaW46cGFzc3dvcmQ=\r\n"),
        "{req}"
    );
    let raw = String::from_utf8(received(&t, "stats-csv", "ext-lb", 8080)).unwrap();
    let (head, _) = raw.split_once("\r\n\r\n").unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ncache-control: no-cache\r\ncontent-type: text/plain\r\nrefresh: 30\r\ntransfer-encoding: chunked"
    );
    assert!(raw.ends_with("\r\n0\r\n\r\n"), "the last chunk");
    let body = flow(&t, "stats-csv").response_body.clone().unwrap();
    let mut lines = body.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    // 101 fields, '-', 3 ssl, 13 h2 and 8 h1 fields, and the trailing comma
    assert_eq!(header.len(), 101 + 1 + 3 + 13 + 8 + 1);
    assert_eq!(header[101], "-");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let names: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        names,
        [
            ("kubernetes-internal-frontend", "FRONTEND"),
            ("ingress-controllers-backend", "ingress-1"),
            ("ingress-controllers-backend", "ingress-2"),
            ("ingress-controllers-backend", "ingress-3"),
            ("ingress-controllers-backend", "BACKEND"),
            ("stats", "FRONTEND"),
            ("stats", "BACKEND"),
        ]
    );
    for r in &rows {
        assert_eq!(r.len(), header.len(), "every row lines up with the header");
    }
    for r in &rows[1..4] {
        assert_eq!(r[col("status")], "UP");
        assert_eq!(r[col("check_status")], "L7OK");
        assert_eq!(r[col("check_code")], "200");
        assert_eq!(r[col("check_desc")], "Layer7 check passed");
        assert_eq!(r[col("check_health")], "4", "rise 2 + fall 3 - 1");
        assert_eq!(r[col("weight")], "100");
        assert_eq!(r[col("type")], "2");
        // the frontend fields a server row leaves empty
        assert_eq!(r[col("dreq")], "");
        assert_eq!(r[col("rate_lim")], "");
    }
    // three browser requests went through the servers, one each
    let lbtot: u64 = rows[1..4]
        .iter()
        .map(|r| r[col("lbtot")].parse::<u64>().unwrap())
        .sum();
    assert!(lbtot >= 3, "{lbtot}");
    let be = &rows[4];
    assert_eq!(
        (be[col("status")], be[col("act")], be[col("weight")]),
        ("UP", "3", "300")
    );
    // the frontend rows leave the queue empty; iid in configuration order
    assert_eq!(rows[0][col("qcur")], "");
    assert_eq!((rows[0][col("iid")], rows[5][col("iid")]), ("1", "3"));
    // the stats listen: http mode, the earlier 401 in hrsp_4xx, both
    // requests intercepted
    let st = &rows[5];
    assert_eq!(
        (st[col("mode")], st[col("hrsp_4xx")], st[col("intercepted")]),
        ("http", "1", "2")
    );
}

#[test]
fn tcplog_lines_of_the_browser_requests() {
    let t = run(SCENARIO);
    for id in ["browser#1", "browser#2", "browser#3"] {
        let f = flow(&t, id);
        assert_eq!(f.logs.len(), 1, "{id}: one stream, one line");
        let l = &f.logs[0].line;
        // %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
        let w: Vec<&str> = l.split(' ').collect();
        assert_eq!(w.len(), 9, "{l}");
        assert!(w[0].starts_with("10.0.0.10:"), "{l}");
        assert!(
            w[1].starts_with("[01/Jan/2026:00:00:00.") && w[1].ends_with(']'),
            "{l}"
        );
        assert_eq!(w[2], "kubernetes-internal-frontend");
        assert!(
            w[3].starts_with("ingress-controllers-backend/ingress-"),
            "{l}"
        );
        let timers: Vec<i64> = w[4].split('/').map(|x| x.parse().unwrap()).collect();
        // TCP mode: no request time, so Tw = t_queue + 1 (src/log.c)
        assert_eq!(timers[0], 1, "{l}");
        assert!(timers[2] > 0, "{l}");
        // the bytes the server sent back
        let served: u64 = w[5].parse().unwrap();
        assert!(served > 100, "{l}");
        assert_eq!(w[6], "--");
        assert!(w[7].ends_with("/0"), "no retries: {l}");
        assert_eq!(w[8], "0/0", "{l}");
    }
    // health checks from ext-lb open connections that send nothing:
    // `option dontlognull` keeps them out of the log
    let lines: usize = t.flows.iter().map(|f| f.logs.len()).sum();
    assert_eq!(lines, 5);
}

#[test]
fn a_server_down_shows_in_the_page_and_the_log() {
    // ingress-2's node answers its check with 503: the page shows it DOWN
    // with L7STS/503 and the reason phrase, and the log says why
    let text = SCENARIO.replace(
        "server ingress-2 10.0.0.101:80 weight 100 check",
        "server ingress-2 10.0.0.101:81 weight 100 check",
    );
    let t = run(&text);
    let body = flow(&t, "stats-csv").response_body.clone().unwrap();
    let row = body
        .lines()
        .find(|l| l.starts_with("ingress-controllers-backend,ingress-2,"))
        .unwrap();
    let header: Vec<&str> = body.lines().next().unwrap()[2..].split(',').collect();
    let r: Vec<&str> = row.split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // one failure from the initial health (rise) takes it down
    assert_eq!(r[col("status")], "DOWN", "{row}");
    assert_eq!(r[col("check_status")], "L4CON");
    assert_eq!(r[col("check_code")], "", "no code for a layer 4 failure");
    assert_eq!(r[col("last_chk")], "Connection refused");
    assert_eq!(r[col("chkdown")], "1");
    // act says "active, not backup", whatever the state
    assert_eq!(r[col("act")], "1");
    let be = body
        .lines()
        .find(|l| l.starts_with("ingress-controllers-backend,BACKEND,"))
        .unwrap();
    let b: Vec<&str> = be.split(',').collect();
    assert_eq!((b[col("act")], b[col("weight")]), ("2", "200"));
    assert!(
        t.events.iter().any(|e| e.what.contains(
            "haproxy: Server ingress-controllers-backend/ingress-2 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: "
        ) && e.what.ends_with(". 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.")),
        "{:#?}",
        t.events
    );
}

#[test]
fn html_page_has_haproxys_structure() {
    let text = SCENARIO.replace("/stats;csv\"}", "/stats\"}");
    let t = run(&text);
    let raw = String::from_utf8(received(&t, "stats-csv", "ext-lb", 8080)).unwrap();
    assert!(raw.contains("content-type: text/html\r\n"));
    let body = flow(&t, "stats-csv").response_body.clone().unwrap();
    assert!(body.starts_with("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"\n\"http://www.w3.org/TR/html4/loose.dtd\">\n<html><head><title>Statistics Report for HAProxy</title>"));
    assert!(body.contains("<h1><a href=\"http://www.haproxy.org/\" style=\"text-decoration: none;\">HAProxy version 2.6.0, released 2022/05/31</a></h1>"));
    assert!(body.contains("<li><a href=\"/stats;csv;norefresh\">CSV export</a><br>"));
    assert_eq!(
        body.matches("<tr class=\"active_up\">").count(),
        3,
        "three servers UP"
    );
    assert_eq!(body.matches("<tr class=\"frontend\">").count(), 2);
    assert_eq!(body.matches("<tr class=\"backend\">").count(), 2);
    assert!(body.contains("<u> L7OK/200 in 0ms</u>"));
    assert!(body.ends_with("</body></html>\n"));
}
