//! evledger: a signed, append-only evidence ledger for makers of biometric security devices,
//! and the offline verifier their buyers run.
//!
//! Entries are COSE_Sign1 signed statements ([`statement`]) over typed evidence ([`evidence`]),
//! encoded as deterministic CBOR ([`cbor`]), appended to an RFC 9162 Merkle log ([`merkle`])
//! whose C2SP checkpoints ([`checkpoint`], [`note`]) make history tamper-evident. Witnesses
//! ([`witness`]) cosign checkpoints only along one history, and [`consistency_check`] tells
//! whether two checkpoints are one history.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "store")]
pub mod audit;
pub mod bundle;
pub mod cbor;
pub mod checkpoint;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "store")]
pub mod collect;
pub mod consistency_check;
pub mod evidence;
#[cfg(feature = "store")]
pub mod export;
pub mod hex;
pub mod keys;
#[cfg(feature = "store")]
pub mod ledger;
pub mod merkle;
pub mod note;
pub mod policy;
#[cfg(feature = "sigstore")]
pub mod sigstore;
pub mod statement;
#[cfg(feature = "store")]
pub mod store;
pub mod strict_batch;
pub mod time;
pub mod trust;
#[cfg(feature = "store")]
pub mod trust_init;
pub mod verify;
pub mod witness;
pub mod x509;
