//! Clerk's pagination: `limit`/`offset` and `total_count`, as pages and as a stream of items.

use serde::{Deserialize, Serialize};

/// One page of a list: its items and the total count of the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// How many items the whole list has.
    pub total_count: u64,
}

/// Which page to fetch: Clerk's `limit` (1–500, default 10) and `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use]
pub struct ListParams {
    /// Items per page (Clerk's default when `None`).
    pub limit: Option<u32>,
    /// Items skipped.
    pub offset: Option<u32>,
}

impl ListParams {
    /// The first page of Clerk's default size.
    pub fn new() -> Self {
        ListParams::default()
    }

    /// Items per page.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Items skipped.
    pub fn offset(mut self, offset: u32) -> Self {
        self.offset = Some(offset);
        self
    }

    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(l) = self.limit {
            out.push(("limit", l.to_string()));
        }
        if let Some(o) = self.offset {
            out.push(("offset", o.to_string()));
        }
        out
    }
}
