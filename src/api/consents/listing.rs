//! Reading records for the wire: the two lists (a user's, the environment's) and the rendering of
//! records with their embedded applications.

use std::collections::HashMap;

use chrono::Utc;

use super::{
    ApplicationType, ConsentEmbedded, ConsentOut, ConsentsPage, EffectiveConsentsOut, EmbeddedApplication,
    EmbeddedConsents, EmbeddedGrants, GrantedApplicationOut, SelfLink,
};
use crate::api::json::JsonOut;
use crate::api::types::IdRef;
use crate::api::types::{Link, collection_links};
use crate::auth::principal::Principal;
use crate::domain::account::AccessGrant;
use crate::domain::applications::Application;
use crate::domain::consents::{self, ApplicationKind, Consent, ConsentListQuery};
use crate::domain::ids::{ApplicationId, EnvironmentId, UserId};
use crate::domain::paging::PageRequest;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

pub(super) fn wants_applications(expand: Option<&str>) -> Result<bool, ApiError> {
    match expand.map(str::trim) {
        None | Some("") => Ok(false),
        Some("applications") => Ok(true),
        Some(other) => Err(ApiError::new(ErrorCode::InvalidRequest).with_detail(
            "INVALID_PARAMETER",
            Some("expand"),
            format!("Cannot expand '{other}'; supported: applications."),
        )),
    }
}

pub(super) fn embedded(
    state: &AppState,
    consent: &Consent,
    apps: &HashMap<ApplicationId, Application>,
) -> EmbeddedApplication {
    match (consent.application_kind, apps.get(&consent.application_id)) {
        (ApplicationKind::PingOne, Some(app)) => EmbeddedApplication {
            id: app.id.to_string(),
            name: app.name.clone(),
            application_type: ApplicationType::PingOne,
            app_type: Some(app.app_type.into()),
            enabled: Some(app.enabled),
            links: Some(SelfLink {
                self_: Link::to(state.url(&format!("/v1/environments/{}/applications/{}", app.environment_id, app.id))),
            }),
        },
        (kind, _) => EmbeddedApplication {
            id: consent.application_id.to_string(),
            name: consent.application_name.clone(),
            application_type: kind.into(),
            app_type: None,
            enabled: None,
            links: None,
        },
    }
}

/// Shapes records for the wire, embedding applications when asked.
pub(super) async fn render(
    state: &AppState,
    caller: &Principal,
    env: EnvironmentId,
    records: Vec<Consent>,
    expand: bool,
) -> Result<Vec<ConsentOut>, ApiError> {
    let apps = if expand { consents::consent_applications(&state.store, env, &records).await? } else { HashMap::new() };
    let now = Utc::now();
    Ok(records
        .into_iter()
        .map(|record| {
            let embed = expand.then(|| ConsentEmbedded { application: embedded(state, &record, &apps) });
            ConsentOut { embedded: embed, ..ConsentOut::new(state, caller, record, now) }
        })
        .collect())
}

/// The query parameters shared by both consent lists.
pub(super) struct ListParams {
    pub(super) filter: Option<String>,
    pub(super) expand: Option<String>,
    pub(super) limit: Option<i64>,
    pub(super) cursor: Option<String>,
}

/// Lists one user's records (`user`) or the environment's, answering in PingOne's collection shape.
pub(super) async fn list(
    state: &AppState,
    caller: &Principal,
    env: EnvironmentId,
    user: Option<UserId>,
    params: ListParams,
) -> Result<JsonOut<ConsentsPage>, ApiError> {
    let expand = wants_applications(params.expand.as_deref())?;
    let page_request = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    let query = ConsentListQuery { user, filter: params.filter.clone(), page: page_request };
    let page = consents::list_consents(&state.store, env, query).await?;
    let base = match user {
        Some(user) => state.url(&format!("/v1/environments/{env}/users/{user}/oauthConsents")),
        None => state.url(&format!("/v1/environments/{env}/oauthConsents")),
    };
    let extra: Vec<(&str, &str)> = [("filter", params.filter.as_deref()), ("expand", params.expand.as_deref())]
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect();
    let links = collection_links(&base, page_request.limit, params.cursor.as_deref(), &page, &extra);
    let count = page.total;
    let items = render(state, caller, env, page.items, expand).await?;
    let size = items.len();
    Ok(JsonOut(ConsentsPage { links, embedded: EmbeddedConsents { oauth_consents: items }, count, size }))
}

/// Every application `user` has granted something to, with the records behind each grant.
pub(super) async fn granted_applications(
    state: &AppState,
    caller: &Principal,
    env: EnvironmentId,
    user: UserId,
) -> Result<EffectiveConsentsOut, ApiError> {
    // The same folding the hosted account page shows (names: a registered application's current one).
    let grants = crate::domain::account::access_grants(&state.store, env, user).await?;
    let now = Utc::now();
    let mut items = Vec::with_capacity(grants.len());
    for AccessGrant { grant, records, name } in grants {
        let Some(newest) = records.first() else { continue };
        let application_type = newest.application_kind.into();
        let records = records.into_iter().map(|record| ConsentOut::new(state, caller, record, now)).collect();
        items.push(GrantedApplicationOut {
            application: IdRef::to(grant.application_id),
            application_name: name,
            application_type,
            user: IdRef::to(grant.user_id),
            scope: grant.scopes,
            consent_ids: grant.consent_ids.iter().map(ToString::to_string).collect(),
            expires_at: grant.expires_at.map(Into::into),
            embedded: EmbeddedConsents { oauth_consents: records },
        });
    }
    let self_url = state.url(&format!("/v1/environments/{env}/users/{user}/oauthConsents/effective"));
    Ok(EffectiveConsentsOut {
        links: SelfLink { self_: Link::to(self_url) },
        count: items.len(),
        size: items.len(),
        embedded: EmbeddedGrants { effective_consents: items },
    })
}
