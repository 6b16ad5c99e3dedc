//! Assent: a multi-tenant consent service for identity platforms.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod enrich;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod seed;
pub mod server;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod verify;
