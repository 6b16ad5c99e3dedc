//! Small validators for text fields shared by several resources.

use super::error::FieldError;

/// Trims and checks a required display text (names): 1..=max characters, no control characters.
pub fn required_text(target: &str, value: Option<String>, max: usize) -> Result<String, FieldError> {
    let value = value.ok_or_else(|| FieldError::required(target))?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::required(target));
    }
    check_text(target, trimmed, max)?;
    Ok(trimmed.to_owned())
}

/// Like [`required_text`] for optional fields; an empty string means "not set".
pub fn optional_text(target: &str, value: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(trimmed) => check_text(target, trimmed, max).map(|_| Some(trimmed.to_owned())),
    }
}

fn check_text(target: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::invalid(target, format!("'{target}' must be at most {max} characters.")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::invalid(target, format!("'{target}' must not contain control characters.")));
    }
    Ok(())
}

/// A plausible e-mail address: one `@`, non-empty local part and a dotted domain, no spaces.
pub fn email(target: &str, value: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(value) = optional_text(target, value, 254)? else { return Ok(None) };
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(Some(value))
    } else {
        Err(FieldError::invalid(target, format!("'{target}' is not a valid e-mail address.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_required_text_is_missing() {
        let err = required_text("name", Some("   ".into()), 10).unwrap_err();
        assert_eq!(err.kind, super::super::error::FieldErrorKind::Required);
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(required_text("name", Some(" a ".into()), 10).unwrap(), "a");
        assert!(required_text("name", Some("abcdef".into()), 5).is_err());
        assert!(required_text("name", Some("a\u{0}b".into()), 5).is_err());
    }

    #[test]
    fn emails_are_checked_loosely() {
        assert!(email("email", Some("a@example.com".into())).unwrap().is_some());
        assert!(email("email", Some("".into())).unwrap().is_none());
        for bad in ["a", "a@b", "@b.com", "a@@b.com", "a b@c.com", "a@.com"] {
            assert!(email("email", Some(bad.into())).is_err(), "{bad}");
        }
    }
}
