//! The domain's error type: what went wrong in terms of the rules, never of HTTP or SQL.

use crate::store::StoreError;

/// One field that failed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// What kind of problem (see [`FieldErrorKind`]).
    pub kind: FieldErrorKind,
    /// The field, in wire notation (`name.given`, `redirectUris[1]`).
    pub target: String,
    /// A sentence for the API user.
    pub message: String,
}

/// Kinds of field problems; each maps to a PingOne detail code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// A required value is missing.
    Required,
    /// A value has the wrong type, format or range.
    Invalid,
    /// A value must be unique and is already taken.
    Uniqueness,
    /// A filter expression is malformed or unsupported.
    InvalidFilter,
}

impl FieldError {
    /// A missing required field.
    pub fn required(target: impl Into<String>) -> Self {
        let target = target.into();
        let message = format!("'{target}' is required.");
        Self { kind: FieldErrorKind::Required, target, message }
    }

    /// A field whose value breaks a rule.
    pub fn invalid(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind: FieldErrorKind::Invalid, target: target.into(), message: message.into() }
    }

    /// A field whose value must be unique and is taken.
    pub fn taken(target: impl Into<String>) -> Self {
        let target = target.into();
        let message = format!("'{target}' is already in use.");
        Self { kind: FieldErrorKind::Uniqueness, target, message }
    }
}

/// Everything a use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input breaks one or more rules.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    /// The request is well-formed but not allowed in the resource's current state.
    #[error("{0}")]
    InvalidState(String),
    /// A `filter` expression is malformed or uses what the collection does not support.
    #[error("invalid filter: {message}")]
    InvalidFilter {
        /// What is wrong, for the API user.
        message: String,
        /// Attributes the collection can filter on.
        supported_attributes: Vec<String>,
        /// Operators the collection supports.
        supported_operators: Vec<String>,
    },
    /// The resource does not exist in this environment (or the caller may not know it exists).
    #[error("not found")]
    NotFound,
    /// The caller is authenticated but lacks the permission.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Too many failed attempts; try again after this many seconds.
    #[error("too many attempts; retry after {0} s")]
    TooManyAttempts(u64),
    /// The server is saturated with password work; try again after this many seconds.
    #[error("busy; retry after {0} s")]
    Busy(u64),
    /// Storage or another dependency failed; the cause is logged, never shown.
    #[error("unexpected: {0}")]
    Unexpected(String),
}

impl DomainError {
    /// One invalid field.
    pub fn field(error: FieldError) -> Self {
        Self::Invalid(vec![error])
    }
}

impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => DomainError::NotFound,
            StoreError::Conflict(field) => DomainError::field(FieldError::taken(field)),
            StoreError::Database(cause) => DomainError::Unexpected(cause),
        }
    }
}

/// Collects field errors so a request reports all its problems at once.
#[derive(Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// A validator that already knows `problems` (found while reading the input); a later error
    /// about the same field, or a field inside it, is not repeated.
    pub fn with_problems(problems: Vec<FieldError>) -> Self {
        Self { errors: problems }
    }

    /// Records an error, unless its field (or one containing it) already has one.
    pub fn push(&mut self, error: FieldError) {
        let covered = |known: &FieldError| {
            let (outer, inner) = (known.target.as_str(), error.target.as_str());
            inner == outer || inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with(['.', '[']))
        };
        if !self.errors.iter().any(covered) {
            self.errors.push(error);
        }
    }

    /// Unwraps a field result, recording its error and yielding `None` on failure.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, DomainError> {
        if !self.errors.is_empty() {
            return Err(DomainError::Invalid(self.errors));
        }
        value().ok_or_else(|| DomainError::Unexpected("validator finished without a value".into()))
    }
}
