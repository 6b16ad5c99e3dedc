//! SeaORM entities of Assent's tables: shapes only, no logic (the store converts them to domain types).

pub mod application;
pub mod application_name;
pub mod authorization_code;
pub mod authorization_request;
pub mod browser_session;
pub mod consent;
pub mod consent_checkpoint;
pub mod consent_event;
pub mod consent_event_head;
pub mod consent_scope;
pub mod environment;
pub mod external_application;
pub mod grant;
pub mod grant_consent;
pub mod idempotency_key;
pub mod login_throttle;
pub mod refresh_token;
pub mod retired_subject;
pub mod revoked_token;
pub mod scope;
pub mod scope_text;
pub mod signing_key;
pub mod user;
pub mod webhook_attempt;
pub mod webhook_subscription;
