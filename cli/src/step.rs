//! `podpath step`: a terminal step-through of a trace, in the manner of
//! Packet Tracer's simulation mode: the hops of a flow as an event list, the
//! path with the current host highlighted, the packet layer by layer (L2, L3,
//! L4, application) as it came in and as it left, and the steps of the hop
//! with the rule or route that decided each.
//!
//! Keys: n/→ next step, p/← previous step, j/↓ next hop, k/↑ previous hop,
//! g/G first/last hop, d jump to the drop, f/F next/previous flow, i inner or
//! outer headers of a tunnel, / search, ? help, q/Esc/Ctrl-C quit.
//!
//! The terminal is restored on exit, on panic (ratatui's hook) and on Ctrl-C
//! (read as a key in raw mode).

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use podpath_sim::trace::{Action, Capture, Direction, Hop, Trace};
use podpath_sim::wire::{Frame as WireFrame, Ipv4Repr, L3, L4};

pub struct App<'a> {
    trace: &'a Trace,
    pub flow: usize,
    pub hop: usize,
    pub step: usize,
    pub inner: bool,
    pub help: bool,
    /// Some while typing a search.
    pub search: Option<String>,
    last_search: String,
    pub status: String,
}

const HELP: &[&str] = &[
    "n / →   next step          p / ←   previous step",
    "j / ↓   next hop           k / ↑   previous hop",
    "g / G   first / last hop   d       jump to the drop",
    "f / F   next / prev flow   i       inner/outer headers",
    "/       search hops        ?       this help",
    "q, Esc, Ctrl-C: quit",
];

impl<'a> App<'a> {
    /// Opens on the first flow of the scenario's traffic (not a daemon's).
    pub fn new(trace: &'a Trace) -> App<'a> {
        App {
            trace,
            flow: trace.flows.iter().position(|f| !f.daemon).unwrap_or(0),
            hop: 0,
            step: 0,
            inner: false,
            help: false,
            search: None,
            last_search: String::new(),
            status: String::new(),
        }
    }

    fn hops(&self) -> &'a [Hop] {
        self.trace
            .flows
            .get(self.flow)
            .map(|f| f.hops.as_slice())
            .unwrap_or(&[])
    }

