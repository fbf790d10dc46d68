//! SCTP connection tracking (net/netfilter/nf_conntrack_proto_sctp.c, as
//! of Linux 6.x: the HEARTBEAT_ACKED state gone, ESTABLISHED 210 s): the
//! state table `sctp_conntracks` indexed by direction, chunk and state,
//! the basic checks of `do_basic_checks`, the new-connection rules of
//! `sctp_new` and the verification-tag rules of
//! `nf_conntrack_sctp_packet` (RFC 9260 §8.5, §8.5.1).
//!
//! A packet that fails them is INVALID (the tracker returns -NF_ACCEPT:
//! it goes on without a conntrack entry, so `--ctstate INVALID` rules see
//! it and NAT does not touch it).
//!
//! Simplification: the CRC32c is not checked here (`sctp_error` checks it
//! only at PREROUTING for packets without checksum offload); the
//! receiving stack does.

use crate::wire::sctp::{self, SctpRepr, FLAG_T};

/// The tracker's states (`enum sctp_conntrack`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum SctpState {
    #[default]
    None,
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownSent,
    ShutdownRecd,
    ShutdownAckSent,
    HeartbeatSent,
}

use SctpState::*;

impl SctpState {
    /// `sctp_conntrack_names`, as `conntrack -L` prints them.
    pub fn name(self) -> &'static str {
        match self {
            None => "NONE",
            Closed => "CLOSED",
            CookieWait => "COOKIE_WAIT",
            CookieEchoed => "COOKIE_ECHOED",
            Established => "ESTABLISHED",
            ShutdownSent => "SHUTDOWN_SENT",
            ShutdownRecd => "SHUTDOWN_RECD",
            ShutdownAckSent => "SHUTDOWN_ACK_SENT",
            HeartbeatSent => "HEARTBEAT_SENT",
        }
    }

    /// `sctp_timeouts` (seconds; NONE takes CLOSED's, as
    /// `nf_conntrack_sctp_init_net` sets timeouts[0]).
    pub fn timeout_s(self) -> u64 {
        match self {
            None | Closed => 10,
            CookieWait | CookieEchoed => 3,
            Established => 210,
            ShutdownSent | ShutdownRecd | ShutdownAckSent => 3,
            HeartbeatSent => 30,
        }
    }

    /// `sctp_can_early_drop`.
    pub fn can_early_drop(self) -> bool {
        matches!(self, ShutdownSent | ShutdownRecd | ShutdownAckSent)
    }

    fn from_index(i: u8) -> Option<SctpState> {
        [
            None,
            Closed,
            CookieWait,
            CookieEchoed,
            Established,
            ShutdownSent,
            ShutdownRecd,
            ShutdownAckSent,
            HeartbeatSent,
        ]
        .get(i as usize)
        .copied()
    }
}

/// The tracker's per-connection data (`struct ip_ct_sctp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SctpCt {
    pub state: SctpState,
    /// The verification tag expected of packets in each direction
    /// (`[original, reply]`).
    pub vtag: [u32; 2],
    /// An INIT was seen in that direction (collision detection).
    pub init: [bool; 2],
    hb_vtag_failed: bool,
    last_dir: usize,
}

const CL: u8 = 1;
const CW: u8 = 2;
const CE: u8 = 3;
const ES: u8 = 4;
const SS: u8 = 5;
const SR: u8 = 6;
const SA: u8 = 7;
const HS: u8 = 8;
/// sIV: the transition is invalid.
const IV: u8 = 9;

