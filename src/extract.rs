//! Extractors: [`Authenticated`] (signed in or `401`) and [`Auth`] itself.

use std::future::{ready, Ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::auth::Auth;
use crate::error::ClerkError;

/// A signed-in [`Auth`]. Extracting it from a signed-out request fails with
/// [`ClerkError::Unauthenticated`] (`401`) — or [`ClerkError::KeysUnavailable`] (`503`) when
/// no decision could be made (a key outage), as the strict middleware answers — so a handler
/// behind [`ClerkWithAuth`](crate::ClerkWithAuth) can require sign-in for itself alone. Without either middleware on the route it fails with
/// [`ClerkError::MissingMiddleware`] (a `500` that names the misconfiguration).
///
/// ```
/// use actix_clerk::Authenticated;
/// async fn me(auth: Authenticated) -> String {
///     format!("hello {}", auth.user_id().unwrap_or_default())
/// }
/// # let _ = me;
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated(pub Auth);

impl Authenticated {
    /// The inner [`Auth`].
    pub fn into_inner(self) -> Auth {
        self.0
    }
}

impl Deref for Authenticated {
    type Target = Auth;
    fn deref(&self) -> &Auth {
        &self.0
    }
}

fn auth_of(req: &HttpRequest) -> Result<Auth, ClerkError> {
    req.extensions().get::<Auth>().cloned().ok_or_else(|| {
        tracing::error!(
            path = req.path(),
            "clerk: extractor used on a route without ClerkWithAuth or ClerkRequireAuth"
        );
        ClerkError::MissingMiddleware
    })
}

impl FromRequest for Authenticated {
    type Error = ClerkError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(auth_of(req).and_then(Authenticated::try_from))
    }
}

/// Extracts the request's [`Auth`], signed in or out (like `web::ReqData<Auth>`, but with a
/// clear error instead of a bare `500` when the middleware is missing).
impl FromRequest for Auth {
    type Error = ClerkError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(auth_of(req))
    }
}
