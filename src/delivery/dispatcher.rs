//! The dispatcher: on every node, finds subscriptions with events waiting after their cursor,
//! takes a subscription's lease in the database (so one node at a time delivers it, in order),
//! sends each subscribed event, and moves the cursor only after the destination took it. A node
//! killed mid-delivery loses only its unsaved progress: the lease runs out, another run starts at
//! the saved cursor, and events are sent again with the same `webhook-id` (at least once).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use rand::Rng;
use uuid::Uuid;

use super::sender::{Sender, Sent};
use super::{DeliverySettings, DeliveryStats};
use crate::auth::secrets::SecretBox;
use crate::domain::error::{DomainError, FieldError};
use crate::domain::ids::{EnvironmentId, SubscriptionId};
use crate::domain::proof::ChainedEvent;
use crate::domain::proof::log::contents;
use crate::domain::webhooks::{Attempt, message};
use crate::store::{Progress, Store, StoreError};

/// Events read from the log per query.
const EVENTS_PER_READ: u64 = 100;
/// Progress is saved at least this often while a run delivers…
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// …or after this many attempts, whichever comes first.
const SAVE_AFTER_ATTEMPTS: usize = 100;

/// The shortest time between two looks for waiting subscriptions that commits woke.
const SCAN_SPACING: std::time::Duration = std::time::Duration::from_millis(5);

/// One node's dispatcher.
pub struct Dispatcher {
    store: Store,
    secrets: SecretBox,
    sender: Sender,
    settings: DeliverySettings,
    stats: DeliveryStats,
    /// This process, as the holder of leases.
    node: Uuid,
    /// Subscriptions this node is delivering now.
    running: Mutex<HashSet<(EnvironmentId, SubscriptionId)>>,
}

/// A delivery run's state, saved as [`Progress`].
struct Run {
    through: i64,
    failures: u32,
    failing_since: Option<DateTime<Utc>>,
    lease_until: DateTime<Utc>,
    attempts: Vec<Attempt>,
    saved_at: Instant,
}

