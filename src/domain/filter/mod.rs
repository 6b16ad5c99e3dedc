//! The SCIM filter subset accepted by the oauthConsents collections, parsed into a typed tree.
//!
//! Grammar (RFC 7644 §3.4.2.2, trimmed to what the consent store can answer from its indexes):
//!
//! ```text
//! expr   := term ("or" term)*
//! term   := factor ("and" factor)*
//! factor := "(" expr ")" | attribute SP operator SP value
//! ```
//!
//! - Keywords, operators and attribute names are matched case-insensitively, as RFC 7644 asks;
//!   values are case-sensitive (`status eq "ACCEPTED"`, not `"accepted"`).
//! - Values are JSON strings in double quotes with the JSON escapes (`\"`, `\\`, `\/`, `\b`,
//!   `\f`, `\n`, `\r`, `\t`, `\uXXXX` incl. surrogate pairs). Unquoted values are rejected.
//! - `and` binds tighter than `or`; both are left-associative. Whitespace is free around
//!   parentheses and before a quoted value; only attribute and operator need a space between.
//! - `not`, `pr`, `ne`, `co`, `sw` and `ew` are recognised and rejected as unsupported.
//! - UUIDs must be in the hyphenated 36-character form (either hex case). Timestamps follow
//!   RFC 3339 with `Z` or an offset (chrono also takes `t`/`z`/space); a leap second `:60` becomes
//!   the next second.
//! - Positions in error messages are 1-based character offsets into the input.
//! - Input is capped at [`MAX_INPUT_CHARS`] characters, [`MAX_DEPTH`] nested parentheses and
//!   [`MAX_COMPARISONS`] comparisons so hostile filters fail fast instead of exhausting the stack
//!   or producing an unbounded SQL query.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

#[cfg(test)]
mod error_tests;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

/// Longest filter accepted, in characters.
pub const MAX_INPUT_CHARS: usize = 2_000;
/// Deepest parenthesis nesting accepted.
pub const MAX_DEPTH: usize = 32;
/// Most comparisons accepted in one filter.
pub const MAX_COMPARISONS: usize = 64;
/// Longest `application.name` value accepted, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// How much of a user-supplied text is quoted back in an error message.
const MAX_ECHO_CHARS: usize = 64;

/// Wire names of the filterable attributes, in documentation order.
pub const SUPPORTED_ATTRIBUTES: &[&str] = &[
    "application.id",
    "application.name",
    "user.id",
    "status",
    "scope",
    "consentedAt",
    "updatedAt",
    "expiresAt",
    "revokedAt",
    "revokedBy.type",
];
/// Wire names of the comparison operators supported on at least one attribute.
pub const SUPPORTED_OPERATORS: &[&str] = &["eq", "gt", "ge", "lt", "le"];
/// The values `status` may be compared with (case-sensitive).
pub const STATUS_VALUES: &[&str] = &["ACCEPTED", "DECLINED", "REVOKED", "EXPIRED"];
/// The values `revokedBy.type` may be compared with (case-sensitive).
pub const REVOKED_BY_VALUES: &[&str] =
    &["USER", "ADMINISTRATOR", "CONSENT_SESSION", "APPLICATION_DELETED", "USER_DELETED", "UNKNOWN"];

/// A parsed filter expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// A single `attribute operator value` test.
    Compare(Comparison),
    /// Both sides must match.
    And(Box<Filter>, Box<Filter>),
    /// Either side must match.
    Or(Box<Filter>, Box<Filter>),
}

/// One `attribute operator value` test whose value is already validated for the attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// The attribute being tested.
    pub attribute: Attribute,
    /// How it is compared; always one of `attribute.operators()`.
    pub operator: Operator,
    /// The typed value; its variant always matches the attribute (see [`Value`]).
    pub value: Value,
}

/// A filterable attribute of a consent record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// `application.id`, compared with a UUID.
    ApplicationId,
    /// `application.name`, compared with 1..=256 characters of text.
    ApplicationName,
    /// `user.id`, compared with a UUID.
    UserId,
    /// `status`, compared with one of [`STATUS_VALUES`].
    Status,
    /// `scope`: the record's scope set contains the given scope.
    Scope,
    /// `consentedAt`, compared with a timestamp (converted to UTC).
    ConsentedAt,
    /// `updatedAt` (the revocation, or else `consentedAt`), compared with a timestamp.
    UpdatedAt,
    /// `expiresAt`, compared with a timestamp; records without one never match.
    ExpiresAt,
    /// `revokedAt`, compared with a timestamp; records never revoked never match.
    RevokedAt,
    /// `revokedBy.type`, compared with one of [`REVOKED_BY_VALUES`].
    RevokedByType,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// Equal (for `scope`: the set contains the value).
    Eq,
    /// Strictly greater (later).
    Gt,
    /// Greater or equal.
    Ge,
    /// Strictly less (earlier).
    Lt,
    /// Less or equal.
    Le,
}

/// A validated comparison value.
///
/// `application.id` and `user.id` carry [`Value::Uuid`], the timestamps (`consentedAt`,
/// `updatedAt`, `expiresAt`, `revokedAt`) carry [`Value::Timestamp`], everything else
/// [`Value::Text`] (`status` and `revokedBy.type` hold the upper-case word).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A UUID (`application.id`, `user.id`).
    Uuid(Uuid),
    /// Text (`application.name`, `status`, `scope`, `revokedBy.type`).
    Text(String),
    /// An instant in UTC (`consentedAt`, `updatedAt`, `expiresAt`, `revokedAt`).
    Timestamp(DateTime<Utc>),
}

