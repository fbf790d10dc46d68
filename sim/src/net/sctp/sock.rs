//! SCTP's socket table: associations, their states and control blocks,
//! listening ports, and the constants Linux runs them with (the stack
//! itself is [`super`]).

use std::collections::BTreeMap;

use crate::net::socket::Owner;
use crate::net::tcp::sock::ConnKey;
use crate::wire::sctp::{Data, Init};

/// `net.sctp.rto_initial`, `rto_min`, `rto_max` (ms in the sysctls).
pub const RTO_INITIAL_NS: u64 = 3_000_000_000;
pub const RTO_MIN_NS: u64 = 1_000_000_000;
pub const RTO_MAX_NS: u64 = 60_000_000_000;
/// `net.sctp.max_init_retransmits`.
pub const MAX_INIT_RETRANSMITS: u32 = 8;
/// `net.sctp.association_max_retrans`.
pub const ASSOC_MAX_RETRANS: u32 = 10;
/// `net.sctp.sack_timeout`: the delayed SACK.
pub const SACK_TIMEOUT_NS: u64 = 200_000_000;
/// `net.sctp.valid_cookie_life`.
pub const COOKIE_LIFE_NS: u64 = 60_000_000_000;
/// The a_rwnd Linux advertises with the default receive buffer.
pub const A_RWND: u32 = 106_496;
/// `sinit_num_ostreams` default, and SCTP_MAX_STREAM.
pub const OUT_STREAMS: u16 = 10;
pub const IN_STREAMS: u16 = 65_535;

/// An association's state (RFC 9260 §4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AssocState {
    #[default]
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownPending,
    ShutdownSent,
    ShutdownReceived,
    ShutdownAckSent,
}

impl AssocState {
    pub fn name(self) -> &'static str {
        match self {
            AssocState::CookieWait => "COOKIE-WAIT",
            AssocState::CookieEchoed => "COOKIE-ECHOED",
            AssocState::Established => "ESTABLISHED",
            AssocState::ShutdownPending => "SHUTDOWN-PENDING",
            AssocState::ShutdownSent => "SHUTDOWN-SENT",
            AssocState::ShutdownReceived => "SHUTDOWN-RECEIVED",
            AssocState::ShutdownAckSent => "SHUTDOWN-ACK-SENT",
        }
    }
}

/// A DATA chunk sent and not yet acknowledged.
#[derive(Clone, Debug)]
pub struct Unacked {
    pub data: Data,
    pub sent_ns: u64,
    /// Karn's rule: no RTT sample from a retransmitted chunk.
    pub retransmitted: bool,
}

/// One association (the kernel's `struct sctp_association`, one path).
#[derive(Clone, Debug, Default)]
pub struct Assoc {
    pub state: AssocState,
    pub app: Owner,
    pub flow: u32,
    /// The last packet of the association (the parent of the next).
    pub last_pkt: u64,
    pub txhash: u32,
    /// Our Initiate Tag (what the peer puts in its packets' vtag).
    pub my_vtag: u32,
    /// The peer's Initiate Tag (the vtag of our packets).
    pub peer_vtag: u32,
    pub next_tsn: u32,
    /// The cumulative TSN received (the peer's initial TSN - 1 at first).
    pub cum_tsn: u32,
    pub ssn: u16,
    pub unacked: Vec<Unacked>,
    /// DATA packets received and not yet acknowledged.
    pub sack_owed: u32,
    /// Generation of the T1/T2/T3 timer and of the SACK timer: a timer of
    /// another generation is stale.
    pub gen: u64,
    pub sack_gen: u64,
    pub rto_ns: u64,
    pub srtt_ns: Option<(u64, u64)>,
    /// Retransmissions of the current timer's chunk.
    pub tries: u32,
    /// COOKIE-WAIT: the INIT the T1-init timer resends.
    pub init: Option<Init>,
    /// COOKIE-ECHOED: the cookie the T1-cookie timer resends.
    pub cookie: Vec<u8>,
    pub peer_rwnd: u32,
}

/// The host's SCTP endpoints: listening ports and associations.
#[derive(Clone, Debug, Default)]
pub struct SctpStack {
    pub listeners: BTreeMap<u16, Owner>,
    pub assocs: BTreeMap<ConnKey, Assoc>,
    /// The State Cookie's signing key (the endpoint's `secret_key`, drawn
    /// when the first cookie is made).
    pub secret: Option<u32>,
}
