//! `evledger serve`: the transparency service over HTTP (`specs/service.md`).

use std::net::SocketAddr;
use std::path::Path;

use super::CliError;
use crate::serve::{self, ServeError};

/// `evledger serve`.
pub fn serve(dir: &Path, listen: SocketAddr) -> Result<(), CliError> {
    serve::serve(dir, listen, |addr| {
        // The first line on standard output, which scripts and tests wait for; `println!`
        // flushes at the newline.
        println!("listening on http://{addr}");
        eprintln!(
            "serving the ledger in {} as a transparency service",
            dir.display()
        );
    })
    .map_err(|e| match e {
        ServeError::Ledger(l) => CliError::from(l),
        e @ ServeError::Io { .. } => CliError::new(e.to_string())
            .hint("choose another address with --listen ADDR (port 0 picks a free one)"),
    })
}
