//! `podpath live --netns`: the scenario built out of real network namespaces on
//! this machine (root), the same flows sent through real kernels, and every
//! device captured with tcpdump.
//!
//! Everything created is named with the run's prefix and removed again: on
//! success, on error (the `Lab` is dropped) and on Ctrl-C (a handler deletes
//! the namespaces). Traffic stays inside the namespaces: every address used
//! lives on a device podpath created there. Every wait is bounded.
//!
//! To compare with the simulator, each namespace runs with the TCP options
//! podpath does not model turned off (`tcp_timestamps`, `tcp_sack`,
//! `tcp_window_scaling` = 0) and IPv6 disabled.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use podpath_sim::app::keepalived::{Keepalived, VrrpState};
use podpath_sim::app::{App, DnsServer, HttpServer};
use podpath_sim::world::{Request, World};

mod daemons;
mod plan;
use plan::{Cmd, Step};

const SERVER_PY: &str = r#"
import json, socket, sys, threading
port = int(sys.argv[1]); routes = json.load(open(sys.argv[2])); addr = sys.argv[3]
if ":" in addr:
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
else:
    s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(64)
def handle(c):
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                c.close(); return
            buf += d
        path = buf.split(b"\r\n")[0].decode().split()[1].split("?")[0]
        r = routes.get(path) or {"status": 404, "reason": "Not Found", "content_type": "text/plain", "body": "404 page not found"}
        body = r["body"].encode()
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (r["status"], r["reason"], r["content_type"], len(body))
        c.sendall(head.encode() + body)
        while c.recv(65536):
            pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
"#;

const CLIENT_PY: &str = r#"
import errno, select, socket, sys, time
dst, port, host, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
fam = sys.argv[6] if len(sys.argv) > 6 else None

def eyeballs(name, port, fam, timeout):
    # curl 7.x/8.5 (lib/connect.c): getaddrinfo's list split by family, the
    # first address's family first, the other 200 ms later or as soon as
    # every address of the first failed; the first to connect wins, the
    # others are closed (in SYN-SENT: nothing sent)
    af = {"4": socket.AF_INET, "6": socket.AF_INET6, "any": socket.AF_UNSPEC}[fam]
    try:
        infos = socket.getaddrinfo(name, port, af, socket.SOCK_STREAM)
    except Exception as e:
        print("ERROR resolve: %s" % e); sys.exit(0)
    first = infos[0][0]
    fams = [[i for i in infos if i[0] == first], [i for i in infos if i[0] != first]]
    nxt, started, tries, err = [0, 0], [False, False], [], [None]
    def start(f):
        started[f] = True
        while nxt[f] < len(fams[f]):
            i = fams[f][nxt[f]]; nxt[f] += 1
            s = socket.socket(i[0], socket.SOCK_STREAM); s.setblocking(False)
            r = s.connect_ex(i[4])
            if r in (0, errno.EINPROGRESS):
                tries.append((s, f)); return True
            s.close(); err[0] = OSError(r, "connect: " + errno.errorcode.get(r, str(r)))
        return False
    t0 = time.monotonic()
    if not start(0):
        start(1)
    while tries:
        now = time.monotonic()
        if now - t0 > timeout:
            raise socket.timeout("timed out")
        wait = 0.05 if (fams[1] and not started[1]) else timeout
        _, w, _ = select.select([], [s for s, _ in tries], [], wait)
        for s in w:
            f = [x for x in tries if x[0] is s][0][1]
            e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if e == 0:
                for o, _ in tries:
                    if o is not s:
                        o.close()
                s.setblocking(True); s.settimeout(timeout)
                return s
            tries[:] = [x for x in tries if x[0] is not s]; s.close()
            err[0] = OSError(e, errno.errorcode.get(e, str(e)))
            if not start(f) and not started[1 - f]:
                start(1 - f)
        if fams[1] and not started[1] and time.monotonic() - t0 >= 0.2:
            start(1)
    raise err[0] or OSError("no address")

try:
    if fam:
        s = eyeballs(dst, port, fam, float(sys.argv[5]))
    else:
        s = socket.create_connection((dst, port), timeout=float(sys.argv[5]))
except Exception as e:
    print("ERROR connect: %s" % e); sys.exit(0)
