//! HAProxy's statistics page (`stats enable`, `stats uri`, `stats auth`,
//! `stats realm`, `stats refresh`), as HAProxy 2.6.0 serves it:
//! - which requests it takes: `http_stats_check_uri()` (src/http_ana.c):
//!   GET, HEAD or POST whose path, query included, starts with the URI
//!   prefix (case-sensitive);
//! - the options after the prefix: `http_handle_stats()` (`;csv`, `;up`,
//!   `;no-maint`, `;norefresh`; `;json`, `;typed` are answered 501 here);
//! - `stats auth`: `http-request auth unless { http_auth(...) }`, the 401
//!   of src/http.c `http_err_msgs[HTTP_ERR_401]` plus
//!   `WWW-Authenticate: Basic realm="HAProxy Statistics"`
//!   (src/http_act.c `http_action_auth()`);
//! - headers: `stats_send_http_headers()` (src/stats.c), HTX lower case;
//! - CSV: `stats_dump_csv_header()` and `stats_dump_fields_csv()`, the 101
//!   fields of `stat_fields[]`, the `-` separator and the ssl, h2 and h1
//!   modules' fields, filled per row type as `stats_fill_fe_stats()`,
//!   `stats_fill_be_stats()` and `stats_fill_sv_stats()` fill them;
//! - HTML: `stats_dump_html_head()`, `stats_dump_html_info()`, one table
//!   per proxy (`stats_dump_html_px_hdr()`), rows, `</body></html>`.
//!
//! Simplifications (in `podpath explain`): the HTML page's stylesheet
//! is the light theme only (no dark-mode block, no tooltip styles), its
//! cells carry no hover tooltips, and the info block's system figures (ulimit-n,
//! maxsock, tasks, idle) are computed from maxconn, not read from a
//! process; the body goes out as one chunk per 16 KiB (HAProxy's chunks
//! follow its buffers); no admin form (`stats admin`) and no JSON/typed
//! output.
//!
//! This module only formats: the proxy (`app/proxy.rs`) fills the rows.

/// `stats ...` lines of one proxy section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsCfg {
    /// `stats uri` (default `/haproxy?stats`, include/haproxy/defaults.h)
    pub uri: String,
    /// `stats realm` (default "HAProxy Statistics")
    pub realm: Option<String>,
    /// `stats auth USER:PASS`, in order
    pub users: Vec<(String, String)>,
    /// `stats refresh`, in seconds (0: none)
    pub refresh_s: u64,
    pub hide_version: bool,
    pub show_legends: bool,
    /// `stats show-node [NAME]`
    pub show_node: Option<String>,
}

impl Default for StatsCfg {
    fn default() -> StatsCfg {
        StatsCfg {
            uri: "/haproxy?stats".into(),
            realm: None,
            users: Vec::new(),
            refresh_s: 0,
            hide_version: false,
            show_legends: false,
            show_node: None,
        }
    }
}

/// The version string of `stats_version_string` (HAProxy 2.6.0).
pub const VERSION: &str = "2.6.0";
pub const RELEASE_DATE: &str = "2022/05/31";

/// What the request asks of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
    /// `;json`, `;typed`, `;json-schema`: not modelled
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsReq {
    pub format: Format,
    pub hide_down: bool,
    pub no_maint: bool,
    pub no_refresh: bool,
    pub head: bool,
    pub chunked: bool,
}

impl StatsCfg {
    /// `http_stats_check_uri()`: does this request go to the page?
    pub fn matches(&self, method: &str, uri: &str) -> bool {
        if !matches!(method, "GET" | "HEAD" | "POST") {
            return false;
        }
        let path = if self.uri.starts_with('/') {
            path_of(uri)
        } else {
            uri
        };
        path.as_bytes().starts_with(self.uri.as_bytes())
    }

    /// `http_handle_stats()`: the options that follow the prefix in the
    /// raw URI, searched anywhere after it.
    pub fn request(&self, method: &str, uri: &str, http11: bool) -> StatsReq {
        let after = uri
            .find(&self.uri)
            .map(|i| &uri[i + self.uri.len()..])
            .unwrap_or("");
        let mut format = Format::Html;
        for (tok, f) in [
            (";csv", Format::Csv),
            (";typed", Format::Other),
            (";json", Format::Other),
        ] {
            if after.contains(tok) {
                format = f;
            }
        }
        StatsReq {
            format,
            hide_down: after.contains(";up"),
            no_maint: after.contains(";no-maint"),
            no_refresh: self.refresh_s > 0 && after.contains(";norefresh"),
            head: method == "HEAD",
            chunked: http11 && method != "HEAD",
        }
    }

    /// `http_auth(.internal-stats-userlist)`: the request's
    /// `Authorization: Basic` credentials name a `stats auth` user
    /// (plain-text passwords, as `stats auth` stores them).
    pub fn authorized(&self, authorization: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some(v) = authorization else {
            return false;
        };
        let mut w = v.split_whitespace();
        if !w.next().is_some_and(|s| s.eq_ignore_ascii_case("basic")) {
            return false;
        }
        let Some(cred) = w
            .next()
            .and_then(|b| data_encoding::BASE64.decode(b.as_bytes()).ok())
        else {
            return false;
        };
        let cred = String::from_utf8_lossy(&cred);
        let (u, p) = cred.split_once(':').unwrap_or((&cred, ""));
        self.users.iter().any(|(uu, pp)| uu == u && pp == p)
    }

    fn realm(&self) -> &str {
        self.realm.as_deref().unwrap_or("HAProxy Statistics")
    }
}

/// The path of a request URI (scheme and authority of an absolute URI
/// skipped), query string kept (src/http.c `http_parse_path()`).
fn path_of(uri: &str) -> &str {
    if uri.starts_with('/') || uri == "*" {
        return uri;
    }
    match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or(""),
        None => uri,
    }
}

/// The 401 HAProxy answers without (valid) credentials.
pub fn unauthorized(cfg: &StatsCfg) -> Vec<u8> {
    let body = "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n";
    format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nwww-authenticate: Basic realm=\"{}\"\r\n\r\n{body}",
        body.len(),
        cfg.realm()
    )
    .into_bytes()
}

/// One cell of a stats row: empty, a number or a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Empty,
    U(u64),
    S(i64),
    Str(String),
}

