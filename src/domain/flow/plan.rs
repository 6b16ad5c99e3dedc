//! Which requested scopes need the user's answer, which are granted without asking, and which are
//! already on record (remembered consent, incremental consent).

use super::super::applications::{Application, ConsentMethod};
use super::super::consents::{Consent, EffectiveConsent};
use super::super::error::DomainError;
use super::super::ids::{EnvironmentId, UserId};
use super::super::scopes::ConsentPolicy;
use crate::store::Store;

/// A scope shown on the consent page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeChoice {
    /// The scope string.
    pub name: String,
    /// What it allows, for the user.
    pub description: Option<String>,
    /// Whether the user may untick it (`FLEXIBLE`).
    pub flexible: bool,
}

/// How each requested scope will be granted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ConsentPlan {
    /// Scopes the page must ask about; empty means no page.
    pub ask: Vec<ScopeChoice>,
    /// Scopes granted without asking that no accepted record holds yet (written as an `IMPLICIT` record).
    pub implicit: Vec<String>,
    /// Scopes accepted records already hold.
    pub covered: Vec<String>,
    /// Every accepted record of the user and application, as read for this plan (remembered or not):
    /// what a code issued without writing a new record rests on, so it is not read twice.
    pub accepted: Vec<Consent>,
}

impl ConsentPlan {
    /// The scopes a token gets when the user grants `granted_now` of the asked ones, in request order.
    pub fn token_scopes(&self, requested: &[String], granted_now: &[String]) -> Vec<String> {
        requested
            .iter()
            .filter(|s| self.covered.contains(s) || self.implicit.contains(s) || granted_now.contains(s))
            .cloned()
            .collect()
    }
}

/// Plans consent for `user` and `app` asking for `requested`; `always_ask` is `prompt=consent`.
pub(super) async fn plan(
    store: &Store,
    env: EnvironmentId,
    app: &Application,
    user: UserId,
    requested: &[String],
    always_ask: bool,
) -> Result<ConsentPlan, DomainError> {
    let now = crate::domain::now();
    let definitions = store.all_scopes(env).await?;
    let accepted = store.accepted_consents(env, user, Some(app.id), now).await?;
    let remembered: Vec<Consent> = accepted.iter().filter(|r| r.remembered).cloned().collect();
    let on_record = EffectiveConsent::from_records(app.id, user, &remembered).scopes;
    let mut plan = ConsentPlan { accepted, ..ConsentPlan::default() };
    for name in requested {
        let definition = definitions.iter().find(|d| &d.name == name);
        let policy = definition.map_or(ConsentPolicy::Required, |d| d.consent);
        let covered = on_record.contains(name);
        let asks = app.consent_method == ConsentMethod::Required && policy != ConsentPolicy::Implicit;
        if asks && (always_ask || !covered) {
            plan.ask.push(ScopeChoice {
                name: name.clone(),
                description: definition.and_then(|d| d.description.clone()),
                flexible: policy == ConsentPolicy::Flexible,
            });
        } else if covered {
            plan.covered.push(name.clone());
        } else {
            plan.implicit.push(name.clone());
        }
    }
    Ok(plan)
}
