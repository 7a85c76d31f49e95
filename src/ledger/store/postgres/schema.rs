//! The PostgreSQL schema of a ledger (`specs/store.md`, "PostgreSQL"): tables, the triggers that
//! make history append-only and fence stale sequencers, and the two roles' privileges.

/// The schema every table lives in; statements name it explicitly, so that nothing depends on a
/// session's `search_path` (which a transaction-pooling proxy does not keep).
pub const SCHEMA_NAME: &str = "evledger";

/// Schema version, stored in `meta` as `schema_version`.
pub const SCHEMA_VERSION: &str = "2";

/// The tables whose rows are history: no row is ever updated or deleted, and none is truncated.
pub const HISTORY_TABLES: &[&str] = &[
    "meta",
    "entries",
    "nodes",
    "refs",
    "signers",
    "log_keys",
    "checkpoints",
    "cosignatures",
    "documents",
    "signer_rules",
    "witnesses",
    "witness_quorum",
    "published",
];

/// Tables, indexes and the trigger functions, in one script run by the owner inside the
/// `evledger` schema it owns.
pub const TABLES: &str = r#"
CREATE TABLE evledger.meta (
    key   text PRIMARY KEY,
    value bytea NOT NULL
);
CREATE TABLE evledger.lease (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    epoch      bigint NOT NULL CHECK (epoch >= 0),
    holder     text,
    expires_at timestamptz
);
INSERT INTO evledger.lease (epoch) VALUES (0);
CREATE TABLE evledger.entries (
    idx        bigint PRIMARY KEY CHECK (idx >= 0),
    entry_hash bytea NOT NULL UNIQUE CHECK (length(entry_hash) = 32),
    kind       text NOT NULL,
    issuer     text NOT NULL,
    subject    text NOT NULL,
    issued_at  bigint NOT NULL,
    statement  bytea NOT NULL,
    epoch      bigint NOT NULL
);
CREATE INDEX entries_kind ON evledger.entries (kind, idx);
CREATE TABLE evledger.nodes (
    level integer NOT NULL CHECK (level >= 0 AND level < 64),
    idx   bigint NOT NULL CHECK (idx >= 0),
    hash  bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);
CREATE TABLE evledger.signers (
    kid        bytea PRIMARY KEY CHECK (length(kid) = 32),
    public_key bytea NOT NULL CHECK (length(public_key) = 32)
);
CREATE TABLE evledger.refs (
    target     bytea NOT NULL CHECK (length(target) = 32),
    source_idx bigint NOT NULL,
    PRIMARY KEY (target, source_idx)
);
CREATE TABLE evledger.log_keys (
    public_key    bytea PRIMARY KEY CHECK (length(public_key) = 32),
    added_at_size bigint NOT NULL
);
CREATE TABLE evledger.checkpoints (
    size bigint PRIMARY KEY CHECK (size >= 0),
    root bytea NOT NULL CHECK (length(root) = 32),
    note text NOT NULL
);
CREATE TABLE evledger.cosignatures (
    seq  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    size bigint NOT NULL REFERENCES evledger.checkpoints (size),
    line text NOT NULL,
    UNIQUE (size, line)
);
CREATE TABLE evledger.documents (
    sha256 bytea PRIMARY KEY CHECK (length(sha256) = 32),
    bytes  bytea NOT NULL
);
CREATE TABLE evledger.signer_rules (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind     text NOT NULL,
    key_type text NOT NULL CHECK (key_type IN ('ed25519', 'x509-root')),
    value    bytea NOT NULL,
    UNIQUE (kind, key_type, value)
);
CREATE TABLE evledger.witnesses (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    public_key bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    url        text
);
CREATE TABLE evledger.witness_quorum (
    seq    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quorum bigint NOT NULL CHECK (quorum >= 0)
);
CREATE TABLE evledger.published (
    size   bigint PRIMARY KEY REFERENCES evledger.checkpoints (size),
    quorum bigint NOT NULL CHECK (quorum >= 0)
);
CREATE TABLE evledger.queue (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    statement   bytea NOT NULL,
    documents   bytea[] NOT NULL DEFAULT '{}',
    queued_at   timestamptz NOT NULL DEFAULT now(),
    taken_epoch bigint,
    state       text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'committed', 'refused')),
    created     boolean,
    status      integer,
    detail      text,
    CHECK ((state = 'committed') = (created IS NOT NULL)),
    CHECK ((state = 'refused') = (status IS NOT NULL AND detail IS NOT NULL))
);
CREATE INDEX queue_waiting ON evledger.queue (seq) WHERE state = 'queued';