impl Field {
    fn csv(&self, out: &mut String) {
        match self {
            Field::Empty => {}
            Field::U(n) => out.push_str(&n.to_string()),
            Field::S(n) => out.push_str(&n.to_string()),
            Field::Str(s) => {
                // csv_enc_append(): quote only when needed, double quotes
                if s.contains(['\n', '\r', ',', '"']) {
                    out.push('"');
                    out.push_str(&s.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(s);
                }
            }
        }
    }
    fn u(&self) -> u64 {
        match self {
            Field::U(n) => *n,
            Field::S(n) => (*n).max(0) as u64,
            _ => 0,
        }
    }
    fn s(&self) -> &str {
        match self {
            Field::Str(s) => s,
            _ => "",
        }
    }
}

/// `stat_fields[]` of HAProxy 2.6.0, in order.
pub const FIELDS: [&str; 101] = [
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_check_status",
];

/// The stats modules' fields after `-`, in link order: ssl, h2, h1
/// (src/ssl_sock.c, src/mux_h2.c, src/mux_h1.c).
pub const SSL_FIELDS: [&str; 3] = ["ssl_sess", "ssl_reused_sess", "ssl_failed_handshake"];
pub const H2_FIELDS: [&str; 13] = [
    "h2_headers_rcvd",
    "h2_data_rcvd",
    "h2_settings_rcvd",
    "h2_rst_stream_rcvd",
    "h2_goaway_rcvd",
    "h2_detected_conn_protocol_errors",
    "h2_detected_strm_protocol_errors",
    "h2_rst_stream_resp",
    "h2_goaway_resp",
    "h2_open_connections",
    "h2_backend_open_streams",
    "h2_total_connections",
    "h2_backend_total_streams",
];
pub const H1_FIELDS: [&str; 8] = [
    "h1_open_connections",
    "h1_open_streams",
    "h1_total_connections",
    "h1_total_streams",
    "h1_bytes_in",
    "h1_bytes_out",
    "h1_spliced_bytes_in",
    "h1_spliced_bytes_out",
];

fn idx(name: &str) -> usize {
    FIELDS
        .iter()
        .position(|f| *f == name)
        .expect("a field of stat_fields[]")
}

/// A row of the page: the 101 fields and the modules' fields.
#[derive(Clone, Debug)]
pub struct Row {
    pub kind: RowKind,
    pub fields: Vec<Field>,
    /// ssl, h2, h1 module values (empty cells where the module does not
    /// apply to the row type)
    pub modules: Vec<Field>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Frontend,
    Backend,
    Server,
}

impl Row {
    fn new(kind: RowKind) -> Row {
        Row {
            kind,
            fields: vec![Field::Empty; FIELDS.len()],
            modules: vec![Field::Empty; SSL_FIELDS.len() + H2_FIELDS.len() + H1_FIELDS.len()],
        }
    }
    fn set(&mut self, name: &str, v: Field) {
        self.fields[idx(name)] = v;
    }
    fn get(&self, name: &str) -> &Field {
        &self.fields[idx(name)]
    }
}

/// The traffic counters of a frontend, backend or server
/// (`struct fe_counters` / `be_counters`), as the proxy keeps them.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub cur: u32,
    pub max: u32,
    /// frontend: cum_sess; backend: cum_conn; server: cum_sess
    pub tot: u64,
    /// frontend: cum_conn (accepted connections)
    pub conn_tot: u64,
    pub lbtot: u64,
    pub bin: u64,
    pub bout: u64,
    pub ereq: u64,
    pub econ: u64,
    pub eresp: u64,
    pub cli_abrt: u64,
    pub srv_abrt: u64,
    pub req_tot: u64,
    /// responses by class: other, 1xx .. 5xx
    pub rsp: [u64; 6],
    pub intercepted: u64,
    pub connect: u64,
    pub sess_rate: FreqCtr,
    pub sps_max: u64,
    pub conn_rate: FreqCtr,
    pub cps_max: u64,
    pub req_rate: FreqCtr,
    pub rps_max: u64,
    /// last session, seconds since the Unix epoch
    pub last_sess_s: Option<u64>,
    /// swrate sums and maxima of the queue, connect, response and total
    /// times (src/stream.c `stream_update_time_stats()`)
    pub q_time: u64,
    pub c_time: u64,
    pub d_time: u64,
    pub t_time: u64,
    pub qtime_max: u64,
    pub ctime_max: u64,
    pub dtime_max: u64,
    pub ttime_max: u64,
    /// HTTP/1 mux: connections open / total, streams open / total, bytes
    pub h1_conns: u64,
    pub h1_conns_tot: u64,
    pub h1_streams: u64,
    pub h1_streams_tot: u64,
    pub h1_bytes_in: u64,
    pub h1_bytes_out: u64,
}

/// TIME_STATS_SAMPLES (include/haproxy/defaults.h).
pub const TIME_STATS_SAMPLES: u64 = 512;

impl Counters {
    /// A new session: current and maximum, total, rate.
    pub fn sess(&mut self, now_ms: u64) {
        self.cur += 1;
        self.max = self.max.max(self.cur);
        self.tot += 1;
        let r = self.sess_rate.add(now_ms, 1);
        self.sps_max = self.sps_max.max(r);
        self.last_sess_s = Some(now_ms / 1000);
    }
    pub fn req(&mut self, now_ms: u64) {
        self.req_tot += 1;
        let r = self.req_rate.add(now_ms, 1);
        self.rps_max = self.rps_max.max(r);
    }
    pub fn conn(&mut self, now_ms: u64) {
        self.conn_tot += 1;
        let r = self.conn_rate.add(now_ms, 1);
        self.cps_max = self.cps_max.max(r);
    }
    pub fn rsp(&mut self, status: u16) {
        let n = (status / 100) as usize;
        self.rsp[if (1..=5).contains(&n) { n } else { 0 }] += 1;
    }
    /// `stream_update_time_stats()`: one stream's timers (ms) into the
    /// sliding averages; `samples` is the request or lbconn count.
    pub fn times(&mut self, samples: u64, q: u64, c: u64, d: u64, t: u64) {
        let n = if samples > TIME_STATS_SAMPLES {
            TIME_STATS_SAMPLES
        } else {
            0
        };
        let add = |sum: &mut u64, v: u64| {
            *sum = *sum - sum.checked_div(n).map(|_| sum.div_ceil(n)).unwrap_or(0) + v;
        };
        add(&mut self.q_time, q);
        add(&mut self.c_time, c);
        add(&mut self.d_time, d);
        add(&mut self.t_time, t);
        self.qtime_max = self.qtime_max.max(q);
        self.ctime_max = self.ctime_max.max(c);
        self.dtime_max = self.dtime_max.max(d);
        self.ttime_max = self.ttime_max.max(t);
    }
    /// `swrate_avg()` with the window stats.c uses.
    fn avg(&self, sum: u64, samples: u64) -> u64 {
        let w = if samples > 0 && samples < TIME_STATS_SAMPLES {
            samples
        } else {
            TIME_STATS_SAMPLES
        };
        sum.div_ceil(w)
    }
    fn lastsess(&self, now_s: u64) -> Field {
        Field::S(self.last_sess_s.map(|l| (now_s - l) as i64).unwrap_or(-1))
    }
}

