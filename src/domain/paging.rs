//! Keyset paging: a page size and an opaque cursor naming where a page starts, forwards (`next`)
//! or backwards (`prev`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::error::{DomainError, FieldError};

/// Page size used when the caller gives none.
pub const DEFAULT_LIMIT: u64 = 100;
/// Largest page served; a larger `limit` is served this many items (clients trust `size`).
pub const MAX_LIMIT: u64 = 1000;
/// A collection's `count` is given when it is at most this; above, counting would cost more than
/// the page, and the answer has no `count` ("many", as PingOne puts it).
pub const COUNT_BOUND: u64 = 1000;

/// Where a page starts, relative to an item of the collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// The items after this one, in collection order (a `next` link).
    After(Uuid),
    /// The items just before this one, in collection order (a `prev` link).
    Before(Uuid),
}

/// A validated page request: at most `limit` items from `position` (the start when `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items to return.
    pub limit: u64,
    /// Where the page starts.
    pub position: Option<Position>,
}

impl PageRequest {
    /// Validates `limit` (at least 1; above [`MAX_LIMIT`] it is served [`MAX_LIMIT`]) and decodes `cursor`.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, DomainError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if n >= 1 => (n as u64).min(MAX_LIMIT),
            Some(_) => {
                return Err(DomainError::field(FieldError::invalid("limit", "'limit' must be at least 1.")));
            }
        };
        let position = match cursor {
            None | Some("") => None,
            Some(text) => Some(decode_cursor(text).ok_or_else(|| {
                DomainError::field(FieldError::invalid(
                    "cursor",
                    "'cursor' is not a cursor this service issued; follow the 'next' or 'prev' link verbatim.",
                ))
            })?),
        };
        Ok(Self { limit, position })
    }

    /// How many items the store should fetch: one more than the page, to learn whether there are more.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }

    /// Whether the store reads backwards from the position (the items come nearest first).
    pub fn backwards(&self) -> bool {
        matches!(self.position, Some(Position::Before(_)))
    }
}

/// One page of items, with the cursors of its neighbours and the collection's total when known.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items of this page, in collection order.
    pub items: Vec<T>,
    /// Opaque cursor of the following page.
    pub next_cursor: Option<String>,
    /// Opaque cursor of the preceding page.
    pub prev_cursor: Option<String>,
    /// Items in the whole collection (as filtered), when at most [`COUNT_BOUND`].
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// Builds a page from up to `request.fetch()` items read from the request's position (nearest
    /// first when reading backwards); the extra item only says "there is more that way".
    pub fn from_keyset(mut items: Vec<T>, request: PageRequest, id_of: impl Fn(&T) -> Uuid) -> Self {
        let more = items.len() as u64 > request.limit;
        items.truncate(request.limit as usize);
        let first_and_last = |items: &[T]| items.first().map(&id_of).zip(items.last().map(&id_of));
        let (next_cursor, prev_cursor) = if request.backwards() {
            items.reverse();
            match first_and_last(&items) {
                Some((first, last)) => {
                    (Some(encode_cursor(Position::After(last))), more.then(|| encode_cursor(Position::Before(first))))
                }
                None => (None, None),
            }
        } else {
            match first_and_last(&items) {
                Some((first, last)) => (
                    more.then(|| encode_cursor(Position::After(last))),
                    request.position.is_some().then(|| encode_cursor(Position::Before(first))),
                ),
                None => (None, None),
            }
        };
        Self { items, next_cursor, prev_cursor, total: None }
    }

    /// Whether the page alone tells the total: the first page, with nothing after it.
    pub fn is_whole_collection(&self, request: PageRequest) -> bool {
        request.position.is_none() && self.next_cursor.is_none()
    }

    /// Sets the total from a count bounded at [`COUNT_BOUND`] (`None` above it).
    pub fn with_total(mut self, counted: u64) -> Self {
        self.total = (counted <= COUNT_BOUND).then_some(counted);
        self
    }
}

/// Reads one page of a collection: `fetch` gets the items from the request's position, `count`
/// the collection's size bounded at [`COUNT_BOUND`] + 1; the count is skipped when the page is the
/// whole collection.
pub async fn read_page<T, E, Fetch, Count>(
    request: PageRequest,
    id_of: impl Fn(&T) -> Uuid,
    fetch: Fetch,
    count: Count,
) -> Result<Page<T>, E>
where
    Fetch: Future<Output = Result<Vec<T>, E>>,
    Count: Future<Output = Result<u64, E>>,
{
    let page = Page::from_keyset(fetch.await?, request, id_of);
    if page.is_whole_collection(request) {
        let size = page.items.len() as u64;
        return Ok(page.with_total(size));
    }
    let counted = count.await?;
    Ok(page.with_total(counted))
}