    fn cur(&self) -> Option<&'a Hop> {
        self.hops().get(self.hop)
    }

    fn set_hop(&mut self, h: usize) {
        let n = self.hops().len();
        if n > 0 {
            self.hop = h.min(n - 1);
            self.step = 0;
        }
    }

    /// Handles a key; returns true to quit.
    pub fn key(&mut self, k: KeyEvent) -> bool {
        if k.kind != KeyEventKind::Press {
            return false;
        }
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            return true;
        }
        if let Some(q) = &mut self.search {
            match k.code {
                KeyCode::Esc => self.search = None,
                KeyCode::Enter => {
                    self.last_search = q.clone();
                    self.search = None;
                    self.find_next();
                }
                KeyCode::Backspace => {
                    q.pop();
                }
                KeyCode::Char(c) => q.push(c),
                _ => {}
            }
            return false;
        }
        if self.help {
            self.help = false;
            return matches!(k.code, KeyCode::Char('q'));
        }
        self.status.clear();
        let nsteps = self.cur().map(|h| h.steps.len()).unwrap_or(0);
        match k.code {
            KeyCode::Char('q') | KeyCode::Esc => return true,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('n') | KeyCode::Right => {
                if self.step + 1 < nsteps {
                    self.step += 1;
                } else if self.hop + 1 < self.hops().len() {
                    self.set_hop(self.hop + 1);
                } else {
                    self.status = "end of the flow".into();
                }
            }
            KeyCode::Char('p') | KeyCode::Left => {
                if self.step > 0 {
                    self.step -= 1;
                } else if self.hop > 0 {
                    self.set_hop(self.hop - 1);
                    self.step = self
                        .cur()
                        .map(|h| h.steps.len().saturating_sub(1))
                        .unwrap_or(0);
                }
            }
            KeyCode::Char('j') | KeyCode::Down => self.set_hop(self.hop + 1),
            KeyCode::Char('k') | KeyCode::Up => self.set_hop(self.hop.saturating_sub(1)),
            KeyCode::Char('g') | KeyCode::Home => self.set_hop(0),
            KeyCode::Char('G') | KeyCode::End => self.set_hop(usize::MAX),
            KeyCode::Char('d') => {
                let found = self.hops().iter().enumerate().find_map(|(i, h)| {
                    h.steps
                        .iter()
                        .position(|s| matches!(s.action, Action::Drop { .. }))
                        .map(|si| (i, si))
                });
                match found {
                    Some((i, si)) => {
                        self.set_hop(i);
                        self.step = si;
                    }
                    None => self.status = "no drop in this flow".into(),
                }
            }
            KeyCode::Char('f') => self.set_flow((self.flow + 1) % self.trace.flows.len().max(1)),
            KeyCode::Char('F') => {
                let n = self.trace.flows.len().max(1);
                self.set_flow((self.flow + n - 1) % n)
            }
            KeyCode::Char('i') => self.inner = !self.inner,
            KeyCode::Char('/') => self.search = Some(String::new()),
            _ => {}
        }
        false
    }

    fn set_flow(&mut self, f: usize) {
        self.flow = f;
        self.hop = 0;
        self.step = 0;
    }

    fn find_next(&mut self) {
        let q = self.last_search.to_lowercase();
        let hops = self.hops();
        let n = hops.len();
        for off in 1..=n {
            let i = (self.hop + off) % n.max(1);
            let h = &hops[i];
            // the step that matches, when one does: the search lands on it
            let step = h.steps.iter().position(|s| {
                s.what.to_lowercase().contains(&q)
                    || s.point.to_string().to_lowercase().contains(&q)
            });
            let hit = step.is_some()
                || h.before.to_lowercase().contains(&q)
                || h.after.as_deref().unwrap_or("").to_lowercase().contains(&q)
                || h.host.to_lowercase().contains(&q);
            if hit {
                self.set_hop(i);
                self.step = step.unwrap_or(0);
                self.status = format!("found '{}'", self.last_search);
                return;
            }
        }
        self.status = format!("'{}' not found in this flow", self.last_search);
    }

    fn capture(&self, h: &Hop, dir: Direction) -> Option<&'a Capture> {
        self.trace
            .captures
            .iter()
            .find(|c| c.hop == Some(h.seq) && c.dir == dir && c.host == h.host)
    }

    /// The packet's layers (L2, L3, L4, application) from captured bytes.
    fn layers(&self, c: Option<&Capture>, text: &str) -> [String; 4] {
        let Some(c) = c else {
            return [
                String::new(),
                text.to_string(),
                String::new(),
                String::new(),
            ];
        };
        let (l2, mut ip) = match WireFrame::parse(&c.bytes) {
            Ok(f) => {
                let l2 = format!("{} > {}", f.src, f.dst);
                match f.payload {
                    L3::Ipv4(ip) => (l2, Some(ip)),
                    L3::Ipv6(ip) => return layers_v6(l2, &ip),
                    L3::Arp(a) => return [l2, a.to_string(), String::new(), String::new()],
                    L3::Other { ethertype, .. } => {
                        return [
                            format!("{l2} type 0x{ethertype:04x}"),
                            String::new(),
                            String::new(),
                            String::new(),
                        ]
                    }
                }
            }
            Err(_) => (
                "(raw IP: no Ethernet header)".to_string(),
                Ipv4Repr::parse(&c.bytes).ok(),
            ),
        };
        let mut l2 = l2;
        if self.inner {
            if let Some(L4::Udp { hdr, payload }) = ip.as_ref().map(|i| &i.l4) {
                if let Some(v) =
                    podpath_sim::wire::vxlan::VxlanRepr::parse_udp(hdr.destination_port, payload)
                {
                    if let Ok(f) = WireFrame::parse(&v.inner) {
                        l2 = format!("inner (VNI {}): {} > {}", v.vni, f.src, f.dst);
                        if let L3::Ipv4(i) = f.payload {
                            ip = Some(i);
                        }
                    }
                }
            }
        }
        let Some(ip) = ip else {
            return [l2, "(not IPv4)".into(), String::new(), String::new()];
        };
        let l3 = format!(
            "{} > {} ttl {} len {}{}",
            ip.src(),
            ip.dst(),
            ip.hdr.time_to_live,
            ip.total_len(),
            if ip.hdr.dont_fragment { " DF" } else { "" }
        );
        let (l4, app) = l4_layers(&ip.l4, ip.proto());
        [l2, l3, l4, app]
    }

    /// Draws the screen: the title bar, the hop list on the left, the
    /// path, the packet's layers and the hop's steps on the right, the
    /// footer, and the help over it all when asked for.
    pub fn draw(&self, f: &mut Frame) {
        let area = f.area();
        let [title, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(5),
            Constraint::Length(1),
        ])
        .areas(area);
        self.draw_title(f, title);
        let left_w = (area.width / 3).clamp(24, 40);
        let [left, right] =
            Layout::horizontal([Constraint::Length(left_w), Constraint::Min(30)]).areas(body);
        self.draw_hops(f, left, left_w);
        let [path, layers, steps] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(7),
            Constraint::Min(3),
        ])
        .areas(right);
        self.draw_path(f, path);
        self.draw_layers(f, layers);
        self.draw_steps(f, steps);
        self.draw_footer(f, footer);
        if self.help {
            self.draw_help(f, area);
        }
    }

    /// The title bar: scenario, flow, hop and step counters.
    fn draw_title(&self, f: &mut Frame, title: Rect) {
        let hops = self.hops();
        let flow = self.trace.flows.get(self.flow);
        let t = format!(
            " podpath step · {} · flow {} ({}/{}) · hop {}/{}{} · step {}/{}{}",
            self.trace.scenario,
            flow.map(|f| f.id.as_str()).unwrap_or("-"),
            self.flow + 1,
            self.trace.flows.len(),
            if hops.is_empty() { 0 } else { self.hop + 1 },
            hops.len(),
            String::new(),
            if self.cur().is_some_and(|h| !h.steps.is_empty()) {
                self.step + 1
            } else {
                0
            },
            self.cur().map(|h| h.steps.len()).unwrap_or(0),
            if self.inner { " · inner" } else { "" }
        );
        f.render_widget(
            Paragraph::new(t).style(Style::new().add_modifier(Modifier::REVERSED)),
            title,
        );
    }

    /// The event list: one row per hop of the flow, marked when it drops
    /// (✗) or translates (⇄), the current one highlighted.
    fn draw_hops(&self, f: &mut Frame, left: Rect, left_w: u16) {
        let hops = self.hops();
        // rows are numbered as the title counts hops; long host names lose
        // their middle, so two pods of one Deployment stay apart
        let name_w = (left_w as usize).saturating_sub(2 + 1 + 3 + 1 + 8 + 1);
        let items: Vec<ListItem> = hops
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let mark = if h
                    .steps
                    .iter()
                    .any(|s| matches!(s.action, Action::Drop { .. }))
                {
                    "✗"
                } else if h
                    .steps
                    .iter()
                    .any(|s| matches!(s.action, Action::Dnat { .. } | Action::Snat { .. }))
                {
                    "⇄"
                } else {
                    " "
                };
                ListItem::new(format!(
                    "{mark}{:>3} {:>8.4} {}",
                    i + 1,
                    h.time_ns as f64 / 1e9,
                    elide_middle(&h.host, name_w)
                ))
            })
            .collect();
        let mut ls = ListState::default();
        ls.select(if hops.is_empty() {
            None
        } else {
            Some(self.hop)
        });
        f.render_stateful_widget(
            List::new(items)
                .block(Block::new().borders(Borders::ALL).title(" hops "))
                .highlight_style(Style::new().add_modifier(Modifier::REVERSED)),
            left,
            &mut ls,
        );
    }

    /// The path: the hosts the request crosses, the current one highlighted.
    fn draw_path(&self, f: &mut Frame, path: Rect) {
        let flow = self.trace.flows.get(self.flow);
        // the path: the hosts the request crosses (not every host that saw
        // one of its ARP broadcasts); a hop elsewhere is named after it
        let order: Vec<String> = flow
            .map(|f| podpath_render::summary::path(self.trace, f))
            .unwrap_or_default();
        let order: Vec<&str> = order.iter().map(String::as_str).collect();
        let curhost = self.cur().map(|h| h.host.as_str()).unwrap_or("");
        let off_path = !curhost.is_empty() && !order.contains(&curhost);
        let mut spans: Vec<Span> = Vec::new();
        for (i, h) in order.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(" → "));
            }
            let st = if *h == curhost {
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
            } else {
                Style::new()
            };
            spans.push(Span::styled(h.to_string(), st));
        }
        if off_path {
            spans.push(Span::raw("   now at: "));
            spans.push(Span::styled(
                curhost,
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            ));
        }
        f.render_widget(
            Paragraph::new(Line::from(spans))
                .block(Block::new().borders(Borders::ALL).title(" path "))
                .wrap(Wrap { trim: true }),
            path,
        );
    }

    /// The packet's layers as the hop received it and, after ⇒, what
    /// changed when it left.
    fn draw_layers(&self, f: &mut Frame, layers: Rect) {
        // layers: one line each, the packet as it came in, then (after ⇒)
        // what changed when it left
        let mut lines: Vec<Line> = Vec::new();
        if let Some(h) = self.cur() {
            let inl = self.layers(self.capture(h, Direction::In), &h.before);
            let outl = match &h.after {
                Some(a) => self.layers(self.capture(h, Direction::Out), a),
                None => Default::default(),
            };
            lines.push(Line::from(format!(
                "{} → {}",
                h.in_dev.as_deref().unwrap_or("(local)"),
                h.out_dev.as_deref().unwrap_or("(none)")
            )));
            for (i, name) in ["L2", "L3", "L4", "L7"].iter().enumerate() {
                let mut spans = vec![Span::raw(format!("{name} {}", inl[i]))];
                if !outl[i].is_empty() && outl[i] != inl[i] {
                    spans.push(Span::styled(
                        format!(" ⇒ {}", outl[i]),
                        Style::new().add_modifier(Modifier::BOLD),
                    ));
                }
                lines.push(Line::from(spans));
            }
        }
        f.render_widget(
            Paragraph::new(lines).block(
                Block::new()
                    .borders(Borders::ALL)
                    .title(" packet: in ⇒ out "),
            ),
            layers,
        );
    }

    /// The hop's steps, from the one before the current step, wrapped.
    fn draw_steps(&self, f: &mut Frame, steps: Rect) {
        let mut sl: Vec<Line> = Vec::new();
        if let Some(h) = self.cur() {
            for (i, s) in h.steps.iter().enumerate() {
                let text = format!("{:<14} {}", s.point, s.what);
                let st = if i == self.step {
                    Style::new().add_modifier(Modifier::REVERSED)
                } else if matches!(s.action, Action::Drop { .. }) {
                    Style::new().add_modifier(Modifier::BOLD)
                } else {
                    Style::new()
                };
                sl.push(Line::from(Span::styled(text, st)));
            }
        }
        // From the step before the current one, wrapped, so the current
        // step is always shown whole.
        let first = self.step.saturating_sub(1);
        let shown: Vec<Line> = sl.into_iter().skip(first).collect();
        // the hop's number in `podpath run --format trace`
        let seq = self
            .cur()
            .map(|h| format!(" of hop #{}", h.seq))
            .unwrap_or_default();
        let title = if first > 0 {
            format!(" steps{seq} ({first} above) ")
        } else {
            format!(" steps{seq} ")
        };
        f.render_widget(
            Paragraph::new(shown)
                .block(Block::new().borders(Borders::ALL).title(title))
                .wrap(Wrap { trim: false }),
            steps,
        );
    }

    /// The footer: the search being typed, the status, or the key summary.
    fn draw_footer(&self, f: &mut Frame, footer: Rect) {
        let foot = match &self.search {
            Some(q) => format!(" search: {q}▏ (Enter: find, Esc: cancel)"),
            None if !self.status.is_empty() => format!(" {}", self.status),
            None => " n/p step  j/k hop  d drop  f flow  i inner  / search  ? help  q quit".into(),
        };
        f.render_widget(Paragraph::new(foot), footer);
    }

    /// The help box, centred over the screen.
    fn draw_help(&self, f: &mut Frame, area: Rect) {
        let w = 58.min(area.width);
        let h = (HELP.len() as u16 + 2).min(area.height);
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        f.render_widget(Clear, r);
        f.render_widget(
            Paragraph::new(HELP.iter().map(|l| Line::from(*l)).collect::<Vec<_>>())
                .block(Block::new().borders(Borders::ALL).title(" keys ")),
            r,
        );
    }
}

