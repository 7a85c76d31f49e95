//! The clients of `evledger serve` (feature `client`): `evledger submit`, `evledger bundle
//! --from` and `evledger monitor` (`specs/service.md`, "Clients"). None needs a ledger
//! directory: they speak HTTP to a service and check what it answers with the offline verifier.

pub mod http;
pub mod monitor;
pub mod submit;
pub mod tiles;
#[cfg(feature = "tls")]
pub mod tls;
