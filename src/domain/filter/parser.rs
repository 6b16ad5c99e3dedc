//! Recursive-descent parser and value validation behind [`super::parse`].

use std::iter::Peekable;
use std::vec;

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;

use super::lexer::{Kind, Token, tokenize};
use super::{
    Attribute, Comparison, Filter, FilterError, MAX_COMPARISONS, MAX_DEPTH, MAX_INPUT_CHARS, MAX_NAME_CHARS, Operator,
    REVOKED_BY_VALUES, STATUS_VALUES, SUPPORTED_ATTRIBUTES, SUPPORTED_OPERATORS, Value, echo,
};

/// SCIM operators we recognise so we can say "not supported" rather than "unknown".
const UNSUPPORTED_SCIM_OPERATORS: &[&str] = &["ne", "co", "sw", "ew", "pr"];
/// Shown whenever a timestamp is rejected, so the user sees the expected shape.
const TIMESTAMP_EXAMPLE: &str = "\"2026-11-23T10:00:00Z\"";

/// See [`super::parse`]: checks the length cap, tokenises, then parses the whole input.
pub(super) fn parse(input: &str) -> Result<Filter, FilterError> {
    // Checking bytes first keeps the character count itself bounded for huge inputs.
    if input.len() > MAX_INPUT_CHARS * 4 || input.chars().nth(MAX_INPUT_CHARS).is_some() {
        return Err(FilterError::new(format!("filter is too long; at most {MAX_INPUT_CHARS} characters are allowed")));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(FilterError::new("filter is empty"));
    }
    let mut parser =
        Parser { tokens: tokens.into_iter().peekable(), depth: 0, comparisons: 0, end: input.chars().count() + 1 };
    let filter = parser.expr()?;
    match parser.tokens.next() {
        None => Ok(filter),
        Some(token) => Err(unexpected(&token, "'and', 'or' or end of input")),
    }
}

struct Parser {
    tokens: Peekable<vec::IntoIter<Token>>,
    /// Currently open parentheses.
    depth: usize,
    comparisons: usize,
    /// The position one past the last character, reported when input ends early.
    end: usize,
}

impl Parser {
    fn expr(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.term()?;
        while self.eat_keyword("or") {
            let right = self.term()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.factor()?;
        while self.eat_keyword("and") {
            let right = self.factor()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = matches!(
            self.tokens.peek(),
            Some(Token { kind: Kind::Word(word), .. }) if word.eq_ignore_ascii_case(keyword)
        );
        if found {
            self.tokens.next();
        }
        found
    }

    fn factor(&mut self) -> Result<Filter, FilterError> {
        const EXPECTED: &str = "an attribute name or '('";
        let Some(token) = self.tokens.next() else {
            return Err(self.end_of_input(EXPECTED));
        };
        match token.kind {
            Kind::Open => {
                // The depth cap bounds recursion, so hostile nesting cannot overflow the stack.
                if self.depth >= MAX_DEPTH {
                    return Err(FilterError::new(format!(
                        "parentheses at position {} are nested more than {MAX_DEPTH} levels deep",
                        token.pos
                    )));
                }
                self.depth += 1;
                let inner = self.expr()?;
                self.depth -= 1;
                match self.tokens.next() {
                    Some(Token { kind: Kind::Close, .. }) => Ok(inner),
                    Some(other) => Err(unexpected(&other, "'and', 'or' or ')'")),
                    None => Err(FilterError::new(format!("missing ')' to close '(' at position {}", token.pos))),
                }
            }
            Kind::Word(word) => self.comparison(&word, token.pos).map(Filter::Compare),
            Kind::Close | Kind::Str(_) => Err(unexpected(&token, EXPECTED)),
        }
    }

    fn comparison(&mut self, word: &str, pos: usize) -> Result<Comparison, FilterError> {
        if word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or") {
            return Err(FilterError::new(format!(
                "unexpected '{word}' at position {pos}; expected an attribute name or '('"
            )));
        }
        if word.eq_ignore_ascii_case("not") {
            return Err(FilterError::new(format!(
                "'{word}' at position {pos} is not supported; supported: and, or, {}",
                SUPPORTED_OPERATORS.join(", ")
            )));
        }
        let Some(attribute) = Attribute::from_name(word) else {
            return Err(FilterError::new(format!(
                "attribute '{}' is not supported; supported: {}",
                echo(word),
                SUPPORTED_ATTRIBUTES.join(", ")
            )));
        };
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(FilterError::new(format!(
                "too many comparisons (at position {pos}); at most {MAX_COMPARISONS} are allowed"
            )));
        }
        // From here on the error is about this attribute: list the operators it takes.
        self.compared(attribute, word).map_err(|error| error.about(attribute))
    }

    fn compared(&mut self, attribute: Attribute, word: &str) -> Result<Comparison, FilterError> {
        let after_attribute = format!("an operator after '{word}'");
        let operator = match self.tokens.next() {
            None => return Err(self.end_of_input(&after_attribute)),
            Some(Token { kind: Kind::Word(name), pos }) => operator_for(attribute, &name, pos)?,
            Some(other) => return Err(unexpected(&other, &after_attribute)),
        };
        let after_operator = format!("a double-quoted value after '{}'", operator.name());
        let value = match self.tokens.next() {
            None => return Err(self.end_of_input(&after_operator)),
            Some(Token { kind: Kind::Str(text), .. }) => value_for(attribute, text)?,
            Some(Token { kind: Kind::Word(bare), pos }) => {
                return Err(FilterError::new(format!(
                    "unquoted value '{0}' at position {pos}; values must be double-quoted, \
                     e.g. \"{0}\"",
                    echo(&bare)
                )));
            }
            Some(other) => return Err(unexpected(&other, &after_operator)),
        };
        Ok(Comparison { attribute, operator, value })
    }

