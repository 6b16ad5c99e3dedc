//! Exports of the audit list: every record a filter matches, read newest first in bounded chunks so
//! an export of any size holds one chunk in memory at a time.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Consent;
use super::read::parse_filter;
use crate::domain::error::DomainError;
use crate::domain::filter::Filter;
use crate::domain::ids::EnvironmentId;
use crate::domain::paging::{PageRequest, Position};
use crate::store::{ResolvedFilter, Store};

/// Records read per query of an export.
pub const EXPORT_CHUNK: u64 = 500;

/// An export under way: where it stopped, and the instant it judges `EXPIRED` at.
pub struct ConsentExport {
    store: Store,
    env: EnvironmentId,
    filter: Option<Filter>,
    /// The filter with its application names resolved, from the first chunk on.
    resolved: Option<ResolvedFilter>,
    /// Id of the last record read; the next chunk starts below it.
    after: Option<Uuid>,
    /// Fixed for the whole export, so a record's status and the filter agree across chunks.
    at: DateTime<Utc>,
    finished: bool,
}

impl ConsentExport {
    /// Starts an export of the environment's records matching `filter` (SCIM, as for the audit list).
    pub fn start(store: &Store, env: EnvironmentId, filter: Option<&str>) -> Result<Self, DomainError> {
        Ok(Self {
            store: store.clone(),
            env,
            filter: parse_filter(filter)?,
            resolved: None,
            after: None,
            at: crate::domain::now(),
            finished: false,
        })
    }

    /// The instant statuses are read at (`EXPIRED` when `expiresAt` is not after it).
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The next records, newest first; `None` once every record was read. Ids are time-ordered, so a
    /// record appended after the first chunk was read is newer than it and not part of the export.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<Consent>>, DomainError> {
        if self.finished {
            return Ok(None);
        }
        // A page of EXPORT_CHUNK - 1 reads EXPORT_CHUNK rows (one more, to learn whether there are more).
        let page = PageRequest { limit: EXPORT_CHUNK - 1, position: self.after.map(Position::After) };
        // Names are resolved once, with the first chunk: every chunk then means the same applications.
        if self.resolved.is_none() {
            self.resolved = Some(self.store.resolve_filter(self.env, self.filter.take()).await?);
        }
        let filter = self.resolved.as_ref().ok_or_else(|| DomainError::Unexpected("no resolved filter".into()))?;
        let chunk = self.store.list_consents(self.env, None, filter, page, self.at).await?;
        self.finished = (chunk.len() as u64) < EXPORT_CHUNK;
        match chunk.last() {
            Some(last) => {
                self.after = Some(last.id.as_uuid());
                Ok(Some(chunk))
            }
            None => {
                self.finished = true;
                Ok(None)
            }
        }
    }
}
