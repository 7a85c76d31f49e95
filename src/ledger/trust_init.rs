//! `evledger trust init`: a starting trust file written from a ledger.
//!
//! It pins the ledger's log key and, for each signer key in the ledger, a role allowing exactly
//! the kinds that key signed, so that a bundle of the ledger verifies with the file unedited. The
//! comments ask the buyer to confirm every key out of band: a trust file made from the exporter's
//! own ledger is only as trustworthy as that confirmation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::evidence::key_standing::{Lineage, LoggedKeyEvent};
use crate::evidence::{Evidence, KeyEvent};
use crate::keys::KeyId;
use crate::ledger::{Ledger, LedgerError};
use crate::statement::SignedStatement;
use crate::store::{Store, StoreError};

/// The role a signer most likely plays, from the kinds it signed: whoever countersigns is a lab,
/// whoever signs builds is release engineering, whoever records claims, incidents or transcribed
/// lab results is product/legal. Policy profiles name these roles (e.g. `countersigner_role = "lab"`).
fn role_name(kinds: &BTreeSet<String>) -> &'static str {
    let has = |k: &str| kinds.contains(k);
    if has("countersignature") {
        "lab"
    } else if has("firmware-build") {
        "release-engineering"
    } else if has("claim") || has("incident") || has("lab-result") {
        "product-legal"
    } else {
        "signers"
    }
}

/// Writes the text of a starting trust file for `ledger`: one role per signer key.
///
/// # Errors
/// Storage errors, or a stored statement whose signer key is not registered.
pub fn trust_file_text<S: Store>(
    ledger: &Ledger<S>,
    profiles: &[String],
) -> Result<String, LedgerError> {
    let store = ledger.store();
    let mut by_key: BTreeMap<KeyId, BTreeSet<String>> = BTreeMap::new();
    let mut key_events: Vec<(u64, KeyId, KeyEvent)> = Vec::new();
    store.for_each_entry(&mut |e| {
        let st = SignedStatement::parse(&e.statement)
            .map_err(|err| StoreError::Corrupt(format!("entry {}: {err}", e.index)))?;
        if let Ok(Evidence::KeyEvent(ev)) = Evidence::from_payload(&e.kind, st.payload()) {
            key_events.push((e.index, st.header().kid, ev));
        }
        by_key.entry(st.header().kid).or_default().insert(e.kind);
        Ok(())
    })?;
    let events: Vec<LoggedKeyEvent<'_>> = key_events
        .iter()
        .map(|(index, signer, event)| LoggedKeyEvent {
            index: *index,
            signer: *signer,
            event,
        })
        .collect();
    // Keys that key events introduce or rotate to get their roles from those events, from the
    // event's log position on; pinning them here would trust them from index 0. What they sign
    // must then be allowed to the pinned keys they descend from, whose roles they inherit.
    let lineage = Lineage::of(&events);
    let inherited: Vec<(KeyId, BTreeSet<String>)> = by_key
        .iter()
        .filter(|(kid, _)| lineage.is_introduced(kid))
        .flat_map(|(kid, kinds)| {
            lineage
                .roots(*kid)
                .into_iter()
                .map(move |root| (root, kinds.clone()))
        })
        .collect();
    for (root, kinds) in inherited {
        by_key.entry(root).or_default().extend(kinds);
    }
    by_key.retain(|kid, _| !lineage.is_introduced(kid));
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        s,
        "# evledger trust file, written by `evledger trust init` from ledger {}.",
        ledger.info().origin
    );
    let _ = writeln!(
        s,
        "# It trusts exactly what that ledger's operator says. Before relying on it, confirm the"
    );
    let _ = writeln!(
        s,
        "# log key and every signer key below with their owners over another channel."
    );
    let _ = writeln!(s, "version = 1\n");
    let _ = writeln!(
        s,
        "# Policy profiles to apply, relative to this file, e.g. [\"profiles/pad-ibeta-level2.toml\"]."
    );
    let quoted: Vec<String> = profiles.iter().map(|p| toml_string(p)).collect();
    let _ = writeln!(s, "profiles = [{}]\n", quoted.join(", "));
    let _ = writeln!(s, "[log]");
    let _ = writeln!(
        s,
        "# The log's C2SP verifier key (name+key id+key); every checkpoint must carry its signature."
    );
    let _ = writeln!(s, "{}", log_keys_line(ledger)?);
    let mut used: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (kid, kinds) in by_key {
        let base = role_name(&kinds);
        let n = used.entry(base).or_default();
        *n += 1;
        let name = if *n == 1 {
            base.to_owned()
        } else {
            format!("{base}-{n}")
        };
        let key = store
            .signer_key(&kid)?
            .ok_or_else(|| StoreError::Corrupt(format!("no registered key for kid {kid}")))?;
        let kinds: Vec<String> = kinds.iter().map(|k| toml_string(k)).collect();
        let _ = writeln!(s, "[[roles]]");
        let _ = writeln!(s, "name = \"{name}\"");
        let _ = writeln!(s, "kinds = [{}]", kinds.join(", "));
        let _ = writeln!(s, "# kid {kid}: confirm out of band");
        let _ = writeln!(s, "public_keys = [\"{}\"]\n", B64.encode(key.to_bytes()));
    }
    Ok(s)
}

/// The `[log] keys` value: one verifier key, or after a rotation each key with the checkpoint
/// sizes it signed (a retired key up to the last size it signed, an active key open-ended).
fn log_keys_line<S: Store>(ledger: &Ledger<S>) -> Result<String, LedgerError> {
    let verifiers = ledger.log_verifiers()?;
    if verifiers.len() == 1 {
        return Ok(format!("keys = [\"{}\"]\n", verifiers[0]));
    }
    let checkpoints = ledger.store().checkpoints()?;
    let mut items = Vec::new();
    for (v, key) in verifiers.iter().zip(ledger.log_keys()?) {
        let signed: Vec<u64> = checkpoints
            .iter()
            .filter(|c| crate::checkpoint::verify(&c.note, v).is_ok())
            .map(|c| c.size)
            .collect();
        let from = if key == ledger.info().log_key {
            0
        } else {
            signed.iter().copied().min().unwrap_or(0)
        };
        let active = ledger.holds_log_key(&key)?;
        let to = match (active, signed.iter().copied().max()) {
            (false, Some(max)) => format!(", to_size = {max}"),
            _ => String::new(),
        };
        items.push(format!("  {{ vkey = \"{v}\", from_size = {from}{to} }},"));
    }
    Ok(format!("keys = [\n{}\n]\n", items.join("\n")))
}

/// A TOML basic string holding `s`, escaped as TOML requires.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}