/// Why a filter was rejected, phrased for the API user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// A specific, user-facing sentence (names the position, attribute, operator or value).
    pub message: String,
    /// Always [`SUPPORTED_ATTRIBUTES`], so error responses can list them.
    pub supported_attributes: Vec<&'static str>,
    /// The operators of the attribute the error is about, or else [`SUPPORTED_OPERATORS`].
    pub supported_operators: Vec<&'static str>,
}

/// Parses a SCIM filter expression into a [`Filter`] tree.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    parser::parse(input)
}

impl Attribute {
    /// Every attribute, in the order of [`SUPPORTED_ATTRIBUTES`].
    pub const ALL: [Attribute; 10] = [
        Attribute::ApplicationId,
        Attribute::ApplicationName,
        Attribute::UserId,
        Attribute::Status,
        Attribute::Scope,
        Attribute::ConsentedAt,
        Attribute::UpdatedAt,
        Attribute::ExpiresAt,
        Attribute::RevokedAt,
        Attribute::RevokedByType,
    ];

    /// The wire name, e.g. `application.id`.
    pub fn name(&self) -> &'static str {
        match self {
            Attribute::ApplicationId => "application.id",
            Attribute::ApplicationName => "application.name",
            Attribute::UserId => "user.id",
            Attribute::Status => "status",
            Attribute::Scope => "scope",
            Attribute::ConsentedAt => "consentedAt",
            Attribute::UpdatedAt => "updatedAt",
            Attribute::ExpiresAt => "expiresAt",
            Attribute::RevokedAt => "revokedAt",
            Attribute::RevokedByType => "revokedBy.type",
        }
    }

    /// Looks an attribute up by wire name, ignoring ASCII case (RFC 7644 §3.4.2.2).
    pub fn from_name(name: &str) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|attribute| attribute.name().eq_ignore_ascii_case(name))
    }

    /// The operators this attribute may be compared with.
    pub fn operators(&self) -> &'static [Operator] {
        match self {
            // Only timestamps have a meaningful order; ids, names and words are exact lookups.
            Attribute::ConsentedAt | Attribute::UpdatedAt | Attribute::ExpiresAt | Attribute::RevokedAt => {
                &[Operator::Eq, Operator::Gt, Operator::Ge, Operator::Lt, Operator::Le]
            }
            _ => &[Operator::Eq],
        }
    }
}

impl Operator {
    /// Every supported operator, in the order of [`SUPPORTED_OPERATORS`].
    pub const ALL: [Operator; 5] = [Operator::Eq, Operator::Gt, Operator::Ge, Operator::Lt, Operator::Le];

    /// The wire name, e.g. `eq`.
    pub fn name(&self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Gt => "gt",
            Operator::Ge => "ge",
            Operator::Lt => "lt",
            Operator::Le => "le",
        }
    }

    /// Looks an operator up by wire name, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|operator| operator.name().eq_ignore_ascii_case(name))
    }
}

impl FilterError {
    /// An error carrying `message` and the standard supported-attribute/operator lists.
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            supported_attributes: SUPPORTED_ATTRIBUTES.to_vec(),
            supported_operators: SUPPORTED_OPERATORS.to_vec(),
        }
    }
}

impl FilterError {
    /// The same error, listing only the operators `attribute` takes.
    fn about(mut self, attribute: Attribute) -> Self {
        self.supported_operators = attribute.operators().iter().map(Operator::name).collect();
        self
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Renders the value as a filter literal, so `parse(&filter.to_string())` gives the same tree.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Uuid(id) => write!(f, "\"{}\"", id.hyphenated()),
            Value::Text(text) => write_json_string(f, text),
            // AutoSi keeps just the sub-second digits needed, so re-parsing gives the same instant.
            Value::Timestamp(at) => {
                write!(f, "\"{}\"", at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            }
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.attribute, self.operator, self.value)
    }
}

/// Renders canonical filter text with only the parentheses needed to keep the tree's shape.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare(comparison) => fmt::Display::fmt(comparison, f),
            Filter::And(left, right) => {
                // `and` binds tighter than `or`, and a nested right-hand `and` would otherwise
                // re-parse left-associated, so both need explicit grouping.
                write_operand(f, left, matches!(**left, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, right, !matches!(**right, Filter::Compare(_)))
            }
            Filter::Or(left, right) => {
                write_operand(f, left, false)?;
                f.write_str(" or ")?;
                write_operand(f, right, matches!(**right, Filter::Or(..)))
            }
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Filter, grouped: bool) -> fmt::Result {
    if grouped { write!(f, "({operand})") } else { fmt::Display::fmt(operand, f) }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            // The parser rejects raw control characters, so they must go out escaped.
            c if c < '\u{20}' => write!(f, "\\u{:04x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// A user-supplied text made safe to quote in a message: shortened, control characters escaped.
fn echo(text: &str) -> String {
    let mut shown = String::new();
    for (index, c) in text.chars().enumerate() {
        if index == MAX_ECHO_CHARS {
            shown.push('…');
            break;
        }
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}
