//! Unit tests for accepted filters: values, precedence, escapes, rendering and properties.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::*;

pub(super) const APP: &str = "5b0b6a4e-3f0e-4c8e-9d52-0c7f1e0a9b11";
const USER: &str = "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

pub(super) fn ok(input: &str) -> Filter {
    match parse(input) {
        Ok(filter) => filter,
        Err(error) => panic!("{input:?} should parse, got: {error}"),
    }
}

pub(super) fn err(input: &str) -> String {
    match parse(input) {
        Ok(filter) => panic!("{input:?} should fail, got {filter:?}"),
        Err(error) => error.message,
    }
}

pub(super) fn assert_err(input: &str, needle: &str) {
    let message = err(input);
    assert!(message.contains(needle), "{input:?}: {message:?} lacks {needle:?}");
}

fn cmp(attribute: Attribute, operator: Operator, value: Value) -> Filter {
    Filter::Compare(Comparison { attribute, operator, value })
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn id(value: &str) -> Value {
    match Uuid::try_parse(value) {
        Ok(id) => Value::Uuid(id),
        Err(error) => panic!("bad test uuid {value}: {error}"),
    }
}

fn utc(h: u32, m: u32, s: u32, milli: u32) -> Value {
    match NaiveDate::from_ymd_opt(2026, 11, 23).and_then(|d| d.and_hms_milli_opt(h, m, s, milli)) {
        Some(naive) => Value::Timestamp(naive.and_utc()),
        None => panic!("bad test time"),
    }
}

pub(super) fn status(word: &str) -> Filter {
    cmp(Attribute::Status, Operator::Eq, text(word))
}

fn and(left: Filter, right: Filter) -> Filter {
    Filter::And(Box::new(left), Box::new(right))
}

fn or(left: Filter, right: Filter) -> Filter {
    Filter::Or(Box::new(left), Box::new(right))
}

#[test]
fn application_id_eq_parses_a_uuid() {
    let expected = cmp(Attribute::ApplicationId, Operator::Eq, id(APP));
    assert_eq!(ok(&format!("application.id eq \"{APP}\"")), expected);
    // Upper-case hex is the same UUID.
    assert_eq!(ok(&format!("application.id eq \"{}\"", APP.to_uppercase())), expected);
}

#[test]
fn user_id_eq_parses_a_uuid() {
    assert_eq!(ok(&format!("user.id eq \"{USER}\"")), cmp(Attribute::UserId, Operator::Eq, id(USER)));
}

#[test]
fn application_name_eq_parses_any_text() {
    let expected = cmp(Attribute::ApplicationName, Operator::Eq, text("My App (beta) — ✓"));
    assert_eq!(ok("application.name eq \"My App (beta) — ✓\""), expected);
}

#[test]
fn application_name_is_1_to_256_characters() {
    let longest = "é".repeat(MAX_NAME_CHARS);
    assert_eq!(
        ok(&format!("application.name eq \"{longest}\"")),
        cmp(Attribute::ApplicationName, Operator::Eq, text(&longest))
    );
    assert_err(&format!("application.name eq \"{longest}x\""), "1 to 256 characters long, got 257");
    assert_err("application.name eq \"\"", "got 0");
}

#[test]
fn status_eq_accepts_each_known_status() {
    for word in STATUS_VALUES {
        assert_eq!(ok(&format!("status eq \"{word}\"")), status(word));
    }
}

#[test]
fn scope_eq_parses_a_single_scope() {
    assert_eq!(ok("scope eq \"openid\""), cmp(Attribute::Scope, Operator::Eq, text("openid")));
    assert_eq!(
        ok("scope eq \"https://api.example.com/read\""),
        cmp(Attribute::Scope, Operator::Eq, text("https://api.example.com/read"))
    );
}

#[test]
fn consented_at_supports_every_comparison_operator() {
    for operator in Operator::ALL {
        let input = format!("consentedAt {} \"2026-11-23T10:00:00Z\"", operator.name());
        assert_eq!(ok(&input), cmp(Attribute::ConsentedAt, operator, utc(10, 0, 0, 0)));
    }
}

#[test]
fn every_timestamp_attribute_supports_every_comparison_operator() {
    for attribute in [Attribute::UpdatedAt, Attribute::ExpiresAt, Attribute::RevokedAt] {
        for operator in Operator::ALL {
            let input = format!("{attribute} {} \"2026-11-23T11:00:00+01:00\"", operator.name());
            assert_eq!(ok(&input), cmp(attribute, operator, utc(10, 0, 0, 0)));
        }
    }
}

#[test]
fn revoked_by_type_takes_each_cause_with_eq() {
    for cause in REVOKED_BY_VALUES {
        assert_eq!(
            ok(&format!("revokedBy.type eq \"{cause}\"")),
            cmp(Attribute::RevokedByType, Operator::Eq, text(cause))
        );
    }
    assert_eq!(ok("REVOKEDBY.TYPE eq \"USER\""), cmp(Attribute::RevokedByType, Operator::Eq, text("USER")));
}

#[test]
fn consented_at_maps_a_leap_second_to_the_next_second() {
    let expected = cmp(Attribute::ConsentedAt, Operator::Eq, utc(10, 1, 0, 250));
    assert_eq!(ok("consentedAt eq \"2026-11-23T10:00:60.25Z\""), expected);
}

#[test]
fn consented_at_converts_offsets_to_utc() {
    assert_eq!(
        ok("consentedAt ge \"2026-11-23T10:00:00.123+01:00\""),
        cmp(Attribute::ConsentedAt, Operator::Ge, utc(9, 0, 0, 123))
    );
    assert_eq!(
        ok("consentedAt lt \"2026-11-23T05:30:00-04:30\""),
        cmp(Attribute::ConsentedAt, Operator::Lt, utc(10, 0, 0, 0))
    );
}

#[test]
fn keywords_and_operators_are_case_insensitive() {
    let expected = or(and(status("ACCEPTED"), status("REVOKED")), status("EXPIRED"));
    assert_eq!(ok("status EQ \"ACCEPTED\" AND status Eq \"REVOKED\" Or status eQ \"EXPIRED\""), expected);
    assert_eq!(
        ok("consentedAt GT \"2026-11-23T10:00:00Z\""),
        cmp(Attribute::ConsentedAt, Operator::Gt, utc(10, 0, 0, 0))
    );
}

#[test]
fn attribute_names_are_case_insensitive() {
    assert_eq!(ok("STATUS eq \"ACCEPTED\""), status("ACCEPTED"));
    assert_eq!(ok(&format!("Application.ID eq \"{APP}\"")), cmp(Attribute::ApplicationId, Operator::Eq, id(APP)));
    assert_eq!(
        ok("consentedat le \"2026-11-23T10:00:00Z\""),
        cmp(Attribute::ConsentedAt, Operator::Le, utc(10, 0, 0, 0))
    );
}

#[test]
fn and_binds_tighter_than_or() {
    let expected = or(status("ACCEPTED"), and(status("REVOKED"), status("EXPIRED")));
    assert_eq!(ok("status eq \"ACCEPTED\" or status eq \"REVOKED\" and status eq \"EXPIRED\""), expected);
}

#[test]
fn and_and_or_are_left_associative() {
    let (a, b, c) = (status("ACCEPTED"), status("DECLINED"), status("REVOKED"));
    assert_eq!(
        ok("status eq \"ACCEPTED\" and status eq \"DECLINED\" and status eq \"REVOKED\""),
        and(and(a.clone(), b.clone()), c.clone())
    );
    assert_eq!(ok("status eq \"ACCEPTED\" or status eq \"DECLINED\" or status eq \"REVOKED\""), or(or(a, b), c));
}

#[test]
fn parentheses_override_precedence() {
    let expected = and(or(status("ACCEPTED"), status("REVOKED")), status("EXPIRED"));
    assert_eq!(ok("(status eq \"ACCEPTED\" or status eq \"REVOKED\") and status eq \"EXPIRED\""), expected);
}

#[test]
fn whitespace_around_parentheses_is_flexible() {
    let expected = and(status("ACCEPTED"), or(status("REVOKED"), status("EXPIRED")));
    assert_eq!(ok("status eq \"ACCEPTED\" and(status eq \"REVOKED\" or status eq \"EXPIRED\")"), expected);
    assert_eq!(ok("  status eq \"ACCEPTED\"\tand (  status eq \"REVOKED\"\nor status eq \"EXPIRED\"  )  "), expected);
}

#[test]
fn redundant_parentheses_are_transparent() {
    assert_eq!(ok("(((status eq \"ACCEPTED\")))"), status("ACCEPTED"));
}

#[test]
fn json_escapes_are_decoded() {
    let expected = cmp(Attribute::ApplicationName, Operator::Eq, text("say \"hi\" \\ a/b\nc\td"));
    assert_eq!(ok(r#"application.name eq "say \"hi\" \\ a\/b\nc\td""#), expected);
}

#[test]
fn unicode_escapes_decode_including_surrogate_pairs() {
    let expected = cmp(Attribute::ApplicationName, Operator::Eq, text("é😀"));
    assert_eq!(ok(r#"application.name eq "\u00E9\ud83d\ude00""#), expected);
}

#[test]
fn wire_names_match_the_supported_lists() {
    let attributes: Vec<_> = Attribute::ALL.iter().map(Attribute::name).collect();
    assert_eq!(attributes, SUPPORTED_ATTRIBUTES);
    let operators: Vec<_> = Operator::ALL.iter().map(Operator::name).collect();
    assert_eq!(operators, SUPPORTED_OPERATORS);
    for attribute in Attribute::ALL {
        assert_eq!(Attribute::from_name(attribute.name()), Some(attribute));
    }
}

#[test]
fn display_renders_canonical_text() {
    let filter =
        ok("(status eq \"ACCEPTED\" OR scope eq \"a\\\"b\") AND consentedAt GE \"2026-11-23T10:00:00.5+01:00\"");
    assert_eq!(
        filter.to_string(),
        "(status eq \"ACCEPTED\" or scope eq \"a\\\"b\") and consentedAt ge \"2026-11-23T09:00:00.500Z\""
    );
}

/// Deterministic xorshift so the property tests need no extra dependency and never flake.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = self.below(items.len());
        match items.get(index) {
            Some(item) => item,
            None => panic!("pick from an empty slice"),
        }
    }
}

fn random_comparison(rng: &mut Rng) -> Filter {
    const CHARS: &[char] = &['a', 'Z', '"', '\\', '/', '\n', '\t', '\u{1}', ' ', 'é', '😀', '(', ')'];
    let attribute = *rng.pick(&Attribute::ALL);
    let operator = *rng.pick(attribute.operators());
    let value = match attribute {
        Attribute::ApplicationId | Attribute::UserId => Value::Uuid(Uuid::from_u64_pair(rng.next(), rng.next())),
        Attribute::ApplicationName => text(&(0..1 + rng.below(20)).map(|_| *rng.pick(CHARS)).collect::<String>()),
        Attribute::Status => text(rng.pick::<&str>(STATUS_VALUES)),
        Attribute::RevokedByType => text(rng.pick::<&str>(REVOKED_BY_VALUES)),
        Attribute::Scope => {
            text(&(0..1 + rng.below(20)).map(|_| char::from(b'!' + rng.below(94) as u8)).collect::<String>())
        }
        Attribute::ConsentedAt | Attribute::UpdatedAt | Attribute::ExpiresAt | Attribute::RevokedAt => {
            let seconds = (rng.next() % 4_000_000_000) as i64;
            let nanos = match rng.below(3) {
                0 => 0,
                1 => 500_000_000,
                _ => rng.below(1_000_000_000) as u32,
            };
            match DateTime::<Utc>::from_timestamp(seconds, nanos) {
                Some(at) => Value::Timestamp(at),
                None => panic!("timestamp out of range"),
            }
        }
    };
    cmp(attribute, operator, value)
}

fn random_filter(rng: &mut Rng, depth: usize) -> Filter {
    if depth == 0 || rng.below(3) == 0 {
        return random_comparison(rng);
    }
    let (left, right) = (random_filter(rng, depth - 1), random_filter(rng, depth - 1));
    if rng.below(2) == 0 { and(left, right) } else { or(left, right) }
}

#[test]
fn displayed_filters_reparse_to_the_same_tree() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2_000 {
        let filter = random_filter(&mut rng, 4);
        let rendered = filter.to_string();
        assert_eq!(parse(&rendered), Ok(filter), "{rendered}");
    }
}

#[test]
fn arbitrary_input_never_panics() {
    const PIECES: &[&str] = &[
        "(",
        ")",
        "\"",
        "\\",
        "\\u",
        "d83d",
        "\\ude00",
        " ",
        "and",
        "OR",
        "not",
        "status",
        "eq",
        "gt",
        "pr",
        "consentedAt",
        "\"ACCEPTED\"",
        "\"2026-11-23T10:00:00Z\"",
        "é",
        "\u{0}",
        "\n",
        "[",
        "'",
        "-",
        "x",
    ];
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    for _ in 0..20_000 {
        let input: String = (0..rng.below(40)).map(|_| *rng.pick(PIECES)).collect();
        // Either outcome is fine; reaching the next iteration proves there was no panic.
        let _ = parse(&input);
    }
}
