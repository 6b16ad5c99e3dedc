//! Consent receipts: a record, signed with the environment's key, in the fields of the Kantara
//! Consent Receipt v1.1 and ISO/IEC TS 27560 that apply, tied to the record's place in the event
//! chain. Anyone holding the environment's public JWKS can check one offline.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::chain::{EventType, instant};
use crate::auth::tokens::TokenService;
use crate::domain::consents::{Consent, EffectiveStatus};
use crate::domain::environments::Environment;
use crate::domain::error::DomainError;
use crate::domain::ids::{ConsentId, EnvironmentId, ScopeId, UserId};
use crate::store::Store;

/// The JWS `typ` of a receipt.
pub const RECEIPT_TYP: &str = "consent-receipt+jwt";
/// The Kantara Consent Receipt specification version whose fields receipts use.
pub const KANTARA_VERSION: &str = "KI-CR-v1.1.0";
/// The version of Assent's receipt format.
pub const RECEIPT_VERSION: &str = "assent.receipt.v1";

/// The data controller, as Kantara's `piiControllers` entries name it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PiiController {
    /// Its name.
    pub pii_controller: String,
    /// How to reach it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// One purpose the user consented to: a scope and the text shown for it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Purpose {
    /// The scope string.
    pub scope: String,
    /// The exact text the user was shown for it, when the record kept which version that was.
    pub text: Option<String>,
    /// The version of that text.
    pub text_version: Option<i32>,
}

/// The service (application) consented to and its purposes.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The application's name when the consent was given.
    pub service: String,
    /// The application's id.
    pub service_id: String,
    /// `PINGONE` (registered) or `EXTERNAL`.
    pub application_type: &'static str,
    /// Its purposes: one per scope.
    pub purposes: Vec<Purpose>,
}

/// Where the record sits in the environment's event chain.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    /// The event's sequence number.
    pub sequence: i64,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// Its hash.
    pub hash: String,
}

/// What a receipt says.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptClaims {
    /// The environment's issuer.
    pub iss: String,
    /// The user (Kantara `piiPrincipalId`).
    pub sub: String,
    /// When the receipt was issued.
    pub iat: i64,
    /// The receipt's id (Kantara `consentReceiptID`).
    pub jti: String,
    /// The Kantara specification version.
    pub version: &'static str,
    /// Assent's receipt format.
    pub receipt_version: &'static str,
    /// The environment.
    pub environment_id: String,
    /// The data controllers (empty until the environment names one).
    pub pii_controllers: Vec<PiiController>,
    /// The controller's privacy policy.
    pub policy_url: Option<String>,
    /// The user (as `sub`).
    pub pii_principal_id: String,
    /// The consent record.
    pub record_id: String,
    /// How consent was collected: `CONSENT_PAGE`, `API`, `CONSENT_APP` (an external, Hydra-style
    /// consent app) or `IMPLICIT` (granted by policy without asking).
    pub collection_method: &'static str,
    /// When consent was given (seconds since the epoch).
    pub consent_timestamp: i64,
    /// The same, as RFC 3339.
    pub consented_at: String,
    /// When it ends by itself.
    pub expires_at: Option<String>,
    /// `ACCEPTED`, `DECLINED`, `REVOKED` or `EXPIRED` when the receipt was issued.
    pub status: &'static str,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// Who revoked it: `USER`, `ADMINISTRATOR`, … (the records API's `revokedBy.type`).
    pub revoked_by: Option<&'static str>,
    /// The application and the scopes consented to.
    pub services: Vec<Service>,
    /// The record's events in the chain, oldest first (`consent.recorded` first).
    pub ledger: Vec<LedgerEntry>,
}

fn status(record: &Consent, at: DateTime<Utc>) -> &'static str {
    match record.status_at(at) {
        EffectiveStatus::Accepted => "ACCEPTED",
        EffectiveStatus::Declined => "DECLINED",
        EffectiveStatus::Revoked => "REVOKED",
        EffectiveStatus::Expired => "EXPIRED",
    }
}

