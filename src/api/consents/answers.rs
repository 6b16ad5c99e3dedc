//! The bodies the records API takes and the answers it gives, in their media types and statuses.

use poem_openapi::{ApiRequest, ApiResponse};

use super::{AcceptMedia, ConsentAcceptIn, ConsentOut, ConsentRevokeIn, RevokeMedia};
use crate::api::etag::TaggedJson;
use crate::api::json::{JsonBody, LenientJsonBody};

/// A consent to record, in either accepted media type.
#[derive(ApiRequest)]
pub enum RecordBody {
    /// PingOne's media type.
    Accept(LenientJsonBody<ConsentAcceptIn, AcceptMedia>),
    /// Plain JSON.
    Json(LenientJsonBody<ConsentAcceptIn>),
}

/// A revocation, in either accepted media type.
#[derive(ApiRequest)]
pub enum RevokeBody {
    /// PingOne's media type.
    Revoke(JsonBody<ConsentRevokeIn, RevokeMedia>),
    /// Plain JSON.
    Json(JsonBody<ConsentRevokeIn>),
}

/// Answer of recording a consent.
#[derive(ApiResponse)]
#[allow(dead_code)] // The 409 and 422 variants document answers of the idempotency layer.
pub enum Recorded {
    /// The record was appended to the ledger.
    #[oai(status = 201)]
    Created(
        TaggedJson<ConsentOut>,
        #[oai(header = "Location")] String,
        /// The record's entity tag, for `If-Match` / `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// The first request with this `Idempotency-Key` is still running; retry after `Retry-After`.
    #[oai(status = 409)]
    KeyInUse(poem_openapi::payload::Json<crate::error::ErrorBody>),
    /// This `Idempotency-Key` was used for a different request.
    #[oai(status = 422)]
    KeyReused(poem_openapi::payload::Json<crate::error::ErrorBody>),
}

/// Answer of reading one record.
#[derive(ApiResponse)]
pub enum ConsentRead {
    /// The record.
    #[oai(status = 200)]
    Ok(
        TaggedJson<ConsentOut>,
        /// The entity tag of this version of the record.
        #[oai(header = "ETag")]
        String,
    ),
    /// The record is still the version `If-None-Match` names.
    #[oai(status = 304)]
    NotModified(
        /// The entity tag of the current version.
        #[oai(header = "ETag")]
        String,
    ),
}

/// Answer of revoking a record.
#[derive(ApiResponse)]
pub enum Revoked {
    /// The record as it is now.
    #[oai(status = 200)]
    Ok(
        TaggedJson<ConsentOut>,
        /// The entity tag of the record's new version.
        #[oai(header = "ETag")]
        String,
    ),
    /// `If-Match` names a version the record no longer is: nothing was changed.
    #[oai(status = 412)]
    PreconditionFailed(poem_openapi::payload::Json<crate::error::ErrorBody>),
}
