//! `ping -c 1 -s SIZE [-M do|dont] DST`: one ICMP echo request, and what
//! came back, in iputils' words: the reply, or the ICMP error a router sent
//! (`Frag needed and DF set (mtu = 1280)`), or nothing within the wait.

use std::net::Ipv4Addr;

use super::{AppAction, AppEvent};
use crate::wire::icmp::{self, IcmpRepr};

/// iputils ping waits this long for the reply of its last request (-W).
pub const WAIT_NS: u64 = 1_000_000_000;

#[derive(Clone, Debug)]
pub struct PingClient {
    pub flow: u32,
    pub flow_id: String,
    pub dst: Ipv4Addr,
    /// ICMP payload bytes (`-s`, default 56).
    pub size: usize,
    /// Don't-fragment (`-M do`; Linux's default path-MTU discovery sets it).
    pub df: bool,
    pub id: u16,
    pub seq: u16,
    pub started_ns: u64,
    pub done: bool,
    /// A timestamp request (type 13) instead of an echo.
    pub timestamp: bool,
    /// Sent from a raw socket with this forged source: no answer reaches
    /// the sender.
    pub spoofed: Option<Ipv4Addr>,
    /// The ping socket bound to this address (`ping -I ADDR`): the
    /// request's source, replies to it come back to the socket.
    pub src: Option<Ipv4Addr>,
}

pub use crate::wire::icmp::ms_since_midnight;

impl PingClient {
    /// The echo request's ICMP message: identifier, sequence, a payload of
    /// `size` bytes (iputils fills it with a counting pattern).
    pub fn request(&self) -> IcmpRepr {
        let id = self.id.to_be_bytes();
        let seq = self.seq.to_be_bytes();
        if self.timestamp {
            // originate: the sending time; receive and transmit: 0
            let mut payload = ms_since_midnight(self.started_ns).to_be_bytes().to_vec();
            payload.extend_from_slice(&[0; 8]);
            return IcmpRepr {
                icmp_type: icmp::TIMESTAMP,
                code: 0,
                rest: [id[0], id[1], seq[0], seq[1]],
                payload,
            };
        }
        IcmpRepr {
            icmp_type: icmp::ECHO_REQUEST,
            code: 0,
            rest: [id[0], id[1], seq[0], seq[1]],
            payload: (0..self.size).map(|i| i as u8).collect(),
        }
    }

    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        if self.done {
            return vec![];
        }
        let ms = now.saturating_sub(self.started_ns) as f64 / 1e6;
        use crate::trace::Disposition;
        let answered = Disposition::Answered {
            http_status: None,
            dns_rcode: None,
        };
        let (d, text) = match ev {
            AppEvent::Icmp { from, msg, ttl } if msg.icmp_type == icmp::ECHO_REPLY => (
                answered,
                format!(
                    "{} bytes from {from}: icmp_seq={} ttl={ttl} time={ms:.3} ms",
                    msg.payload.len() + 8,
                    self.seq
                ),
            ),
            AppEvent::Icmp { from, msg, ttl }
                if msg.icmp_type == icmp::TIMESTAMP_REPLY && self.timestamp =>
            {
                let ts = |i: usize| {
                    msg.payload
                        .get(i..i + 4)
                        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                };
                (
                    answered,
                    format!(
                        "ICMP timestamp reply from {from}: icmp_seq={} ttl={ttl} originate={} receive={} transmit={} time={ms:.3} ms",
                        self.seq,
                        ts(0),
                        ts(4),
                        ts(8)
                    ),
                )
            }
            AppEvent::Icmp { from, msg, .. } if msg.icmp_type == icmp::DEST_UNREACH => {
                let why = match msg.code {
                    icmp::CODE_FRAG_NEEDED => format!(
                        "Frag needed and DF set (mtu = {})",
                        u16::from_be_bytes([msg.rest[2], msg.rest[3]])
                    ),
                    icmp::CODE_NET_UNREACH => "Destination Net Unreachable".into(),
                    icmp::CODE_HOST_UNREACH => "Destination Host Unreachable".into(),
                    icmp::CODE_PORT_UNREACH => "Destination Port Unreachable".into(),
                    icmp::CODE_ADMIN_PROHIBITED => "Packet filtered".into(),
                    c => format!("Dest Unreachable, Bad Code: {c}"),
                };
                (
                    Disposition::Rejected {
                        with: format!("ICMP {why} from {from}"),
                    },
                    format!("From {from} icmp_seq={} {why}", self.seq),
                )
            }
            AppEvent::Icmp { from, msg, .. } if msg.icmp_type == icmp::TIME_EXCEEDED => (
                Disposition::Rejected {
                    with: format!("ICMP time exceeded from {from}"),
                },
                format!("From {from} icmp_seq={} Time to live exceeded", self.seq),
            ),
            AppEvent::Timer { .. } if self.spoofed.is_some() => (
                Disposition::TimedOut,
                format!(
                    "ICMP {} sent to {} from the forged source {} (raw socket): no answer can reach the sender",
                    if self.timestamp { "timestamp request" } else { "echo request" },
                    self.dst,
                    self.spoofed.unwrap_or(Ipv4Addr::UNSPECIFIED)
                ),
            ),
            AppEvent::Timer { .. } => (
                Disposition::TimedOut,
                format!(
                    "no reply from {} within {} s (1 packets transmitted, 0 received, 100% packet loss)",
                    self.dst,
                    WAIT_NS / 1_000_000_000
                ),
            ),
            _ => return vec![],
        };
        self.done = true;
        vec![AppAction::Outcome(self.flow, d, text)]
    }
}
