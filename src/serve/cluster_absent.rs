//! A build without the `postgres` feature has no shared ledgers: this stands in for the cluster
//! of `cluster.rs` with a type that has no values, so the writer has one body for both builds.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use super::writer::{Job, Pending};
use crate::ledger::Ledger;

/// No value of this type exists: every method is unreachable.
pub enum Cluster {}

/// No value of this type exists.
pub enum Taken {}

impl Cluster {
    /// Unreachable.
    pub fn wake(&self) -> Arc<Notify> {
        match *self {}
    }
    /// Unreachable.
    pub fn wake_at(&self) -> Instant {
        match *self {}
    }
    /// Unreachable.
    pub fn epoch(&self) -> u64 {
        match *self {}
    }
    /// Unreachable.
    pub fn sequencing(&self) -> bool {
        match *self {}
    }
    /// Unreachable.
    pub fn tick(&mut self, _: &mut Ledger) -> bool {
        match *self {}
    }
    /// Unreachable.
    pub fn release(&mut self) {
        match *self {}
    }
    /// Unreachable.
    pub fn take(&mut self, _: usize) -> (Vec<Job>, Vec<Taken>) {
        match *self {}
    }
    /// Unreachable.
    pub fn settle(&mut self, _: Vec<Taken>, _: &[Pending]) {
        match *self {}
    }
    /// Unreachable.
    pub fn forward(&mut self, _: Vec<Job>) {
        match *self {}
    }
    /// Unreachable.
    pub fn collect(&mut self, _: &Ledger) {
        match *self {}
    }
    /// Unreachable.
    pub fn adopt(&mut self, _: Vec<Pending>) {
        match *self {}
    }
    /// Unreachable.
    pub fn signed(&self) {
        match *self {}
    }
}