s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n" % (path, host)).encode())
buf = b""
try:
    while True:
        if b"\r\n\r\n" in buf:
            head, body = buf.split(b"\r\n\r\n", 1)
            n = 0
            for l in head.split(b"\r\n")[1:]:
                k, _, v = l.partition(b":")
                if k.strip().lower() == b"content-length":
                    n = int(v.strip())
            if len(body) >= n:
                break
        d = s.recv(65536)
        if not d:
            break
        buf += d
except Exception as e:
    print("ERROR recv: %s" % e); sys.exit(0)
s.close()
head, _, body = buf.partition(b"\r\n\r\n")
print("HTTP %s: %s" % (head.split(b"\r\n")[0].decode()[9:], body.decode(errors="replace")))
"#;

const DNS_SERVER_PY: &str = r#"
import json, socket, struct, sys
port = int(sys.argv[1]); recs = json.load(open(sys.argv[2])); addr = sys.argv[3]
A, AAAA = recs["A"], recs["AAAA"]
if ":" in addr:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
while True:
    q, peer = s.recvfrom(65535)
    if len(q) < 12 or q[2] & 0x80:
        continue
    i = 12; labels = []
    while q[i]:
        labels.append(q[i+1:i+1+q[i]].decode()); i += 1 + q[i]
    qtype = struct.unpack(">H", q[i+1:i+3])[0]
    qend = i + 5
    name = ".".join(labels).lower()
    known = name in A or name in AAAA
    rr = b""
    if qtype == 1 and name in A:
        rr = bytes([0xc0, 0x0c]) + struct.pack(">HHIH", 1, 1, 5, 4) + socket.inet_aton(A[name])
    if qtype == 28 and name in AAAA:
        rr = bytes([0xc0, 0x0c]) + struct.pack(">HHIH", 28, 1, 5, 16) + socket.inet_pton(socket.AF_INET6, AAAA[name])
    flags = bytes([0x84 | (q[2] & 1), 0x80 | (0 if known else 3)])
    resp = q[:2] + flags + struct.pack(">HHHH", 1, 1 if rr else 0, 0, 0) + q[12:qend] + rr
    s.sendto(resp, peer)
"#;

/// Resolves a name as `gethostbyname` does (A queries through
/// /etc/resolv.conf's search list), prints the address or the failure.
/// (curl's lookups are CLIENT_PY's: getaddrinfo with the family curl asks.)
const RESOLVE_PY: &str = r#"
import socket, sys
try:
    print(socket.gethostbyname(sys.argv[1]))
except Exception as e:
    print("ERROR %s" % e)
"#;

/// CLIENT_PY's family argument for curl's `-4`, `-6` or neither.
fn resolve_family(f: podpath_sim::app::IpResolve) -> &'static str {
    match f {
        podpath_sim::app::IpResolve::V4 => "4",
        podpath_sim::app::IpResolve::V6 => "6",
        podpath_sim::app::IpResolve::Whatever => "any",
    }
}

/// One UDP datagram and its answer (unconnected socket, 1 s wait, as the
/// simulator's UDP client): `udp_client.py ADDR PORT PAYLOAD`.
const UDP_CLIENT_PY: &str = r#"
import socket, sys
v6 = ":" in sys.argv[1]
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
dst = (sys.argv[1], int(sys.argv[2]))
show = ("[%s]:%d" if v6 else "%s:%d") % dst
s.sendto(sys.argv[3].encode(), dst)
try:
    while True:
        d, a = s.recvfrom(65535)
        if a[:2] == dst:
            print("UDP answer from %s, %d bytes: %s" % (show, len(d), d.decode(errors="replace")))
            break
except socket.timeout:
    print("UDP: no answer from %s" % show)
"#;

/// One SCTP association (a one-to-one socket, IPPROTO_SCTP = 132): the
/// message and its echo, or (no message) connect then close.
const SCTP_CLIENT_PY: &str = r#"
import socket, sys
dst = (sys.argv[1], int(sys.argv[2]))
msg = sys.argv[3] if len(sys.argv) > 3 else None
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
except OSError as e:
    print("SCTP: no SCTP sockets on this kernel (%s)" % e)
    sys.exit(0)
s.settimeout(1.0)
try:
    s.connect(dst)
    if msg is None:
        print("SCTP association with %s:%d up" % dst)
    else:
        s.send(msg.encode())
        d = s.recv(65535)
        print("SCTP answer from %s:%d, %d bytes: %s" % (dst[0], dst[1], len(d), d.decode(errors="replace")))
    s.close()
