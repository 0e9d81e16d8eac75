//! A hand-written jsonwebtoken middleware, as an application would write one without a Clerk
//! crate: RS256 verified on every request with the PEM key from CLERK_JWT_KEY (exp checked),
//! claims (a `serde_json::Value`) put in the request extensions, 401 otherwise. One worker. The
//! handler reads the claims (`web::ReqData<serde_json::Value>`) and answers the `{"userId":…}`
//! of every server.
use std::future::{ready, Ready};
use std::rc::Rc;

use actix_clerk_bench_peers::{handler::Me, port};
use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, App, HttpMessage, HttpResponse, HttpServer};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};

async fn me(claims: web::ReqData<serde_json::Value>) -> web::Json<Me> {
    web::Json(Me {
        user_id: claims["sub"].as_str().map(str::to_owned),
    })
}

#[derive(Clone)]
struct JwtAuth {
    key: Rc<DecodingKey>,
    validation: Rc<Validation>,
}

impl<S, B> Transform<S, ServiceRequest> for JwtAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = JwtAuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(JwtAuthMiddleware {
            service: Rc::new(service),
            auth: self.clone(),
        }))
    }
}

struct JwtAuthMiddleware<S> {
    service: Rc<S>,
    auth: JwtAuth,
}

impl<S, B> Service<ServiceRequest> for JwtAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let claims = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| {
                decode::<serde_json::Value>(token, &self.auth.key, &self.auth.validation).ok()
            });
        let Some(data) = claims else {
            let (req, _) = req.into_parts();
            let res = HttpResponse::Unauthorized().finish().map_into_right_body();
            return Box::pin(async move { Ok(ServiceResponse::new(req, res)) });
        };
        req.extensions_mut().insert(data.claims);
        let service = Rc::clone(&self.service);
        Box::pin(async move { Ok(service.call(req).await?.map_into_left_body()) })
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let pem =
        std::env::var("CLERK_JWT_KEY").map_err(|_| std::io::Error::other("CLERK_JWT_KEY unset"))?;
    let pem = pem.replace("\\n", "\n");
    // Checked once here; each worker builds its own key from the same PEM.
    DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(std::io::Error::other)?;
    HttpServer::new(move || {
        let key = DecodingKey::from_rsa_pem(pem.as_bytes()).expect("checked above");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 5;
        App::new()
            .wrap(JwtAuth {
                key: Rc::new(key),
                validation: Rc::new(validation),
            })
            .route("/", web::get().to(me))
    })
    .workers(1)
    .bind(("127.0.0.1", port()))?
    .run()
    .await
}
