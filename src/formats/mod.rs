//! The formats: everything evledger signs, hashes, proves or carries, as pure functions over
//! bytes. Nothing here opens a store, reads a file or looks at a clock; callers pass bytes and
//! the time in, so the verifier built on these runs anywhere, a browser page included.

pub mod bundle;
pub mod cbor;
pub mod checkpoint;
pub mod evidence;
pub mod hex;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod receipt;
pub mod statement;
pub mod terminal;
pub mod time;
pub mod x509;
