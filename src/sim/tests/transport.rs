//! Transport scenarios, the control API, scripts, listeners and options (on the brokers
//! profile).

use super::*;

#[tokio::test]
async fn down_refuses_connections_and_comes_back_on_the_same_address() {
    let h = sim(Scenario::Healthy).await;
    let url = format!("{}/api/v1/health", h.base_url());
    // A pooled client too: its kept-alive connection must not survive `down`.
    let pooled = reqwest::Client::new();
    assert!(pooled.get(&url).send().await.unwrap().status().is_success());

    h.set_scenario(Scenario::Down);
    let e = client().get(&url).send().await.unwrap_err();
    assert!(e.is_connect(), "want connection refused, got {e:?}");
    assert!(pooled.get(&url).send().await.is_err());
    // The control listener stays up and says so.
    let st: Value = get_json(format!("http://{}/__sim/state", h.control_addr())).await;
    assert_eq!(st["scenario"], "down");
    assert_eq!(st["data_listener"]["up"], false);

    let addr = h.addr();
    h.set_scenario(Scenario::Healthy);
    assert_eq!(h.addr(), addr);
    assert!(get_ok(&url).await);
    h.shutdown().await;
}

#[tokio::test]
async fn down_can_be_left_through_the_control_api() {
    let h = sim(Scenario::Down).await;
    let url = format!("{}/api/v1/health", h.base_url());
    assert!(client().get(&url).send().await.unwrap_err().is_connect());
    let r = client()
        .post(format!(
            "http://{}/__sim/scenario/healthy",
            h.control_addr()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json_value().await.unwrap();
    assert_eq!(v, json!({"scenario": "healthy", "previous": "down"}));
    assert!(get_ok(&url).await);
    h.shutdown().await;
}

#[tokio::test]
async fn a_taken_address_is_retried_after_down() {
    let h = sim(Scenario::Healthy).await;
    let mut ev = h.events();
    h.set_scenario(Scenario::Down);
    let squatter = std::net::TcpListener::bind(h.addr()).unwrap();
    h.set_scenario(Scenario::Healthy);
    let mut saw_error = false;
    while let Ok(e) = ev.try_recv() {
        saw_error |= matches!(e, SimEvent::ListenerError(ref m) if m.contains("address in use"));
    }
    assert!(saw_error);
    drop(squatter);
    let url = format!("{}/api/v1/health", h.base_url());
    let t = Instant::now();
    while client().get(&url).send().await.is_err() {
        assert!(t.elapsed() < Duration::from_secs(4), "never re-bound");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.shutdown().await;
}

#[tokio::test]
async fn slow_outlasts_the_client_timeout_without_blocking_others() {
    let mut o = SimOptions::new(Profile::Brokers);
    o.scenario = Scenario::Slow;
    // Long enough for any client time-out in the test, short enough not to linger.
    o.slow_delay = Duration::from_secs(3);
    let h = start(o).await.unwrap();
    let url = format!("{}/api/v1/health", h.base_url());
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let slow = tokio::spawn(async move { impatient.get(url).send().await });
    // Meanwhile the same listener answers its control endpoint at once.
    let t = Instant::now();
    let st = client()
        .get(format!("{}/__sim/state", h.base_url()))
        .send()
        .await
        .unwrap();
    assert!(st.status().is_success());
    assert!(t.elapsed() < Duration::from_millis(1000));
    let e = slow.await.unwrap().unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn malformed_is_200_with_broken_json() {
    let h = sim(Scenario::Malformed).await;
    for path in ["/api/v1/health", "/analytics/ops/metrics"] {
        let r = client()
            .get(format!("{}{path}", h.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body = r.bytes().await.unwrap();
        assert!(!body.is_empty());
        assert!(
            serde_json::from_slice::<Value>(&body).is_err(),
            "{path} parsed"
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn unauthorized_refuses_data_and_admin_even_with_the_token() {
    let h = sim(Scenario::Unauthorized).await;
    let c = client();
    for path in [
        "/api/v1/health",
        "/analytics/ops/metrics",
        "/api/v1/admin/flags",
        "/metrics",
    ] {
        let r = c
            .get(format!("{}{path}", h.base_url()))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let www = r.headers()[reqwest::header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(www.starts_with("Bearer"), "{www}");
    }
    let r = c
        .post(format!(
            "{}/api/v1/admin/flags/brokers_v1_modules",
            h.base_url()
        ))
        .bearer_auth(TOKEN)
        .json_body(json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(h.flag("brokers_v1_modules"), Some(true));
    h.shutdown().await;
}

#[tokio::test]
async fn transport_faults_survive_a_rollback() {
    let h = sim(Scenario::Malformed).await;
    h.set_flag("brokers_v1_modules", false);
    let r = client()
        .get(format!("{}/api/v1/health", h.base_url()))
        .send()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).is_err());
    h.shutdown().await;
}

#[tokio::test]
async fn script_runs_in_order_and_a_manual_change_stops_it() {
    let mut o = SimOptions::new(Profile::Brokers);
    o.script = Some("error-burst:300ms,latency-spike".parse().unwrap());
    let h = start(o).await.unwrap();
    assert_eq!(h.scenario(), Scenario::ErrorBurst);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.scenario(), Scenario::LatencySpike);
    h.shutdown().await;

    let mut o = SimOptions::new(Profile::Brokers);
    o.script = Some("healthy:300ms,down".parse().unwrap());
    let h = start(o).await.unwrap();
    let mut ev = h.events();
    h.set_scenario(Scenario::Flapping);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.scenario(), Scenario::Flapping);
    assert_eq!(
        ev.recv().await.unwrap(),
        SimEvent::ScenarioChanged {
            from: Scenario::Healthy,
            to: Scenario::Flapping,
            by: ChangedBy::Handle
        }
    );
    h.shutdown().await;
}

#[tokio::test]
async fn control_api_on_both_listeners() {
    let h = sim(Scenario::Healthy).await;
    let c = client();
    for base in [h.base_url(), format!("http://{}", h.control_addr())] {
        let r = c
            .post(format!("{base}/__sim/scenario/latency-spike"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(h.scenario(), Scenario::LatencySpike);
        let r = c
            .post(format!("{base}/__sim/scenario/latncy-spike"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let v: Value = r.json_value().await.unwrap();
        assert!(v["detail"].as_str().unwrap().contains("did you mean"));
        h.set_scenario(Scenario::Healthy);
    }
    h.shutdown().await;
}

#[tokio::test]
async fn busy_address_is_a_clear_error() {
    let h = sim(Scenario::Healthy).await;
    let mut o = SimOptions::new(Profile::Brokers);
    o.listen = h.addr();
    let e = start(o).await.unwrap_err().to_string();
    assert_eq!(e, format!("cannot listen on {}: address in use", h.addr()));
    h.shutdown().await;
}

#[tokio::test]
async fn empty_token_is_refused() {
    let mut o = SimOptions::new(Profile::Brokers);
    o.token = Some(" ".into());
    assert!(matches!(start(o).await, Err(SimError::EmptyToken)));
}

#[test]
fn options_debug_redacts_the_token() {
    let mut o = SimOptions::new(Profile::Brokers);
    o.token = Some(TOKEN.into());
    let d = format!("{o:?}");
    assert!(!d.contains(TOKEN) && d.contains("redacted"));
    assert_eq!("brokers".parse::<Profile>().unwrap(), Profile::Brokers);
    assert!("nope".parse::<Profile>().is_err());
}

#[test]
fn bearer_comparison() {
    assert!(bearer_matches(b"Bearer abc", b"abc"));
    assert!(bearer_matches(b"bearer abc", b"abc"));
    assert!(!bearer_matches(b"Bearer abd", b"abc"));
    assert!(!bearer_matches(b"Bearer abcd", b"abc"));
    assert!(!bearer_matches(b"Basic abc", b"abc"));
}