/// `sctp_conntracks[dir][chunk][state]`, chunks in the order of
/// `sctp_new_state`: INIT, INIT ACK, ABORT, SHUTDOWN, SHUTDOWN ACK,
/// ERROR, COOKIE ECHO, COOKIE ACK, SHUTDOWN COMPLETE, HEARTBEAT,
/// HEARTBEAT ACK; states sNO..sHS.
#[rustfmt::skip]
const TABLE: [[[u8; 9]; 11]; 2] = [
    [
        // ORIGINAL     sNO sCL sCW sCE sES sSS sSR sSA sHS
        /* init      */ [CL, CL, CW, CE, ES, CL, CL, SA, CW],
        /* init_ack  */ [CL, CL, CW, CE, ES, SS, SR, SA, CL],
        /* abort     */ [CL, CL, CL, CL, CL, CL, CL, CL, CL],
        /* shutdown  */ [CL, CL, CW, CE, SS, SS, SR, SA, CL],
        /* shut_ack  */ [SA, CL, CW, CE, ES, SA, SA, SA, SA],
        /* error     */ [CL, CL, CW, CE, ES, SS, SR, SA, CL],
        /* cook_echo */ [CL, CL, CE, CE, ES, SS, SR, SA, CL],
        /* cook_ack  */ [CL, CL, CW, ES, ES, SS, SR, SA, CL],
        /* shut_comp */ [CL, CL, CW, CE, ES, SS, SR, CL, CL],
        /* heartbeat */ [HS, CL, CW, CE, ES, SS, SR, SA, HS],
        /* hb_ack    */ [CL, CL, CW, CE, ES, SS, SR, SA, HS],
    ],
    [
        // REPLY        sNO sCL sCW sCE sES sSS sSR sSA sHS
        /* init      */ [IV, CL, CW, CE, ES, SS, SR, SA, IV],
        /* init_ack  */ [IV, CW, CW, CE, ES, SS, SR, SA, IV],
        /* abort     */ [IV, CL, CL, CL, CL, CL, CL, CL, IV],
        /* shutdown  */ [IV, CL, CW, CE, SR, SS, SR, SA, IV],
        /* shut_ack  */ [IV, CL, CW, CE, ES, SA, SA, SA, IV],
        /* error     */ [IV, CL, CW, CL, ES, SS, SR, SA, IV],
        /* cook_echo */ [IV, CL, CE, CE, ES, SS, SR, SA, IV],
        /* cook_ack  */ [IV, CL, CW, ES, ES, SS, SR, SA, IV],
        /* shut_comp */ [IV, CL, CW, CE, ES, SS, SR, CL, IV],
        /* heartbeat */ [IV, CL, CW, CE, ES, SS, SR, SA, HS],
        /* hb_ack    */ [IV, CL, CW, CE, ES, SS, SR, SA, ES],
    ],
];

/// `sctp_new_state`: the next state, `Err(())` for sIV; chunks that are
/// not in the table (DATA, SACK, ...) leave the state as it is.
fn new_state(dir: usize, cur: SctpState, ty: u8) -> Result<SctpState, ()> {
    let i = match ty {
        sctp::INIT => 0,
        sctp::INIT_ACK => 1,
        sctp::ABORT => 2,
        sctp::SHUTDOWN => 3,
        sctp::SHUTDOWN_ACK => 4,
        sctp::ERROR => 5,
        sctp::COOKIE_ECHO => 6,
        sctp::COOKIE_ACK => 7,
        sctp::SHUTDOWN_COMPLETE => 8,
        sctp::HEARTBEAT => 9,
        sctp::HEARTBEAT_ACK => 10,
        _ => return Ok(cur),
    };
    SctpState::from_index(TABLE[dir][i][cur as usize]).ok_or(())
}

/// `do_basic_checks`: COOKIE ECHO / COOKIE ACK only first, INIT, INIT
/// ACK and SHUTDOWN COMPLETE only alone, at least one chunk.
fn basic_checks(p: &SctpRepr) -> bool {
    let mut flag = false;
    for (n, c) in p.chunks.iter().enumerate() {
        if matches!(c.ty, sctp::INIT | sctp::INIT_ACK | sctp::SHUTDOWN_COMPLETE) {
            flag = true;
        }
        if (matches!(c.ty, sctp::COOKIE_ACK | sctp::COOKIE_ECHO) || flag) && n != 0 {
            return false;
        }
    }
    !p.chunks.is_empty()
}

fn has(p: &SctpRepr, ty: u8) -> bool {
    p.chunks.iter().any(|c| c.ty == ty)
}

fn init_tag(c: &sctp::Chunk) -> Option<u32> {
    (c.value.len() >= 4)
        .then(|| u32::from_be_bytes([c.value[0], c.value[1], c.value[2], c.value[3]]))
}

/// What the tracker made of a packet: the new state, and whether the
/// entry's timeout is left as it was (an INIT retransmitted in CLOSED).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub state: SctpState,
    pub no_refresh: bool,
}