    fn end_of_input(&self, expected: &str) -> FilterError {
        FilterError::new(format!("unexpected end of input at position {}; expected {expected}", self.end))
    }
}

fn unexpected(token: &Token, expected: &str) -> FilterError {
    FilterError::new(format!("unexpected {} at position {}; expected {expected}", token.describe(), token.pos))
}

fn operator_for(attribute: Attribute, name: &str, pos: usize) -> Result<Operator, FilterError> {
    let allowed = attribute.operators();
    let supported = allowed.iter().map(Operator::name).collect::<Vec<_>>().join(", ");
    match Operator::from_name(name) {
        Some(operator) if allowed.contains(&operator) => Ok(operator),
        Some(_) => Err(not_supported(name, attribute, &supported)),
        None if UNSUPPORTED_SCIM_OPERATORS.iter().any(|scim| scim.eq_ignore_ascii_case(name)) => {
            Err(not_supported(name, attribute, &supported))
        }
        None => Err(FilterError::new(format!(
            "unknown operator '{}' at position {pos}; supported for '{attribute}': {supported}",
            echo(name)
        ))),
    }
}

fn not_supported(name: &str, attribute: Attribute, supported: &str) -> FilterError {
    FilterError::new(format!("operator '{name}' is not supported for '{attribute}'; supported: {supported}"))
}

fn value_for(attribute: Attribute, text: String) -> Result<Value, FilterError> {
    match attribute {
        Attribute::ApplicationId | Attribute::UserId => {
            // Only the canonical 36-character form: ids are always rendered that way, and the
            // braced/URN/simple spellings `Uuid::try_parse` also takes would only invite confusion.
            match Uuid::try_parse(&text) {
                Ok(id) if text.len() == 36 => Ok(Value::Uuid(id)),
                _ => Err(FilterError::new(format!("'{}' is not a UUID for '{attribute}'", echo(&text)))),
            }
        }
        Attribute::ApplicationName => {
            let length = text.chars().count();
            if (1..=MAX_NAME_CHARS).contains(&length) {
                Ok(Value::Text(text))
            } else {
                Err(FilterError::new(format!(
                    "'{attribute}' must be 1 to {MAX_NAME_CHARS} characters long, got {length}"
                )))
            }
        }
        Attribute::Status => word(attribute, text, STATUS_VALUES),
        Attribute::RevokedByType => word(attribute, text, REVOKED_BY_VALUES),
        Attribute::Scope => {
            if text.is_empty() {
                Err(FilterError::new(format!("'{attribute}' must not be empty")))
            } else if text.chars().any(char::is_whitespace) {
                Err(FilterError::new(format!(
                    "'{}' is not a valid value for '{attribute}'; a scope contains no whitespace",
                    echo(&text)
                )))
            } else {
                Ok(Value::Text(text))
            }
        }
        Attribute::ConsentedAt | Attribute::UpdatedAt | Attribute::ExpiresAt | Attribute::RevokedAt => {
            timestamp(attribute, text)
        }
    }
}

/// One of the upper-case words `values`, matched case-sensitively (with a hint when only the case is wrong).
fn word(attribute: Attribute, text: String, values: &[&str]) -> Result<Value, FilterError> {
    if values.contains(&text.as_str()) {
        return Ok(Value::Text(text));
    }
    let hint = if values.contains(&text.to_ascii_uppercase().as_str()) { " (values are case-sensitive)" } else { "" };
    Err(FilterError::new(format!(
        "'{}' is not a valid {attribute}; supported: {}{hint}",
        echo(&text),
        values.join(", ")
    )))
}

/// An RFC 3339 instant with a UTC offset, converted to UTC.
fn timestamp(attribute: Attribute, text: String) -> Result<Value, FilterError> {
    match DateTime::parse_from_rfc3339(&text) {
        Ok(at) => Ok(Value::Timestamp(without_leap_second(at.with_timezone(&Utc)))),
        // A local time would silently depend on the server's zone, so say what is missing.
        Err(_) if NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f").is_ok() => {
            Err(FilterError::new(format!(
                "'{}' has no UTC offset; '{attribute}' needs 'Z' or an offset, e.g. \
                     {TIMESTAMP_EXAMPLE}",
                echo(&text)
            )))
        }
        Err(_) => Err(FilterError::new(format!(
            "'{}' is not an RFC 3339 timestamp for '{attribute}'; expected e.g. \
                 {TIMESTAMP_EXAMPLE}",
            echo(&text)
        ))),
    }
}

/// Maps a leap second (`:60`, which chrono keeps as `:59` plus a second of nanoseconds) onto the
/// following second, as POSIX time does, so the database never sees an out-of-range fraction.
fn without_leap_second(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.timestamp_subsec_nanos();
    match nanos.checked_sub(1_000_000_000) {
        Some(rest) => {
            at.timestamp().checked_add(1).and_then(|seconds| DateTime::from_timestamp(seconds, rest)).unwrap_or(at)
        }
        None => at,
    }
}
