//! Tests: bootstrap.
