//! `evledger monitor`: follows a log through its checkpoints and tlog-tiles, checks that each new
//! checkpoint extends the last one seen, lists the new entries, and flags those signed by
//! watched keys and the adverse ones (`specs/service.md`, "Clients").
//!
//! The monitor keeps, per state directory:
//! - [`LOG_VKEY_FILE`] (`log.vkey`): the log's C2SP verifier key, pinned on the first run;
//! - [`STATE_FILE`] (`state`): the last checkpoint seen and the tree's frontier at its size
//!   ([`MonitorState`]), replaced durably, so a crash leaves the old state or the new one;
//! - [`LOCK_FILE`] (`lock`): its exclusive lock serializes monitors sharing the directory.
//!
//! Consistency is recomputed, not taken from a proof: the frontier of the last tree seen (its
//! complete subtrees' hashes, checked against that checkpoint's signed root), extended with the
//! leaf hashes of the new entries, must give the new checkpoint's signed root. That proves the
//! old tree a prefix of the new one and authenticates every new entry. When it does not, a
//! consistency proof is built from the hash tiles to tell a fork (the new signed root commits to
//! a tree whose old prefix has another root) from tiles that do not match the checkpoint.

use std::fs::File;
use std::path::{Path, PathBuf};

// RFC 4648 §4 standard base64 with canonical padding.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;

use super::http::{BaseUrl, Client, ClientError};
use super::tiles::{TILE_WIDTH, TileError, Tiles};
use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::evidence::{Evidence, MAY_BE_ADVERSE};
use crate::keys::KeyId;
use crate::merkle::{Frontier, Hash, RootHash, leaf_hash, prove_consistency, root};
use crate::note::{MAX_NOTE_LEN, NoteVerifier};
use crate::statement::{MAX_STATEMENT_LEN, SignedStatement, entry_hash};

/// The pinned log key file.
pub const LOG_VKEY_FILE: &str = "log.vkey";
/// The state file.
pub const STATE_FILE: &str = "state";
/// The lock file.
pub const LOCK_FILE: &str = "lock";
/// The first line of a state file.
pub const STATE_HEADER: &str = "evledger-monitor-state/v1";

/// What the monitor remembers: the last checkpoint seen, as served (signed note), and the
/// frontier of the tree at its size.
#[derive(Clone, Debug)]
pub struct MonitorState {
    /// The signed note of the last checkpoint seen.
    pub note: String,
    /// Its checkpoint.
    pub checkpoint: Checkpoint,
    /// The hashes of the complete subtrees of that tree, largest first.
    pub frontier: Frontier,
}

impl MonitorState {
    /// The file's text: the header, one `frontier <base64>` line per complete subtree (largest
    /// first), a `checkpoint` line, then the signed note verbatim.
    pub fn to_text(&self) -> String {
        let mut s = format!("{STATE_HEADER}\n");
        for h in self.frontier.hashes() {
            s.push_str(&format!("frontier {}\n", BASE64.encode(h)));
        }
        s.push_str("checkpoint\n");
        s.push_str(&self.note);
        s
    }

    /// Parses a state file and checks it: the note verifies under `log_key`, the frontier has
    /// one hash per complete subtree of its size, and they hash to its root.
    ///
    /// # Errors
    /// A reason naming the line or the check that failed.
    pub fn parse(text: &str, log_key: &NoteVerifier) -> Result<MonitorState, String> {
        let mut rest = text
            .strip_prefix(STATE_HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or_else(|| format!("line 1 is not {STATE_HEADER:?}"))?;
        let mut hashes = Vec::new();
        loop {
            let (line, tail) = rest
                .split_once('\n')
                .ok_or_else(|| format!("line {}: no `checkpoint` line", hashes.len() + 2))?;
            rest = tail;
            if line == "checkpoint" {
                break;
            }
            let h = line
                .strip_prefix("frontier ")
                .and_then(|b| BASE64.decode(b).ok())
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| {
                    format!(
                        "line {}: not `frontier <base64 of 32 bytes>`",
                        hashes.len() + 2
                    )
                })?;
            hashes.push(h);
        }
        let verified =
            checkpoint::verify(rest, log_key).map_err(|e| format!("the checkpoint: {e}"))?;
        let cp = verified.checkpoint().clone();
        let frontier = Frontier::from_parts(cp.size, hashes).map_err(|e| e.to_string())?;
        if frontier.root() != cp.root {
            return Err(format!(
                "the frontier does not hash to the checkpoint's root at size {}",
                cp.size
            ));
        }
        Ok(MonitorState {
            note: rest.to_owned(),
            checkpoint: cp,
            frontier,
        })
    }
}