/// HAProxy's one-second event counter (include/haproxy/freq_ctr.h
/// `update_freq_ctr_period()`, src/freq_ctr.c `freq_ctr_total()`).
#[derive(Clone, Debug, Default)]
pub struct FreqCtr {
    curr_tick: u64,
    curr: u64,
    prev: u64,
}

impl FreqCtr {
    const PERIOD: u64 = 1000;
    /// Counts `inc` events at `now_ms`; returns the current period's count.
    pub fn add(&mut self, now_ms: u64, inc: u64) -> u64 {
        if now_ms.wrapping_sub(self.curr_tick) < Self::PERIOD {
            self.curr += inc;
            return self.curr;
        }
        self.prev = self.curr;
        self.curr = inc;
        self.curr_tick += Self::PERIOD;
        if now_ms.wrapping_sub(self.curr_tick) >= Self::PERIOD {
            self.prev = 0;
            self.curr_tick = now_ms;
        }
        self.curr_tick &= !1;
        inc
    }
    /// `read_freq_ctr()`: events over the last second.
    pub fn read(&self, now_ms: u64) -> u64 {
        let (mut curr, mut past) = (self.curr, self.prev);
        let mut remain = self.curr_tick as i64 + Self::PERIOD as i64 - now_ms as i64;
        if remain < 0 {
            remain += Self::PERIOD as i64;
            past = if remain >= 0 { curr } else { 0 };
            curr = 0;
        }
        if curr == 0 && past <= 1 {
            return past;
        }
        (past * remain.max(0) as u64 + curr * Self::PERIOD) / Self::PERIOD
    }
}

/// A server's health as its checks left it (`struct check`).
#[derive(Clone, Debug)]
pub struct Health {
    pub enabled: bool,
    pub in_progress: bool,
    /// `check_statuses[]`: the short name (`L7OK`) and the description
    pub status: &'static str,
    pub desc: &'static str,
    /// the status has a code (status >= HCHK_STATUS_L57DATA)
    pub code: Option<u16>,
    /// duration of the last check (status >= HCHK_STATUS_CHECKED)
    pub duration_ms: Option<u64>,
    /// `check->desc`: the last check's own words
    pub info: String,
    pub rise: u32,
    pub fall: u32,
    pub health: u32,
    pub running: bool,
    pub failed_checks: u64,
    pub down_trans: u64,
    pub last_change_s: u64,
    pub down_time_s: u64,
}

impl Health {
    /// `srv_hlt_st[]` with the health counter, as the status field shows.
    pub fn status_text(&self) -> String {
        if !self.enabled {
            return "no check".into();
        }
        let top = self.rise + self.fall - 1;
        if self.running {
            if self.health >= top {
                "UP".into()
            } else {
                format!("UP {}/{}", self.health + 1 - self.rise, self.fall)
            }
        } else if self.health == 0 {
            "DOWN".into()
        } else {
            format!("DOWN {}/{}", self.health, self.rise)
        }
    }
    /// `srv_downtime()`
    fn downtime(&self, now_s: u64) -> u64 {
        if self.running || self.last_change_s >= now_s {
            self.down_time_s
        } else {
            now_s - self.last_change_s + self.down_time_s
        }
    }
}

/// What the proxy says about one frontend.
pub struct FeView<'a> {
    pub name: &'a str,
    pub uuid: u32,
    pub http: bool,
    pub maxconn: u64,
    pub c: &'a Counters,
}

pub struct SvView<'a> {
    pub proxy: &'a str,
    pub name: &'a str,
    pub uuid: u32,
    pub puid: u32,
    pub http: bool,
    pub addr: std::net::SocketAddrV4,
    pub weight: u32,
    pub health: &'a Health,
    pub c: &'a Counters,
}

pub struct BeView<'a> {
    pub name: &'a str,
    pub uuid: u32,
    pub http: bool,
    pub fullconn: u64,
    pub algo: &'a str,
    pub has_servers: bool,
    pub up_weight: u64,
    pub total_uweight: u64,
    pub act: u64,
    pub down_trans: u64,
    pub last_change_s: u64,
    pub down_time_s: u64,
    pub c: &'a Counters,
}

pub struct PxView<'a> {
    pub name: &'a str,
    pub fe: Option<FeView<'a>>,
    pub servers: Vec<SvView<'a>>,
    pub be: Option<BeView<'a>>,
}

/// The whole process, for the page.
pub struct Page<'a> {
    pub now_ms: u64,
    pub start_ms: u64,
    pub pid: u32,
    pub nbthread: u32,
    pub maxconn: u64,
    pub actconn: u64,
    pub conn_rate: u64,
    pub node: &'a str,
    pub proxies: Vec<PxView<'a>>,
}

fn mode(http: bool) -> Field {
    Field::Str(if http { "http" } else { "tcp" }.into())
}

fn modules(row: &mut Row, c: &Counters, fe_or_be: bool) {
    // ssl applies to every row type; h2 and h1 to frontends and backends
    for i in 0..SSL_FIELDS.len() {
        row.modules[i] = Field::U(0);
    }
    if fe_or_be {
        let h1 = [
            c.h1_conns,
            c.h1_streams,
            c.h1_conns_tot,
            c.h1_streams_tot,
            c.h1_bytes_in,
            c.h1_bytes_out,
            0,
            0,
        ];
        for i in 0..H2_FIELDS.len() {
            row.modules[SSL_FIELDS.len() + i] = Field::U(0);
        }
        for (i, v) in h1.iter().enumerate() {
            row.modules[SSL_FIELDS.len() + H2_FIELDS.len() + i] = Field::U(*v);
        }
    }
}

