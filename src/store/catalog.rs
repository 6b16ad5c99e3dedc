//! Rows that change rarely and are read on every flow (environments, applications, an
//! environment's scopes) or every filtered list (what an `application.name` stands for), kept on
//! this node for a short while.
//!
//! Invalidation: every write this store makes to an environment, its applications or its scopes
//! forgets that environment's entries before the write returns, so this node never serves a row it
//! has changed. Another node's change is seen once the entry is older than `ttl`, the same bound
//! (`ASSENT_TOKEN_RECHECK_MS`, at most 1 s) within which another node's token revocation takes
//! effect. A `ttl` of zero keeps nothing.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use entities::{application, environment, scope};
use uuid::Uuid;

use super::consent_filter::NameMatch;

/// Most entries kept per kind; past that, the kind starts afresh (entries are cheap to reload).
const CAPACITY: usize = 10_000;

struct Entry<T> {
    loaded: Instant,
    value: Arc<T>,
}

/// One kind of cached row, by key.
struct Shelf<K, T>(RwLock<HashMap<K, Entry<T>>>);

impl<K: Eq + Hash, T> Default for Shelf<K, T> {
    fn default() -> Self {
        Self(RwLock::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, T> Shelf<K, T> {
    fn get(&self, key: &K, ttl: Duration) -> Option<Arc<T>> {
        let entries = self.0.read().ok()?;
        entries.get(key).filter(|entry| entry.loaded.elapsed() < ttl).map(|entry| entry.value.clone())
    }

    fn put(&self, key: K, value: Arc<T>, loaded: Instant) {
        if let Ok(mut entries) = self.0.write() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, Entry { loaded, value });
        }
    }

    fn forget(&self, keep: impl Fn(&K) -> bool) {
        if let Ok(mut entries) = self.0.write() {
            entries.retain(|key, _| keep(key));
        }
    }
}

/// The node's short-lived copies of environments, applications and scope lists.
#[derive(Default)]
pub(crate) struct Catalog {
    ttl: Duration,
    environments: Shelf<Uuid, environment::Model>,
    applications: Shelf<(Uuid, Uuid), application::Model>,
    scopes: Shelf<Uuid, Vec<scope::Model>>,
    /// What an `application.name` filter value stands for, by environment and name.
    names: Shelf<(Uuid, String), NameMatch>,
    /// Moved on by every `forget`.
    generation: AtomicU64,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// A read's start, taken before the database is asked. Its row is kept only if no write was
/// forgotten meanwhile (the read may have seen the row from before that write), and it is dated
/// from the start, so it never outlives `ttl` after what it read.
#[derive(Clone, Copy)]
pub(crate) struct ReadStart {
    at: Instant,
    generation: u64,
}

impl Catalog {
    /// Keeps entries for `ttl`.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self { ttl, ..Self::default() }
    }

    /// When a read that may fill the catalog starts.
    pub(crate) fn start(&self) -> ReadStart {
        ReadStart { at: Instant::now(), generation: self.generation.load(Ordering::Acquire) }
    }

    /// Whether a row read since `start` may be kept.
    fn keeps(&self, start: ReadStart) -> bool {
        !self.ttl.is_zero() && self.generation.load(Ordering::Acquire) == start.generation
    }

    pub(crate) fn environment(&self, env: Uuid) -> Option<Arc<environment::Model>> {
        self.environments.get(&env, self.ttl)
    }

    pub(crate) fn keep_environment(&self, start: ReadStart, row: environment::Model) -> Arc<environment::Model> {
        let row = Arc::new(row);
        if self.keeps(start) {
            self.environments.put(row.id, row.clone(), start.at);
        }
        row
    }

    pub(crate) fn application(&self, env: Uuid, id: Uuid) -> Option<Arc<application::Model>> {
        self.applications.get(&(env, id), self.ttl)
    }

    pub(crate) fn keep_application(&self, start: ReadStart, row: application::Model) -> Arc<application::Model> {
        let row = Arc::new(row);
        if self.keeps(start) {
            self.applications.put((row.environment_id, row.id), row.clone(), start.at);
        }
        row
    }

    pub(crate) fn scopes(&self, env: Uuid) -> Option<Arc<Vec<scope::Model>>> {
        self.scopes.get(&env, self.ttl)
    }

    pub(crate) fn keep_scopes(&self, start: ReadStart, env: Uuid, rows: Vec<scope::Model>) -> Arc<Vec<scope::Model>> {
        let rows = Arc::new(rows);
        if self.keeps(start) {
            self.scopes.put(env, rows.clone(), start.at);
        }
        rows
    }

    pub(super) fn name_match(&self, env: Uuid, name: &str) -> Option<Arc<NameMatch>> {
        self.names.get(&(env, name.to_owned()), self.ttl)
    }

    pub(super) fn keep_name_match(&self, start: ReadStart, env: Uuid, name: &str, found: NameMatch) -> Arc<NameMatch> {
        let found = Arc::new(found);
        if self.keeps(start) {
            self.names.put((env, name.to_owned()), found.clone(), start.at);
        }
        found
    }

    /// Forgets everything kept of `env`: call after any write to it, its applications (registered
    /// or external) or scopes.
    pub(crate) fn forget(&self, env: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.environments.forget(|id| *id != env);
        self.applications.forget(|(owner, _)| *owner != env);
        self.scopes.forget(|id| *id != env);
        self.names.forget(|(owner, _)| *owner != env);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_row(env: Uuid) -> scope::Model {
        let now = chrono::Utc::now();
        scope::Model {
            environment_id: env,
            id: Uuid::now_v7(),
            name: "invoices:read".into(),
            description: None,
            consent: "REQUIRED".into(),
            block_services: false,
            built_in: false,
            text_version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn entries_last_their_ttl_and_a_write_forgets_its_environment_only() {
        let catalog = Catalog::new(Duration::from_secs(60));
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        catalog.keep_scopes(catalog.start(), a, vec![scope_row(a)]);
        catalog.keep_scopes(catalog.start(), b, vec![scope_row(b)]);
        assert!(catalog.scopes(a).is_some());
        catalog.forget(a);
        assert!(catalog.scopes(a).is_none());
        assert!(catalog.scopes(b).is_some(), "another environment keeps its entries");

        let expired = Catalog::new(Duration::from_millis(1));
        expired.keep_scopes(expired.start(), a, vec![]);
        std::thread::sleep(Duration::from_millis(5));
        assert!(expired.scopes(a).is_none());
    }

    #[test]
    fn a_read_overtaken_by_a_write_is_not_kept() {
        let catalog = Catalog::new(Duration::from_secs(60));
        let env = Uuid::now_v7();
        let start = catalog.start();
        catalog.forget(env); // a write commits while the read is in flight
        catalog.keep_scopes(start, env, vec![scope_row(env)]);
        assert!(catalog.scopes(env).is_none());
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let catalog = Catalog::new(Duration::ZERO);
        let env = Uuid::now_v7();
        catalog.keep_scopes(catalog.start(), env, vec![]);
        assert!(catalog.scopes(env).is_none());
    }
}