fn chrono_of(duration: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

impl Dispatcher {
    /// A dispatcher over `store`, sending with `sender`.
    pub fn new(
        store: Store,
        secrets: SecretBox,
        sender: Sender,
        settings: DeliverySettings,
        stats: DeliveryStats,
    ) -> Self {
        Self { store, secrets, sender, settings, stats, node: Uuid::new_v4(), running: Mutex::default() }
    }

    /// Delivers for as long as the server runs: after this node commits events, and every poll
    /// interval for events other nodes committed (or retries that came due). While no environment
    /// has an enabled subscription (checked each poll interval), commits cost it nothing.
    pub async fn run(self: Arc<Self>) {
        let wake = self.store.events_appended();
        let mut poll = tokio::time::interval(self.settings.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut armed = false;
        let mut scanned = Instant::now();
        loop {
            tokio::select! {
                _ = poll.tick() => {
                    armed = match self.store.any_enabled_subscription().await {
                        Ok(any) => any,
                        Err(error) => {
                            tracing::warn!(%error, "looking for webhook subscriptions failed");
                            true
                        }
                    };
                    self.measure_backlog(armed).await;
                }
                _ = wake.notified() => {
                    if !armed {
                        continue;
                    }
                    // Under a stream of commits, look at most once per spacing: each look finds
                    // every event committed since the last.
                    if let Some(rest) = SCAN_SPACING.checked_sub(scanned.elapsed()) {
                        tokio::time::sleep(rest).await;
                    }
                }
            }
            if armed {
                scanned = Instant::now();
                self.start_waiting().await;
            }
        }
    }

    /// Sets the backlog gauge (0 while no subscription is enabled, without asking the database).
    async fn measure_backlog(&self, armed: bool) {
        let waiting = if armed { self.store.webhook_backlog().await } else { Ok(0) };
        match waiting {
            Ok(waiting) => self.stats.backlog.set(waiting),
            Err(error) => tracing::warn!(%error, "measuring the webhook backlog failed"),
        }
    }

    /// Gives up every lease this node holds (at shutdown; runs in progress were stopped first, so
    /// their unsaved progress is delivered again).
    pub async fn release_leases(&self) {
        if let Err(error) = self.store.release_leases(self.node).await {
            tracing::warn!(%error, "releasing webhook leases failed; other nodes wait for them to expire");
        }
    }

    fn running(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(usize::MAX)
    }

    /// Starts a run for each waiting subscription, up to the concurrency.
    async fn start_waiting(self: &Arc<Self>) {
        let free = self.settings.concurrency.saturating_sub(self.running());
        if free == 0 {
            return;
        }
        let waiting = match self.store.waiting_subscriptions(Utc::now(), free as u64).await {
            Ok(waiting) => waiting,
            Err(error) => {
                tracing::warn!(%error, "looking for waiting webhook deliveries failed");
                return;
            }
        };
        for key in waiting {
            let Ok(mut running) = self.running.lock() else { return };
            if running.len() >= self.settings.concurrency || !running.insert(key) {
                continue;
            }
            drop(running);
            let this = self.clone();
            tokio::spawn(async move {
                let (env, id) = key;
                if let Err(error) = this.deliver(env, id).await {
                    tracing::warn!(%error, environment = %env, subscription = %id, "a webhook delivery run failed");
                }
                if let Ok(mut running) = this.running.lock() {
                    running.remove(&key);
                }
                // Look again at once: more may be waiting than one run took.
                this.store.events_appended().notify_one();
            });
        }
    }

    /// One run: takes the lease and delivers until the subscription is caught up or fails.
    async fn deliver(&self, env: EnvironmentId, id: SubscriptionId) -> Result<(), StoreError> {
        let now = Utc::now();
        let lease = chrono_of(self.settings.lease);
        let Some((subscription, sealed)) = self.store.claim_subscription(env, id, self.node, now, now + lease).await?
        else {
            return Ok(());
        };
        let mut run = Run {
            through: subscription.delivery.delivered_through,
            failures: subscription.delivery.failures,
            failing_since: subscription.delivery.failing_since,
            lease_until: now + lease,
            attempts: Vec::new(),
            saved_at: Instant::now(),
        };
        let secrets = match sealed.signing(&self.secrets, now) {
            Ok(secrets) => secrets,
            Err(error) => {
                tracing::error!(%error, environment = %env, subscription = %id, "a subscription's secret cannot be opened");
                return self.finish(env, id, &mut run, Some(now + chrono::Duration::minutes(1)), None).await;
            }
        };
        loop {
            let events = self.store.list_events(env, run.through, EVENTS_PER_READ).await?;
            if events.is_empty() {
                return self.finish(env, id, &mut run, None, None).await;
            }
            let (subscribed, skipped): (Vec<ChainedEvent>, Vec<ChainedEvent>) =
                events.into_iter().partition(|e| subscription.event_types.contains(&e.event.kind));
            let bodies = contents(&self.store, env, &subscribed).await.map_err(domain_to_store)?;
            let last_skipped = skipped.last().map(|e| e.sequence);
            for (event, content) in subscribed.into_iter().zip(bodies) {
                if !self.keep_lease(env, id, &mut run).await? {
                    return Ok(());
                }
                let message = message(&event, content);
                let attempted_at = Utc::now();
                let sent = self.sender.send(&subscription.url, &message, &secrets, attempted_at.timestamp()).await;
                let mut attempt = attempt_of(&event, id, attempted_at, &sent, false);
                if sent.delivered() {
                    self.stats.delivered.inc();
                    if let Ok(lag) = (Utc::now() - event.event.at).to_std() {
                        self.stats.lag.observe(lag.as_secs_f64());
                    }
                    run.through = event.sequence;
                    run.failures = 0;
                    run.failing_since = None;
                    run.attempts.push(attempt);
                    continue;
                }
                self.stats.failed.inc();
                run.failures += 1;
                let since = *run.failing_since.get_or_insert(attempted_at);
                let retry = &self.settings.retry;
                if retry.gives_up(since, attempted_at) {
                    self.stats.disabled.inc();
                    let reason = format!(
                        "Disabled at {}: deliveries failed {} times in a row since {}; the last attempt {}.",
                        attempted_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        run.failures,
                        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        sent.error.as_deref().unwrap_or("failed"),
                    );
                    tracing::warn!(environment = %env, subscription = %id, %reason, "webhook subscription disabled");
                    run.attempts.push(attempt);
                    return self.finish(env, id, &mut run, None, Some(reason)).await;
                }
                let next = attempted_at + chrono_of(retry.delay(run.failures, rand::thread_rng().r#gen::<f64>()));
                attempt.next_attempt_at = Some(next);
                run.attempts.push(attempt);
                return self.finish(env, id, &mut run, Some(next), None).await;
            }
            // Every subscribed event of the read was taken: events of other types after them are passed.
            run.through = run.through.max(last_skipped.unwrap_or(run.through));
        }
    }

    /// Saves progress when due, renewing the lease (and always before the lease could run out
    /// during the next request); false when the lease is no longer this node's.
    async fn keep_lease(&self, env: EnvironmentId, id: SubscriptionId, run: &mut Run) -> Result<bool, StoreError> {
        let now = Utc::now();
        let margin = chrono_of(self.settings.timeout) + chrono::Duration::seconds(1);
        let due = run.attempts.len() >= SAVE_AFTER_ATTEMPTS
            || run.saved_at.elapsed() >= SAVE_EVERY
            || run.lease_until - now < margin;
        if !due {
            return Ok(true);
        }
        run.lease_until = now + chrono_of(self.settings.lease);
        self.save(env, id, run, Some(run.lease_until), None, None).await
    }

    /// Saves the run's progress and releases the lease.
    async fn finish(
        &self,
        env: EnvironmentId,
        id: SubscriptionId,
        run: &mut Run,
        next_attempt_at: Option<DateTime<Utc>>,
        disabled_reason: Option<String>,
    ) -> Result<(), StoreError> {
        self.save(env, id, run, None, next_attempt_at, disabled_reason).await.map(|_| ())
    }

    async fn save(
        &self,
        env: EnvironmentId,
        id: SubscriptionId,
        run: &mut Run,
        lease_until: Option<DateTime<Utc>>,
        next_attempt_at: Option<DateTime<Utc>>,
        disabled_reason: Option<String>,
    ) -> Result<bool, StoreError> {
        let progress = Progress {
            delivered_through: run.through,
            failures: run.failures,
            failing_since: run.failing_since,
            next_attempt_at,
            lease_until,
            disabled_reason,
        };
        let kept = self.store.save_progress(env, id, self.node, &progress, &run.attempts).await?;
        run.attempts.clear();
        run.saved_at = Instant::now();
        Ok(kept)
    }
}

fn attempt_of(
    event: &ChainedEvent,
    subscription: SubscriptionId,
    attempted_at: DateTime<Utc>,
    sent: &Sent,
    manual: bool,
) -> Attempt {
    Attempt {
        id: Uuid::now_v7(),
        environment_id: event.environment,
        subscription_id: subscription,
        sequence: event.sequence,
        event_type: event.event.kind,
        attempted_at,
        status_code: sent.status,
        latency: sent.latency,
        error: sent.error.clone(),
        delivered: sent.delivered(),
        manual,
        next_attempt_at: None,
    }
}

fn domain_to_store(error: DomainError) -> StoreError {
    StoreError::Database(error.to_string())
}

/// Sends event `sequence` of `env` to subscription `id` once more, now, whatever its cursor or
/// state, and logs the attempt; answers it. The message has the id it always has, so a receiver
/// that already has it can drop it.
pub async fn replay(
    store: &Store,
    secrets: &SecretBox,
    sender: &Sender,
    env: EnvironmentId,
    id: SubscriptionId,
    sequence: i64,
) -> Result<Attempt, DomainError> {
    let (subscription, sealed) = store.subscription_with_secrets(env, id).await?;
    if sequence < 1 {
        return Err(DomainError::field(FieldError::invalid("sequence", "'sequence' must be at least 1.")));
    }
    let event =
        store.list_events(env, sequence - 1, 1).await?.into_iter().find(|e| e.sequence == sequence).ok_or_else(
            || {
                DomainError::field(FieldError::invalid(
                    "sequence",
                    format!("There is no event {sequence} in this environment's log."),
                ))
            },
        )?;
    if !subscription.event_types.contains(&event.event.kind) {
        return Err(DomainError::InvalidState(format!(
            "Event {sequence} is a {} event, which this subscription does not receive.",
            event.event.kind.name()
        )));
    }
    let signing = sealed.signing(secrets, Utc::now()).map_err(DomainError::Unexpected)?;
    let content = contents(store, env, std::slice::from_ref(&event)).await?.pop().flatten();
    let attempted_at = Utc::now();
    let sent = sender.send(&subscription.url, &message(&event, content), &signing, attempted_at.timestamp()).await;
    let attempt = attempt_of(&event, id, attempted_at, &sent, true);
    store.insert_attempt(&attempt).await?;
    Ok(attempt)
}