/// `s` in at most `w` characters: its start and end kept, `…` between.
fn elide_middle(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w || w < 5 {
        return s.to_string();
    }
    let tail = (w - 1) / 2;
    let head = w - 1 - tail;
    let h: String = s.chars().take(head).collect();
    let t: String = s.chars().skip(n - tail).collect();
    format!("{h}…{t}")
}

/// Runs the step-through on the terminal until the user quits.
pub fn run_app(mut app: App) -> std::io::Result<()> {
    let mut terminal = ratatui::init();
    let res = (|| -> std::io::Result<()> {
        loop {
            terminal.draw(|f| app.draw(f))?;
            if let Event::Key(k) = event::read()? {
                if app.key(k) {
                    return Ok(());
                }
            }
        }
    })();
    ratatui::restore();
    res
}

/// The layers of an IPv6 packet: its header (hop limit, length,
/// extension headers), then the transport's as for IPv4.
fn layers_v6(l2: String, ip: &podpath_sim::wire::Ipv6Repr) -> [String; 4] {
    let mut l3 = format!(
        "{} > {} hlim {} len {}",
        ip.src,
        ip.dst,
        ip.hop_limit,
        ip.total_len()
    );
    for e in &ip.exts {
        l3.push_str(&format!(", {e}"));
    }
    let (l4, app) = l4_layers(&ip.l4, ip.proto);
    [l2, l3, l4, app]
}

