//! A consent record as a `consents` row and back: names of statuses, sources and kinds as stored.

use entities::consent;
use serde_json::Value as Json;

use super::StoreError;
use super::consent_revocations::{revoked_by_columns, revoked_by_from};
use crate::domain::consents::{
    ApplicationKind, Consent, ConsentSource, ConsentStatus, Revocation, RevokedBy, ShownText,
};
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, ScopeId, UserId};
use crate::enrich::{Location, Software};

fn status_name(status: ConsentStatus) -> &'static str {
    match status {
        ConsentStatus::Accepted => "ACCEPTED",
        ConsentStatus::Declined => "DECLINED",
        ConsentStatus::Revoked => "REVOKED",
    }
}

pub(super) fn to_row(c: &Consent) -> consent::Model {
    let (browser_name, browser_version) = split(&c.browser);
    let (os_name, os_version) = split(&c.operating_system);
    let revoked_by = c.revocation.map(|r| revoked_by_columns(r.by));
    consent::Model {
        environment_id: c.environment_id.as_uuid(),
        id: c.id.as_uuid(),
        user_id: c.user_id.as_uuid(),
        application_id: c.application_id.as_uuid(),
        application_name: c.application_name.clone(),
        application_type: c.application_kind.name().to_owned(),
        scopes: Json::Array(c.scopes.iter().cloned().map(Json::String).collect()),
        status: status_name(c.status).to_owned(),
        browser_name,
        browser_version,
        os_name,
        os_version,
        device_type: c.device_type.clone(),
        remote_ip: c.location.remote_ip.to_string(),
        city: c.location.city.clone(),
        state: c.location.state.clone(),
        region: c.location.region.clone(),
        country: c.location.country.clone(),
        consented_at: c.consented_at,
        updated_at: c.updated_at,
        expires_at: c.expires_at,
        source: c.source.name().to_owned(),
        remembered: c.remembered,
        revoked_at: c.revocation.map(|r| r.at),
        revoked_by_type: revoked_by.map(|(kind, _)| kind.to_owned()),
        revoked_by_id: revoked_by.and_then(|(_, id)| id),
        scope_texts: c.scope_texts.as_ref().map(|texts| {
            Json::Array(
                texts
                    .iter()
                    .map(|t| serde_json::json!({"scope": t.scope, "scopeId": t.scope_id.as_uuid(), "version": t.version}))
                    .collect(),
            )
        }),
    }
}

fn split(software: &Option<Software>) -> (Option<String>, Option<String>) {
    match software {
        Some(s) => (Some(s.name.clone()), s.version.clone()),
        None => (None, None),
    }
}

fn join(name: Option<String>, version: Option<String>) -> Option<Software> {
    name.map(|name| Software { name, version })
}

pub(super) fn to_domain(row: consent::Model) -> Result<Consent, StoreError> {
    let bad = |what: &str| StoreError::Database(format!("consent {} has an invalid {what}", row.id));
    let status = match row.status.as_str() {
        "ACCEPTED" => ConsentStatus::Accepted,
        "DECLINED" => ConsentStatus::Declined,
        "REVOKED" => ConsentStatus::Revoked,
        _ => return Err(bad("status")),
    };
    let kind = match row.application_type.as_str() {
        "PINGONE" => ApplicationKind::PingOne,
        "EXTERNAL" => ApplicationKind::External,
        _ => return Err(bad("application type")),
    };
    let source = match row.source.as_str() {
        "API" => ConsentSource::Api,
        "CONSENT_PAGE" => ConsentSource::ConsentPage,
        "IMPLICIT" => ConsentSource::Implicit,
        "CONSENT_APP" => ConsentSource::ConsentApp,
        _ => return Err(bad("source")),
    };
    let scopes: Vec<String> = serde_json::from_value(row.scopes.clone()).map_err(|_| bad("scope list"))?;
    let remote_ip = row.remote_ip.parse().map_err(|_| bad("remote IP"))?;
    let scope_texts = match &row.scope_texts {
        None => None,
        Some(Json::Array(items)) => Some(
            items
                .iter()
                .map(|item| {
                    Some(ShownText {
                        scope: item.get("scope")?.as_str()?.to_owned(),
                        scope_id: ScopeId::from_uuid(item.get("scopeId")?.as_str()?.parse().ok()?),
                        version: i32::try_from(item.get("version")?.as_i64()?).ok()?,
                    })
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("scope text list"))?,
        ),
        Some(_) => return Err(bad("scope text list")),
    };
    let revocation = match (status, row.revoked_at, row.revoked_by_type.as_deref()) {
        (ConsentStatus::Revoked, Some(at), Some(kind)) => {
            Some(Revocation { at, by: revoked_by_from(kind, row.revoked_by_id).ok_or_else(|| bad("revokedBy"))? })
        }
        // Revoked by a node that did not yet keep the cause: its update time is when.
        (ConsentStatus::Revoked, _, _) => Some(Revocation { at: row.updated_at, by: RevokedBy::Unknown }),
        _ => None,
    };
    Ok(Consent {
        id: ConsentId::from_uuid(row.id),
        environment_id: EnvironmentId::from_uuid(row.environment_id),
        user_id: UserId::from_uuid(row.user_id),
        application_id: ApplicationId::from_uuid(row.application_id),
        application_name: row.application_name,
        application_kind: kind,
        scopes,
        status,
        browser: join(row.browser_name, row.browser_version),
        operating_system: join(row.os_name, row.os_version),
        device_type: row.device_type,
        location: Location { remote_ip, city: row.city, state: row.state, region: row.region, country: row.country },
        consented_at: row.consented_at,
        updated_at: row.updated_at,
        expires_at: row.expires_at,
        source,
        remembered: row.remembered,
        revocation,
        scope_texts,
    })
}
