//! `ping -6 -c COUNT -s SIZE DST` (iputils ping over an ICMPv6 ping
//! socket): COUNT echo requests one second apart, each answer or ICMPv6
//! error in iputils' words (ping6_common.c `print_icmp6_error`), and the
//! summary.
//!
//! Path MTU discovery is the kernel's (IPV6_PMTUDISC_WANT, ping's default
//! for IPv6): a Packet Too Big lowers the path MTU, and the next request
//! leaves in fragments that fit.

use std::net::Ipv6Addr;

use super::{AppAction, AppEvent};
use crate::trace::Disposition;
use crate::wire::icmpv6::{self, Icmpv6Repr};

/// ping's interval between requests (-i, 1 s) and its wait after the last
/// (-W, as for IPv4).
pub const INTERVAL_NS: u64 = 1_000_000_000;
pub use super::ping::WAIT_NS;

#[derive(Clone, Debug)]
pub struct Ping6Client {
    pub flow: u32,
    pub flow_id: String,
    pub dst: Ipv6Addr,
    /// ICMPv6 data bytes (`-s`, default 56).
    pub size: usize,
    /// Requests to send (`-c`).
    pub count: u16,
    pub id: u16,
    /// The last sequence number sent.
    pub seq: u16,
    /// When each request left, by sequence number.
    pub sent_ns: Vec<u64>,
    pub received: u16,
    /// What ping printed, one line per answer.
    pub lines: Vec<String>,
    /// The last error's disposition.
    pub error: Option<Disposition>,
    pub done: bool,
    /// `-t`: the requests' hop limit.
    pub hlim: Option<u8>,
}

impl Ping6Client {
    /// Echo request `seq`: iputils fills the data with a counting pattern.
    pub fn request(&self, seq: u16) -> Icmpv6Repr {
        Icmpv6Repr::EchoRequest {
            id: self.id,
            seq,
            data: (0..self.size).map(|i| i as u8).collect(),
        }
    }

    /// The sequence number of the echo request an error quotes.
    fn quoted_seq(q: &[u8]) -> Option<u16> {
        (q.len() >= 48 && q[40] == icmpv6::ECHO_REQUEST).then(|| u16::from_be_bytes([q[46], q[47]]))
    }

    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        if self.done {
            return vec![];
        }
        match ev {
            AppEvent::Icmp6 { from, msg, hlim } => {
                if let Icmpv6Repr::EchoReply { seq, data, .. } = msg {
                    let t = self
                        .sent_ns
                        .get(*seq as usize - 1)
                        .map_or(0.0, |s| now.saturating_sub(*s) as f64 / 1e6);
                    self.lines.push(format!(
                        "{} bytes from {from}: icmp_seq={seq} ttl={hlim} time={t:.3} ms",
                        data.len() + 8
                    ));
                    self.received += 1;
                    self.error = None;
                    if *seq == self.count {
                        return self.finish();
                    }
                    return vec![];
                }
                let Some(q) = msg.quoted() else { return vec![] };
                let seq = Self::quoted_seq(q).unwrap_or(self.seq);
                let why = match msg {
                    Icmpv6Repr::PacketTooBig { mtu, .. } => format!("Packet too big: mtu={mtu}"),
                    Icmpv6Repr::TimeExceeded { code: 0, .. } => "Time exceeded: Hop limit".into(),
                    Icmpv6Repr::TimeExceeded { .. } => "Time exceeded: Defrag".into(),
                    Icmpv6Repr::DstUnreach { code, .. } => format!(
                        "Destination unreachable: {}",
                        match *code {
                            icmpv6::CODE_NOROUTE => "No route",
                            icmpv6::CODE_ADM_PROHIBITED => "Administratively prohibited",
                            icmpv6::CODE_BEYOND_SCOPE => "Beyond scope",
                            icmpv6::CODE_ADDR_UNREACH => "Address unreachable",
                            icmpv6::CODE_PORT_UNREACH => "Port unreachable",
                            _ => "Unknown code",
                        }
                    ),
                    Icmpv6Repr::ParamProblem { pointer, .. } => {
                        format!("Parameter problem: pointer = {pointer}")
                    }
                    _ => return vec![],
                };
                self.lines.push(format!("From {from} icmp_seq={seq} {why}"));
                self.error = Some(Disposition::Rejected {
                    with: format!("ICMPv6 {why} from {from}"),
                });
                if seq == self.count {
                    return self.finish();
                }
                vec![]
            }
            // token = the next sequence number to send; 0: the last wait
            AppEvent::Timer { token: 0 } => self.finish(),
            AppEvent::Timer { token } => vec![AppAction::SendEcho6(*token as u16)],
            _ => vec![],
        }
    }

    fn finish(&mut self) -> Vec<AppAction> {
        self.done = true;
        let d = if self.received > 0 && self.error.is_none() {
            Disposition::Answered {
                http_status: None,
                dns_rcode: None,
            }
        } else if let Some(e) = self.error.clone() {
            e
        } else {
            Disposition::TimedOut
        };
        let loss = 100 - (self.received as u32 * 100 / self.count.max(1) as u32);
        let mut text = self.lines.join("; ");
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&format!(
            "{} packets transmitted, {} received, {loss}% packet loss",
            self.seq, self.received
        ));
        vec![AppAction::Outcome(self.flow, d, text)]
    }
}