fn http_fields(row: &mut Row, c: &Counters) {
    for (i, n) in [
        "hrsp_other",
        "hrsp_1xx",
        "hrsp_2xx",
        "hrsp_3xx",
        "hrsp_4xx",
        "hrsp_5xx",
    ]
    .iter()
    .enumerate()
    {
        row.set(n, Field::U(c.rsp[i]));
    }
}

/// `stats_fill_fe_stats()`
pub fn fe_row(f: &FeView, now_ms: u64) -> Row {
    let c = f.c;
    let mut r = Row::new(RowKind::Frontend);
    let u = Field::U;
    r.set("pxname", Field::Str(f.name.into()));
    r.set("svname", Field::Str("FRONTEND".into()));
    r.set("mode", mode(f.http));
    r.set("scur", u(c.cur as u64));
    r.set("smax", u(c.max as u64));
    r.set("slim", u(f.maxconn));
    r.set("stot", u(c.tot));
    r.set("bin", u(c.bin));
    r.set("bout", u(c.bout));
    for n in ["dreq", "dresp", "dcon", "dses", "wrew", "eint"] {
        r.set(n, u(0));
    }
    r.set("ereq", u(c.ereq));
    r.set("status", Field::Str("OPEN".into()));
    r.set("pid", u(1));
    r.set("iid", u(f.uuid as u64));
    r.set("sid", u(0));
    r.set("type", u(0));
    r.set("rate", u(c.sess_rate.read(now_ms)));
    r.set("rate_lim", u(0));
    r.set("rate_max", u(c.sps_max));
    if f.http {
        http_fields(&mut r, c);
        r.set("intercepted", u(c.intercepted));
        r.set("cache_lookups", u(0));
        r.set("cache_hits", u(0));
    }
    r.set("req_rate", u(c.req_rate.read(now_ms)));
    r.set("req_rate_max", u(c.rps_max));
    r.set("req_tot", u(c.req_tot));
    for n in ["comp_in", "comp_out", "comp_byp", "comp_rsp"] {
        r.set(n, u(0));
    }
    r.set("conn_rate", u(c.conn_rate.read(now_ms)));
    r.set("conn_rate_max", u(c.cps_max));
    r.set("conn_tot", u(c.conn_tot));
    modules(&mut r, c, true);
    r
}

/// `stats_fill_sv_stats()`
pub fn sv_row(s: &SvView, now_ms: u64, show_legends: bool) -> Row {
    let c = s.c;
    let h = s.health;
    let now_s = now_ms / 1000;
    let mut r = Row::new(RowKind::Server);
    let u = Field::U;
    r.set("pxname", Field::Str(s.proxy.into()));
    r.set("svname", Field::Str(s.name.into()));
    r.set("mode", mode(s.http));
    r.set("qcur", u(0));
    r.set("qmax", u(0));
    r.set("scur", u(c.cur as u64));
    r.set("smax", u(c.max as u64));
    r.set("srv_icur", u(0));
    r.set("stot", u(c.tot));
    r.set("bin", u(c.bin));
    r.set("bout", u(c.bout));
    r.set("dresp", u(0));
    r.set("econ", u(c.econ));
    r.set("eresp", u(c.eresp));
    for n in [
        "wretr",
        "wredis",
        "wrew",
        "eint",
        "reuse",
        "idle_conn_cur",
        "safe_conn_cur",
        "used_conn_cur",
        "need_conn_est",
    ] {
        r.set(n, u(0));
    }
    r.set("connect", u(c.connect));
    r.set("status", Field::Str(h.status_text()));
    r.set("lastchg", u(now_s.saturating_sub(h.last_change_s)));
    r.set("weight", u(s.weight as u64));
    r.set("uweight", u(s.weight as u64));
    r.set("act", u(1));
    r.set("bck", u(0));
    if h.enabled {
        r.set("chkfail", u(h.failed_checks));
        r.set("chkdown", u(h.down_trans));
        r.set("downtime", u(h.downtime(now_s)));
        let st = if h.in_progress {
            format!("* {}", h.status)
        } else {
            h.status.to_string()
        };
        r.set("check_status", Field::Str(st));
        if let Some(code) = h.code {
            r.set("check_code", u(code as u64));
        }
        if let Some(d) = h.duration_ms {
            r.set("check_duration", u(d));
        }
        r.set("check_desc", Field::Str(h.desc.into()));
        r.set("last_chk", Field::Str(h.info.clone()));
        r.set("check_rise", u(h.rise as u64));
        r.set("check_fall", u(h.fall as u64));
        r.set("check_health", u(h.health as u64));
    }
    r.set("pid", u(1));
    r.set("iid", u(s.uuid as u64));
    r.set("sid", u(s.puid as u64));
    r.set("lbtot", u(c.lbtot));
    r.set("type", u(2));
    r.set("rate", u(c.sess_rate.read(now_ms)));
    r.set("rate_max", u(c.sps_max));
    if s.http {
        r.set("req_tot", u(c.req_tot));
        http_fields(&mut r, c);
    }
    r.set("cli_abrt", u(c.cli_abrt));
    r.set("srv_abrt", u(c.srv_abrt));
    r.set("lastsess", c.lastsess(now_s));
    let samples = if s.http { c.req_tot } else { c.lbtot };
    r.set("qtime", u(c.avg(c.q_time, samples)));
    r.set("ctime", u(c.avg(c.c_time, samples)));
    r.set("rtime", u(c.avg(c.d_time, samples)));
    r.set("ttime", u(c.avg(c.t_time, samples)));
    r.set("qtime_max", u(c.qtime_max));
    r.set("ctime_max", u(c.ctime_max));
    r.set("rtime_max", u(c.dtime_max));
    r.set("ttime_max", u(c.ttime_max));
    if show_legends {
        r.set("addr", Field::Str(s.addr.to_string()));
    }
    modules(&mut r, c, false);
    r
}

