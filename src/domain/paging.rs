//! Keyset paging: a page size and an opaque cursor naming the last item already seen.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::error::{DomainError, FieldError};

/// Page size used when the caller gives none.
pub const DEFAULT_LIMIT: u64 = 100;
/// Largest page a caller may ask for.
pub const MAX_LIMIT: u64 = 1000;

/// A validated page request: at most `limit` items strictly after `after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items to return.
    pub limit: u64,
    /// The id of the last item of the previous page, if any.
    pub after: Option<Uuid>,
}

impl PageRequest {
    /// Validates `limit` (1..=MAX_LIMIT) and decodes `cursor`.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, DomainError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as u64,
            Some(_) => {
                return Err(DomainError::field(FieldError::invalid(
                    "limit",
                    format!("'limit' must be between 1 and {MAX_LIMIT}."),
                )));
            }
        };
        let after = match cursor {
            None | Some("") => None,
            Some(text) => Some(decode_cursor(text).ok_or_else(|| {
                DomainError::field(FieldError::invalid(
                    "cursor",
                    "'cursor' is not a cursor this service issued; follow the 'next' link verbatim.",
                ))
            })?),
        };
        Ok(Self { limit, after })
    }
}

/// One page of items, and the cursor of the next page when there is one.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items of this page, in collection order.
    pub items: Vec<T>,
    /// Opaque cursor for the following page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items: the extra one only says "there is more".
    pub fn from_overfetch(mut items: Vec<T>, limit: u64, id_of: impl Fn(&T) -> Uuid) -> Self {
        let has_more = items.len() as u64 > limit;
        items.truncate(limit as usize);
        let next_cursor = if has_more { items.last().map(|last| encode_cursor(id_of(last))) } else { None };
        Self { items, next_cursor }
    }
}

/// The cursor is the last id seen, base64url-encoded so clients treat it as opaque.
fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(text: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    Uuid::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let id = Uuid::now_v7();
        let page = PageRequest::parse(Some(5), Some(&encode_cursor(id))).unwrap();
        assert_eq!(page.after, Some(id));
        assert_eq!(page.limit, 5);
    }

    #[test]
    fn limit_outside_range_is_rejected() {
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(1001), None).is_err());
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn garbage_cursor_is_rejected() {
        assert!(PageRequest::parse(None, Some("not-a-cursor!")).is_err());
        assert!(PageRequest::parse(None, Some("AAAA")).is_err());
    }

    #[test]
    fn overfetch_sets_next_cursor_only_when_more() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_overfetch(ids.clone(), 2, |id| *id);
        assert_eq!(page.items.len(), 2);
        assert!(page.next_cursor.is_some());
        let page = Page::from_overfetch(ids, 3, |id| *id);
        assert!(page.next_cursor.is_none());
    }
}