/// A key the monitor watches for.
#[derive(Clone, Debug)]
pub struct Watched {
    /// Its RFC 9679 key id, as statements name it.
    pub kid: KeyId,
    /// The public key, when known: a flagged statement's signature is then checked.
    pub key: Option<VerifyingKey>,
    /// How the user named it (a file or a key id).
    pub label: String,
}

/// An entry new since the last run.
#[derive(Clone, Debug)]
pub struct SeenEntry {
    /// Its index in the log.
    pub index: u64,
    /// Its entry hash.
    pub entry_hash: Hash,
    /// Its evidence kind.
    pub kind: String,
    /// The signer's key id.
    pub kid: KeyId,
    /// The statement's issuer.
    pub issuer: String,
    /// The statement's subject.
    pub subject: String,
    /// The watched key that signed it, and whether its signature verifies under that key
    /// (`None` when only the key id is watched).
    pub watched: Option<(String, Option<bool>)>,
    /// Whether it is adverse (`specs/completeness.md`).
    pub adverse: bool,
}

/// What one run saw.
#[derive(Clone, Debug)]
pub struct Followed {
    /// Whether this was the first run: every entry from index 0 was checked.
    pub first_run: bool,
    /// The size of the last checkpoint seen before this run (0 on the first).
    pub old_size: u64,
    /// The checkpoint seen now.
    pub checkpoint: Checkpoint,
    /// The entries new since the last run, in index order.
    pub entries: Vec<SeenEntry>,
}

/// Two checkpoints of the log that are not one history.
#[derive(Clone, Debug)]
pub struct Fork {
    /// The last checkpoint seen (signed note).
    pub older: String,
    /// The checkpoint the service shows now (signed note).
    pub newer: String,
    /// Why they are not one history.
    pub reason: String,
}