/// `stats_fill_be_stats()`
pub fn be_row(b: &BeView, now_ms: u64, show_legends: bool) -> Row {
    let c = b.c;
    let now_s = now_ms / 1000;
    let mut r = Row::new(RowKind::Backend);
    let u = Field::U;
    r.set("pxname", Field::Str(b.name.into()));
    r.set("svname", Field::Str("BACKEND".into()));
    r.set("mode", mode(b.http));
    r.set("qcur", u(0));
    r.set("qmax", u(0));
    r.set("scur", u(c.cur as u64));
    r.set("smax", u(c.max as u64));
    r.set("slim", u(b.fullconn));
    r.set("stot", u(c.tot));
    r.set("bin", u(c.bin));
    r.set("bout", u(c.bout));
    for n in ["dreq", "dresp", "wretr", "wredis", "wrew", "eint", "reuse"] {
        r.set(n, u(0));
    }
    r.set("econ", u(c.econ));
    r.set("eresp", u(c.eresp));
    r.set("connect", u(c.connect));
    let up = b.up_weight > 0 || !b.has_servers;
    r.set("status", Field::Str(if up { "UP" } else { "DOWN" }.into()));
    r.set("agg_server_check_status", u(0));
    r.set("weight", u(b.up_weight));
    r.set("uweight", u(b.total_uweight));
    r.set("act", u(b.act));
    r.set("bck", u(0));
    r.set("chkdown", u(b.down_trans));
    r.set("lastchg", u(now_s.saturating_sub(b.last_change_s)));
    if b.has_servers {
        // be_downtime()
        let d = if b.up_weight > 0 {
            b.down_time_s
        } else {
            now_s - b.last_change_s + b.down_time_s
        };
        r.set("downtime", u(d));
    }
    r.set("pid", u(1));
    r.set("iid", u(b.uuid as u64));
    r.set("sid", u(0));
    r.set("lbtot", u(c.lbtot));
    r.set("type", u(1));
    r.set("rate", u(c.sess_rate.read(now_ms)));
    r.set("rate_max", u(c.sps_max));
    if show_legends {
        r.set("algo", Field::Str(b.algo.into()));
    }
    if b.http {
        r.set("req_tot", u(c.req_tot));
        http_fields(&mut r, c);
        r.set("cache_lookups", u(0));
        r.set("cache_hits", u(0));
    }
    r.set("cli_abrt", u(c.cli_abrt));
    r.set("srv_abrt", u(c.srv_abrt));
    for n in ["comp_in", "comp_out", "comp_byp", "comp_rsp"] {
        r.set(n, u(0));
    }
    r.set("lastsess", c.lastsess(now_s));
    let samples = if b.http { c.req_tot } else { c.lbtot };
    r.set("qtime", u(c.avg(c.q_time, samples)));
    r.set("ctime", u(c.avg(c.c_time, samples)));
    r.set("rtime", u(c.avg(c.d_time, samples)));
    r.set("ttime", u(c.avg(c.t_time, samples)));
    r.set("qtime_max", u(c.qtime_max));
    r.set("ctime_max", u(c.ctime_max));
    r.set("rtime_max", u(c.dtime_max));
    r.set("ttime_max", u(c.ttime_max));
    modules(&mut r, c, true);
    r
}

/// Rows of the page in HAProxy's order: per proxy in configuration
/// order, FRONTEND, servers, BACKEND; `;up` hides DOWN servers.
fn rows(page: &Page, cfg: &StatsCfg, req: &StatsReq) -> Vec<(String, Vec<Row>)> {
    page.proxies
        .iter()
        .map(|p| {
            let mut v = Vec::new();
            if let Some(f) = &p.fe {
                v.push(fe_row(f, page.now_ms));
            }
            for s in &p.servers {
                let h = s.health;
                if req.hide_down && h.enabled && !h.running && h.health == 0 {
                    continue;
                }
                v.push(sv_row(s, page.now_ms, cfg.show_legends));
            }
            if let Some(b) = &p.be {
                v.push(be_row(b, page.now_ms, cfg.show_legends));
            }
            (p.name.to_string(), v)
        })
        .collect()
}

/// `;csv`: the header line and one line per row.
pub fn csv(page: &Page, cfg: &StatsCfg, req: &StatsReq) -> String {
    let mut out = String::from("# ");
    for f in FIELDS {
        out.push_str(f);
        out.push(',');
    }
    out.push_str("-,");
    for f in SSL_FIELDS.iter().chain(&H2_FIELDS).chain(&H1_FIELDS) {
        out.push_str(f);
        out.push(',');
    }
    out.push('\n');
    for (_, rs) in rows(page, cfg, req) {
        for r in rs {
            for f in &r.fields {
                f.csv(&mut out);
                out.push(',');
            }
            out.push_str("-,");
            for f in &r.modules {
                f.csv(&mut out);
                out.push(',');
            }
            out.push('\n');
        }
    }
    out
}

/// src/tools.c `ulltoh_r()` (U2H): the digit before each group of three
/// in `<span class="rls">`.
fn u2h(n: u64) -> String {
    let s = n.to_string();
    let len = s.len();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        let rest = len - i - 1;
        if rest > 0 && rest.is_multiple_of(3) {
            out.push_str(&format!("<span class=\"rls\">{ch}</span>"));
        } else {
            out.push(ch);
        }
    }
    out
}

/// `LIM2A(n, "-")`
fn lim(n: u64) -> String {
    if n == 0 {
        "-".into()
    } else {
        n.to_string()
    }
}

/// src/tools.c `human_time(t, 1)`: at most two non-zero units of d/h/m/s.
fn human_time(t: i64) -> String {
    if t < 0 {
        return "?".into();
    }
    let (day, hour, min) = (86400, 3600, 60);
    let mut out = String::new();
    let mut cnt = 2;
    if t >= day {
        out.push_str(&format!("{}d", t / day));
        cnt -= 1;
    }
    if cnt > 0 && t % day / hour != 0 {
        out.push_str(&format!("{}h", t % day / hour));
        cnt -= 1;
    }
    if cnt > 0 && t % hour / min != 0 {
        out.push_str(&format!("{}m", t % hour / min));
        cnt -= 1;
    }
    if (cnt > 0 && t % min != 0) || t == 0 {
        out.push_str(&format!("{}s", t % min));
    }
    out
}

