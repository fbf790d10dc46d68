//! Programs that listen on an nfnetlink queue rather than on sockets
//! (kube-network-policies): the program is in the host's list for its name
//! and uid; its work is done by the listener it bound
//! ([`crate::net::netfilter::nfqueue`]), called by the hook that queues.

/// A program bound to queue `queue`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NfqueueProgram {
    pub name: String,
    pub queue: u16,
}

impl NfqueueProgram {
    /// It takes no socket events.
    pub fn on_event(&self) -> Vec<super::AppAction> {
        Vec::new()
    }
}
