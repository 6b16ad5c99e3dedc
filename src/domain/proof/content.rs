//! What each event's digest covers: the facts of the change that are not personal data (ids,
//! times, scopes, statuses), so erasing a person's data leaves every digest checkable.

use serde_json::{Value, json};
use uuid::Uuid;

use super::chain::{EventType, NewEvent, instant};
use crate::domain::consents::{Consent, ConsentStatus, Revocation};
use crate::domain::scopes::ScopeText;

/// The content of a record's `consent.recorded` event: what was agreed, by whom, to whom, when.
pub fn recorded(record: &Consent) -> Value {
    json!({
        "recordId": record.id.as_uuid(),
        "userId": record.user_id.as_uuid(),
        "applicationId": record.application_id.as_uuid(),
        "applicationName": record.application_name,
        "applicationType": record.application_kind.name(),
        "scopes": record.scopes,
        // As recorded: only accepted records are ever revoked, and that is an event of its own.
        "status": match record.status {
            ConsentStatus::Accepted | ConsentStatus::Revoked => "ACCEPTED",
            ConsentStatus::Declined => "DECLINED",
        },
        "consentedAt": instant(record.consented_at),
        "expiresAt": record.expires_at.map(instant),
        "source": record.source.name(),
        "remembered": record.remembered,
        "scopeTexts": record.scope_texts.as_ref().map(|texts| {
            texts
                .iter()
                .map(|t| json!({"scope": t.scope, "scopeId": t.scope_id.as_uuid(), "version": t.version}))
                .collect::<Vec<_>>()
        }),
    })
}

/// The content of a `consent.revoked` event: which record, when, and by whom.
pub fn revoked(record: Uuid, revocation: Revocation) -> Value {
    let (kind, by) = revocation.by.parts();
    json!({
        "recordId": record,
        "revokedAt": instant(revocation.at),
        "revokedBy": {"type": kind, "id": by},
    })
}

/// The content of a `consent.expired` event: which record, and its expiry.
pub fn expired(record: Uuid, expires_at: chrono::DateTime<chrono::Utc>) -> Value {
    json!({"recordId": record, "expiresAt": instant(expires_at)})
}

/// The content of an event about a whole user or application: its id alone.
pub fn subject_only(kind: EventType, subject: Uuid) -> Value {
    match kind {
        EventType::ApplicationDeleted => json!({"applicationId": subject}),
        _ => json!({"userId": subject}),
    }
}

/// The content of a `scope.text_changed` event: the new version of the text, in full (scope texts
/// are the controller's words, not personal data).
pub fn scope_text(text: &ScopeText) -> Value {
    json!({
        "scopeTextId": text.id,
        "scopeId": text.scope_id.as_uuid(),
        "version": text.version,
        "text": text.description,
        "createdAt": instant(text.created_at),
    })
}

/// The `scope.text_changed` event of `text`.
pub fn scope_text_event(text: &ScopeText) -> NewEvent {
    NewEvent::new(EventType::ScopeTextChanged, text.created_at, text.id, &scope_text(text))
}

/// The `consent.recorded` event of `record`.
pub fn recorded_event(record: &Consent) -> NewEvent {
    NewEvent::new(EventType::ConsentRecorded, record.consented_at, record.id.as_uuid(), &recorded(record))
}

/// The `consent.revoked` event of `record`.
pub fn revoked_event(record: Uuid, revocation: Revocation) -> NewEvent {
    NewEvent::new(EventType::ConsentRevoked, revocation.at, record, &revoked(record, revocation))
}

/// An event about a whole user or application.
pub fn subject_event(kind: EventType, at: chrono::DateTime<chrono::Utc>, subject: Uuid) -> NewEvent {
    NewEvent::new(kind, at, subject, &subject_only(kind, subject))
}
