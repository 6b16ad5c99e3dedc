//! Black-box tests: the real server on a random port over a fresh database per test.

mod applications;
mod bootstrap;
mod consents_list;
mod consents_record;
mod enrichment;
mod errors;
mod helpers;
mod openapi_spec;
mod tenancy;
mod tokens;
mod users;
