//! Unit tests for rejected filters: every error class, its message and the hostile-input limits.

use super::tests::{APP, assert_err, err, ok, status};
use super::*;

#[test]
fn uuid_must_be_hyphenated() {
    let simple = APP.replace('-', "");
    for value in [simple.clone(), format!("{{{APP}}}"), format!("urn:uuid:{APP}")] {
        assert_err(&format!("user.id eq \"{value}\""), "is not a UUID for 'user.id'");
    }
}

#[test]
fn bad_uuid_names_value_and_attribute() {
    assert_eq!(err("application.id eq \"abc\""), "'abc' is not a UUID for 'application.id'");
}

#[test]
fn status_values_are_case_sensitive() {
    assert_eq!(
        err("status eq \"accepted\""),
        "'accepted' is not a valid status; supported: ACCEPTED, DECLINED, REVOKED, EXPIRED (values are case-sensitive)"
    );
}

#[test]
fn unknown_status_lists_the_valid_ones() {
    assert_eq!(
        err("status eq \"PENDING\""),
        "'PENDING' is not a valid status; supported: ACCEPTED, DECLINED, REVOKED, EXPIRED"
    );
}

#[test]
fn scope_must_be_non_empty_without_whitespace() {
    assert_err("scope eq \"openid profile\"", "'openid profile' is not a valid value for 'scope'");
    assert_err("scope eq \"a\\tb\"", "is not a valid value for 'scope'");
    assert_eq!(err("scope eq \"\""), "'scope' must not be empty");
}

#[test]
fn consented_at_requires_an_offset() {
    assert_err("consentedAt gt \"2026-11-23T10:00:00\"", "'2026-11-23T10:00:00' has no UTC offset");
}

#[test]
fn consented_at_rejects_non_timestamps() {
    for value in ["yesterday", "2026-11-23", "2026-13-01T00:00:00Z", "1764000000"] {
        assert_err(
            &format!("consentedAt gt \"{value}\""),
            &format!("'{value}' is not an RFC 3339 timestamp for 'consentedAt'"),
        );
    }
}

