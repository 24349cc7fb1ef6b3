//! [`MemoryStore`]: every store port of `castellan_core` over plain in-memory tables, with the
//! semantics of the SQL store (`castellan-store`): the same uniqueness and missing-row errors,
//! all-or-nothing writes, and each write's activity event appended to the hash chain in the same
//! "transaction", sealed by core's own [`ActivityEvent::chain`].
//!
//! One mutex guards the whole state, so writes are serialized like SQLite's single writer. A
//! write works on a copy of the tables and swaps it in only when it succeeds, then appends its
//! events: a failed write leaves nothing behind. The copy costs a clone of the tables per write,
//! which is nothing at test sizes (thousands of rows) and the reason this is not a production
//! store.
//!
//! Times are kept at millisecond precision, as the SQL store keeps them, so a record read back
//! equals the record written when it was written with millisecond times.

mod accounts;
mod activity;
mod app_sessions;
mod collections;
mod hubs;
mod inbox;
mod job_steps;
mod jobs;
mod manual;
mod oauth2;
mod people;
mod tables;
mod teams;
mod vaults;

use std::sync::{Arc, Mutex, MutexGuard};

use castellan_core::activity::{ActivityEvent, ChainHead, NewEvent, GENESIS_HASH};
use castellan_core::ports::Store;
use castellan_core::{CoreError, CoreResult};

pub(crate) use tables::Tables;

/// The activity log and its head, kept outside the tables: appended to, never copied.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    events: Vec<ActivityEvent>,
    head: ChainHead,
}

impl Default for Chain {
    fn default() -> Self {
        Self {
            events: vec![],
            head: ChainHead {
                seq: 0,
                hash: GENESIS_HASH.to_owned(),
            },
        }
    }
}

impl Chain {
    /// Seals `ev` after the head with core's chaining rule and moves the head.
    fn append(&mut self, ev: &NewEvent) -> ActivityEvent {
        let sealed = ActivityEvent::chain(ev, self.head.seq + 1, &self.head.hash);
        self.head = ChainHead {
            seq: sealed.seq,
            hash: sealed.hash.clone(),
        };
        self.events.push(sealed.clone());
        sealed
    }
}

#[derive(Debug, Default)]
struct State {
    tables: Tables,
    chain: Chain,
    unavailable: Option<String>,
}

/// A write in progress: a private copy of the tables and the events to append on success.
pub(crate) struct Tx<'a> {
    /// The tables as this write sees them.
    pub(crate) t: Tables,
    /// Events to append, in order, when the write succeeds.
    events: Vec<NewEvent>,
    /// The chain as it was when the write began (reads inside a write, e.g. throttling).
    chain: &'a Chain,
}

impl Tx<'_> {
    /// Queues `ev` for the chain; it is sealed only when the write commits.
    pub(crate) fn append(&mut self, ev: &NewEvent) {
        self.events.push(ev.clone());
    }

    /// The events on the chain when the write began.
    pub(crate) fn chain(&self) -> &[ActivityEvent] {
        &self.chain.events
    }
}

/// An in-memory implementation of every store port (`Arc<MemoryStore>` is an
/// `Arc<dyn Store>`). Clones share one state, like two instances on one database.
///
/// Besides the ports it has a few test hooks: [`MemoryStore::tamper_event`] (to prove that
/// verification finds a changed event) and [`MemoryStore::set_unavailable`] (every call fails
/// with `CoreError::Unavailable`, as a store that cannot be reached).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store: no workspace, an empty activity log (head `0`, [`GENESIS_HASH`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The state, even when a panicking test poisoned the lock.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a read on the current tables. `Unavailable` when the store was set unavailable.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Tables) -> CoreResult<T>) -> CoreResult<T> {
        let st = self.lock();
        if let Some(why) = &st.unavailable {
            return Err(CoreError::Unavailable(why.clone()));
        }
        f(&st.tables)
    }

    /// Runs a read on the chain.
    pub(crate) fn read_chain<T>(&self, f: impl FnOnce(&Chain) -> T) -> CoreResult<T> {
        let st = self.lock();
        if let Some(why) = &st.unavailable {
            return Err(CoreError::Unavailable(why.clone()));
        }
        Ok(f(&st.chain))
    }

    /// Runs a write as one transaction: `f` changes a copy of the tables and queues events;
    /// on `Ok` the copy replaces the tables and the events are sealed onto the chain, in order;
    /// on `Err` nothing changes. Returns `f`'s value and the sealed events.
    pub(crate) fn write_sealed<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> CoreResult<T>,
    ) -> CoreResult<(T, Vec<ActivityEvent>)> {
        let mut st = self.lock();
        if let Some(why) = &st.unavailable {
            return Err(CoreError::Unavailable(why.clone()));
        }
        let State { tables, chain, .. } = &mut *st;
        let mut tx = Tx {
            t: tables.clone(),
            events: vec![],
            chain: &*chain,
        };
        let out = f(&mut tx)?;
        let Tx { t, events, .. } = tx;
        *tables = t;
        let sealed = events.iter().map(|ev| chain.append(ev)).collect();
        Ok((out, sealed))
    }

    /// [`Self::write_sealed`] without the sealed events.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> CoreResult<T>) -> CoreResult<T> {
        self.write_sealed(f).map(|(out, _)| out)
    }

    /// Test hook: changes the stored event at `seq` in place (its hash is left as it was), as
    /// someone editing the database would. Returns `false` when there is no such event.
    pub fn tamper_event(&self, seq: i64, change: impl FnOnce(&mut ActivityEvent)) -> bool {
        let mut st = self.lock();
        match st.chain.events.iter_mut().find(|e| e.seq == seq) {
            Some(e) => {
                change(e);
                true
            }
            None => false,
        }
    }

    /// Test hook: removes the stored event at `seq` (the head is left as it was). Returns
    /// `false` when there is no such event.
    pub fn remove_event(&self, seq: i64) -> bool {
        let mut st = self.lock();
        let before = st.chain.events.len();
        st.chain.events.retain(|e| e.seq != seq);
        st.chain.events.len() != before
    }

    /// Test hook: with `Some(reason)`, every later call fails with
    /// `CoreError::Unavailable(reason)` until it is called again with `None`.
    pub fn set_unavailable(&self, reason: Option<&str>) {
        self.lock().unavailable = reason.map(str::to_owned);
    }
}

impl Store for MemoryStore {
    /// `"memory"`.
    fn backend(&self) -> &'static str {
        "memory"
    }
}
