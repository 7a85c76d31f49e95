//! evledger: a signed, append-only evidence ledger for makers of biometric security devices,
//! and the offline verifier their buyers run.
//!
//! The crate has three sides, one folder each:
//! - [`formats`]: pure functions over bytes, with no store, no file system and no clock:
//!   deterministic CBOR ([`cbor`]), keys ([`keys`]), COSE_Sign1 signed statements and their
//!   signing ([`statement`]), typed evidence ([`evidence`]), the RFC 9162 Merkle tree
//!   ([`merkle`]), C2SP signed notes and checkpoints ([`note`], [`checkpoint`]), RFC 9942 COSE
//!   receipts ([`receipt`]), X.509 ([`x509`]) and bundles ([`bundle`]);
//! - [`ledger`] (feature `store`): the operator's side, a [`ledger::Ledger`] over any
//!   [`ledger::store::Store`], with registration as the one way in, checkpoints, export and audit;
//! - [`verify`]: the buyer's side, bytes and options in and a report out, with trust files and
//!   policy profiles as parsed values and the current time passed in.
//!
//! Beside them: [`witness`], the independent party that cosigns checkpoints along one history,
//! `sigstore` (feature `sigstore`), the offline check of cosign bundles, `cli`, the `evledger`
//! binary's front end, and `durable` (feature `store`), the one way the operator side writes
//! files. Each module is also re-exported at the crate root under its
//! short name (`evledger::cbor`, `evledger::store`, `evledger::trust`…).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "store")]
pub(crate) mod durable;
pub mod formats;
#[cfg(feature = "store")]
pub mod ledger;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "sigstore")]
pub mod sigstore;
pub mod verify;
#[cfg(feature = "store")]
pub mod witness;

pub use formats::{
    bundle, cbor, checkpoint, evidence, hex, keys, merkle, note, receipt, statement, terminal,
    time, x509,
};
#[cfg(feature = "store")]
pub use ledger::{audit, export, store};
pub use verify::{policy, trust};