#[test]
fn invalid_escapes_are_rejected() {
    assert_eq!(err(r#"application.name eq "a\qb""#), "invalid escape '\\q' at position 23");
    assert_err(r#"application.name eq "\u12G4""#, "invalid '\\u' escape at position 22");
    assert_err(r#"application.name eq "\ud83d""#, "unpaired UTF-16 surrogate");
    assert_err(r#"application.name eq "\ude00x""#, "unpaired UTF-16 surrogate");
}

#[test]
fn nul_and_raw_control_characters_are_rejected() {
    assert_err(r#"application.name eq "a\u0000""#, "'\\u0000' at position 23 is not allowed");
    assert_eq!(err("application.name eq \"a\nb\""), "control character U+000A at position 23 must be escaped");
}

#[test]
fn unterminated_string_reports_where_it_starts() {
    assert_eq!(err("status eq \"ACCEPTED"), "unterminated string starting at position 11");
    assert_eq!(err("status eq \"ACCEPTED\\\""), "unterminated string starting at position 11");
    assert_eq!(err(r#"status eq "\u00"#), "unterminated string starting at position 11");
}

#[test]
fn empty_input_is_rejected() {
    assert_eq!(err(""), "filter is empty");
    assert_eq!(err(" \t\n "), "filter is empty");
}

#[test]
fn unexpected_close_paren_reports_its_position() {
    assert_eq!(err("status eq \"ACCEPTED\")"), "unexpected ')' at position 21; expected 'and', 'or' or end of input");
    assert_eq!(err("()"), "unexpected ')' at position 2; expected an attribute name or '('");
}

#[test]
fn missing_close_paren_reports_the_open_one() {
    assert_eq!(err("status eq \"ACCEPTED\" and (status eq \"REVOKED\""), "missing ')' to close '(' at position 26");
}

#[test]
fn trailing_tokens_are_rejected() {
    assert_err(
        "status eq \"ACCEPTED\" status eq \"REVOKED\"",
        "unexpected 'status' at position 22; expected 'and', 'or' or end of input",
    );
    assert_err("status eq \"ACCEPTED\" \"x\"", "unexpected string \"x\" at position 22");
    assert_err("(status eq \"ACCEPTED\" x)", "unexpected 'x' at position 23; expected 'and', 'or' or ')'");
}

#[test]
fn dangling_or_misplaced_keywords_are_rejected() {
    assert_eq!(
        err("status eq \"ACCEPTED\" and"),
        "unexpected end of input at position 25; expected an attribute name or '('"
    );
    assert_err("or status eq \"ACCEPTED\"", "unexpected 'or' at position 1");
    assert_err("status eq \"ACCEPTED\" and and status eq \"REVOKED\"", "unexpected 'and' at position 26");
}

#[test]
fn missing_operator_or_value_is_reported() {
    assert_eq!(err("status"), "unexpected end of input at position 7; expected an operator after 'status'");
    assert_eq!(err("status eq"), "unexpected end of input at position 10; expected a double-quoted value after 'eq'");
    assert_err(
        "status \"ACCEPTED\"",
        "unexpected string \"ACCEPTED\" at position 8; expected an operator after 'status'",
    );
    assert_err("(status eq)", "unexpected ')' at position 11; expected a double-quoted value after 'eq'");
}

#[test]
fn unknown_attribute_lists_supported_attributes() {
    assert_eq!(
        err("client.id eq \"x\""),
        "attribute 'client.id' is not supported; supported: application.id, application.name, user.id, status, scope, consentedAt, updatedAt, expiresAt, revokedAt, revokedBy.type"
    );
}

#[test]
fn unsupported_scim_operators_are_named() {
    assert_eq!(
        err("application.name co \"App\""),
        "operator 'co' is not supported for 'application.name'; supported: eq"
    );
    for op in ["ne", "co", "sw", "ew", "NE"] {
        assert_err(
            &format!("scope {op} \"openid\""),
            &format!("operator '{op}' is not supported for 'scope'; supported: eq"),
        );
    }
    assert_err("status pr", "operator 'pr' is not supported for 'status'; supported: eq");
    assert_err("status gt \"ACCEPTED\"", "operator 'gt' is not supported for 'status'; supported: eq");
    assert_err("consentedAt ne \"2026-11-23T10:00:00Z\"", "supported: eq, gt, ge, lt, le");
}

#[test]
fn revoked_by_type_names_its_causes() {
    assert_err(
        "revokedBy.type eq \"EXPIRED\"",
        "'EXPIRED' is not a valid revokedBy.type; supported: USER, ADMINISTRATOR, CONSENT_SESSION, \
         APPLICATION_DELETED, USER_DELETED, UNKNOWN",
    );
    assert_err("revokedBy.type eq \"user\"", "(values are case-sensitive)");
    assert_err("revokedBy.type ge \"USER\"", "operator 'ge' is not supported for 'revokedBy.type'; supported: eq");
    assert_err("revokedAt gt \"last week\"", "is not an RFC 3339 timestamp for 'revokedAt'");
    assert_err("updatedAt ge \"2026-11-23T10:00:00\"", "has no UTC offset; 'updatedAt' needs 'Z' or an offset");
}

#[test]
fn unknown_operator_is_rejected() {
    assert_eq!(
        err("status equals \"ACCEPTED\""),
        "unknown operator 'equals' at position 8; supported for 'status': eq"
    );
}

#[test]
fn not_is_recognised_but_unsupported() {
    let message = err("not (status eq \"ACCEPTED\")");
    assert!(message.starts_with("'not' at position 1 is not supported"), "{message}");
    assert!(message.contains("eq, gt, ge, lt, le"), "{message}");
}

#[test]
fn unquoted_values_are_rejected() {
    assert_eq!(
        err("status eq ACCEPTED"),
        "unquoted value 'ACCEPTED' at position 11; values must be double-quoted, e.g. \"ACCEPTED\""
    );
    assert_err("consentedAt gt 2026-11-23T10:00:00+01:00", "unquoted value '2026-11-23T10:00:00+01:00'");
    assert_err("scope eq true", "unquoted value 'true'");
}

#[test]
fn stray_characters_are_reported_by_position() {
    assert_eq!(err("status eq 'ACCEPTED'"), "unexpected ''' at position 11; values must be in double quotes");
    assert_eq!(err("status == \"ACCEPTED\""), "unexpected character '=' at position 8");
    assert_eq!(err("emails[type eq \"work\"]"), "unexpected character '[' at position 7");
}

#[test]
fn input_longer_than_the_limit_is_rejected() {
    let pad = |n: usize| format!("{}status eq \"ACCEPTED\"", " ".repeat(n));
    let at_limit = pad(MAX_INPUT_CHARS - pad(0).len());
    assert_eq!(ok(&at_limit), status("ACCEPTED"));
    assert_err(&format!("{at_limit} "), "filter is too long; at most 2000 characters are allowed");
    assert_err(&"(".repeat(1_000_000), "filter is too long");
}

#[test]
fn nesting_deeper_than_the_limit_is_rejected() {
    let nested = |depth: usize| format!("{}status eq \"ACCEPTED\"{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(ok(&nested(MAX_DEPTH)), status("ACCEPTED"));
    assert_eq!(err(&nested(MAX_DEPTH + 1)), "parentheses at position 33 are nested more than 32 levels deep");
    // Fits the length cap, so only the depth cap stands between this and a stack overflow.
    assert_err(&"(".repeat(MAX_INPUT_CHARS), "nested more than 32 levels deep");
}

#[test]
fn more_comparisons_than_the_limit_are_rejected() {
    let chain = |n: usize| vec!["scope eq \"a\""; n].join(" or ");
    assert!(matches!(ok(&chain(MAX_COMPARISONS)), Filter::Or(..)));
    assert_err(&chain(MAX_COMPARISONS + 1), "too many comparisons (at position 1025); at most 64 are allowed");
}

#[test]
fn errors_carry_the_supported_lists_and_display_the_message() {
    let Err(error) = parse("bogus eq \"x\"") else { panic!("should fail") };
    assert_eq!(error.supported_attributes, SUPPORTED_ATTRIBUTES);
    assert_eq!(error.supported_operators, SUPPORTED_OPERATORS);
    assert_eq!(error.to_string(), error.message);
    let _: &dyn std::error::Error = &error;
}

#[test]
fn an_error_about_a_named_attribute_lists_only_that_attributes_operators() {
    let Err(error) = parse("application.name gt \"x\"") else { panic!("should fail") };
    assert_eq!(error.supported_operators, ["eq"]);
    let Err(error) = parse("consentedAt co \"2026-01-01T00:00:00Z\"") else { panic!("should fail") };
    assert_eq!(error.supported_operators, ["eq", "gt", "ge", "lt", "le"]);
    let Err(error) = parse("status eq \"MAYBE\"") else { panic!("should fail") };
    assert_eq!(error.supported_operators, ["eq"]);
}

#[test]
fn long_values_are_shortened_in_messages() {
    let message = err(&format!("user.id eq \"{}\"", "x".repeat(500)));
    assert_eq!(message, format!("'{}…' is not a UUID for 'user.id'", "x".repeat(64)));
}
