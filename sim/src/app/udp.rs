//! One UDP datagram and its answer: the client (`nc -u -w N`, or a
//! script's `sendto` then `recvfrom` with a timeout) and the echo server
//! that sends each datagram's bytes back to where it came from (inetd's
//! `echo` service, RFC 862).
//!
//! The client's socket is not connect()ed, so an ICMP error does not reach
//! it (the kernel reports errors only to connected UDP sockets unless
//! IP_RECVERR is set: net/ipv4/udp.c `__udp4_lib_err`); it waits for an
//! answer from the address it sent to until its time is up.

use std::net::Ipv4Addr;

use super::{AppAction, AppEvent, FlowOf};
use crate::trace::Disposition;

/// How long a UDP client waits for its answer when the flow does not say
/// (`timeout_s`): one second, as `nc -u -w 1`.
pub const DEFAULT_WAIT_NS: u64 = 1_000_000_000;

/// The client of one datagram.
#[derive(Clone, Debug)]
pub struct UdpClient {
    pub flow: u32,
    pub flow_id: String,
    pub dst: std::net::IpAddr,
    pub port: u16,
    pub payload: Vec<u8>,
    /// Sent from a raw socket with this forged source: no socket of the
    /// sender waits for the answer.
    pub spoofed: Option<(Ipv4Addr, u16)>,
    pub started_ns: u64,
    pub done: bool,
}

/// The words for a datagram's bytes in an outcome: text when printable,
/// else its length.
fn shown(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if s.chars().all(|c| !c.is_control() || c == '\n') => {
            let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
            if one.chars().count() > 200 {
                one.chars().take(200).collect::<String>() + "…"
            } else {
                one
            }
        }
        _ => format!("{} bytes of binary", b.len()),
    }
}

impl UdpClient {
    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        let ms = (now.saturating_sub(self.started_ns)) as f64 / 1e6;
        match ev {
            AppEvent::Datagram { data, from, .. }
                if !self.done && *from == (self.dst, self.port) =>
            {
                self.done = true;
                vec![AppAction::Outcome(
                    self.flow,
                    Disposition::Answered {
                        http_status: None,
                        dns_rcode: None,
                    },
                    format!(
                        "UDP answer from {} in {ms:.3} ms, {} bytes: {}",
                        std::net::SocketAddr::from(*from),
                        data.len(),
                        shown(data)
                    ),
                )]
            }
            AppEvent::Timer { .. } if !self.done && self.spoofed.is_some() => {
                self.done = true;
                let (a, p) = self.spoofed.unwrap_or((Ipv4Addr::UNSPECIFIED, 0));
                vec![AppAction::Outcome(
                    self.flow,
                    Disposition::TimedOut,
                    format!(
                        "UDP: {} bytes sent to {} from the forged source {a}:{p} (raw socket): no answer can reach the sender",
                        self.payload.len(),
                        std::net::SocketAddr::from((self.dst, self.port))
                    ),
                )]
            }
            AppEvent::Timer { .. } if !self.done => {
                self.done = true;
                vec![AppAction::Outcome(
                    self.flow,
                    Disposition::TimedOut,
                    format!(
                        "UDP: no answer from {} in {ms:.0} ms",
                        std::net::SocketAddr::from((self.dst, self.port))
                    ),
                )]
            }
            _ => vec![],
        }
    }
}

/// The echo server: each datagram's bytes go back to their sender, from
/// the address they were sent to.
#[derive(Clone, Debug)]
pub struct UdpEchoServer {
    pub name: String,
    pub port: u16,
    /// A sink: it takes each datagram and answers none (a `udp-listener`
    /// a snapshot found: the real application behind it is unknown).
    pub sink: bool,
}

impl UdpEchoServer {
    pub fn on_event(&mut self, ev: &AppEvent) -> Vec<AppAction> {
        let AppEvent::Datagram {
            from,
            to,
            data,
            flow,
            ..
        } = ev
        else {
            return vec![];
        };
        if self.sink {
            return vec![AppAction::Served(FlowOf::Id(*flow))];
        }
        vec![
            AppAction::Served(FlowOf::Id(*flow)),
            AppAction::SendUdp {
                src: *to,
                dst: *from,
                payload: data.clone(),
                note: format!("{}: echo of {} bytes", self.name, data.len()),
            },
        ]
    }
}

/// A raw socket's one packet with a forged source (a spoofed TCP SYN): no
/// socket of the sender can get an answer; when its time is up, the flow
/// ends with what was sent.
#[derive(Clone, Debug)]
pub struct RawSender {
    pub flow: u32,
    pub flow_id: String,
    /// The outcome's words ("TCP SYN sent to ... from the forged source ...").
    pub sent: String,
    pub done: bool,
}

impl RawSender {
    pub fn on_event(&mut self, ev: &AppEvent) -> Vec<AppAction> {
        match ev {
            AppEvent::Timer { .. } if !self.done => {
                self.done = true;
                vec![AppAction::Outcome(
                    self.flow,
                    Disposition::TimedOut,
                    format!("{}: no answer can reach the sender", self.sent),
                )]
            }
            _ => vec![],
        }
    }
}
