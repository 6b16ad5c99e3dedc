//! Wire building blocks shared by every resource: timestamps, HAL links, id references.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::Object;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// An instant on the wire: ISO-8601 UTC with milliseconds and `Z`, e.g. `2026-11-23T10:32:20.573Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The wire text.
    pub fn format(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => {
                DateTime::parse_from_rfc3339(&text).map(|t| Timestamp(t.with_timezone(&Utc))).map_err(|_| {
                    ParseError::custom("expected an ISO-8601 timestamp with offset, e.g. 2026-11-23T10:00:00.000Z")
                })
            }
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.format()))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.format())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text).map(|t| Timestamp(t.with_timezone(&Utc))).map_err(|_| {
            serde::de::Error::custom(format!(
                "'{text}' is not an ISO-8601 timestamp with offset (e.g. 2026-11-23T10:00:00.000Z)"
            ))
        })
    }
}

/// A HAL link.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct Link {
    /// Absolute URL.
    pub href: String,
}

impl Link {
    /// A link to `href`.
    pub fn to(href: impl Into<String>) -> Self {
        Self { href: href.into() }
    }
}

/// A relationship: `{"id": "..."}`.
#[derive(Clone, Debug, Object, serde::Deserialize, serde::Serialize)]
pub struct IdRef {
    /// The related resource's id.
    pub id: String,
}

impl IdRef {
    /// A reference to `id`.
    pub fn to(id: impl ToString) -> Self {
        Self { id: id.to_string() }
    }
}

/// Links of a collection page.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct CollectionLinks {
    /// This page.
    #[oai(rename = "self")]
    #[serde(rename = "self")]
    pub self_: Link,
    /// The next page, when there is one; follow it verbatim.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
    /// The previous page, when this page is not the first; follow it verbatim.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<Link>,
}

/// Builds `self`/`next`/`prev` links for a page of the collection at `base` with `limit`; `extra`
/// are the query parameters every link repeats (a filter, an expansion).
pub fn collection_links<T>(
    base: &str,
    limit: u64,
    cursor: Option<&str>,
    page: &crate::domain::paging::Page<T>,
    extra: &[(&str, &str)],
) -> CollectionLinks {
    let page_url = |cursor: Option<&str>| {
        let mut url = format!("{base}?limit={limit}");
        for (key, value) in extra {
            url.push_str(&format!("&{key}={}", urlencode(value)));
        }
        if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
            url.push_str(&format!("&cursor={}", urlencode(cursor)));
        }
        url
    };
    CollectionLinks {
        self_: Link::to(page_url(cursor)),
        next: page.next_cursor.as_deref().map(|n| Link::to(page_url(Some(n)))),
        prev: page.prev_cursor.as_deref().map(|p| Link::to(page_url(Some(p)))),
    }
}

/// `self` and `next` links of a collection paged forwards only (the event log, versions): `next`
/// when `next_cursor` is given.
pub fn forward_links(base: &str, limit: u64, cursor: Option<&str>, next_cursor: Option<&str>) -> CollectionLinks {
    let url = |cursor: Option<&str>| match cursor.filter(|c| !c.is_empty()) {
        Some(cursor) => format!("{base}?limit={limit}&cursor={}", urlencode(cursor)),
        None => format!("{base}?limit={limit}"),
    };
    CollectionLinks { self_: Link::to(url(cursor)), next: next_cursor.map(|n| Link::to(url(Some(n)))), prev: None }
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A page ready for the wire: links, items, the collection's total when known, the page's size.
pub struct PageParts<O> {
    /// `self`, `next`, `prev`.
    pub links: CollectionLinks,
    /// The rendered items.
    pub items: Vec<O>,
    /// Items in the whole collection, when counted.
    pub count: Option<u64>,
    /// Items in this page.
    pub size: usize,
}

/// The links and wire items of one page of the collection at `base`; shared by every list.
pub fn page_parts<T, O>(
    base: &str,
    request: crate::domain::paging::PageRequest,
    cursor: Option<&str>,
    page: crate::domain::paging::Page<T>,
    extra: &[(&str, &str)],
    render: impl FnMut(T) -> O,
) -> PageParts<O> {
    let links = collection_links(base, request.limit, cursor, &page, extra);
    let count = page.total;
    let items: Vec<O> = page.items.into_iter().map(render).collect();
    PageParts { links, size: items.len(), items, count }
}

/// A body field the spec marks required, read leniently: a missing or invalid value becomes `None`
/// so that the domain can report it together with every other problem of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Required<T>(pub Option<T>);

impl<T> Default for Required<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T: Type> Type for Required<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(Type::as_raw_value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(value) => value.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }
}

impl<T: ParseFromJSON> ParseFromJSON for Required<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Option::<T>::parse_from_json(value).map(Required).map_err(ParseError::propagate)
    }
}

impl<T: ToJSON> ToJSON for Required<T> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Required<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Required)
    }
}
