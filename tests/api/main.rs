//! Black-box tests: the real server on a random port over a fresh database per test.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod applications;
mod applications_consent;
mod bootstrap;
mod browser;
mod consent_migration;
mod consents_access;
mod consents_deletions;
mod consents_export;
mod consents_list;
mod consents_record;
mod consents_revoke;
mod consents_revoked_by;
mod consents_sdk;
mod consents_totals;
mod enrichment;
mod errors;
mod flow;
mod flow_refusals;
mod helpers;
mod hydra;
mod hydra_bounds;
mod hydra_sdk;
mod hydra_subjects;
mod limits;
mod node_project;
mod openapi_spec;
mod ops;
mod real_browser;
mod scopes;
mod shutdown;
mod slow_clients;
mod spec_conformance;
mod sqlite_migrations;
mod statements;
mod tenancy;
mod tenancy_matrix;
mod tokens;
mod trust;
mod ts_client;
mod two_nodes;
mod users;
mod worker_roles;
mod worker_roles_matrix;
