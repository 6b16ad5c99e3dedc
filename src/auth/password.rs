//! Argon2id hashing of passwords and client secrets, off the async threads, through a gate that
//! bounds the work: at most one hash per core at a time, a bounded queue behind them, and callers
//! beyond the queue refused at once (503 with `Retry-After`) instead of piling up.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use tokio::sync::Semaphore;

use crate::domain::error::DomainError;

/// The Argon2 gate: workers at once, and how many may wait for one.
struct Gate {
    workers: Semaphore,
    waiting: AtomicUsize,
    queue: usize,
}

static GATE: OnceLock<Gate> = OnceLock::new();

/// Password checks refused because the Argon2 queue was full, since the process started.
static ARGON2_REFUSALS: AtomicU64 = AtomicU64::new(0);

/// How many password checks the full Argon2 queue has refused (process-wide, like the gate).
pub fn argon2_refusals() -> u64 {
    ARGON2_REFUSALS.load(Ordering::Relaxed)
}

/// Sizes the gate: `workers` hashes at once (0 = one per core) and `queue` callers waiting. The
/// first call wins; the gate is process-wide because the cores it shares are.
pub fn configure_gate(workers: usize, queue: usize) {
    let workers = if workers == 0 { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { workers };
    let _ = GATE.set(Gate { workers: Semaphore::new(workers), waiting: AtomicUsize::new(0), queue });
}

fn gate() -> &'static Gate {
    GATE.get_or_init(|| {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Gate { workers: Semaphore::new(workers), waiting: AtomicUsize::new(0), queue: DEFAULT_QUEUE }
    })
}

/// Callers that may wait for an Argon2 worker by default.
pub const DEFAULT_QUEUE: usize = 64;

impl Gate {
    /// Runs `work` on a blocking thread once a worker is free, or refuses it when the queue is full.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, DomainError> {
        let waiting = self.waiting.fetch_add(1, Ordering::AcqRel);
        if waiting >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            ARGON2_REFUSALS.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(waiting, "argon2 queue full; request refused");
            return Err(DomainError::Busy(1));
        }
        let permit = self.workers.acquire().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let _permit = permit.map_err(|e| DomainError::Unexpected(format!("argon2 gate closed: {e}")))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| DomainError::Unexpected(format!("argon2 task: {e}")))
    }
}

/// Runs one Argon2 computation through the process-wide gate.
async fn gated<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, DomainError> {
    gate().run(work).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn callers_beyond_the_queue_are_refused_at_once_and_the_rest_are_served() {
        let gate = std::sync::Arc::new(Gate { workers: Semaphore::new(1), waiting: AtomicUsize::new(0), queue: 2 });
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = std::sync::Arc::new(std::sync::Mutex::new(hold));
        let calls: Vec<_> = (0..5)
            .map(|_| {
                let (gate, hold) = (gate.clone(), hold.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let _ = hold.lock().map(|h| h.recv());
                    })
                    .await
                })
            })
            .collect();
        // Wait until the worker is taken and the queue holds the rest it can.
        while gate.waiting.load(Ordering::Acquire) < 1 || gate.workers.available_permits() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        for _ in 0..5 {
            let _ = release.send(());
        }
        let mut served = 0;
        let mut busy = 0;
        for call in calls {
            match call.await.expect("task") {
                Ok(()) => served += 1,
                Err(DomainError::Busy(seconds)) => {
                    assert_eq!(seconds, 1);
                    busy += 1;
                }
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(busy, 2, "one running, two waiting, two refused");
        assert_eq!(served, 3);
    }
}

/// Hashes a secret into a PHC string (Argon2id, the crate's OWASP-recommended defaults).
pub async fn hash(secret: String) -> Result<String, DomainError> {
    gated(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::Unexpected(format!("argon2 hash: {e}")))
    })
    .await?
}

/// Remembers secrets that verified against a stored hash, so a client authenticating again does not
/// pay for Argon2 each time. Keyed by SHA-256 of (stored hash, secret): rotating a secret changes the
/// stored hash, so old entries can never match again, on any node.
#[derive(Debug, Default)]
pub struct VerifiedSecrets {
    known: std::sync::RwLock<std::collections::HashSet<[u8; 32]>>,
}

/// Whose secret is checked, for the guessing budgets.
#[derive(Clone, Copy, Debug)]
pub struct SecretCheck<'a> {
    /// The environment.
    pub env: crate::domain::ids::EnvironmentId,
    /// The client id as presented.
    pub client_id: &'a str,
    /// Where the request came from.
    pub source: Option<std::net::IpAddr>,
}

/// Most remembered verifications.
const VERIFIED_CAPACITY: usize = 10_000;

impl VerifiedSecrets {
    /// Like [`verify`], answering from memory when this exact pair verified before. Every other
    /// check (in practice: every wrong secret) spends the client's and the source address's
    /// guessing budgets first, and is refused unevaluated when either is spent.
    pub async fn verify(
        &self,
        phc: String,
        candidate: String,
        check: SecretCheck<'_>,
        limiters: &crate::limits::Limiters,
    ) -> Result<bool, SecretRefused> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(phc.as_bytes());
        hasher.update([0u8]);
        hasher.update(candidate.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        if self.known.read().is_ok_and(|known| known.contains(&key)) {
            return Ok(true);
        }
        limiters.client_check(check.env, check.client_id, check.source).map_err(SecretRefused::Limited)?;
        let ok = verify(phc, candidate).await.map_err(SecretRefused::Domain)?;
        if ok && let Ok(mut known) = self.known.write() {
            if known.len() >= VERIFIED_CAPACITY {
                known.clear();
            }
            known.insert(key);
        }
        Ok(ok)
    }
}

/// Why a secret was not checked.
#[derive(Debug)]
pub enum SecretRefused {
    /// A guessing budget is spent.
    Limited(crate::limits::Limited),
    /// Argon2 is saturated, or failed.
    Domain(DomainError),
}

/// Checks a candidate against a PHC string; a malformed stored hash counts as a mismatch.
pub async fn verify(phc: String, candidate: String) -> Result<bool, DomainError> {
    gated(move || match PasswordHash::new(&phc) {
        Ok(parsed) => Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .await
}
