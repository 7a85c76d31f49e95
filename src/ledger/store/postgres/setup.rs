//! `evledger store setup`: the two roles and the schema (`specs/store.md`, "Roles").

use postgres::NoTls;

use super::{describe, redact, schema};
use crate::store::StoreError;

/// The roles [`setup`] creates (each only if it does not exist yet).
#[derive(Clone, Debug)]
pub struct SetupRoles<'a> {
    /// The role that owns the schema, its tables and trigger functions; it cannot log in, and
    /// the service never uses it.
    pub owner: &'a str,
    /// The role the service connects as: it owns nothing and may only read, insert history,
    /// update the lease and use the queue.
    pub service: &'a str,
    /// The service role's password, if it should have one (else authenticate it otherwise:
    /// peer, certificates).
    pub service_password: Option<&'a str>,
}

/// A role name [`setup`] accepts: a lower-case SQL identifier that needs no quoting.
fn check_role(name: &str, what: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "{what} role name {name:?}: use lower-case letters, digits and '_', starting with a letter or '_'"
        )))
    }
}

/// Creates the owner and service roles if missing, then the `evledger` schema owned by the
/// owner, with every table, trigger and the service role's privileges, in one transaction
/// through `admin_url` (a superuser's connection). Nothing is created if any step fails.
///
/// # Errors
/// [`StoreError::Exists`] if the database already has the schema; a database error (for
/// instance a connecting role that is not a superuser).
pub fn setup(admin_url: &str, roles: &SetupRoles<'_>) -> Result<(), StoreError> {
    check_role(roles.owner, "owner")?;
    check_role(roles.service, "service")?;
    if roles.owner == roles.service {
        return Err(StoreError::Backend(
            "the owner and the service role must differ: the service must not own the tables it writes".into(),
        ));
    }
    let shown = redact(admin_url);
    let config: postgres::Config = admin_url
        .parse()
        .map_err(|e| StoreError::Backend(format!("{shown}: {e}")))?;
    let mut client = config
        .connect(NoTls)
        .map_err(|e| StoreError::Backend(format!("{shown}: {}", describe(&e))))?;
    let mut tx = client.transaction()?;
    let has_schema: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema::SCHEMA_NAME],
        )?
        .get(0);
    if has_schema {
        return Err(StoreError::Exists(
            format!("{shown} (schema {})", schema::SCHEMA_NAME).into(),
        ));
    }
    let (owner, service) = (roles.owner, roles.service);
    let role_exists =
        |tx: &mut postgres::Transaction<'_>, name: &str| -> Result<bool, StoreError> {
            Ok(tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
                    &[&name],
                )?
                .get(0))
        };
    if !role_exists(&mut tx, owner)? {
        tx.batch_execute(&format!(
            "CREATE ROLE {owner} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        ))?;
    }
    if !role_exists(&mut tx, service)? {
        let password = match roles.service_password {
            // A string literal: single quotes doubled (standard_conforming_strings is on).
            Some(p) => format!(" PASSWORD '{}'", p.replace('\'', "''")),
            None => String::new(),
        };
        tx.batch_execute(&format!(
            "CREATE ROLE {service} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT{password}"
        ))?;
    }
    tx.batch_execute(&format!(
        "CREATE SCHEMA evledger AUTHORIZATION {owner};
         SET LOCAL ROLE {owner};"
    ))?;
    tx.batch_execute(&schema::script())?;
    tx.batch_execute(&schema::grants(service))?;
    tx.batch_execute("RESET ROLE")?;
    tx.commit()?;
    Ok(())
}