except (socket.timeout, OSError) as e:
    print("SCTP: %s:%d: %s" % (dst[0], dst[1], e))
"#;

const DNS_CLIENT_PY: &str = r#"
import os, socket, struct, sys
server, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = sys.argv[4] if len(sys.argv) > 4 else "A"
qid = struct.unpack(">H", os.urandom(2))[0]
q = struct.pack(">HBBHHHH", qid, 1, 0, 1, 0, 0, 0)
for l in name.strip(".").split("."):
    q += bytes([len(l)]) + l.encode()
q += bytes([0]) + struct.pack(">HH", 28 if t == "AAAA" else 1, 1)
s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for attempt in range(2):
    s.sendto(q, (server, port))
    try:
        r, _ = s.recvfrom(65535)
    except socket.timeout:
        continue
    if r[3] & 0xf == 3:
        print("DNS %s %s: NXDOMAIN" % (t, name)); sys.exit(0)
    an = struct.unpack(">H", r[6:8])[0]
    if not an:
        print("DNS %s %s: %s" % (t, name, "no address" if t == "A" else "no AAAA record (NOERROR, empty answer)")); sys.exit(0)
    a = socket.inet_ntop(socket.AF_INET6, r[-16:]) if t == "AAAA" else socket.inet_ntoa(r[-4:])
    print("DNS %s %s -> %s" % (t, name, a)); sys.exit(0)
print("DNS %s %s: no answer after 2 queries" % (t, name))
"#;

/// The frames of a pcap file (a packet cut short by the capture's stop
/// ends the list).
pub fn read_pcap(path: &Path) -> Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut frames = Vec::new();
    if bytes.len() >= 24 {
        let mut r = pcap_file::pcap::PcapReader::new(&bytes[..])?;
        while let Some(Ok(p)) = r.next_packet() {
            frames.push(p.data.to_vec());
        }
    }
    Ok(frames)
}

/// The command a pod runs for a flow, self-contained (the client programs
/// inline): what `kubectl exec POD --` runs on a kind cluster.
pub fn flow_command(r: &Request) -> Vec<String> {
    let s = |x: &str| x.to_string();
    match r {
        Request::HttpGet {
            dst,
            port,
            host_header,
            path,
            ..
        } => vec![
            s("python3"),
            s("-c"),
            s(CLIENT_PY),
            dst.to_string(),
            port.to_string(),
            host_header.clone(),
            path.clone(),
            s("8"),
        ],
        Request::DnsA {
            server,
            port,
            name,
            qtype,
        } => vec![
            s("python3"),
            s("-c"),
            s(DNS_CLIENT_PY),
            server.to_string(),
            port.to_string(),
            name.clone(),
            podpath_sim::wire::dns::qtype_name(*qtype),
        ],
        Request::Resolve { name, then: None } => {
            vec![s("python3"), s("-c"), s(RESOLVE_PY), name.clone()]
        }
        Request::Resolve {
            name,
            then: Some(t),
        } => vec![
            s("python3"),
            s("-c"),
            s(CLIENT_PY),
            name.clone(),
            t.port.to_string(),
            t.host_header.clone(),
            t.path.clone(),
            s("8"),
            s(resolve_family(t.family)),
        ],
        Request::Udp { dst, port, payload } => vec![
            s("python3"),
            s("-c"),
            s(UDP_CLIENT_PY),
            dst.to_string(),
            port.to_string(),
            String::from_utf8_lossy(payload).to_string(),
        ],
        Request::Sctp { dst, port, payload } => {
            let mut v = vec![
                s("python3"),
                s("-c"),
                s(SCTP_CLIENT_PY),
                dst.to_string(),
                port.to_string(),
            ];
            v.extend(
                payload
                    .as_ref()
                    .map(|p| String::from_utf8_lossy(p).to_string()),
            );
            v
        }
        Request::Ping { dst, size, df, .. } => vec![
            s("sh"),
            s("-c"),
            format!(
                "ping -n -c 1 -W 1 -s {size} -M {} {dst}; true",
                if *df { "do" } else { "dont" }
            ),
        ],
        Request::Ping6 { .. } => vec![s("sh"), s("-c"), ping6_cmd(r)],
    }
}

