//! Tests: users.