fn html_head(cfg: &StatsCfg, page: &Page) -> String {
    let node = match &cfg.show_node {
        Some(n) => format!(" on {}", if n.is_empty() { page.node } else { n }),
        None => String::new(),
    };
    let mut s = format!(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"\n\"http://www.w3.org/TR/html4/loose.dtd\">\n<html><head><title>Statistics Report for HAProxy{node}</title>\n<link rel=\"icon\" href=\"data:,\">\n<meta http-equiv=\"content-type\" content=\"text/html; charset=iso-8859-1\">\n<style type=\"text/css\"><!--\n"
    );
    for l in [
        "body { font-family: arial, helvetica, sans-serif; font-size: 12px; font-weight: normal; color: black; background: white;}",
        "th,td { font-size: 10px;}",
        "h1 { font-size: x-large; margin-bottom: 0.5em;}",
        "h2 { font-family: helvetica, arial; font-size: x-large; font-weight: bold; font-style: italic; color: #6020a0; margin-top: 0em; margin-bottom: 0em;}",
        "h3 { font-family: helvetica, arial; font-size: 16px; font-weight: bold; color: #b00040; background: #e8e8d0; margin-top: 0em; margin-bottom: 0em;}",
        "li { margin-top: 0.25em; margin-right: 2em;}",
        ".hr {margin-top: 0.25em; border-color: black; border-bottom-style: solid;}",
        ".titre\t{background: #20D0D0;color: #000000; font-weight: bold; text-align: center;}",
        ".total\t{background: #20D0D0;color: #ffff80;}",
        ".frontend\t{background: #e8e8d0;}",
        ".socket\t{background: #d0d0d0;}",
        ".backend\t{background: #e8e8d0;}",
        ".active_down\t\t{background: #ff9090;}",
        ".active_going_up\t\t{background: #ffd020;}",
        ".active_going_down\t{background: #ffffa0;}",
        ".active_up\t\t{background: #c0ffc0;}",
        ".active_nolb\t\t{background: #20a0ff;}",
        ".active_draining\t\t{background: #20a0FF;}",
        ".active_no_check\t\t{background: #e0e0e0;}",
        ".backup_down\t\t{background: #ff9090;}",
        ".backup_going_up\t\t{background: #ff80ff;}",
        ".backup_going_down\t{background: #c060ff;}",
        ".backup_up\t\t{background: #b0d0ff;}",
        ".backup_nolb\t\t{background: #90b0e0;}",
        ".backup_draining\t\t{background: #cc9900;}",
        ".backup_no_check\t\t{background: #e0e0e0;}",
        ".maintain\t{background: #c07820;}",
        ".rls      {letter-spacing: 0.2em; margin-right: 1px;}",
        "a.px:link {color: #ffff40; text-decoration: none;}a.px:visited {color: #ffff40; text-decoration: none;}a.px:hover {color: #ffffff; text-decoration: none;}a.lfsb:link {color: #000000; text-decoration: none;}a.lfsb:visited {color: #000000; text-decoration: none;}a.lfsb:hover {color: #505050; text-decoration: none;}",
        "table.tbl { border-collapse: collapse; border-style: none;}",
        "table.tbl td { text-align: right; border-width: 1px 1px 1px 1px; border-style: solid solid solid solid; padding: 2px 3px; border-color: gray; white-space: nowrap;}",
        "table.tbl td.ac { text-align: center;}",
        "table.tbl th { border-width: 1px; border-style: solid solid solid solid; border-color: gray;}",
        "table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; border-style: solid solid none solid; padding: 2px 3px; white-space: nowrap;}",
        "table.tbl th.empty { border-style: none; empty-cells: hide; background: white;}",
        "table.lgd { border-collapse: collapse; border-width: 1px; border-style: none none none solid; border-color: black;}",
        "table.lgd td { border-width: 1px; border-style: solid solid solid solid; border-color: gray; padding: 2px;}",
        "table.lgd td.noborder { border-style: none; padding: 2px; white-space: nowrap;}",
        "u {text-decoration:none; border-bottom: 1px dotted black;}",
    ] {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str("-->\n</style></head>\n");
    s
}

fn html_info(cfg: &StatsCfg, req: &StatsReq, page: &Page) -> String {
    let up = (page.now_ms.saturating_sub(page.start_ms)) / 1000;
    let version = if cfg.hide_version {
        String::new()
    } else {
        format!(" version {VERSION}, released {RELEASE_DATE}")
    };
    let node = match &cfg.show_node {
        Some(n) => format!(" on {}", if n.is_empty() { page.node } else { n }),
        None => String::new(),
    };
    // haproxy.c: each connection needs two sockets
    let maxsock = page.maxconn * 2;
    let mut s = format!(
        "<body><h1><a href=\"http://www.haproxy.org/\" style=\"text-decoration: none;\">HAProxy{version}</a></h1>\n<h2>Statistics Report for pid {pid}{node}</h2>\n<hr width=\"100%\" class=\"hr\">\n<h3>&gt; General process information</h3>\n<table border=0><tr><td align=\"left\" nowrap width=\"1%\">\n<p><b>pid = </b> {pid} (process #1, nbproc = 1, nbthread = {nbt})<br>\n<b>uptime = </b> {d}d {h}h{m:02}m{sec:02}s<br>\n<b>system limits:</b> memmax = unlimited; ulimit-n = {maxsock}<br>\n<b>maxsock = </b> {maxsock}; <b>maxconn = </b> {maxconn}; <b>maxpipes = </b> 0<br>\ncurrent conns = {ac}; current pipes = 0/0; conn rate = {cr}/sec; bit rate = 0.000 kbps<br>\nRunning tasks: 1/{tasks}; idle = 100 %<br>\n</td><td align=\"center\" nowrap>\n",
        pid = page.pid,
        nbt = page.nbthread,
        d = up / 86400,
        h = (up % 86400) / 3600,
        m = (up % 3600) / 60,
        sec = up % 60,
        maxconn = page.maxconn,
        ac = page.actconn,
        cr = page.conn_rate,
        tasks = page.actconn + 1,
    );
    s.push_str("<table class=\"lgd\"><tr>\n<td class=\"active_up\">&nbsp;</td><td class=\"noborder\">active UP </td><td class=\"backup_up\">&nbsp;</td><td class=\"noborder\">backup UP </td></tr><tr>\n<td class=\"active_going_down\"></td><td class=\"noborder\">active UP, going down </td><td class=\"backup_going_down\"></td><td class=\"noborder\">backup UP, going down </td></tr><tr>\n<td class=\"active_going_up\"></td><td class=\"noborder\">active DOWN, going up </td><td class=\"backup_going_up\"></td><td class=\"noborder\">backup DOWN, going up </td></tr><tr>\n<td class=\"active_down\"></td><td class=\"noborder\">active or backup DOWN &nbsp;</td><td class=\"active_no_check\"></td><td class=\"noborder\">not checked </td></tr><tr>\n<td class=\"maintain\"></td><td class=\"noborder\" colspan=\"3\">active or backup DOWN for maintenance (MAINT) &nbsp;</td></tr><tr>\n<td class=\"active_draining\"></td><td class=\"noborder\" colspan=\"3\">active or backup SOFT STOPPED for maintenance &nbsp;</td></tr></table>\nNote: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.</td><td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>Display option:</b><ul style=\"margin-top: 0.25em;\">");
    let p = &cfg.uri;
    let nr = if req.no_refresh { ";norefresh" } else { "" };
    let up_ = if req.hide_down { ";up" } else { "" };
    s.push_str("<li><form method=\"GET\">Scope : <input value=\"\" name=\"scope\" size=\"8\" maxlength=\"20\" tabindex=\"1\"/></form>\n");
    if req.hide_down {
        s.push_str(&format!(
            "<li><a href=\"{p}{nr}\">Show all servers</a><br>\n"
        ));
    } else {
        s.push_str(&format!(
            "<li><a href=\"{p};up{nr}\">Hide 'DOWN' servers</a><br>\n"
        ));
    }
    if cfg.refresh_s > 0 {
        if req.no_refresh {
            s.push_str(&format!(
                "<li><a href=\"{p}{up_}\">Enable refresh</a><br>\n"
            ));
        } else {
            s.push_str(&format!(
                "<li><a href=\"{p}{up_};norefresh\">Disable refresh</a><br>\n"
            ));
        }
    }
    s.push_str(&format!(
        "<li><a href=\"{p}{up_}{nr}\">Refresh now</a><br>\n"
    ));
    let csv_nr = if cfg.refresh_s > 0 { ";norefresh" } else { "" };
    s.push_str(&format!(
        "<li><a href=\"{p};csv{csv_nr}\">CSV export</a><br>\n<li><a href=\"{p};json{csv_nr}\">JSON export</a> (<a href=\"{p};json-schema\">schema</a>)<br>\n"
    ));
    s.push_str("</ul></td><td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>External resources:</b><ul style=\"margin-top: 0.25em;\">\n<li><a href=\"http://www.haproxy.org/\">Primary site</a><br>\n<li><a href=\"http://www.haproxy.org/#down\">Updates (v2.6)</a><br>\n<li><a href=\"http://www.haproxy.org/#docs\">Online manual</a><br>\n</ul></td></tr></table>\n");
    s
}

/// The server row's class (`stats_dump_fields_html()`).
fn sv_class(r: &Row) -> String {
    let st = r.get("status").s();
    let style = if st == "DOWN" || st == "DOWN (agent)" {
        "down"
    } else if st.starts_with("DOWN ") {
        "going_up"
    } else if st.starts_with("UP ") {
        "going_down"
    } else if st == "no check" {
        "no_check"
    } else {
        "up"
    };
    format!("active_{style}")
}

fn html_px(name: &str, rows: &[Row]) -> String {
    let mut s = format!(
        "<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%\"><a name=\"{name}\"></a><a class=px href=\"#{name}\">{name}</a></th><th class=\"empty\" width=\"90%\"></th></tr>\n</table>\n<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th rowspan=2></th><th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>\n<tr class=\"titre\"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>\n</tr>"
    );
    for r in rows {
        let g = |n: &str| r.get(n).u();
        let h = |n: &str| u2h(g(n));
        match r.kind {
            RowKind::Frontend => s.push_str(&format!(
                "<tr class=\"frontend\"><td class=ac><a name=\"{name}/Frontend\"></a><a class=lfsb href=\"#{name}/Frontend\">Frontend</a></td><td colspan=3></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td></td><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td></td><td></td><td></td><td></td><td class=ac>{}</td><td class=ac colspan=8></td></tr>",
                h("rate"), h("rate_max"), lim(g("rate_lim")), h("scur"), h("smax"), h("slim"), h("stot"),
                h("bin"), h("bout"), h("dreq"), h("dresp"), h("ereq"), r.get("status").s()
            )),
            RowKind::Server => {
                let sv = r.get("svname").s();
                let last_chk = if r.get("check_status").s().is_empty() {
                    String::new()
                } else {
                    let code = match r.get("check_code") {
                        Field::U(c) => format!("/{c}"),
                        _ => String::new(),
                    };
                    let dur = match r.get("check_duration") {
                        Field::U(d) => format!(" in {d}ms"),
                        _ => String::new(),
                    };
                    format!("<u> {}{code}{dur}</u>", r.get("check_status").s())
                };
                let status = if r.get("check_status").s().is_empty() {
                    format!("{} <i>no check</i>", human_time(g("lastchg") as i64))
                } else {
                    format!("{} {}", human_time(g("lastchg") as i64), r.get("status").s())
                };
                let last = match r.get("lastsess") {
                    Field::S(n) => human_time(*n),
                    _ => "?".into(),
                };
                let chk = if r.get("check_status").s().is_empty() {
                    "<td colspan=3></td>".to_string()
                } else {
                    format!(
                        "<td><u>{}</u></td><td>{}</td><td>{}</td>",
                        h("chkfail"),
                        h("chkdown"),
                        human_time(g("downtime") as i64)
                    )
                };
                s.push_str(&format!(
                    "<tr class=\"{}\"><td class=ac><a name=\"{name}/{sv}\"></a><a class=lfsb href=\"#{name}/{sv}\">{sv}</a></td><td>{}</td><td>{}</td><td>-</td><td>{}</td><td>{}</td><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{last}</td><td>{}</td><td>{}</td><td></td><td>{}</td><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=ac>{status}</td><td class=ac>{last_chk}</td><td class=ac>{}/{}</td><td class=ac>Y</td><td class=ac>-</td>{chk}<td class=ac>-</td></tr>\n",
                    sv_class(r), h("qcur"), h("qmax"), h("rate"), h("rate_max"), h("scur"), h("smax"),
                    lim(g("slim")), h("stot"), h("lbtot"), h("bin"), h("bout"), h("dresp"), h("econ"),
                    h("eresp"), h("wretr"), h("wredis"), g("weight"), g("uweight")
                ));
            }
            RowKind::Backend => {
                let st = r.get("status").s();
                let st = if st == "UP" {
                    "UP".to_string()
                } else {
                    "<font color=\"red\"><b>DOWN</b></font>".to_string()
                };
                let last = match r.get("lastsess") {
                    Field::S(n) => human_time(*n),
                    _ => "?".into(),
                };
                s.push_str(&format!(
                    "<tr class=\"backend\"><td class=ac><a name=\"{name}/Backend\"></a><a class=lfsb href=\"#{name}/Backend\">Backend</a></td><td>{}</td><td>{}</td><td></td><td>{}</td><td>{}</td><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{last}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=ac>{} {st}</td><td class=ac>&nbsp;</td><td class=ac>{}/{}</td><td class=ac>{}</td><td class=ac>{}</td><td class=ac>&nbsp;</td><td>{}</td><td>{}</td><td></td></tr>",
                    h("qcur"), h("qmax"), h("rate"), h("rate_max"), h("scur"), h("smax"), h("slim"),
                    h("stot"), h("lbtot"), h("bin"), h("bout"), h("dreq"), h("dresp"), h("econ"),
                    h("eresp"), h("wretr"), h("wredis"), human_time(g("lastchg") as i64),
                    g("weight"), g("uweight"), g("act"), g("bck"), g("chkdown"),
                    if matches!(r.get("downtime"), Field::Empty) { String::new() } else { human_time(g("downtime") as i64) }
                ));
            }
        }
    }
    s.push_str("</table><p>\n");
    s
}

/// The HTML page.
pub fn html(page: &Page, cfg: &StatsCfg, req: &StatsReq) -> String {
    let mut s = html_head(cfg, page);
    s.push_str(&html_info(cfg, req, page));
    for (name, rs) in rows(page, cfg, req) {
        s.push_str(&html_px(&name, &rs));
    }
    s.push_str("</body></html>\n");
    s
}

/// The whole response for a stats request that passed authentication.
pub fn response(page: &Page, cfg: &StatsCfg, req: &StatsReq) -> Vec<u8> {
    let (ctype, body) = match req.format {
        Format::Html => ("text/html", html(page, cfg, req)),
        Format::Csv => ("text/plain", csv(page, cfg, req)),
        Format::Other => {
            let body = "podpath: HAProxy's JSON and typed statistics are not modelled\n";
            return format!(
                "HTTP/1.1 501 Not Implemented\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/plain\r\n\r\n{body}",
                body.len()
            )
            .into_bytes();
        }
    };
    let mut out =
        format!("HTTP/1.1 200 OK\r\ncache-control: no-cache\r\ncontent-type: {ctype}\r\n");
    if cfg.refresh_s > 0 && !req.no_refresh {
        out.push_str(&format!("refresh: {}\r\n", cfg.refresh_s));
    }
    if req.chunked {
        out.push_str("transfer-encoding: chunked\r\n");
    }
    out.push_str("\r\n");
    if req.head {
        return out.into_bytes();
    }
    if req.chunked {
        for piece in body.as_bytes().chunks(16384) {
            out.push_str(&format!("{:x}\r\n", piece.len()));
            out.push_str(&String::from_utf8_lossy(piece));
            out.push_str("\r\n");
        }
        out.push_str("0\r\n\r\n");
    } else {
        out.push_str(&body);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> StatsCfg {
        StatsCfg {
            uri: "/stats".into(),
            users: vec![("admin".into(), "password".into())],
            refresh_s: 30,
            ..StatsCfg::default()
        }
    }

    #[test]
    fn uri_matching_is_a_prefix_of_the_path() {
        let c = cfg();
        for u in [
            "/stats",
            "/stats;csv",
            "/stats?x",
            "/statsXYZ",
            "http://h:8080/stats",
        ] {
            assert!(c.matches("GET", u), "{u}");
        }
        assert!(!c.matches("GET", "/Stats"));
        assert!(!c.matches("PUT", "/stats"));
        assert!(!c.matches("GET", "/"));
        let r = c.request("GET", "/stats;csv;norefresh", true);
        assert_eq!(
            (r.format, r.no_refresh, r.chunked),
            (Format::Csv, true, true)
        );
        assert_eq!(
            c.request("GET", "/stats;csv;json", true).format,
            Format::Other
        );
        assert!(!c.request("HEAD", "/stats", true).chunked);
    }

    #[test]
    fn basic_auth() {
        let c = cfg();
        assert!(!c.authorized(None));
        assert!(c.authorized(Some("Basic YWRtaW46cGFzc3dvcmQ=")));
        assert!(c.authorized(Some("basic YWRtaW46cGFzc3dvcmQ=")));
        assert!(!c.authorized(Some("Basic YWRtaW46d3Jvbmc=")));
        assert!(!c.authorized(Some("Bearer YWRtaW46cGFzc3dvcmQ=")));
        let body = unauthorized(&c);
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\n"));
        assert!(text.contains("www-authenticate: Basic realm=\"HAProxy Statistics\"\r\n\r\n"));
        assert_eq!(text.split("\r\n\r\n").nth(1).unwrap().len(), 112);
    }

    #[test]
    fn freq_ctr_counts_the_last_second() {
        let mut f = FreqCtr::default();
        let t0 = 1_767_225_600_000;
        assert_eq!(f.add(t0, 1), 1);
        assert_eq!(f.add(t0 + 10, 1), 2);
        assert_eq!(f.read(t0 + 20), 2);
        // half a second into the next period: half the previous one counts
        assert_eq!(f.read(t0 + 1500), 1);
        assert_eq!(f.read(t0 + 5000), 0);
    }

    #[test]
    fn numbers_and_times_as_haproxy_prints_them() {
        assert_eq!(u2h(1234), "<span class=\"rls\">1</span>234");
        assert_eq!(u2h(12345), "1<span class=\"rls\">2</span>345");
        assert_eq!(
            u2h(1234567),
            "<span class=\"rls\">1</span>23<span class=\"rls\">4</span>567"
        );
        assert_eq!(u2h(999), "999");
        assert_eq!(human_time(0), "0s");
        assert_eq!(human_time(65), "1m5s");
        assert_eq!(human_time(3600), "1h");
        assert_eq!(human_time(3660), "1h1m");
        assert_eq!(human_time(90061), "1d1h");
        assert_eq!(human_time(86401), "1d1s");
        assert_eq!(human_time(-1), "?");
    }

    #[test]
    fn csv_header_is_haproxy_2_6_0s() {
        let page = Page {
            now_ms: 0,
            start_ms: 0,
            pid: 1,
            nbthread: 1,
            maxconn: 4096,
            actconn: 0,
            conn_rate: 0,
            node: "lb",
            proxies: Vec::new(),
        };
        let c = cfg();
        let r = c.request("GET", "/stats;csv", true);
        let text = csv(&page, &c, &r);
        assert!(text.starts_with("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,"));
        assert!(text.ends_with("h1_spliced_bytes_in,h1_spliced_bytes_out,\n"));
    }
}
