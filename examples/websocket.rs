//! A WebSocket (actix-ws) whose upgrade is authenticated with Clerk's standalone calls, no
//! middleware: `GET /ws?token=<session token>` is verified with `ClerkConfig::verify_token`
//! (a browser's `new WebSocket(url)` cannot set an `Authorization` header, hence the query
//! parameter: the page gets the token from Clerk's `getToken()`); without it, the request is
//! decided with `ClerkConfig::authenticate_request` — an `Authorization` header from a
//! non-browser client, or the `__session`/`__client_uat` cookies a same-site page's upgrade
//! carries. A signed-out upgrade is refused with `401` (Clerk's reason in the JSON body, a
//! `WWW-Authenticate` challenge) before any upgrade; a key-source outage is a `503`. Every text
//! message is echoed back prefixed with the user id: `user_1: hello`.
//!
//! Environment: `PORT` (default 3000), and Clerk's as for the other examples
//! (`CLERK_JWT_KEY` and/or `CLERK_SECRET_KEY`, `CLERK_PUBLISHABLE_KEY`,
//! `CLERK_AUTHORIZED_PARTIES`, …).
//!
//! Two things to know before copying it:
//! - Query strings end up in access logs: do not log this route's (a session token lives 60
//!   seconds, but it is a credential while it does).
//! - The socket is authenticated once, at its upgrade, and stays open after the token expires.
//!   An application that must close sockets when a session ends asks the client for a fresh
//!   token now and then (a message of its own) and checks it with `verify_token` too.

use actix_clerk::{Authenticated, ClerkConfig, ClerkError};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::Message;

#[derive(serde::Deserialize)]
struct Params {
    token: Option<String>,
}

async fn ws(
    req: HttpRequest,
    body: web::Payload,
    params: web::Query<Params>,
    clerk: web::Data<ClerkConfig>,
) -> Result<HttpResponse, actix_web::Error> {
    // Refused here (a ClerkError is answered as the strict middleware answers it): the
    // connection is never upgraded.
    let auth = match &params.token {
        Some(token) => clerk.verify_token(token).await?,
        None => Authenticated::try_from(clerk.authenticate_request(&req).await)?.into_inner(),
    };
    let Some(user) = auth.user_id().map(str::to_owned) else {
        return Err(ClerkError::Forbidden.into());
    };

    let (response, mut session, mut messages) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(async move {
        while let Some(Ok(message)) = messages.recv().await {
            let sent = match message {
                Message::Text(text) => session.text(format!("{user}: {text}")).await,
                Message::Ping(bytes) => session.pong(&bytes).await,
                Message::Close(reason) => {
                    let _ = session.close(reason).await;
                    return;
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
        let _ = session.close(None).await;
    });
    Ok(response)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    // Built once: every worker shares its key and token caches.
    let clerk = web::Data::new(ClerkConfig::from_env()?);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(clerk.clone())
            .route("/ws", web::get().to(ws))
    })
    .bind(("127.0.0.1", port))?;
    println!("Example app listening at ws://localhost:{port}/ws");
    server.run().await?;
    Ok(())
}
