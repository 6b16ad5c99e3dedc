//! Everything held about one user, for their data export: sessions, grants, and the events about
//! them and their records (the profile and records come from their own modules).

use entities::{browser_session, consent_event, grant};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::reads::ReadExt;
use super::{Store, StoreError};
use crate::domain::flow::BrowserSession;
use crate::domain::grants::Grant;
use crate::domain::ids::{EnvironmentId, UserId};
use crate::domain::proof::ChainedEvent;

/// Subjects per `IN (…)` list.
const SUBJECTS_PER_QUERY: usize = 500;

impl Store {
    /// The user's browser sessions, oldest first.
    pub async fn sessions_of(&self, env: EnvironmentId, user: UserId) -> Result<Vec<BrowserSession>, StoreError> {
        let rows = browser_session::Entity::find()
            .filter(browser_session::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(browser_session::Column::UserId.eq(user.as_uuid()))
            .order_by_asc(browser_session::Column::Id)
            .read_all(&self.reads)
            .await?;
        Ok(rows.into_iter().map(super::flow::session_from).collect())
    }

    /// The user's grants, oldest first.
    pub async fn grants_of(&self, env: EnvironmentId, user: UserId) -> Result<Vec<Grant>, StoreError> {
        let rows = grant::Entity::find()
            .filter(grant::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(grant::Column::UserId.eq(user.as_uuid()))
            .order_by_asc(grant::Column::Id)
            .read_all(&self.reads)
            .await?;
        rows.into_iter().map(super::grants::grant_from).collect()
    }

    /// The events about any of `subjects`, in chain order.
    pub async fn events_about_any(
        &self,
        env: EnvironmentId,
        subjects: &[Uuid],
    ) -> Result<Vec<ChainedEvent>, StoreError> {
        let mut events = Vec::new();
        for chunk in subjects.chunks(SUBJECTS_PER_QUERY) {
            let rows = consent_event::Entity::find()
                .filter(consent_event::Column::EnvironmentId.eq(env.as_uuid()))
                .filter(Condition::all().add(consent_event::Column::SubjectId.is_in(chunk.iter().copied())))
                .read_all(&self.reads)
                .await?;
            for row in rows {
                events.push(super::events::to_chained(row)?);
            }
        }
        events.sort_by_key(|e| e.sequence);
        Ok(events)
    }
}