/// `ping -6` for a Ping6 request (iputils; `-W 1` as the simulator waits;
/// its exit status is 1 on an error reply, its output says why).
fn ping6_cmd(r: &Request) -> String {
    let Request::Ping6 {
        dst,
        size,
        count,
        hlim,
    } = r
    else {
        return String::new();
    };
    let t = hlim.map(|h| format!(" -t {h}")).unwrap_or_default();
    format!("ping -6 -n -c {count} -W 1 -s {size}{t} {dst}; true")
}

/// What ping printed per answer, joined.
fn ping6_lines(out: &str) -> String {
    out.lines()
        .filter(|l| l.contains("bytes from") || l.starts_with("From "))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs a command with a bounded wait; returns stdout. Errors carry stderr.
/// Its output is read while it runs (threads drain stdout and stderr, and
/// feed stdin), so a command that prints more than a pipe holds (64 KiB:
/// `sysctl -a` on a node with many devices) cannot block on a full pipe.
pub fn run(args: &[&str], input: Option<&str>, timeout_s: u64) -> Result<String> {
    let mut c = Command::new(args[0]);
    c.args(&args[1..])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = c
        .spawn()
        .with_context(|| format!("cannot run {}", args[0]))?;
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = drain(
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
    );
    let err_t = drain(
        child
            .stderr
            .take()
            .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
    );
    let in_t = match (input, child.stdin.take()) {
        (Some(i), Some(mut w)) => {
            let i = i.to_string();
            Some(std::thread::spawn(move || w.write_all(i.as_bytes())))
        }
        _ => None,
    };
    let steps = timeout_s * 50;
    for _ in 0..steps {
        if let Some(status) = child.try_wait()? {
            if let Some(t) = in_t {
                let _ = t.join();
            }
            let stdout = out_t.join().unwrap_or_default();
            let stderr = err_t.join().unwrap_or_default();
            if !status.success() {
                bail!(
                    "`{}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&stderr).trim()
                );
            }
            return Ok(String::from_utf8_lossy(&stdout).to_string());
        }
        sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    bail!("`{}` did not finish within {timeout_s} s", args.join(" "))
}

/// Runs one command of the build plan: its error names the host and the
/// plan's context; a command that may fail only warns.
fn run_cmd(c: &Cmd) -> Result<()> {
    let args: Vec<&str> = c.argv.iter().map(String::as_str).collect();
    let mut r = run(&args, c.stdin.as_deref(), c.timeout_s);
    if let Some(h) = &c.host {
        r = r.with_context(|| format!("on host {h}"));
    }
    if let Some(x) = &c.context {
        r = r.with_context(|| x.clone());
    }
    match (r, c.warn) {
        (Ok(_), _) => Ok(()),
        (Err(e), Some(w)) => {
            eprintln!("podpath: warning: {e:#}; {w}");
            Ok(())
        }
        (Err(e), None) => Err(e),
    }
}

/// Whether network namespaces can be created here; the reason if not.
pub fn netns_available(prefix: &str) -> std::result::Result<(), String> {
    let probe = format!("{prefix}probe");
    for tool in ["ip", "tcpdump", "iptables-restore", "python3"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            return Err(format!("{tool} is not installed"));
        }
    }
    match run(&["ip", "netns", "add", &probe], None, 10) {
        Ok(_) => {
            let _ = run(&["ip", "netns", "del", &probe], None, 10);
            Ok(())
        }
        Err(e) => Err(format!("cannot create a network namespace: {e}")),
    }
}

/// One capture: a tcpdump on host/dev writing a pcap file.
struct Cap {
    host: String,
    dev: String,
    /// "in" or "out" (tcpdump -Q)
    dir: &'static str,
    file: PathBuf,
    child: Child,
}

/// Real captures: (host, dev, "in"|"out") -> frames in capture order.
pub type RealCaptures = BTreeMap<(String, String, String), Vec<Vec<u8>>>;

/// Capture times (ns since the epoch) of the real frames, in the same layout.
pub type RealTimes = BTreeMap<(String, String, String), Vec<u64>>;

/// The namespaces, processes and captures of one live run.
pub struct Lab {
    pub prefix: String,
    pub dir: PathBuf,
    namespaces: Arc<Mutex<Vec<String>>>,
    servers: Vec<Child>,
    caps: Vec<Cap>,
    /// host -> namespace
    ns: BTreeMap<String, String>,
    /// The real HAProxy and keepalived processes of the run.
    daemons: Vec<Daemon>,
    /// Their process ids, for the Ctrl-C handler.
    daemon_pids: Arc<Mutex<Vec<u32>>>,
}

/// A real daemon of the run (HAProxy, keepalived) in its host's namespace.
struct Daemon {
    /// "haproxy on lb1", for messages
    what: String,
    child: Child,
    /// Its log (stdout and stderr), for the error when it does not start.
    log: PathBuf,
    /// keepalived's pid files: its VRRP and checker children, killed when
    /// the parent does not end on SIGTERM.
    pid_files: Vec<PathBuf>,
}

/// The outcome of one client request in the live run.
#[derive(Debug, Clone)]
pub struct LiveFlow {
    pub id: String,
    pub outcome: String,
}

impl Lab {
    pub fn new(prefix: &str, dir: &Path) -> Result<Lab> {
        std::fs::create_dir_all(dir)?;
        let namespaces: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let for_handler = namespaces.clone();
        let daemon_pids: Arc<Mutex<Vec<u32>>> = Arc::new(Mutex::new(Vec::new()));
        let pids_for_handler = daemon_pids.clone();
        // Ctrl-C: end the real daemons, remove what was created, then exit.
        // (A second handler set by a later Lab in the same process is
        // refused; the first stays.)
        let _ = ctrlc::set_handler(move || {
            if let Ok(pids) = pids_for_handler.lock() {
                for p in pids.iter() {
                    let _ = Command::new("kill")
                        .args(["-TERM", &p.to_string()])
                        .status();
                }
            }
            if let Ok(list) = for_handler.lock() {
                for n in list.iter() {
                    let _ = Command::new("ip").args(["netns", "del", n]).status();
                    let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(n));
                }
            }
            eprintln!("podpath: interrupted; namespaces removed");
            std::process::exit(130);
        });
        Ok(Lab {
            prefix: prefix.to_string(),
            dir: dir.to_path_buf(),
            namespaces,
            servers: Vec::new(),
            caps: Vec::new(),
            ns: BTreeMap::new(),
            daemons: Vec::new(),
            daemon_pids,
        })
    }

    fn nsname(&self, host: &str) -> String {
        self.ns[host].clone()
    }

    fn exec(&self, host: &str, args: &[&str], input: Option<&str>) -> Result<String> {
        let ns = self.nsname(host);
        let mut a = vec!["ip", "netns", "exec", ns.as_str()];
        a.extend_from_slice(args);
        run(&a, input, 20).with_context(|| format!("on host {host}"))
    }

    /// Builds the world's hosts, devices, links, addresses, routes, rules,
    /// neighbours, sysctls, iptables and servers.
    pub fn build(&mut self, w: &World) -> Result<()> {
        let steps = plan::plan(w, &self.prefix)?;
        self.execute(&steps)?;
        self.start_servers(w)
    }

    /// Runs the plan's steps in order; the first that fails ends the build
    /// (what was created is removed with the lab).
    fn execute(&mut self, steps: &[Step]) -> Result<()> {
        for s in steps {
            match s {
                Step::Netns { host, ns } => {
                    run(&["ip", "netns", "add", ns], None, 10)?;
                    self.namespaces
                        .lock()
                        .map_err(|_| anyhow!("lock"))?
                        .push(ns.clone());
                    self.ns.insert(host.clone(), ns.clone());
                }
                Step::Resolv { dir, text } => {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    std::fs::write(dir.join("resolv.conf"), text)?;
                }
                Step::Run(c) => run_cmd(c)?,
            }
        }
        Ok(())
    }

    /// The HTTP and DNS servers of the world's programs, each in its
    /// host's namespace, waited for until they listen.
    fn start_servers(&mut self, w: &World) -> Result<()> {
        let server = self.dir.join("server.py");
        std::fs::write(&server, SERVER_PY)?;
        std::fs::write(self.dir.join("client.py"), CLIENT_PY)?;
        for (h, apps) in w.hosts.iter().zip(&w.apps) {
            for (port, (bound, app)) in &h.tcp.listeners {
                let App::HttpServer(s) = &apps[*app] else {
                    continue;
                };
                let addr = bound.map_or("0.0.0.0".to_string(), |a| a.to_string());
                self.start_http_server(&h.name, (&addr, *port), s, &server)?;
            }
        }
        let dns_server = self.dir.join("dns_server.py");
        std::fs::write(&dns_server, DNS_SERVER_PY)?;
        std::fs::write(self.dir.join("dns_client.py"), DNS_CLIENT_PY)?;
        std::fs::write(self.dir.join("resolve.py"), RESOLVE_PY)?;
        for (h, apps) in w.hosts.iter().zip(&w.apps) {
            for (port, app) in &h.udp_listeners {
                let App::DnsServer(d) = &apps[*app] else {
                    continue;
                };
                // a host with IPv6 serves both families (an AF_INET6
                // socket, bindv6only 0), as podpath's UDP sockets do
                let v6 = h.ip6.all().iter().any(|(_, a)| a.scope() == 0x0e);
                let addr = if v6 { "::" } else { "0.0.0.0" };
                self.start_dns_server(&h.name, (addr, *port), d, &dns_server)?;
            }
        }
        Ok(())
    }

    /// An HTTP server on `host`:`port` (server.py with the program's
    /// routes), waited for until it listens.
    fn start_http_server(
        &mut self,
        host: &str,
        (addr, port): (&str, u16),
        s: &HttpServer,
        server: &Path,
    ) -> Result<()> {
        let routes: serde_json::Map<String, serde_json::Value> = s
            .routes
            .iter()
            .map(|(p, r)| {
                (
                    p.clone(),
                    serde_json::json!({"status": r.status, "reason": podpath_sim::app::http::reason(r.status), "content_type": r.content_type, "body": r.body}),
                )
            })
            .collect();
        let rf = self.dir.join(format!("routes-{host}-{port}.json"));
        std::fs::write(&rf, serde_json::Value::Object(routes).to_string())?;
        let ns = self.nsname(host);
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "python3",
                server.to_str().unwrap_or_default(),
                &port.to_string(),
                rf.to_str().unwrap_or_default(),
                addr,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.servers.push(child);
        if !self.listening(host, "-Hltn", port) {
            bail!("the server on {host}:{port} did not start within 5 s");
        }
        Ok(())
    }

    /// A DNS server on `host`:`port` (dns_server.py with the program's
    /// records), waited for until it listens.
    fn start_dns_server(
        &mut self,
        host: &str,
        (addr, port): (&str, u16),
        d: &DnsServer,
        dns_server: &Path,
    ) -> Result<()> {
        let map = |it: Vec<(String, String)>| -> serde_json::Map<String, serde_json::Value> {
            it.into_iter()
                .map(|(n, a)| (n, serde_json::json!(a)))
                .collect()
        };
        let recs = serde_json::json!({
            "A": map(d.records.iter().map(|(n, a)| (n.clone(), a.to_string())).collect()),
            "AAAA": map(d.records6.iter().map(|(n, a)| (n.clone(), a.to_string())).collect()),
        });
        let rf = self.dir.join(format!("records-{host}-{port}.json"));
        std::fs::write(&rf, recs.to_string())?;
        let ns = self.nsname(host);
        let errf = self.dir.join(format!("dns-{host}-{port}.err"));
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "python3",
                dns_server.to_str().unwrap_or_default(),
                &port.to_string(),
                rf.to_str().unwrap_or_default(),
                addr,
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&errf)?)
            .spawn()?;
        self.servers.push(child);
        if !self.listening(host, "-Hlun", port) {
            let why = std::fs::read_to_string(&errf).unwrap_or_default();
            bail!(
                "the DNS server on {host}:{port} did not start within 5 s: {}",
                why.trim()
            );
        }
        Ok(())
    }

    /// Whether a socket listens on `port` in `host`'s namespace within 5 s
    /// (`ss` with `flags`: -Hltn for TCP, -Hlun for UDP).
    fn listening(&self, host: &str, flags: &str, port: u16) -> bool {
        let want = format!(":{port}");
        for _ in 0..100 {
            let out = self.exec(host, &["ss", flags], None).unwrap_or_default();
            if out.contains(&want) {
                return true;
            }
            sleep(Duration::from_millis(50));
        }
        false
    }

    /// Starts tcpdump on every device of every host.
    pub fn start_captures(&mut self, w: &World) -> Result<()> {
        // One tcpdump per direction, so frames going opposite ways on one
        // device are compared without depending on their interleaving.
        for h in &w.hosts {
            for d in &h.devs {
                for dir in ["in", "out"] {
                    let f = self.dir.join(format!("{}__{}__{dir}.pcap", h.name, d.name));
                    let ns = self.nsname(&h.name);
                    let child = Command::new("ip")
                        .args([
                            "netns",
                            "exec",
                            &ns,
                            "tcpdump",
                            "-i",
                            &d.name,
                            "-Q",
                            dir,
                            "-w",
                            f.to_str().unwrap_or_default(),
                            "-U",
                            "-n",
                            "-p",
                            "-s",
                            "0",
                            "--immediate-mode",
                        ])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .context("cannot start tcpdump")?;
                    self.caps.push(Cap {
                        host: h.name.clone(),
                        dev: d.name.clone(),
                        dir,
                        file: f,
                        child,
                    });
                }
            }
        }
        // tcpdump writes the file header once it listens.
        for c in &self.caps {
            let mut ok = false;
            for _ in 0..250 {
                if std::fs::metadata(&c.file)
                    .map(|m| m.len() >= 24)
                    .unwrap_or(false)
                {
                    ok = true;
                    break;
                }
                sleep(Duration::from_millis(20));
            }
            if !ok {
                bail!("tcpdump on {}/{} did not start within 5 s", c.host, c.dev);
            }
        }
        sleep(Duration::from_millis(200));
        Ok(())
    }

    /// Sends the scenario's flows at their start times (one after the other
    /// when they would overlap). Returns the outcomes and how long the run
    /// took from the first flow to the end of the captures: the stretch of
    /// virtual time the simulation is compared over.
    // Live mode measures real time by nature; the simulator never does.
    #[allow(clippy::disallowed_methods)]
    pub fn run_flows(&mut self, w: &World) -> Result<(Vec<LiveFlow>, u64)> {
        let client = self.dir.join("client.py");
        let mut out = Vec::new();
        let t0 = std::time::Instant::now();
        // The simulator starts its daemons at virtual time 0: the real ones
        // start here, and the flows wait until they serve.
        self.start_daemons(w)?;
        let mut starts: Vec<(u64, usize, u32)> = Vec::new();
        for (i, f) in w.flows.iter().enumerate() {
            for k in 0..f.count {
                starts.push((f.start_ns + k as u64 * f.interval_ns, i, k));
            }
        }
        starts.sort();
        for (at, i, k) in starts {
            let f = &w.flows[i];
            let now = t0.elapsed().as_nanos() as u64;
            if at > now {
                sleep(Duration::from_nanos(at - now));
            }
            let host = &w.hosts[f.from].name;
            let id = if f.count > 1 {
                format!("{}#{}", f.id, k + 1)
            } else {
                f.id.clone()
            };
            let res = match &f.request {
                Request::HttpGet {
                    dst,
                    port,
                    host_header,
                    path,
                    ..
                } => self.exec(
                    host,
                    &[
                        "python3",
                        client.to_str().unwrap_or_default(),
                        &dst.to_string(),
                        &port.to_string(),
                        host_header,
                        path,
                        "8",
                    ],
                    None,
                ),
                Request::Ping { dst, size, df, .. } => self
                    .exec(
                        host,
                        &[
                            "sh",
                            "-c",
                            // ping exits 1 on an error reply; its output says why
                            &format!(
                                "ping -n -c 1 -W 1 -s {size} -M {} {dst}; true",
                                if *df { "do" } else { "dont" }
                            ),
                        ],
                        None,
                    )
                    .map(|out| {
                        out.lines()
                            .find(|l| l.contains("bytes from") || l.starts_with("From "))
                            .unwrap_or("no reply")
                            .trim()
                            .to_string()
                    }),
                Request::Ping6 { .. } => self
                    .exec(host, &["sh", "-c", &ping6_cmd(&f.request)], None)
                    .map(|out| ping6_lines(&out)),
                Request::Resolve {
                    name,
                    then: Some(t),
                } => self
                    .exec(
                        host,
                        &[
                            "python3",
                            client.to_str().unwrap_or_default(),
                            name,
                            &t.port.to_string(),
                            &t.host_header,
                            &t.path,
                            // the flow's timeout (curl -m), whole seconds
                            &f.client
                                .timeout_ns
                                .map_or(8, |n| n.div_ceil(1_000_000_000))
                                .to_string(),
                            resolve_family(t.family),
                        ],
                        None,
                    )
                    .map(|out| {
                        if out.trim().starts_with("ERROR resolve") {
                            format!("curl: (6) Could not resolve host: {name}")
                        } else {
                            out
                        }
                    }),
                Request::Resolve { name, then: None } => {
                    let r = self.dir.join("resolve.py");
                    let addr = self
                        .exec(
                            host,
                            &["python3", r.to_str().unwrap_or_default(), name],
                            None,
                        )
                        .map(|s| s.trim().to_string());
                    match addr {
                        Ok(a) if a.starts_with("ERROR") => Ok(format!("DNS A {name}: {a}")),
                        Ok(a) => Ok(format!("DNS A {name} -> {a}")),
                        Err(e) => Err(e),
                    }
                }
                Request::Udp { .. } | Request::Sctp { .. } => {
                    let argv = flow_command(&f.request);
                    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
                    self.exec(host, &args, None)
                }
                Request::DnsA {
                    server,
                    port,
                    name,
                    qtype,
                } => {
                    let c = self.dir.join("dns_client.py");
                    self.exec(
                        host,
                        &[
                            "python3",
                            c.to_str().unwrap_or_default(),
                            &server.to_string(),
                            &port.to_string(),
                            name,
                            &podpath_sim::wire::dns::qtype_name(*qtype),
                        ],
                        None,
                    )
                }
            };
            let outcome = match res {
                Ok(s) => s.trim().to_string(),
                Err(e) => format!("ERROR {e:#}"),
            };
            out.push(LiveFlow { id, outcome });
        }
        sleep(Duration::from_millis(300));
        Ok((out, t0.elapsed().as_nanos() as u64))
    }

    /// Stops the captures and reads them.
    pub fn collect(&mut self) -> Result<(RealCaptures, RealTimes)> {
        let mut all_times = BTreeMap::new();
        for c in &mut self.caps {
            let _ = Command::new("kill")
                .args(["-INT", &c.child.id().to_string()])
                .status();
        }
        let mut out = BTreeMap::new();
        for mut c in std::mem::take(&mut self.caps) {
            let mut done = false;
            for _ in 0..150 {
                if c.child.try_wait()?.is_some() {
                    done = true;
                    break;
                }
                sleep(Duration::from_millis(20));
            }
            if !done {
                let _ = c.child.kill();
                let _ = c.child.wait();
            }
            let bytes =
                std::fs::read(&c.file).with_context(|| format!("reading {}", c.file.display()))?;
            let mut frames = Vec::new();
            let mut times = Vec::new();
            if bytes.len() >= 24 {
                let mut r = pcap_file::pcap::PcapReader::new(&bytes[..])?;
                while let Some(p) = r.next_packet() {
                    match p {
                        Ok(p) => {
                            times.push(p.timestamp.as_nanos() as u64);
                            frames.push(p.data.to_vec())
                        }
                        Err(_) => break, // a packet cut by the stop
                    }
                }
            }
            all_times.insert((c.host.clone(), c.dev.clone(), c.dir.to_string()), times);
            out.insert((c.host, c.dev, c.dir.to_string()), frames);
        }
        Ok((out, all_times))
    }

    /// Removes everything this run created.
    pub fn teardown(&mut self) {
        for c in &mut self.caps {
            let _ = c.child.kill();
            let _ = c.child.wait();
        }
        self.stop_daemons();
        for s in &mut self.servers {
            let _ = s.kill();
            let _ = s.wait();
        }
        self.servers.clear();
        if let Ok(mut list) = self.namespaces.lock() {
            for n in list.drain(..) {
                let _ = run(&["ip", "netns", "del", &n], None, 10);
                // the resolv.conf `ip netns exec` mounts for it (ours: the
                // namespace did not exist before this run)
                let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&n));
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.teardown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SCTP flow's command runs as python3 writes it (where python3
    /// is installed): on a kernel without SCTP sockets it says so and
    /// exits 0; elsewhere it tries the association.
    #[test]
    fn sctp_flow_command_runs() {
        let argv = flow_command(&Request::Sctp {
            dst: std::net::Ipv4Addr::new(127, 0, 0, 1),
            port: 9,
            payload: None,
        });
        assert_eq!(&argv[..2], ["python3", "-c"]);
        assert_eq!(&argv[3..], ["127.0.0.1", "9"]);
        let Ok(o) = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .output()
        else {
            return;
        };
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(out.starts_with("SCTP"), "{out}");
        let with = flow_command(&Request::Sctp {
            dst: std::net::Ipv4Addr::new(127, 0, 0, 1),
            port: 9,
            payload: Some(b"hi".to_vec()),
        });
        assert_eq!(with.last().map(String::as_str), Some("hi"));
    }
}
