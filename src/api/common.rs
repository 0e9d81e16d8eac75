//! What the resources share: query strings as `@clerk/backend`'s `buildRequest` writes them,
//! bodies without absent fields, list answers, pagination as a stream.

use std::collections::VecDeque;
use std::future::Future;

use futures_util::stream::{self, Stream};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{erased, fields, ApiError, ClerkClient, ListParams, Method, Page};

/// Query pairs as Clerk's SDK writes them: falsy values (`""`, `0`, `false`) are not sent,
/// arrays are repeated keys.
#[derive(Debug, Default)]
pub(crate) struct Query(pub(crate) Vec<(&'static str, String)>);

impl Query {
    pub(crate) fn str(&mut self, key: &'static str, v: &Option<String>) -> &mut Self {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            self.0.push((key, v.to_owned()));
        }
        self
    }

    pub(crate) fn list(&mut self, key: &'static str, v: &[String]) -> &mut Self {
        for v in v.iter().filter(|v| !v.is_empty()) {
            self.0.push((key, v.clone()));
        }
        self
    }

    pub(crate) fn flag(&mut self, key: &'static str, v: Option<bool>) -> &mut Self {
        if v == Some(true) {
            self.0.push((key, "true".to_owned()));
        }
        self
    }

    pub(crate) fn num(&mut self, key: &'static str, v: Option<i64>) -> &mut Self {
        if let Some(v) = v.filter(|v| *v != 0) {
            self.0.push((key, v.to_string()));
        }
        self
    }

    pub(crate) fn page(&mut self, p: &ListParams) -> &mut Self {
        for (k, v) in p.pairs() {
            if v != "0" {
                self.0.push((k, v));
            }
        }
        self
    }
}

/// A JSON body of the given fields only; `None` when none is given (the SDK then sends no body).
pub(crate) fn body<S: Serialize>(s: &S) -> Option<Value> {
    match fields(s) {
        Value::Object(m) if m.is_empty() => None,
        Value::Null => None,
        v => Some(v),
    }
}

impl ClerkClient {
    /// A call with an optional JSON body.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<Value>,
    ) -> Result<T, ApiError> {
        let body = body.as_ref().map(|b| b as &(dyn erased::Body + Sync));
        self.call(method, path, query, body).await
    }

    /// A list: a JSON array or `{data, total_count}` (as the SDK's `deserialize`); an array's
    /// total is its length.
    pub(crate) async fn list_page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<Page<T>, ApiError> {
        let v: Value = self.call(Method::Get, path, query, None).await?;
        decode_page(v)
    }
}

pub(crate) fn decode_page<T: DeserializeOwned>(v: Value) -> Result<Page<T>, ApiError> {
    let decode = |e: serde_json::Error| ApiError::Decode {
        message: e.to_string(),
    };
    match v {
        Value::Array(items) => {
            let data: Vec<T> = serde_json::from_value(Value::Array(items)).map_err(decode)?;
            Ok(Page {
                total_count: data.len() as u64,
                data,
            })
        }
        v @ Value::Object(_) => serde_json::from_value(v).map_err(decode),
        other => Err(ApiError::Decode {
            message: format!("expected a list, got {other}"),
        }),
    }
}

struct Pager<F, T> {
    fetch: F,
    limit: Option<u32>,
    offset: u32,
    buf: VecDeque<T>,
    done: bool,
}

/// Every item of a list, page after page from `start`, until `total_count` is reached or a
/// page is empty; an error ends the stream after it is yielded.
pub(crate) fn paginate<T, F, Fut>(
    start: ListParams,
    fetch: F,
) -> impl Stream<Item = Result<T, ApiError>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(ListParams) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T>, ApiError>> + Send + 'static,
{
    let pager = Pager {
        fetch,
        limit: start.limit,
        offset: start.offset.unwrap_or(0),
        buf: VecDeque::new(),
        done: false,
    };
    stream::unfold(pager, |mut p| async move {
        loop {
            if let Some(item) = p.buf.pop_front() {
                return Some((Ok(item), p));
            }
            if p.done {
                return None;
            }
            let params = ListParams {
                limit: p.limit,
                offset: Some(p.offset),
            };
            match (p.fetch)(params).await {
                Ok(page) => {
                    let n = page.data.len() as u32;
                    p.offset = p.offset.saturating_add(n);
                    p.done = n == 0 || u64::from(p.offset) >= page.total_count;
                    p.buf.extend(page.data);
                }
                Err(e) => {
                    p.done = true;
                    return Some((Err(e), p));
                }
            }
        }
    })
}
