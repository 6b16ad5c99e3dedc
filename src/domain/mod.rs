//! Domain rules and use cases. No HTTP and no SQL types here: use cases call the store with domain types.

pub mod account;
pub mod applications;
pub mod consents;
pub mod environments;
pub mod error;
pub mod filter;
pub mod flow;
pub mod grants;
pub mod ids;
pub mod paging;
pub mod proof;
pub mod scopes;
pub mod subjects;
pub mod subscriptions;
pub mod text;
pub mod tokens;
pub mod user_data;
pub mod users;
pub mod webhooks;

/// `at` moved on by `by`; an error where chrono's `+` would panic (beyond the year 262143).
pub fn later(
    at: chrono::DateTime<chrono::Utc>,
    by: chrono::Duration,
) -> Result<chrono::DateTime<chrono::Utc>, error::DomainError> {
    at.checked_add_signed(by).ok_or_else(|| error::DomainError::Unexpected(format!("{at} + {by} is out of range")))
}

/// The current instant at the wire's precision (milliseconds), so stored and returned timestamps agree
/// and `consentedAt eq` filters can match what a client was shown.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(3)
}