/// The transport line and the application's first line (either family).
fn l4_layers(l4: &L4, proto: u8) -> (String, String) {
    let (l4, payload): (String, &[u8]) = match l4 {
        L4::Tcp { hdr, payload } => (
            format!(
                "TCP {} > {} [{}] seq {}",
                hdr.source_port,
                hdr.destination_port,
                podpath_sim::wire::tcp_flags_str(hdr),
                hdr.sequence_number
            ),
            payload,
        ),
        L4::Udp { hdr, payload } => (
            format!(
                "UDP {} > {} len {}",
                hdr.source_port,
                hdr.destination_port,
                payload.len()
            ),
            payload,
        ),
        L4::Icmp(i) => (format!("ICMP {i}"), &[]),
        L4::Icmp6(i) => (format!("ICMPv6 {i}"), &[]),
        L4::Raw(b) => (format!("proto {proto}"), b),
    };
    let app = if payload.is_empty() {
        String::new()
    } else {
        let first: String = String::from_utf8_lossy(&payload[..payload.len().min(120)])
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .map(|c| if c.is_control() { '.' } else { c })
            .collect();
        format!("{} bytes: {first}", payload.len())
    };
    (l4, app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn trace(text: &str) -> Trace {
        let w = podpath_sim::scenario::load(text, "t.yaml", None).unwrap();
        podpath_sim::engine::Engine::new(w).run()
    }

    fn screen(app: &App, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| app.draw(f)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut s = String::new();
        for y in 0..h {
            for x in 0..w {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    fn keys(app: &mut App, ks: &str) {
        for c in ks.chars() {
            let code = match c {
                '→' => KeyCode::Right,
                '←' => KeyCode::Left,
                '\n' => KeyCode::Enter,
                c => KeyCode::Char(c),
            };
            app.key(KeyEvent::new(code, KeyModifiers::NONE));
        }
    }

    const MINIKUBE: &str = include_str!("../../scenarios/minikube-service.yaml");

    #[test]
    fn first_screen_80x24() {
        let t = trace(MINIKUBE);
        let app = App::new(&t);
        insta::assert_snapshot!("first_screen_80x24", screen(&app, 80, 24));
    }

    #[test]
    fn stepping_to_the_dnat_on_the_node() {
        let t = trace(MINIKUBE);
        let mut app = App::new(&t);
        // hop 5 of the first flow is the SYN on minikube; step to the DNAT
        keys(&mut app, "jjjj");
        let h = app.cur().unwrap();
        assert_eq!(h.host, "minikube");
        let dnat = h
            .steps
            .iter()
            .position(|s| matches!(s.action, Action::Dnat { .. }))
            .unwrap();
        keys(&mut app, &"n".repeat(dnat));
        assert_eq!(app.step, dnat);
        let s = screen(&app, 80, 24);
        assert!(
            s.contains("nat            DNAT: 192.168.49.2:30080 ->"),
            "{s}"
        );
        insta::assert_snapshot!("dnat_step_80x24", s);
        // past the last step goes on to the next hop
        let n = app.cur().unwrap().steps.len();
        keys(&mut app, &"n".repeat(n - dnat));
        assert_eq!((app.hop, app.step), (5, 0));
        keys(&mut app, "p");
        assert_eq!((app.hop, app.step), (4, n - 1));
    }

    #[test]
    fn help_search_flows_and_drop() {
        let t = trace(MINIKUBE);
        let mut app = App::new(&t);
        keys(&mut app, "?");
        let s = screen(&app, 80, 24);
        assert!(
            s.contains(" keys ") && s.contains("jump to the drop"),
            "{s}"
        );
        keys(&mut app, "x"); // any key closes the help
        assert!(!app.help);
        keys(&mut app, "/is-at d2:9b\n");
        let h = app.cur().unwrap();
        assert!(
            h.before.contains("is-at d2:9b")
                || h.after.as_deref().unwrap_or("").contains("is-at d2:9b"),
            "{}",
            app.status
        );
        keys(&mut app, "f");
        assert_eq!((app.flow, app.hop), (1, 0));
        keys(&mut app, "F");
        assert_eq!(app.flow, 0);
        keys(&mut app, "d");
        assert_eq!(app.status, "no drop in this flow");
        // a flow with a drop: the PMTU ping of headcni-host-mode
        let t2 = trace(include_str!("../../scenarios/headcni-host-mode.yaml"));
        let mut app2 = App::new(&t2);
        app2.flow = t2.flows.iter().position(|f| f.id == "pmtu").unwrap();
        keys(&mut app2, "d");
        let s = screen(&app2, 80, 24);
        assert!(
            s.contains("ip_forward     DROP: 1428 bytes exceed the MTU 1280"),
            "{s}"
        );
        assert!(s.contains("✗"));
    }

    #[test]
    fn opens_on_the_first_user_flow_and_tells_pods_apart() {
        // browser-to-pod's first flows are daemons' (health checks, VRRP)
        let t = trace(include_str!("../../scenarios/browser-to-pod.yaml"));
        let app = App::new(&t);
        assert_eq!(t.flows[app.flow].id, "browser#1");
        assert!(t.flows[0].daemon);
        let s = screen(&app, 80, 24);
        assert!(s.contains("flow browser#1 (8/12) · hop 1/"), "{s}");
        // the path pane: the hosts the request crosses, not the nodes that
        // only heard an ARP broadcast
        assert!(s.contains("browser → internet → ext-lb → ilb-1"), "{s}");
        // two pods of one Deployment stay apart in the 80-column hop list
        let mut app = App::new(&t);
        let rows: Vec<String> = t.flows[app.flow]
            .hops
            .iter()
            .enumerate()
            .filter(|(_, h)| h.host.starts_with("api-server-"))
            .map(|(i, _)| {
                app.set_hop(i);
                let s = screen(&app, 80, 24);
                // the highlighted row is the one the title counts
                let want = format!("{:>3} ", i + 1);
                s.lines()
                    .find(|l| l.chars().skip(2).collect::<String>().starts_with(&want))
                    .map(|l| l.chars().take(26).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        assert!(!rows.is_empty());
        // browser#1 reaches ...-fghij; the ARP broadcast also reaches -abcde
        assert!(rows.iter().any(|r| r.contains("ghij")), "{rows:?}");
        assert!(rows.iter().any(|r| r.contains("bcde")), "{rows:?}");
        assert!(rows.iter().all(|r| r.contains("api-s")), "{rows:?}");
    }

    #[test]
    fn search_lands_on_the_matching_step() {
        let t = trace(MINIKUBE);
        let mut app = App::new(&t);
        keys(&mut app, "/KUBE-SEP\n");
        let h = app.cur().unwrap();
        assert!(
            h.steps[app.step].what.contains("KUBE-SEP"),
            "{}",
            h.steps[app.step].what
        );
        assert!(app.step > 0);
        let s = screen(&app, 80, 24);
        assert!(s.contains(&format!(" steps of hop #{} ", h.seq)), "{s}");
    }

    #[test]
    fn inner_headers_of_vxlan_and_resize() {
        let t = trace(include_str!("../../scenarios/nodeport-vxlan.yaml"));
        let mut app = App::new(&t);
        let i = app
            .hops()
            .iter()
            .position(|h| h.host == "node-b" && h.before.contains("VXLAN"))
            .unwrap();
        app.set_hop(i);
        let outer = screen(&app, 100, 30);
        assert!(
            outer.contains("UDP ") && outer.contains("> 8472"),
            "{outer}"
        );
        keys(&mut app, "i");
        let inner = screen(&app, 100, 30);
        assert!(inner.contains("inner (VNI 1)"), "{inner}");
        // a very small terminal still draws
        let tiny = screen(&app, 40, 12);
        assert!(tiny.contains("podpath step"));
    }

    /// A flow a NetworkPolicy denies: `d` lands on the drop step, which
    /// names the policy, that no rule of it admitted the packet and the
    /// generated rule (felix's end-of-tier DROP under calico; the nft
    /// queue rule kube-network-policies' NF_DROP answered under kindnet),
    /// and the screen shows the policy verdict step beside it.
    #[test]
    fn a_policy_drop_names_policy_rule_and_generated_rule() {
        for (text, policy, generated) in [
            (
                include_str!("../../scenarios/netpol-default-deny.yaml"),
                "default/default-deny",
                "cali-fw-cali224156c4f7e rule 9",
            ),
            (
                include_str!("../../scenarios/netpol-kindnet.yaml"),
                "shop/default-deny",
                "inet kindnet-network-policies postrouting rule 9",
            ),
        ] {
            let t = trace(text);
            let fi = t
                .flows
                .iter()
                .position(|f| {
                    f.hops.iter().flat_map(|h| &h.steps).any(
                        |s| matches!(&s.action, Action::Policy { verdict, .. } if verdict == "denied"),
                    )
                })
                .unwrap();
            let mut app = App::new(&t);
            app.set_flow(fi);
            keys(&mut app, "d");
            let h = app.cur().unwrap();
            let what = &h.steps[app.step].what;
            assert!(matches!(h.steps[app.step].action, Action::Drop { .. }));
            assert!(what.contains(policy), "{what}");
            assert!(what.contains("no rule of them admits the packet"), "{what}");
            assert!(what.contains(generated), "{what}");
            let s = screen(&app, 240, 50);
            assert!(s.contains("admits the packet"), "{s}");
            assert!(s.contains(policy), "{s}");
        }
    }
}
