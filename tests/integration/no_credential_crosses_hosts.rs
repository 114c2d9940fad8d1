//! A polled source's credentials never reach another host: a redirect there is not
//! followed when the source carries a credential (reqwest strips `Authorization` on such
//! a redirect, not an `X-Api-Key`), and no request ever carries a `Referer` (it would hand
//! the polled URL, query token included, to the next host).

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use std::sync::{Arc, Mutex};
use warroom::config::Config;
use warroom::poll::{poll_once, Clients};
use warroom::sample::PollOutcome;

type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;
/// Status, extra headers and body for a path (given the other server's port).
type Answer = (StatusCode, Vec<(&'static str, String)>, String);

/// A server on 127.0.0.1 that records every request and answers `answer(path)`.
async fn server(answer: fn(&str, u16) -> Answer, other_port: u16) -> (u16, Seen) {
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let log = Arc::clone(&log);
        async move {
            log.lock().expect("lock").push((uri.to_string(), headers));
            let (status, hs, body) = answer(uri.path(), other_port);
            let mut resp = (status, body).into_response();
            for (k, v) in hs {
                resp.headers_mut()
                    .insert(k, v.parse().expect("header value"));
            }
            resp
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, seen)
}

fn landing(_: &str, _: u16) -> Answer {
    (StatusCode::OK, vec![], r#"{"ok": true}"#.into())
}

/// `/away` → the other server, by another name for the same machine (`localhost`);
/// `/here` → `/final` on this one.
fn redirecting(path: &str, other: u16) -> Answer {
    match path {
        "/away" => (
            StatusCode::FOUND,
            vec![("location", format!("http://localhost:{other}/landing"))],
            String::new(),
        ),
        "/here" => (
            StatusCode::FOUND,
            vec![("location", "/final".into())],
            String::new(),
        ),
        _ => (StatusCode::OK, vec![], r#"{"ok": true}"#.into()),
    }
}

fn config(sources: &str) -> Config {
    warroom::config::load_str_with_env(
        &format!("[cutover]\nname = \"x\"\n{sources}"),
        "c.toml",
        &|_| None,
    )
    .expect("config")
}

async fn poll(cfg: &Config, i: usize) -> PollOutcome {
    let clients = Clients::for_config(cfg).expect("clients");
    let src = &cfg.sources[i];
    poll_once(clients.get(src).expect("client"), src)
        .await
        .outcome
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_with_credentials() {
    let (b_port, b_seen) = server(landing, 0).await;
    let (a_port, a_seen) = server(redirecting, b_port).await;
    let cfg = config(&format!(
        "[[source]]\nid = \"keyed\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{a_port}/away?token=t0k-in-query\"\n\
         headers = {{ \"X-Api-Key\" = \"k3y-never-elsewhere\", Authorization = \"Bearer b34rer-never-elsewhere\" }}\n"
    ));
    let outcome = poll(&cfg, 0).await;
    let reason = match &outcome {
        PollOutcome::Failed { reason, .. } => reason.clone(),
        other => panic!("followed: {other:?}"),
    };
    assert_eq!(
        reason,
        format!("redirected to another host (localhost:{b_port}); not followed, so this source's credentials stay with its own host: write the final URL in the config")
    );
    assert_eq!(a_seen.lock().expect("lock").len(), 1);
    // The other host saw nothing at all: no key, no bearer, no Referer with the query.
    assert!(
        b_seen.lock().expect("lock").is_empty(),
        "{:?}",
        b_seen.lock().expect("lock")
    );
}

#[tokio::test]
async fn a_redirect_on_the_same_host_keeps_its_credentials() {
    let (a_port, a_seen) = server(redirecting, 0).await;
    let cfg = config(&format!(
        "[[source]]\nid = \"keyed\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{a_port}/here\"\n\
         headers = {{ \"X-Api-Key\" = \"k3y-for-this-host\" }}\n"
    ));
    assert!(matches!(poll(&cfg, 0).await, PollOutcome::Json { .. }));
    let seen = a_seen.lock().expect("lock");
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].0, "/final");
    assert_eq!(seen[1].1["x-api-key"], "k3y-for-this-host");
    assert!(seen[1].1.get("referer").is_none(), "{seen:?}");
}

#[tokio::test]
async fn a_source_without_credentials_follows_but_sends_no_referer() {
    let (b_port, b_seen) = server(landing, 0).await;
    let (a_port, _a_seen) = server(redirecting, b_port).await;
    let cfg = config(&format!(
        "[[source]]\nid = \"open\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{a_port}/away?ref=r3f-from-the-query\"\n"
    ));
    assert!(matches!(poll(&cfg, 0).await, PollOutcome::Json { .. }));
    let seen = b_seen.lock().expect("lock");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].1.get("referer").is_none(),
        "a Referer went to the other host: {:?}",
        seen[0].1.get("referer")
    );
    for (_, v) in seen[0].1.iter() {
        assert!(
            !v.to_str().unwrap_or_default().contains("r3f-from"),
            "{seen:?}"
        );
    }
}
