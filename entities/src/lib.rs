//! SeaORM entities of Assent's tables: shapes only, no logic (the store converts them to domain types).

pub mod application;
pub mod consent;
pub mod consent_scope;
pub mod environment;
pub mod external_application;
pub mod scope;
pub mod signing_key;
pub mod user;
