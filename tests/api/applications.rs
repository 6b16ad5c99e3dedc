//! Tests: applications.
