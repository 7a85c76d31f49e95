//! `evledger serve`: the transparency service over HTTP (`specs/service.md`).

use std::path::Path;

use super::CliError;
use crate::serve::config::{Overrides, ServeConfig};
use crate::serve::{self, ServeError};

/// `evledger serve`.
pub fn serve(config: Option<&Path>, flags: Overrides) -> Result<(), CliError> {
    let config = ServeConfig::load(config, &flags).map_err(|e| {
        CliError::new(e.to_string())
            .hint("every key of the configuration file is described in specs/service.md, \"Configuration\"")
    })?;
    let dir = config.ledger.clone();
    serve::serve(&config, |addr| {
        // The first line on standard output, which scripts and tests wait for; `println!`
        // flushes at the newline.
        println!("listening on http://{addr}");
        eprintln!(
            "serving the ledger in {} as a transparency service; stop with Ctrl-C or SIGTERM",
            dir.display()
        );
    })
    .map_err(|e| match e {
        ServeError::Ledger(l) => CliError::from(l),
        e @ ServeError::Io { .. } => CliError::new(e.to_string())
            .hint("choose another address with --listen ADDR (port 0 picks a free one)"),
    })?;
    eprintln!("stopped");
    Ok(())
}
