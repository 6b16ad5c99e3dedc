//! Domain rules and use cases. No HTTP and no SQL types here: use cases call the store with domain types.

pub mod applications;
pub mod environments;
pub mod error;
pub mod filter;
pub mod ids;
pub mod paging;
pub mod text;
pub mod tokens;
pub mod users;