/// The claims of a receipt for `record` of `environment`, issued at `at`.
pub fn claims(
    issuer: String,
    environment: &Environment,
    record: &Consent,
    purposes: Vec<Purpose>,
    ledger: Vec<LedgerEntry>,
    at: DateTime<Utc>,
) -> ReceiptClaims {
    let controller = &environment.controller;
    ReceiptClaims {
        iss: issuer,
        sub: record.user_id.to_string(),
        iat: at.timestamp(),
        jti: uuid::Uuid::now_v7().to_string(),
        version: KANTARA_VERSION,
        receipt_version: RECEIPT_VERSION,
        environment_id: environment.id.to_string(),
        pii_controllers: controller
            .name
            .clone()
            .map(|name| PiiController { pii_controller: name, contact: controller.contact.clone() })
            .into_iter()
            .collect(),
        policy_url: controller.privacy_policy_url.clone(),
        pii_principal_id: record.user_id.to_string(),
        record_id: record.id.to_string(),
        collection_method: record.source.name(),
        consent_timestamp: record.consented_at.timestamp(),
        consented_at: instant(record.consented_at),
        expires_at: record.expires_at.map(instant),
        status: status(record, at),
        revoked_at: record.revocation.map(|r| instant(r.at)),
        revoked_by: record.revocation.map(|r| r.by.parts().0),
        services: vec![Service {
            service: record.application_name.clone(),
            service_id: record.application_id.to_string(),
            application_type: record.application_kind.name(),
            purposes,
        }],
        ledger,
    }
}

/// The texts `records` were given on, by scope and version: one query for them all.
pub async fn shown_texts(
    store: &Store,
    env: EnvironmentId,
    records: &[Consent],
) -> Result<HashMap<(ScopeId, i32), Option<String>>, DomainError> {
    let wanted: Vec<_> = records
        .iter()
        .flat_map(|r| r.scope_texts.as_deref().unwrap_or_default())
        .map(|t| (t.scope_id, t.version))
        .collect();
    let texts = store.scope_texts_at(env, &wanted).await?;
    Ok(texts.into_iter().map(|t| ((t.scope_id, t.version), t.description)).collect())
}

/// Each scope of `record` with the text shown for it (from `texts`, see [`shown_texts`]), when the
/// record kept which version that was.
pub fn purposes_of(record: &Consent, texts: &HashMap<(ScopeId, i32), Option<String>>) -> Vec<Purpose> {
    let shown = record.scope_texts.as_deref().unwrap_or_default();
    record
        .scopes
        .iter()
        .map(|scope| {
            let version = shown.iter().find(|t| &t.scope == scope);
            Purpose {
                scope: scope.clone(),
                text: version.and_then(|v| texts.get(&(v.scope_id, v.version)).cloned().flatten()),
                text_version: version.map(|v| v.version),
            }
        })
        .collect()
}

/// A signed receipt (compact JWS, ES256, `typ` [`RECEIPT_TYP`]) for one record of `user`.
pub async fn issue_receipt(
    store: &Store,
    tokens: &TokenService,
    env: EnvironmentId,
    user: UserId,
    id: ConsentId,
) -> Result<String, DomainError> {
    let record = store.get_consent(env, user, id).await?;
    let environment = store.get_environment(env).await?;
    let ledger: Vec<LedgerEntry> = store
        .events_about_any(env, &[id.as_uuid()])
        .await?
        .into_iter()
        .map(|e| LedgerEntry { sequence: e.sequence, event_type: e.event.kind.name(), hash: e.hash })
        .collect();
    if !ledger.iter().any(|e| e.event_type == EventType::ConsentRecorded.name()) {
        // Recorded before the event log existed: there is nothing in the chain to tie it to.
        return Err(DomainError::InvalidState(
            "This record was made before the event log began, so no receipt can tie it to the chain.".into(),
        ));
    }
    let texts = shown_texts(store, env, std::slice::from_ref(&record)).await?;
    let purposes = purposes_of(&record, &texts);
    let claims = claims(tokens.issuer(env), &environment, &record, purposes, ledger, crate::domain::now());
    Ok(tokens.sign_typed(env, RECEIPT_TYP, &claims).await?.0)
}
