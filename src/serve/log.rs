//! The service's structured log: one line per event on standard error, in logfmt (`key=value`
//! pairs separated by one space; `specs/service.md`, "Logs").
//!
//! Every line starts with `ts=` (RFC 3339, UTC, seconds) and `event=`. A value is written bare
//! when it is not empty and holds only printable ASCII other than space, `"`, `=` and `\`;
//! otherwise it is quoted, with `\"`, `\\`, `\n`, `\r`, `\t` and `\u{HEX}` for other control
//! characters, so one event is always one line and a client cannot forge another line through a
//! path or a reason. A line is written with one `write_all` on a locked standard error, so lines
//! of concurrent events never interleave.

use std::fmt::{Display, Write as _};
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One log line being built.
#[derive(Debug)]
pub struct Line(String);

impl Line {
    /// A line of `event`, stamped with the current time.
    pub fn new(event: &str) -> Line {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let mut s = String::with_capacity(128);
        s.push_str("ts=");
        s.push_str(&crate::time::format_rfc3339(now));
        Line(s).kv("event", event)
    }

    /// Appends `key=value`; `key` is one of this module's callers' literals.
    #[must_use]
    pub fn kv(mut self, key: &str, value: impl Display) -> Line {
        self.0.push(' ');
        self.0.push_str(key);
        self.0.push('=');
        push_value(&mut self.0, &value.to_string());
        self
    }

    /// Appends `key=` a duration in milliseconds, with microsecond precision.
    #[must_use]
    pub fn ms(self, key: &str, d: Duration) -> Line {
        let us = d.as_micros();
        self.kv(key, format_args!("{}.{:03}", us / 1000, us % 1000))
    }

    /// The line, without its newline.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// Writes the line to standard error. A failed write is dropped: logging never stops the
    /// service.
    pub fn emit(mut self) {
        self.0.push('\n');
        let _ = std::io::stderr().lock().write_all(self.0.as_bytes());
    }
}

fn push_value(out: &mut String, v: &str) {
    let bare = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'=' | b'\\'));
    if bare {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The longest path written in an `event=request` line, in characters; a longer one is cut and
/// ends in `...`, so a client cannot make one log line as long as its request head.
pub const MAX_LOGGED_PATH: usize = 256;

/// `event=request`: one per HTTP request answered, with the client's address, the method, the
/// path (no query: a query may carry a reader's selection), the status and the time from the
/// request's head received to the answer ready.
pub fn request(
    peer: Option<SocketAddr>,
    method: &impl Display,
    path: &str,
    status: u16,
    took: Duration,
) {
    let path = match path.char_indices().nth(MAX_LOGGED_PATH) {
        Some((cut, _)) => format!("{}...", &path[..cut]),
        None => path.to_owned(),
    };
    Line::new("request")
        .kv("peer", peer_text(peer))
        .kv("method", method)
        .kv("path", path)
        .kv("status", status)
        .ms("ms", took)
        .emit();
}

/// `event=batch`: one per batch the writer took off the queue, with its size, how many
/// registrations appended an entry, were in the log already, or were refused, and the time the
/// registration transaction took, commit included.
pub fn batch(size: usize, created: usize, repeated: usize, took: Duration) {
    Line::new("batch")
        .kv("size", size)
        .kv("created", created)
        .kv("repeated", repeated)
        .kv("refused", size.saturating_sub(created + repeated))
        .ms("ms", took)
        .emit();
}

/// `event=checkpoint`: one per checkpoint the writer signs (`outcome=signed`, the tree size and
/// the time signing took), or fails to sign (`outcome=failed` and the reason). `at` says when:
/// `start` (covering a predecessor's entries), `cadence`, or `stop`.
pub fn checkpoint(at: &str, outcome: Result<u64, &str>, took: Duration) {
    let line = Line::new("checkpoint").kv("at", at);
    match outcome {
        Ok(size) => line.kv("outcome", "signed").kv("size", size),
        Err(why) => line.kv("outcome", "failed").kv("reason", why),
    }
    .ms("ms", took)
    .emit();
}

/// `event=witnessing`: a round of asking the witnesses to cosign the checkpoint of `size`, with
/// its outcome (`published`, `not-published`, `witness-failed`, `failed`) and the message.
pub fn witnessing(size: Option<u64>, outcome: &str, msg: &str) {
    let mut line = Line::new("witnessing");
    if let Some(size) = size {
        line = line.kv("size", size);
    }
    line.kv("outcome", outcome).kv("msg", msg).emit();
}

fn peer_text(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "-".to_owned(), |p| p.to_string())
}

/// `event=tls` for a TLS handshake that failed: plain HTTP to the TLS port, a client that does
/// not trust the certificate, or a timeout.
pub fn tls_failed(peer: Option<SocketAddr>, why: &str) {
    Line::new("tls")
        .kv("peer", peer_text(peer))
        .kv("outcome", "failed")
        .kv("reason", why)
        .emit();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_and_escaped_so_one_event_is_one_line() {
        let l = Line::new("request")
            .kv("path", "/entries")
            .kv("reason", "bad \"thing\"\nnext=line\\")
            .kv("empty", "")
            .kv("ctl", "a\u{1b}b")
            .ms("ms", Duration::from_micros(12_345));
        let t = l.text();
        assert!(t.starts_with("ts="), "{t}");
        assert!(
            t.ends_with(
                " event=request path=/entries reason=\"bad \\\"thing\\\"\\nnext=line\\\\\" empty=\"\" ctl=\"a\\u{1b}b\" ms=12.345"
            ),
            "{t}"
        );
        assert!(!t.contains('\n'));
    }
}