impl SctpCt {
    /// `sctp_new`, with the OOTB rule before it: the data of a new
    /// connection, or why the packet cannot start one.
    pub fn new(p: &SctpRepr) -> Result<SctpCt, &'static str> {
        if !basic_checks(p) {
            return Err("chunks out of place (do_basic_checks)");
        }
        if has(p, sctp::ABORT) || has(p, sctp::SHUTDOWN_COMPLETE) || has(p, sctp::COOKIE_ACK) {
            return Err("an out-of-the-blue ABORT, SHUTDOWN COMPLETE or COOKIE ACK starts nothing (RFC 9260 §8.4)");
        }
        let mut ct = SctpCt::default();
        for c in &p.chunks {
            match new_state(0, None, c.ty) {
                Ok(None) | Err(()) => {
                    return Err("this chunk cannot start a connection (sctp_new)")
                }
                Ok(_) => {}
            }
            match c.ty {
                sctp::INIT => {
                    if p.vtag != 0 {
                        return Err("INIT with a nonzero verification tag (RFC 9260 §8.5.1 A)");
                    }
                    ct.vtag[1] = init_tag(c).ok_or("INIT too short")?;
                }
                sctp::HEARTBEAT => ct.vtag[0] = p.vtag,
                _ => ct.vtag[1] = p.vtag,
            }
        }
        Ok(ct)
    }

    /// `nf_conntrack_sctp_packet` for a packet in direction `dir` (0
    /// original, 1 reply); `confirmed`: the entry existed before it.
    pub fn packet(
        &mut self,
        dir: usize,
        p: &SctpRepr,
        confirmed: bool,
    ) -> Result<Verdict, &'static str> {
        if !basic_checks(p) {
            return Err("chunks out of place (do_basic_checks)");
        }
        let exempt = [
            sctp::INIT,
            sctp::SHUTDOWN_COMPLETE,
            sctp::COOKIE_ECHO,
            sctp::ABORT,
            sctp::SHUTDOWN_ACK,
            sctp::HEARTBEAT,
            sctp::HEARTBEAT_ACK,
        ];
        if !exempt.iter().any(|t| has(p, *t)) && p.vtag != self.vtag[dir] {
            return Err("verification tag is not the connection's (RFC 9260 §8.5)");
        }
        let other = 1 - dir;
        let mut ignore = false;
        let mut state = self.state;
        for c in &p.chunks {
            let t = c.flags & FLAG_T != 0;
            match c.ty {
                sctp::INIT if p.vtag != 0 => {
                    return Err("INIT with a nonzero verification tag (§8.5.1 A)")
                }
                sctp::ABORT | sctp::SHUTDOWN_COMPLETE
                    if (!t && p.vtag != self.vtag[dir]) || (t && p.vtag != self.vtag[other]) =>
                {
                    return Err(
                        "ABORT or SHUTDOWN COMPLETE with the wrong verification tag (§8.5.1 B, C)",
                    )
                }
                sctp::COOKIE_ECHO if p.vtag != self.vtag[dir] => {
                    return Err("COOKIE ECHO whose tag is not the INIT ACK's (§8.5.1 D)")
                }
                sctp::COOKIE_ACK => self.init = [false; 2],
                sctp::HEARTBEAT | sctp::HEARTBEAT_ACK => {
                    if self.vtag[dir] == 0 {
                        self.vtag[dir] = p.vtag;
                    } else if p.vtag != self.vtag[dir] {
                        if has(p, sctp::DATA) || ignore {
                            return Err("HEARTBEAT with another verification tag and DATA");
                        }
                        if c.ty == sctp::HEARTBEAT {
                            self.hb_vtag_failed = true;
                            self.last_dir = dir;
                            ignore = true;
                            continue;
                        }
                        if !self.hb_vtag_failed || self.last_dir == dir {
                            return Err("HEARTBEAT ACK with another verification tag");
                        }
                        self.hb_vtag_failed = false;
                        self.vtag[dir] = p.vtag;
                        self.vtag[other] = 0;
                    } else {
                        self.hb_vtag_failed = false;
                    }
                }
                _ => {}
            }
            let old = self.state;
            state = new_state(dir, old, c.ty).map_err(|_| "no such transition (sIV)")?;
            if c.ty == sctp::INIT {
                let tag = init_tag(c).ok_or("INIT too short")?;
                if self.init[dir] && self.init[other] {
                    self.init[other] = false;
                }
                self.init[dir] = true;
                self.vtag[other] = tag;
                // an INIT retransmitted in CLOSED does not renew the
                // timeout (port reuse cannot keep the entry alive)
                if state == Closed && old == Closed && confirmed {
                    ignore = true;
                }
            } else if c.ty == sctp::INIT_ACK {
                let tag = init_tag(c).ok_or("INIT ACK too short")?;
                let v = self.vtag[other];
                if !self.init[other] && v != 0 && v != tag {
                    return Err("INIT ACK with another Initiate Tag");
                }
                if self.init[dir] && self.init[other] && v != tag {
                    return Err("INIT ACK of a collision with another Initiate Tag");
                }
                self.vtag[other] = tag;
            }
            self.state = state;
        }
        Ok(Verdict {
            state,
            no_refresh: ignore,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::sctp::{Chunk, Data, Init};

    fn pkt(vtag: u32, chunks: Vec<Chunk>) -> SctpRepr {
        SctpRepr {
            sport: 40000,
            dport: 80,
            vtag,
            chunks,
        }
    }
    fn init(tag: u32) -> Chunk {
        Chunk::init(&Init {
            init_tag: tag,
            a_rwnd: 1,
            out_streams: 1,
            in_streams: 1,
            init_tsn: 1,
            params: vec![],
        })
    }
    fn init_ack(tag: u32) -> Chunk {
        Chunk::init_ack(&Init {
            init_tag: tag,
            a_rwnd: 1,
            out_streams: 1,
            in_streams: 1,
            init_tsn: 1,
            params: vec![(sctp::PARAM_STATE_COOKIE, vec![1, 2, 3, 4])],
        })
    }

    /// The whole life of an association through the table, with the
    /// states `conntrack -L` shows on Linux 6.x after each packet.
    #[test]
    fn handshake_data_shutdown() {
        let mut ct = SctpCt::new(&pkt(0, vec![init(0xaaaa)])).unwrap();
        assert_eq!(ct.vtag, [0, 0xaaaa]);
        let v = ct.packet(0, &pkt(0, vec![init(0xaaaa)]), false).unwrap();
        assert_eq!(v.state, Closed);
        assert_eq!(
            ct.packet(1, &pkt(0xaaaa, vec![init_ack(0xbbbb)]), true)
                .unwrap()
                .state,
            CookieWait
        );
        assert_eq!(ct.vtag, [0xbbbb, 0xaaaa]);
        let echo = pkt(0xbbbb, vec![Chunk::cookie_echo(&[1, 2, 3, 4])]);
        assert_eq!(ct.packet(0, &echo, true).unwrap().state, CookieEchoed);
        assert_eq!(
            ct.packet(1, &pkt(0xaaaa, vec![Chunk::cookie_ack()]), true)
                .unwrap()
                .state,
            Established
        );
        let d = Data {
            tsn: 1,
            stream: 0,
            ssn: 0,
            ppid: 0,
            payload: b"x".to_vec(),
        };
        assert_eq!(
            ct.packet(0, &pkt(0xbbbb, vec![Chunk::data(&d)]), true)
                .unwrap()
                .state,
            Established
        );
        // a DATA with the wrong tag is INVALID
        assert!(ct
            .packet(0, &pkt(0xaaaa, vec![Chunk::data(&d)]), true)
            .is_err());
        assert_eq!(
            ct.packet(0, &pkt(0xbbbb, vec![Chunk::shutdown(1)]), true)
                .unwrap()
                .state,
            ShutdownSent
        );
        assert_eq!(
            ct.packet(1, &pkt(0xaaaa, vec![Chunk::shutdown_ack()]), true)
                .unwrap()
                .state,
            ShutdownAckSent
        );
        assert_eq!(
            ct.packet(0, &pkt(0xbbbb, vec![Chunk::shutdown_complete(false)]), true)
                .unwrap()
                .state,
            Closed
        );
        assert_eq!(Established.timeout_s(), 210);
        assert_eq!(CookieWait.timeout_s(), 3);
    }

    #[test]
    fn what_cannot_start_a_connection() {
        assert!(
            SctpCt::new(&pkt(5, vec![init(1)])).is_err(),
            "INIT with vtag"
        );
        assert!(SctpCt::new(&pkt(5, vec![Chunk::abort(false)])).is_err());
        assert!(SctpCt::new(&pkt(5, vec![Chunk::cookie_ack()])).is_err());
        // DATA leaves sNO as it is: no pickup mid-association
        let d = Chunk::data(&Data {
            tsn: 1,
            stream: 0,
            ssn: 0,
            ppid: 0,
            payload: vec![],
        });
        assert!(SctpCt::new(&pkt(5, vec![d.clone()])).is_err());
        // a COOKIE ECHO may start one (sCL), a HEARTBEAT too (sHS)
        assert!(SctpCt::new(&pkt(5, vec![Chunk::cookie_echo(&[1])])).is_ok());
        assert_eq!(
            SctpCt::new(&pkt(7, vec![Chunk::heartbeat(false, &[1])]))
                .unwrap()
                .vtag,
            [7, 0]
        );
        // INIT bundled with DATA fails the basic checks
        assert!(SctpCt::new(&pkt(0, vec![init(1), d])).is_err());
    }

    #[test]
    fn abort_tag_rules() {
        let mut ct = SctpCt::new(&pkt(0, vec![init(0xaaaa)])).unwrap();
        ct.packet(0, &pkt(0, vec![init(0xaaaa)]), false).unwrap();
        // the server's ABORT to the INIT: vtag = the INIT's tag, no T bit
        assert_eq!(
            ct.packet(1, &pkt(0xaaaa, vec![Chunk::abort(false)]), true)
                .unwrap()
                .state,
            Closed
        );
        let mut ct = SctpCt::new(&pkt(0, vec![init(0xaaaa)])).unwrap();
        ct.packet(0, &pkt(0, vec![init(0xaaaa)]), false).unwrap();
        assert!(ct
            .packet(1, &pkt(0x1234, vec![Chunk::abort(false)]), true)
            .is_err());
        // a retransmitted INIT in CLOSED: accepted, timeout not renewed
        assert!(
            ct.packet(0, &pkt(0, vec![init(0xaaaa)]), true)
                .unwrap()
                .no_refresh
        );
    }
}
