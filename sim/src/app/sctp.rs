//! SCTP programs on one-to-one sockets: the client of one message and its
//! echo (`ncat --sctp HOST PORT` fed one line; with no message, a connect
//! as agnhost's `connect --protocol=sctp` makes it: the association set
//! up, then closed), and the echo server that sends each message back on
//! its association (`ncat --sctp -l -k -e /bin/cat`, the e2e suite's
//! `agnhost porter`/`netexec --sctp-port` answer).
//!
//! The client's close is `close()`: the SHUTDOWN once its DATA is
//! acknowledged (see [`crate::net::sctp`]); when its time is up it gives
//! up the association (`sctp_abort`: an ABORT once established).

use std::net::Ipv4Addr;

use super::http::GIVE_UP;
use super::{AppAction, AppEvent, FlowOf};
use crate::net::tcp::ConnKey;
use crate::trace::Disposition;

/// The client of one association.
#[derive(Clone, Debug)]
pub struct SctpClient {
    pub flow: u32,
    pub flow_id: String,
    pub dst: Ipv4Addr,
    pub port: u16,
    /// The message; None: connect only.
    pub payload: Option<Vec<u8>>,
    pub started_ns: u64,
    pub conn: Option<ConnKey>,
    pub done: bool,
}

impl SctpClient {
    fn outcome(&mut self, d: Disposition, text: String) -> AppAction {
        self.done = true;
        AppAction::Outcome(self.flow, d, text)
    }

    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        let ms = format!("{:.3} ms", now.saturating_sub(self.started_ns) as f64 / 1e6);
        let answered = Disposition::Answered {
            http_status: None,
            dns_rcode: None,
        };
        match ev {
            AppEvent::Connected { key } if !self.done => match &self.payload {
                None => vec![
                    self.outcome(
                        answered,
                        format!(
                            "SCTP association with {}:{} up in {ms} (COOKIE ACK received; closed without a message)",
                            self.dst, self.port
                        ),
                    ),
                    AppAction::SctpClose(*key),
                ],
                Some(p) => vec![AppAction::SctpSend(
                    *key,
                    p.clone(),
                    format!("sctp client: {} bytes", p.len()),
                )],
            },
            AppEvent::Data { key, data } if !self.done => {
                let text = format!(
                    "SCTP answer from {}:{} in {ms}, {} bytes: {}",
                    self.dst,
                    self.port,
                    data.len(),
                    String::from_utf8_lossy(data).trim_end()
                );
                vec![self.outcome(answered, text), AppAction::SctpClose(*key)]
            }
            AppEvent::Timer { token } if *token == GIVE_UP && !self.done => {
                let mut out = vec![self.outcome(
                    Disposition::TimedOut,
                    format!(
                        "SCTP: no {} from {}:{} in {ms}",
                        if self.payload.is_some() {
                            "answer"
                        } else {
                            "association"
                        },
                        self.dst,
                        self.port
                    ),
                )];
                if let Some(k) = self.conn {
                    out.push(AppAction::SctpAbort(k));
                }
                out
            }
            AppEvent::Refused { why, .. } if !self.done => vec![self.outcome(
                Disposition::Rejected { with: why.clone() },
                format!(
                    "SCTP: connect to {}:{} failed after {ms}: {why}",
                    self.dst, self.port
                ),
            )],
            AppEvent::TimedOut { tries, data, .. } if !self.done => vec![self.outcome(
                Disposition::TimedOut,
                format!(
                    "SCTP: association with {}:{} failed after {ms}: {} {} unanswered (ETIMEDOUT)",
                    self.dst,
                    self.port,
                    tries,
                    if *data {
                        "retransmissions"
                    } else {
                        "INITs"
                    }
                ),
            )],
            AppEvent::Reset { .. } if !self.done => vec![self.outcome(
                Disposition::Reset,
                format!("SCTP: ABORT from {}:{} after {ms}", self.dst, self.port),
            )],
            _ => vec![],
        }
    }
}

/// The echo server: each message back on its association; a sink takes
/// associations and messages and answers none (an `sctp-listener` a
/// snapshot found: the real program behind it is unknown).
#[derive(Clone, Debug)]
pub struct SctpEchoServer {
    pub name: String,
    pub port: u16,
    pub sink: bool,
}

impl SctpEchoServer {
    pub fn on_event(&mut self, ev: &AppEvent) -> Vec<AppAction> {
        match ev {
            AppEvent::Accepted { flow, .. } => vec![AppAction::Served(FlowOf::Id(*flow))],
            AppEvent::Data { .. } if self.sink => vec![],
            AppEvent::Data { key, data } => vec![AppAction::SctpSend(
                *key,
                data.clone(),
                format!("{}: echo of {} bytes", self.name, data.len()),
            )],
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ConnKey {
        ([10, 0, 0, 2].into(), 3868, [10, 0, 0, 1].into(), 40000)
    }

    #[test]
    fn echo_server_echoes_and_a_sink_answers_nothing() {
        let data = AppEvent::Data {
            key: key(),
            data: b"CER".to_vec(),
        };
        let mut echo = SctpEchoServer {
            name: "d".into(),
            port: 3868,
            sink: false,
        };
        assert!(
            matches!(&echo.on_event(&data)[..], [AppAction::SctpSend(k, d, _)] if *k == key() && d == b"CER")
        );
        let mut sink = SctpEchoServer { sink: true, ..echo };
        assert!(sink.on_event(&data).is_empty());
        let acc = AppEvent::Accepted {
            key: key(),
            orig_dst: None,
            flow: 3,
        };
        assert!(matches!(
            &sink.on_event(&acc)[..],
            [AppAction::Served(FlowOf::Id(3))]
        ));
    }

    #[test]
    fn client_connect_only_closes_once_up() {
        let mut c = SctpClient {
            flow: 1,
            flow_id: "p".into(),
            dst: [10, 0, 0, 2].into(),
            port: 3868,
            payload: None,
            started_ns: 0,
            conn: Some(key()),
            done: false,
        };
        let out = c.on_event(&AppEvent::Connected { key: key() }, 1_000_000);
        assert!(
            matches!(&out[..], [AppAction::Outcome(1, d, _), AppAction::SctpClose(_)] if d.answered())
        );
        // the give-up timer after the outcome does nothing
        assert!(c
            .on_event(&AppEvent::Timer { token: GIVE_UP }, 2_000_000)
            .is_empty());
    }
}