/// Why a run failed. The state is unchanged after every one of them.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A file of the state directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file of the state directory is malformed.
    #[error("{path}: {reason}")]
    BadState {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A first run without the log key to pin.
    #[error("{0} has no pinned log key yet")]
    NoLogKey(PathBuf),
    /// A log key other than the one pinned.
    #[error("--log-key {given} is not the log key pinned in {path}: {pinned}")]
    LogKeyMismatch {
        /// The state's key file.
        path: PathBuf,
        /// The pinned key.
        pinned: String,
        /// The key given.
        given: String,
    },
    /// No answer from the service.
    #[error(transparent)]
    Http(#[from] ClientError),
    /// A tile could not be read.
    #[error(transparent)]
    Tile(#[from] TileError),
    /// The service answered something other than what was asked.
    #[error("{0}")]
    Service(String),
    /// The service's checkpoint does not verify under the pinned log key.
    #[error("the service's checkpoint does not verify under the pinned log key: {0}")]
    Checkpoint(CheckpointError),
    /// The service shows a smaller checkpoint than the last one seen.
    #[error(
        "the service shows a checkpoint of size {got}, older than the one of size {seen} last seen: a stale copy, or a log rolled back (if it persists, the log has forked)"
    )]
    Stale {
        /// The size last seen.
        seen: u64,
        /// The size shown now.
        got: u64,
    },
    /// The tiles do not match the checkpoint they are served with.
    #[error("the log's tiles do not match its checkpoint of size {size}: {reason}")]
    TilesMismatch {
        /// The checkpoint's size.
        size: u64,
        /// What did not match.
        reason: String,
    },
    /// The new checkpoint was not shown to extend the last one, and the tiles do not tell why.
    #[error(
        "NOT SHOWN CONSISTENT: {}\nlast checkpoint seen:\n{}checkpoint served now:\n{}",
        .0.reason, .0.older, .0.newer
    )]
    NotShownConsistent(Box<Fork>),
    /// The log has shown two histories.
    #[error(
        "FORK: the log has shown two histories: {}\nlast checkpoint seen:\n{}checkpoint served now:\n{}",
        .0.reason, .0.older, .0.newer
    )]
    Fork(Box<Fork>),
    /// A new entry's statement could not be read or is not the entry.
    #[error("entry {index} ({hash}): {reason}")]
    Statement {
        /// The entry's index.
        index: u64,
        /// Its entry hash (hex).
        hash: String,
        /// What went wrong.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MonitorError + '_ {
    move |source| MonitorError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A state directory, locked for one run.
pub struct Monitor {
    dir: PathBuf,
    log_key: NoteVerifier,
    _lock: File,
}

impl Monitor {
    /// Opens the state directory `dir`, locking it; on the first run (no pinned key yet) it is
    /// created and `log_key` pinned. A `log_key` given later must be the pinned one.
    ///
    /// # Errors
    /// [`MonitorError::NoLogKey`] on a first run without `log_key`,
    /// [`MonitorError::LogKeyMismatch`], or a file that cannot be read, written or parsed.
    pub fn open(dir: &Path, log_key: Option<&NoteVerifier>) -> Result<Monitor, MonitorError> {
        let key_path = dir.join(LOG_VKEY_FILE);
        let pinned = match std::fs::read_to_string(&key_path) {
            Ok(text) => NoteVerifier::parse(text.trim_end_matches('\n')).map_err(|e| {
                MonitorError::BadState {
                    path: key_path.clone(),
                    reason: e.to_string(),
                }
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some(k) = log_key else {
                    return Err(MonitorError::NoLogKey(dir.to_path_buf()));
                };
                std::fs::create_dir_all(dir).map_err(io(dir))?;
                crate::durable::create_new(&key_path, format!("{k}\n").as_bytes(), 0o644)
                    .map_err(io(&key_path))?;
                k.clone()
            }
            Err(e) => return Err(io(&key_path)(e)),
        };
        if let Some(k) = log_key
            && *k != pinned
        {
            return Err(MonitorError::LogKeyMismatch {
                path: key_path,
                pinned: pinned.to_string(),
                given: k.to_string(),
            });
        }
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        // Held until the Monitor is dropped: one run at a time per state directory.
        lock.lock().map_err(io(&lock_path))?;
        Ok(Monitor {
            dir: dir.to_path_buf(),
            log_key: pinned,
            _lock: lock,
        })
    }

    /// The pinned log key.
    pub fn log_key(&self) -> &NoteVerifier {
        &self.log_key
    }

    /// The state of the last successful run, if any.
    ///
    /// # Errors
    /// A state file that cannot be read or does not parse and check.
    pub fn state(&self) -> Result<Option<MonitorState>, MonitorError> {
        let path = self.dir.join(STATE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => MonitorState::parse(&text, &self.log_key)
                .map(Some)
                .map_err(|reason| MonitorError::BadState { path, reason }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Follows the log at `base` one step: fetches its checkpoint, checks it extends the last
    /// one seen, reads the new entries and their statements, and only then records the new
    /// checkpoint as seen.
    ///
    /// # Errors
    /// [`MonitorError`]; [`MonitorError::Fork`] when the log has shown two histories. The
    /// state is left as it was.
    pub fn follow(
        &self,
        client: &Client,
        base: &BaseUrl,
        watched: &[Watched],
    ) -> Result<Followed, MonitorError> {
        let state = self.state()?;
        let r = client.get(base, "/checkpoint", MAX_NOTE_LEN)?;
        if r.status != 200 {
            return Err(MonitorError::Service(format!(
                "GET {}: {}",
                base.url("/checkpoint"),
                r.describe()
            )));
        }
        let note = String::from_utf8(r.body).map_err(|_| {
            MonitorError::Service(format!(
                "GET {}: the checkpoint is not UTF-8 text",
                base.url("/checkpoint")
            ))
        })?;
        let verified =
            checkpoint::verify(&note, &self.log_key).map_err(MonitorError::Checkpoint)?;
        let new = verified.checkpoint().clone();
        let (old_size, mut frontier) = match &state {
            Some(s) => (s.checkpoint.size, s.frontier.clone()),
            None => (0, Frontier::empty()),
        };
        let fork = |reason: String| {
            Box::new(Fork {
                older: state.as_ref().map(|s| s.note.clone()).unwrap_or_default(),
                newer: note.clone(),
                reason,
            })
        };
        if let Some(s) = &state {
            if new.size < s.checkpoint.size {
                return Err(MonitorError::Stale {
                    seen: s.checkpoint.size,
                    got: new.size,
                });
            }
            if new.size == s.checkpoint.size && new.root != s.checkpoint.root {
                return Err(MonitorError::Fork(fork(format!(
                    "size {} signed with two different roots",
                    new.size
                ))));
            }
        }
        let tiles = Tiles::new(client, base, new.size);
        let mut fresh = Vec::new();
        let first_tile = old_size / TILE_WIDTH;
        for t in first_tile..new.size.div_ceil(TILE_WIDTH) {
            for (k, entry) in tiles.entries(t)?.into_iter().enumerate() {
                let index = t * TILE_WIDTH + k as u64;
                if index < old_size {
                    continue;
                }
                let h =
                    Hash::try_from(entry.as_slice()).map_err(|_| MonitorError::TilesMismatch {
                        size: new.size,
                        reason: format!(
                            "entry {index} is {} bytes, not a 32-byte entry hash",
                            entry.len()
                        ),
                    })?;
                frontier.push(leaf_hash(&h));
                fresh.push((index, h));
            }
        }
        if frontier.root() != new.root {
            return Err(self.explain_mismatch(&tiles, state.as_ref(), &new, &fork));
        }
        let entries = fresh
            .into_iter()
            .map(|(index, h)| read_entry(client, base, index, h, watched))
            .collect::<Result<Vec<_>, _>>()?;
        // Commit point: from here the new checkpoint is the last one seen. Everything above
        // has been checked; a crash before this line leaves the old state, and the next run
        // lists the same entries again.
        let path = self.dir.join(STATE_FILE);
        let next = MonitorState {
            note: note.clone(),
            checkpoint: new.clone(),
            frontier,
        };
        crate::durable::replace(&path, next.to_text().as_bytes()).map_err(io(&path))?;
        Ok(Followed {
            first_run: state.is_none(),
            old_size,
            checkpoint: new,
            entries,
        })
    }

    /// Why the entries served do not extend the last tree seen to the new root. From the hash
    /// tiles, the root of the tree's first `old` entries and a consistency proof to the new
    /// size are read; when the proof rebuilds the new signed root from that prefix root, the
    /// prefix root is the one the new checkpoint commits to: a fork if it is not the root seen,
    /// else entry bundles that do not match the hash tiles. When it does not, the tiles do not
    /// match the new checkpoint and nothing is shown either way.
    fn explain_mismatch(
        &self,
        tiles: &Tiles<'_>,
        state: Option<&MonitorState>,
        new: &Checkpoint,
        fork: &dyn Fn(String) -> Box<Fork>,
    ) -> MonitorError {
        let mismatch = |reason: String| MonitorError::TilesMismatch {
            size: new.size,
            reason,
        };
        let Some(old) = state.map(|s| &s.checkpoint).filter(|c| c.size > 0) else {
            return mismatch("the entries served do not hash to its root".into());
        };
        let unproven = |why: String| {
            MonitorError::NotShownConsistent(fork(format!(
                "the entries served do not extend the last tree seen to the new root, and the hash tiles do not show why: {why}"
            )))
        };
        let prefix = match root(tiles, old.size) {
            Ok(r) => r,
            Err(e) => return unproven(e.to_string()),
        };
        let proof = match prove_consistency(tiles, old.size, new.size) {
            Ok(p) => p,
            Err(e) => return unproven(e.to_string()),
        };
        if let Err(e) = RootHash::new(old.size, prefix)
            .verify_consistency(&RootHash::new(new.size, new.root), &proof)
        {
            return unproven(format!("they do not match the new checkpoint: {e}"));
        }
        if prefix != old.root {
            return MonitorError::Fork(fork(format!(
                "the checkpoint of size {} commits to a tree whose first {} entries have root {}, not the root {} signed at size {}",
                new.size,
                old.size,
                BASE64.encode(prefix),
                BASE64.encode(old.root),
                old.size
            )));
        }
        mismatch(
            "the hash tiles show it consistent with the last checkpoint seen, but the entry bundles do not hash to its root".into(),
        )
    }
}

/// Reads entry `index`'s statement and classifies it.
fn read_entry(
    client: &Client,
    base: &BaseUrl,
    index: u64,
    h: Hash,
    watched: &[Watched],
) -> Result<SeenEntry, MonitorError> {
    let hex = crate::hex::encode(&h);
    let fail = |reason: String| MonitorError::Statement {
        index,
        hash: hex.clone(),
        reason,
    };
    let path = format!("/entries/{hex}/statement");
    let r = client.get(base, &path, MAX_STATEMENT_LEN)?;
    match r.status {
        200 => {}
        401 | 403 => {
            return Err(fail(format!(
                "reading the statement: {}; the service serves statements to authorised readers only: give a reader token with --token",
                r.describe()
            )));
        }
        _ => return Err(fail(format!("GET {}: {}", base.url(&path), r.describe()))),
    }
    if entry_hash(&r.body) != h {
        return Err(fail(
            "the statement served is not the entry: its SHA-256 differs from the entry hash in the tiles".into(),
        ));
    }
    let st = SignedStatement::parse(&r.body).map_err(|e| fail(e.to_string()))?;
    let header = st.header().clone();
    let adverse = MAY_BE_ADVERSE.contains(&header.kind.as_str())
        && Evidence::from_payload(&header.kind, st.payload())
            .map_err(|e| fail(format!("payload: {e}")))?
            .is_adverse();
    let watched = watched.iter().find(|w| w.kid == header.kid).map(|w| {
        let verifies = w.key.as_ref().map(|k| st.clone().verify(k).is_ok());
        (w.label.clone(), verifies)
    });
    Ok(SeenEntry {
        index,
        entry_hash: h,
        kind: header.kind,
        kid: header.kid,
        issuer: header.issuer,
        subject: header.subject,
        watched,
        adverse,
    })
}
