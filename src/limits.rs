//! Abuse limits: a request budget per environment, and guessing budgets for client authentication
//! (per client and per source address) and for sign-in (per source address). Token buckets (GCRA)
//! from `governor`, in memory on each node: a node enforces its own share, so N nodes allow up to N
//! times a budget in total.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::domain::ids::EnvironmentId;

/// How many requests and guesses are allowed, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitSettings {
    /// Sustained requests per second per environment.
    pub environment_requests_per_sec: u32,
    /// Requests an environment may send at once above the sustained rate.
    pub environment_burst: u32,
    /// Environments with a budget of their own (requests per second; the burst is twice that).
    pub environment_overrides: HashMap<EnvironmentId, u32>,
    /// Client-secret checks (those not already known good) per client per minute; also the burst.
    pub client_checks_per_client_per_min: u32,
    /// Client-secret checks per source address per minute; also the burst.
    pub client_checks_per_address_per_min: u32,
    /// Sign-in attempts per source address per minute; also the burst.
    pub logins_per_address_per_min: u32,
}

/// A refused request: it may be tried again after `retry_after` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    /// Whole seconds until the budget allows one more (at least 1).
    pub retry_after: u64,
}

/// What is being counted for a budget, for logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// An environment's requests.
    Environment,
    /// Client-secret checks of one client.
    ClientChecks,
    /// Client-secret checks from one address.
    AddressClientChecks,
    /// Sign-in attempts from one address.
    AddressLogins,
}

impl Budget {
    /// Every budget, in declaration order (a budget's index is its discriminant).
    pub const ALL: [Budget; 4] =
        [Budget::Environment, Budget::ClientChecks, Budget::AddressClientChecks, Budget::AddressLogins];

    /// The budget's name in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Budget::Environment => "environment_requests",
            Budget::ClientChecks => "client_secret_checks",
            Budget::AddressClientChecks => "address_secret_checks",
            Budget::AddressLogins => "address_logins",
        }
    }
}

/// Every budget of a node.
pub struct Limiters {
    environments: DefaultKeyedRateLimiter<EnvironmentId>,
    environment_overrides: HashMap<EnvironmentId, DefaultDirectRateLimiter>,
    client_checks: DefaultKeyedRateLimiter<(EnvironmentId, String)>,
    address_client_checks: DefaultKeyedRateLimiter<IpAddr>,
    address_logins: DefaultKeyedRateLimiter<IpAddr>,
    /// Requests refused, by budget, in [`Budget::ALL`] order.
    refusals: [AtomicU64; 4],
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(nonzero(n)).allow_burst(nonzero(n))
}

/// IPv6 hosts get a /64 each, so one host cannot spread its guesses over its own prefix.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

fn refused(
    refusals: &[AtomicU64; 4],
    not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>,
    budget: Budget,
) -> Limited {
    refusals[budget as usize].fetch_add(1, Ordering::Relaxed);
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    tracing::debug!(?budget, wait_ms = wait.as_millis() as u64, "request over budget");
    Limited { retry_after: wait.as_secs_f64().ceil().max(1.0) as u64 }
}

impl Limiters {
    /// Budgets as configured.
    pub fn new(settings: &LimitSettings) -> Self {
        let environment = Quota::per_second(nonzero(settings.environment_requests_per_sec))
            .allow_burst(nonzero(settings.environment_burst));
        let environment_overrides = settings
            .environment_overrides
            .iter()
            .map(|(env, rate)| {
                let quota = Quota::per_second(nonzero(*rate)).allow_burst(nonzero(rate.saturating_mul(2)));
                (*env, RateLimiter::direct(quota))
            })
            .collect();
        Self {
            environments: RateLimiter::keyed(environment),
            environment_overrides,
            client_checks: RateLimiter::keyed(per_minute(settings.client_checks_per_client_per_min)),
            address_client_checks: RateLimiter::keyed(per_minute(settings.client_checks_per_address_per_min)),
            address_logins: RateLimiter::keyed(per_minute(settings.logins_per_address_per_min)),
            refusals: Default::default(),
        }
    }

    /// Spends one request of `env`'s budget.
    pub fn environment_request(&self, env: EnvironmentId) -> Result<(), Limited> {
        let outcome = match self.environment_overrides.get(&env) {
            Some(own) => own.check(),
            None => self.environments.check_key(&env),
        };
        outcome.map_err(|not_until| refused(&self.refusals, not_until, Budget::Environment))
    }

    /// Spends one client-secret check of `client_id` and of `source`: both budgets must allow it.
    pub fn client_check(&self, env: EnvironmentId, client_id: &str, source: Option<IpAddr>) -> Result<(), Limited> {
        if let Some(source) = source {
            self.address_client_checks
                .check_key(&address_key(source))
                .map_err(|n| refused(&self.refusals, n, Budget::AddressClientChecks))?;
        }
        self.client_checks
            .check_key(&(env, client_id.to_owned()))
            .map_err(|n| refused(&self.refusals, n, Budget::ClientChecks))
    }

    /// Spends one sign-in attempt of `source`, whatever the username.
    pub fn login_attempt(&self, source: IpAddr) -> Result<(), Limited> {
        self.address_logins
            .check_key(&address_key(source))
            .map_err(|n| refused(&self.refusals, n, Budget::AddressLogins))
    }

    /// Requests refused so far, by budget.
    pub fn refusals(&self) -> [(Budget, u64); 4] {
        Budget::ALL.map(|budget| (budget, self.refusals[budget as usize].load(Ordering::Relaxed)))
    }

    /// Forgets keys whose buckets are full again, so memory follows the active keys only.
    pub fn forget_idle(&self) {
        self.environments.retain_recent();
        self.environments.shrink_to_fit();
        self.client_checks.retain_recent();
        self.client_checks.shrink_to_fit();
        self.address_client_checks.retain_recent();
        self.address_client_checks.shrink_to_fit();
        self.address_logins.retain_recent();
        self.address_logins.shrink_to_fit();
    }
}

/// Forgets idle keys every minute, for as long as the server runs.
pub async fn forget_idle_every_minute(limiters: std::sync::Arc<Limiters>) {
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        limiters.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's own defaults, so these tests cannot drift from them.
    fn defaults() -> LimitSettings {
        crate::config::Config::default().limit_settings().expect("default limits are valid")
    }

    #[test]
    fn ipv6_addresses_share_a_budget_per_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(address_key(mapped), "203.0.113.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_spent_budget_says_when_to_come_back() {
        let limiters = Limiters::new(&LimitSettings { logins_per_address_per_min: 2, ..defaults() });
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(limiters.login_attempt(ip).is_ok());
        assert!(limiters.login_attempt(ip).is_ok());
        let refused = limiters.login_attempt(ip).unwrap_err();
        assert!((1..=30).contains(&refused.retry_after), "{refused:?}");
        assert!(limiters.login_attempt("198.51.100.2".parse().unwrap()).is_ok(), "another address has its own");
    }

    #[test]
    fn an_environment_with_its_own_budget_is_held_to_it_and_others_are_not() {
        let env = EnvironmentId::new();
        let other = EnvironmentId::new();
        let settings = LimitSettings { environment_overrides: HashMap::from([(env, 1)]), ..defaults() };
        let limiters = Limiters::new(&settings);
        assert!(limiters.environment_request(env).is_ok());
        assert!(limiters.environment_request(env).is_ok(), "burst of twice the rate");
        assert!(limiters.environment_request(env).is_err());
        for _ in 0..100 {
            assert!(limiters.environment_request(other).is_ok());
        }
    }
}