CREATE FUNCTION evledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;

-- Entries take exactly the next index, and only from the sequencer holding the current epoch.
CREATE FUNCTION evledger.entries_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current_epoch bigint;
BEGIN
    IF NEW.idx <> (SELECT COALESCE(MAX(idx) + 1, 0) FROM evledger.entries) THEN
        RAISE EXCEPTION 'entries must be appended at the next index, not at %', NEW.idx;
    END IF;
    SELECT epoch INTO current_epoch FROM evledger.lease;
    IF NEW.epoch IS DISTINCT FROM current_epoch THEN
        RAISE EXCEPTION 'fenced: an append from sequencing epoch % while the lease is at epoch %',
            NEW.epoch, current_epoch;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER entries_append BEFORE INSERT ON evledger.entries
    FOR EACH ROW EXECUTE FUNCTION evledger.entries_append();

-- A checkpoint's size never goes below the latest one, nor beyond the log.
CREATE FUNCTION evledger.checkpoints_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.size < (SELECT COALESCE(MAX(size), 0) FROM evledger.checkpoints)
       OR NEW.size > (SELECT COALESCE(MAX(idx) + 1, 0) FROM evledger.entries) THEN
        RAISE EXCEPTION 'checkpoint size must not go back nor beyond the log';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER checkpoints_forward BEFORE INSERT ON evledger.checkpoints
    FOR EACH ROW EXECUTE FUNCTION evledger.checkpoints_forward();

-- The witness quorum never decreases.
CREATE FUNCTION evledger.witness_quorum_monotonic() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.quorum < (SELECT COALESCE(MAX(quorum), 0) FROM evledger.witness_quorum) THEN
        RAISE EXCEPTION 'the witness quorum never decreases';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER witness_quorum_monotonic BEFORE INSERT ON evledger.witness_quorum
    FOR EACH ROW EXECUTE FUNCTION evledger.witness_quorum_monotonic();

-- The lease's epoch only goes up.
CREATE FUNCTION evledger.lease_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.epoch < OLD.epoch THEN
        RAISE EXCEPTION 'the sequencing epoch never goes back';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER lease_forward BEFORE UPDATE ON evledger.lease
    FOR EACH ROW EXECUTE FUNCTION evledger.lease_forward();
CREATE TRIGGER lease_no_delete BEFORE DELETE OR TRUNCATE ON evledger.lease
    FOR EACH STATEMENT EXECUTE FUNCTION evledger.refuse_change();
"#;

/// The triggers refusing UPDATE, DELETE and TRUNCATE on history table `t`.
pub fn append_only_triggers(t: &str) -> String {
    format!(
        "CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON evledger.{t}
             FOR EACH ROW EXECUTE FUNCTION evledger.refuse_change();
         CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON evledger.{t}
             FOR EACH STATEMENT EXECUTE FUNCTION evledger.refuse_change();"
    )
}

/// The whole schema script: tables, functions and every history table's triggers.
pub fn script() -> String {
    let mut s = String::from(TABLES);
    for t in HISTORY_TABLES {
        s.push_str(&append_only_triggers(t));
        s.push('\n');
    }
    s
}

/// The privileges of the service role `service` (a quoted identifier): read and insert history,
/// update the lease, queue registrations and settle them; nothing else. It owns nothing, so it
/// cannot ALTER a table, drop or disable a trigger, or replace a trigger function.
pub fn grants(service: &str) -> String {
    let mut s = format!(
        "REVOKE ALL ON SCHEMA evledger FROM PUBLIC;
         GRANT USAGE ON SCHEMA evledger TO {service};
         REVOKE ALL ON ALL TABLES IN SCHEMA evledger FROM PUBLIC;
         REVOKE ALL ON ALL FUNCTIONS IN SCHEMA evledger FROM PUBLIC;
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA evledger TO {service};
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA evledger TO {service};
         GRANT SELECT, UPDATE ON evledger.lease TO {service};
         GRANT SELECT, INSERT, UPDATE, DELETE ON evledger.queue TO {service};\n"
    );
    for t in HISTORY_TABLES {
        s.push_str(&format!(
            "GRANT SELECT, INSERT ON evledger.{t} TO {service};\n"
        ));
    }
    s
}
