//! Strong entity tags (RFC 9110 §8.8.3) for single resources, and the `If-Match` / `If-None-Match`
//! comparisons (§13.1.1, §13.1.2).

use std::marker::PhantomData;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::http::HeaderValue;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorCode};

/// A JSON representation serialised once, with its strong entity tag: the tag is a digest of the
/// exact bytes sent, so it changes whenever anything in the answer does (a status read as
/// `EXPIRED` at a later time, an embedded application renamed) and never otherwise.
pub struct TaggedJson<T> {
    body: Vec<u8>,
    etag: String,
    shape: PhantomData<T>,
}

impl<T: serde::Serialize> TaggedJson<T> {
    /// Serialises `value` and tags it.
    pub fn new(value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value).map_err(|e| ApiError::unexpected(format!("serialising: {e}")))?;
        let digest = Sha256::digest(&body);
        // 128 bits are plenty to tell versions of one resource apart.
        let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]));
        Ok(Self { body, etag, shape: PhantomData })
    }
}

impl<T> TaggedJson<T> {
    /// The `ETag` header value, quotes included.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// Whether an `If-None-Match` header names this version (weak comparison; `*` matches).
    pub fn none_match_hit(&self, if_none_match: Option<&str>) -> bool {
        if_none_match.is_some_and(|header| tag_list_matches(header, &self.etag, false))
    }
}

/// Refuses a change when `If-Match` names no current version of the resource (strong comparison;
/// `*` matches any). No header: no condition.
pub fn require_match(if_match: Option<&str>, current_etag: &str) -> Result<(), ApiError> {
    match if_match {
        Some(header) if !tag_list_matches(header, current_etag, true) => Err(ApiError::new(
            ErrorCode::PreconditionFailed,
        )
        .with_detail(
            "INVALID_VALUE",
            Some("If-Match"),
            format!("The resource has changed; its current ETag is {current_etag}. Read it again before changing it."),
        )),
        _ => Ok(()),
    }
}

/// Whether a comma-separated list of entity tags (or `*`) contains `etag`. Strong comparison
/// refuses weak tags (`W/"…"`); weak comparison ignores the prefix.
fn tag_list_matches(header: &str, etag: &str, strong: bool) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        if candidate == "*" {
            return true;
        }
        match candidate.strip_prefix("W/") {
            Some(weak) => !strong && weak == etag,
            None => candidate == etag,
        }
    })
}

impl<T: Type> Payload for TaggedJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> poem::IntoResponse for TaggedJson<T> {
    fn into_response(self) -> poem::Response {
        let mut response = poem::Response::builder().content_type(Self::CONTENT_TYPE_STR).body(self.body);
        if let Ok(value) = HeaderValue::from_str(&self.etag) {
            response.headers_mut().insert(poem::http::header::ETAG, value);
        }
        response
    }
}

impl<T> TaggedJson<T> {
    const CONTENT_TYPE_STR: &'static str = "application/json; charset=utf-8";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_follows_the_bytes() {
        let a = TaggedJson::new(&serde_json::json!({"status": "ACCEPTED"})).unwrap();
        let b = TaggedJson::new(&serde_json::json!({"status": "REVOKED"})).unwrap();
        assert_ne!(a.etag(), b.etag());
        assert_eq!(a.etag(), TaggedJson::new(&serde_json::json!({"status": "ACCEPTED"})).unwrap().etag());
        assert!(a.etag().starts_with('"') && a.etag().ends_with('"'));
    }

    #[test]
    fn if_none_match_compares_weakly_and_if_match_strongly() {
        let tagged = TaggedJson::new(&1).unwrap();
        let etag = tagged.etag().to_owned();
        assert!(tagged.none_match_hit(Some(&etag)));
        assert!(tagged.none_match_hit(Some(&format!("\"x\", W/{etag}"))));
        assert!(tagged.none_match_hit(Some("*")));
        assert!(!tagged.none_match_hit(Some("\"x\"")));
        assert!(!tagged.none_match_hit(None));
        assert!(require_match(Some(&etag), &etag).is_ok());
        assert!(require_match(Some("*"), &etag).is_ok());
        assert!(require_match(None, &etag).is_ok());
        assert_eq!(require_match(Some(&format!("W/{etag}")), &etag).unwrap_err().status().as_u16(), 412);
        assert_eq!(require_match(Some("\"other\""), &etag).unwrap_err().status().as_u16(), 412);
    }
}
