//! User-space programs on sockets. Each reacts to socket events with actions
//! (send, close, report an outcome); the host carries them out.

pub mod http;

use std::net::Ipv4Addr;

use crate::net::host::{Ctx, Host, Output};
use crate::net::tcp::ConnKey;

pub use http::{HttpClient, HttpResponseSpec, HttpServer};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppEvent {
    Connected {
        key: ConnKey,
    },
    Accepted {
        key: ConnKey,
    },
    Data {
        key: ConnKey,
        data: Vec<u8>,
    },
    Eof {
        key: ConnKey,
    },
    Closed {
        key: ConnKey,
    },
    Reset {
        key: ConnKey,
    },
    Refused {
        key: ConnKey,
        why: String,
    },
    TimedOut {
        key: ConnKey,
        tries: u32,
    },
    Datagram {
        from: (Ipv4Addr, u16),
        to: (Ipv4Addr, u16),
        data: Vec<u8>,
        flow: u32,
        pkt: u64,
    },
}

impl AppEvent {
    pub fn key(&self) -> Option<ConnKey> {
        match self {
            AppEvent::Connected { key }
            | AppEvent::Accepted { key }
            | AppEvent::Data { key, .. }
            | AppEvent::Eof { key }
            | AppEvent::Closed { key }
            | AppEvent::Reset { key }
            | AppEvent::Refused { key, .. }
            | AppEvent::TimedOut { key, .. } => Some(*key),
            AppEvent::Datagram { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppAction {
    Send(ConnKey, Vec<u8>, String),
    Close(ConnKey),
    Outcome(u32, String),
}

#[derive(Clone, Debug)]
pub enum App {
    HttpServer(HttpServer),
    HttpClient(HttpClient),
}

impl App {
    pub fn name(&self) -> String {
        match self {
            App::HttpServer(s) => format!("http-server {}", s.name),
            App::HttpClient(c) => format!("http-client {}", c.flow_id),
        }
    }
    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        match self {
            App::HttpServer(s) => s.on_event(ev),
            App::HttpClient(c) => c.on_event(ev, now),
        }
    }
}

impl Host {
    /// Runs an application's reaction to a socket event and carries out its
    /// actions; then sends the ACK the socket still owes, if any.
    pub fn app_event(&mut self, ctx: &mut Ctx, app: usize, ev: AppEvent) {
        let actions = self.apps[app].on_event(&ev, ctx.now);
        for a in actions {
            match a {
                AppAction::Send(k, data, note) => {
                    if let Some(t) = self.tcp.conns.get(&k) {
                        let _ = t;
                        self.tcp_send_noted(ctx, k, &data, note);
                    }
                }
                AppAction::Close(k) => self.tcp_close(ctx, k),
                AppAction::Outcome(flow, text) => ctx.out.push(Output::Outcome { flow, text }),
            }
        }
        // An ACK still owed goes with the application's data, or when the
        // delayed-ACK timer fires (net/tcp.rs).
    }

    fn tcp_send_noted(&mut self, ctx: &mut Ctx, k: ConnKey, data: &[u8], note: String) {
        let before = ctx.out.len();
        self.tcp_send(ctx, k, data);
        if let Some(Output::SendLocal { note: n, .. }) = ctx.out.get_mut(before) {
            *n = Some(format!("{note} ({} bytes)", data.len()));
        }
    }
}
