//! The per-host Linux-equivalent stack, one module per kernel subsystem.

pub mod netfilter;