/// The cursor is a direction byte and an item id, base64url-encoded so clients treat it as opaque.
/// A bare id (16 bytes, what earlier versions issued) still reads as "after".
fn encode_cursor(position: Position) -> String {
    let (direction, id) = match position {
        Position::After(id) => (b'a', id),
        Position::Before(id) => (b'b', id),
    };
    let mut bytes = Vec::with_capacity(17);
    bytes.push(direction);
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(text: &str) -> Option<Position> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    match bytes.as_slice() {
        [b'a', id @ ..] => Uuid::from_slice(id).ok().map(Position::After),
        [b'b', id @ ..] => Uuid::from_slice(id).ok().map(Position::Before),
        id if id.len() == 16 => Uuid::from_slice(id).ok().map(Position::After),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(limit: u64, position: Option<Position>) -> PageRequest {
        PageRequest { limit, position }
    }

    #[test]
    fn cursors_round_trip_in_both_directions() {
        let id = Uuid::now_v7();
        for position in [Position::After(id), Position::Before(id)] {
            let page = PageRequest::parse(Some(5), Some(&encode_cursor(position))).unwrap();
            assert_eq!(page.position, Some(position));
            assert_eq!(page.limit, 5);
        }
        let legacy = URL_SAFE_NO_PAD.encode(id.as_bytes());
        assert_eq!(PageRequest::parse(None, Some(&legacy)).unwrap().position, Some(Position::After(id)));
    }

    #[test]
    fn a_limit_above_the_maximum_is_clamped_and_below_one_refused() {
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(-3), None).is_err());
        assert_eq!(PageRequest::parse(Some(1001), None).unwrap().limit, MAX_LIMIT);
        assert_eq!(PageRequest::parse(Some(i64::MAX), None).unwrap().limit, MAX_LIMIT);
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn garbage_cursor_is_rejected() {
        assert!(PageRequest::parse(None, Some("not-a-cursor!")).is_err());
        assert!(PageRequest::parse(None, Some("AAAA")).is_err());
        assert!(PageRequest::parse(None, Some(&URL_SAFE_NO_PAD.encode([b'x'; 17]))).is_err());
    }

    #[test]
    fn a_first_page_links_only_forwards_and_only_when_there_is_more() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_keyset(ids.clone(), request(2, None), |id| *id);
        assert_eq!(page.items, ids[..2]);
        assert_eq!(page.next_cursor.as_deref().and_then(decode_cursor), Some(Position::After(ids[1])));
        assert!(page.prev_cursor.is_none());
        let page = Page::from_keyset(ids.clone(), request(3, None), |id| *id);
        assert!(page.next_cursor.is_none());
        assert!(page.is_whole_collection(request(3, None)));
    }

    #[test]
    fn a_backward_page_is_put_back_in_collection_order_with_links_both_ways() {
        // Read backwards from item 5: nearest first, one extra.
        let ids: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
        let fetched = vec![ids[4], ids[3], ids[2]];
        let page = Page::from_keyset(fetched, request(2, Some(Position::Before(ids[5]))), |id| *id);
        assert_eq!(page.items, vec![ids[3], ids[4]]);
        assert_eq!(page.next_cursor.as_deref().and_then(decode_cursor), Some(Position::After(ids[4])));
        assert_eq!(page.prev_cursor.as_deref().and_then(decode_cursor), Some(Position::Before(ids[3])));
        // At the start: no prev.
        let page = Page::from_keyset(vec![ids[1], ids[0]], request(2, Some(Position::Before(ids[2]))), |id| *id);
        assert_eq!(page.items, vec![ids[0], ids[1]]);
        assert!(page.prev_cursor.is_none());
    }

    #[test]
    fn totals_above_the_bound_are_not_given() {
        let page = Page::<Uuid>::from_keyset(vec![], request(2, None), |id| *id);
        assert_eq!(page.clone().with_total(COUNT_BOUND).total, Some(COUNT_BOUND));
        assert_eq!(page.with_total(COUNT_BOUND + 1).total, None);
    }
}
