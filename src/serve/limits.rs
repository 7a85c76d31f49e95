//! Connection bounds: at most so many open connections per client IP address and in all, so that
//! clients holding connections open cannot starve the others (`specs/service.md`, "Connection
//! limits").

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;

use super::problem::{PROBLEM_CONTENT_TYPE, Problem};

/// Default of `limits.max_connections_per_client`.
pub const DEFAULT_PER_CLIENT: usize = 64;
/// Default of `limits.max_connections`.
pub const DEFAULT_TOTAL: usize = 1024;

/// The open connections, by client address.
#[derive(Debug)]
pub struct Connections {
    per_client: usize,
    total: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; its slot is given back when dropped.
#[derive(Debug)]
pub struct Slot {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    /// Bounds of `per_client` connections per client address and `total` in all.
    pub fn new(per_client: usize, total: usize) -> Arc<Connections> {
        Arc::new(Connections {
            per_client,
            total,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// Admits a connection from `ip`, or says which bound it is past.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Problem> {
        let mut g = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let (total, by_ip) = &mut *g;
        if *total >= self.total {
            return Err(Problem::new(
                503,
                "Service Unavailable",
                format!(
                    "the service has {} connections open, its limit (limits.max_connections); try again later",
                    self.total
                ),
            ));
        }
        let n = by_ip.entry(ip).or_insert(0);
        if *n >= self.per_client {
            return Err(Problem::new(
                429,
                "Too Many Requests",
                format!(
                    "{ip} has {} connections open, the limit per client (limits.max_connections_per_client); close some or reuse one",
                    self.per_client
                ),
            ));
        }
        *n += 1;
        *total += 1;
        Ok(Slot {
            connections: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut g = self
            .connections
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (total, by_ip) = &mut *g;
        *total -= 1;
        if let Some(n) = by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}

/// Answers a connection past a bound with `problem` and closes it, without reading the request.
pub async fn refuse(stream: TcpStream, problem: &Problem) {
    let body = problem.to_cbor();
    let status = if problem.status == 429 {
        "429 Too Many Requests"
    } else {
        "503 Service Unavailable"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {PROBLEM_CONTENT_TYPE}\r\nContent-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let bytes = [head.as_bytes(), &body].concat();
    let mut sent = 0;
    while sent < bytes.len() {
        if stream.writable().await.is_err() {
            return;
        }
        match stream.try_write(&bytes[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
    // Dropping the stream closes the connection.
}

#[cfg(test)]
mod tests {
    use super::Connections;
    use std::net::IpAddr;

    #[test]
    fn bounds_per_client_and_in_all_and_slots_come_back() {
        let c = Connections::new(2, 3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = c.admit(a).unwrap();
        let _a2 = c.admit(a).unwrap();
        assert_eq!(c.admit(a).unwrap_err().status, 429);
        let _b1 = c.admit(b).unwrap();
        assert_eq!(c.admit(b).unwrap_err().status, 503);
        drop(a1);
        let _a3 = c.admit(a).unwrap();
    }
}
