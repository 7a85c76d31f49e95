//! `evledger witness serve` and `evledger checkpoint --witnesses`: the witness protocol over
//! HTTP (c2sp.org/tlog-witness), from the witness's side and from the log's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use super::CliError;
use crate::ledger::Ledger;
use crate::serve::config::TlsFiles;
use crate::serve::witness_client::Outcome;
use crate::serve::witness_server::{self, WitnessServeError};
use crate::serve::{ServeError, witnessing};
use crate::store::StoreRead as _;

/// `evledger witness serve`, over HTTPS when `tls` names a certificate and key.
pub fn serve(state: &Path, listen: SocketAddr, tls: Option<TlsFiles>) -> Result<(), CliError> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    witness_server::serve(state, listen, tls.as_ref(), |addr, witness| {
        // The first line on standard output, which scripts and tests wait for.
        println!("listening on {scheme}://{addr}");
        eprintln!(
            "witness {} watching {} (state {})",
            crate::terminal::escape(witness.verifier().name()),
            crate::terminal::escape(witness.log_key().name()),
            state.display()
        );
    })
    .map_err(|e| match e {
        WitnessServeError::Witness(w) => w.into(),
        WitnessServeError::Serve(e @ ServeError::Io { .. }) => CliError::new(e.to_string())
            .hint("choose another address with --listen ADDR (port 0 picks a free one)"),
        WitnessServeError::Serve(ServeError::Ledger(l)) => l.into(),
        WitnessServeError::Serve(ServeError::Tls(t)) => super::serve_cmds::tls_error(t),
        // A witness signs no checkpoint of a log: only the log's service refuses this way.
        WitnessServeError::Serve(e @ ServeError::WouldFork(_)) => CliError::new(e.to_string()),
    })
}

/// `evledger checkpoint --witnesses`: signs a checkpoint, asks every configured witness with a
/// URL to cosign it, stores the cosignatures, and succeeds only if it is then published.
pub fn checkpoint_witnesses(dir: &Path, anchor: bool) -> Result<(), CliError> {
    let mut ledger = Ledger::open(dir)?;
    let cp = if anchor {
        ledger.anchored_checkpoint()?
    } else {
        ledger.checkpoint()?
    };
    let witnesses = ledger.witnesses()?;
    drop(ledger);
    if !witnesses.iter().any(|w| w.url.is_some()) {
        return Err(CliError::new("no configured witness has a URL to ask")
            .hint("configure one with: evledger witness add VKEY --url http://HOST:PORT"));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| CliError::new(format!("runtime: {e}")))?;
    let report = runtime
        .block_on(witnessing::round(
            dir,
            Some(cp.size),
            &mut HashMap::new(),
            |_| false,
        ))
        .map_err(CliError::new)?;
    for (name, outcome) in &report.asked {
        let name = crate::terminal::escape(name);
        match outcome {
            Outcome::Cosigned { .. } => eprintln!("witness {name}: cosigned"),
            Outcome::Failed(why) => {
                eprintln!("witness {name}: failed: {}", crate::terminal::escape(why));
            }
        }
    }
    let failures = report.failures();
    let ok = if report.quorum == 0 {
        failures.is_empty()
    } else {
        report.published
    };
    if !ok {
        let why = if report.quorum == 0 {
            format!(
                "checkpoint {}: {} of the witnesses asked failed: {}",
                report.size,
                failures.len(),
                failures.join("; ")
            )
        } else {
            format!(
                "checkpoint {} is not published: {} of the {} witnesses the quorum needs have cosigned it{}",
                report.size,
                report.cosigned,
                report.quorum,
                if failures.is_empty() {
                    String::new()
                } else {
                    format!("; failed: {}", failures.join("; "))
                }
            )
        };
        return Err(CliError::new(crate::terminal::escape(&why)).hint(
            "start the witnesses that are down, then run `evledger checkpoint --witnesses` again; bundles and receipts keep using the last published checkpoint",
        ));
    }
    let ledger = Ledger::open_read_only(dir)?;
    let note = ledger
        .store()
        .checkpoint_at(report.size)
        .map_err(crate::ledger::LedgerError::from)?
        .map(|c| c.note)
        .unwrap_or_default();
    super::witness_cmds::print_all(&note);
    eprintln!(
        "checkpoint {} published: cosigned by {} witnesses (quorum {})",
        report.size, report.cosigned, report.quorum
    );
    Ok(())
}
