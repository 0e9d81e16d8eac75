//! [`ApiCall`]: one request a stand-in received, kept so that a test can check what was sent.

use serde_json::Value;

use super::backend::header_text;

/// One request received by a stand-in's browser-session endpoints: the Backend API's
/// handshake payload ([`TestBackendApi::handshake_payload_calls`]) and session refresh
/// ([`TestBackendApi::refresh_calls`]), the Frontend API's handshake
/// ([`TestFrontendApi::handshake_calls`]).
///
/// [`TestBackendApi::handshake_payload_calls`]: super::TestBackendApi::handshake_payload_calls
/// [`TestBackendApi::refresh_calls`]: super::TestBackendApi::refresh_calls
/// [`TestFrontendApi::handshake_calls`]: super::TestFrontendApi::handshake_calls
#[derive(Clone, Debug, PartialEq)]
pub struct ApiCall {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path, e.g. `/v1/sessions/sess_1/refresh`.
    pub path: String,
    /// The query string as received (without the `?`; empty when there was none).
    pub query: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body, when it is JSON (`None` for an empty body or one that does not parse).
    pub body: Option<Value>,
}

impl ApiCall {
    /// The call `req` with `body`.
    pub(super) fn of(req: &actix_web::HttpRequest, body: &[u8]) -> ApiCall {
        ApiCall {
            method: req.method().as_str().to_owned(),
            path: req.path().to_owned(),
            query: req.query_string().to_owned(),
            authorization: header_text(req, "authorization"),
            content_type: header_text(req, "content-type"),
            body: serde_json::from_slice(body).ok(),
        }
    }

    /// The query's parameters, form-decoded (`+` is a space), in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The first value of the query parameter `name`, form-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}
