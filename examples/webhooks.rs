//! Clerk webhooks: `POST /webhooks` answers `200` with the verified event as JSON (Clerk's
//! shape: `type`, `object`, `data`, `event_attributes`, `timestamp`, `instance_id`) and logs
//! what it would do for the common event types; a delivery that is not genuine is answered
//! with the refusal's status (`400` with `{"error":"invalid_webhook","reason":…}`, `413` for a
//! body over 256 KiB) and the handler never runs.
//!
//! Environment: `CLERK_WEBHOOK_SIGNING_SECRET` (the endpoint's `whsec_…` secret in the Clerk
//! Dashboard, required), `PORT` (default 3000). Listens on 127.0.0.1 only; put it behind a
//! tunnel (the Dashboard's endpoint URL) to receive real deliveries. Replay protection is on: a
//! captured delivery sent again within its 5-minute window is refused (`reason: replayed`).

use actix_clerk::{ClerkWebhook, WebhookEvent, WebhookVerifier};
use actix_web::{web, App, HttpServer};

async fn webhooks(event: ClerkWebhook) -> web::Json<ClerkWebhook> {
    match event.typed() {
        Ok(WebhookEvent::UserCreated(user) | WebhookEvent::UserUpdated(user)) => eprintln!(
            "upsert user {} <{}>",
            user.id,
            user.primary_email_address().unwrap_or("-")
        ),
        Ok(WebhookEvent::UserDeleted(deleted)) => {
            eprintln!("delete user {}", deleted.id.as_deref().unwrap_or("-"))
        }
        Ok(WebhookEvent::OrganizationMembershipCreated(m)) => eprintln!(
            "{} joined {} as {}",
            m.public_user_data.user_id, m.organization.id, m.role
        ),
        Ok(_) => eprintln!("{} (delivery {})", event.event_type(), event.delivery_id()),
        Err(e) => eprintln!("{}: unexpected data: {e}", event.event_type()),
    }
    web::Json(event)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    // Built once: every worker's clone shares the replay record.
    let verifier = WebhookVerifier::from_env()?
        .body_limit(256 * 1024)
        .replay_protection(10_000);

    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .route("/webhooks", web::post().to(webhooks))
    })
    .bind(("127.0.0.1", port))?;
    println!("listening on http://127.0.0.1:{port}/webhooks");
    server.run().await?;
    Ok(())
}
