//! Keyset pages over a SeaORM select, in either direction.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use crate::domain::paging::{PageRequest, Position};

/// Positions, orders and bounds `query` for `page` of a collection ordered by `id` (newest first
/// when `newest_first`). Reading backwards (`prev`) returns the nearest items first; the domain
/// puts them back in collection order.
pub(super) fn keyset<E: EntityTrait>(
    query: Select<E>,
    id: E::Column,
    newest_first: bool,
    page: PageRequest,
) -> Select<E> {
    let positioned = match page.position {
        None if newest_first => query.order_by_desc(id),
        None => query.order_by_asc(id),
        Some(Position::After(pivot)) => after(query, id, newest_first, pivot),
        // Backwards is forwards in the opposite order.
        Some(Position::Before(pivot)) => after(query, id, !newest_first, pivot),
    };
    positioned.limit(page.fetch())
}

fn after<E: EntityTrait>(query: Select<E>, id: E::Column, descending: bool, pivot: Uuid) -> Select<E> {
    if descending { query.filter(id.lt(pivot)).order_by_desc(id) } else { query.filter(id.gt(pivot)).order_by_asc(id) }
}
