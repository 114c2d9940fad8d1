//! `cargo bench --bench perf`: measured, not asserted. Prints a table.
//!
//! confirm-to-wire: from the confirming Enter (`update` with `Submit`) to the first byte
//! of the request arriving at a loopback server, through the same `update` → effect →
//! `action::execute` path the dashboard uses. Compared in the same run with the naive
//! way an operator would fire it by hand from a script: spawning `curl`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warroom::app::{update, Action, Effect, Msg, State};
use warroom::config::Config;

const RUNS: usize = 60;

/// A server that notes when each request's first bytes arrive.
async fn arrival_server() -> (std::net::SocketAddr, Arc<Mutex<Vec<Instant>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let seen = Arc::clone(&s2);
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                if let Ok(n) = c.read(&mut buf).await {
                    if n > 0 {
                        seen.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(Instant::now());
                    }
                }
                let _ = c
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (addr, seen)
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn wait_arrival(seen: &Arc<Mutex<Vec<Instant>>>, n: usize) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(t) = seen.lock().unwrap_or_else(|e| e.into_inner()).get(n) {
            return Some(*t);
        }
        tokio::task::yield_now().await;
    }
    None
}

async fn confirm_to_wire() -> (Vec<Duration>, Option<Vec<Duration>>) {
    let (addr, seen) = arrival_server().await;
    let text = format!(
        r#"
[cutover]
name = "bench"
[[source]]
id = "s"
kind = "http"
url = "http://{addr}/s"
[[action]]
id = "rollback"
key = "r"
label = "Roll back"
danger = true
request = {{ url = "http://{addr}/rollback", body = '{{"enabled": false}}', headers = {{ Authorization = "Bearer bench-token" }} }}
"#
    );
    let cfg: Arc<Config> = Arc::new(toml::from_str(&text).expect("bench config"));
    let mut ours = Vec::new();
    for i in 0..RUNS {
        let mut st = State::new(Arc::clone(&cfg), chrono::Utc::now(), None, "bench".into());
        update(&mut st, Msg::Action(Action::Rollback));
        for c in "rollback".chars() {
            update(&mut st, Msg::Action(Action::Type(c)));
        }
        let t0 = Instant::now();
        let fx = update(&mut st, Msg::Action(Action::Submit));
        for e in fx {
            if let Effect::Run {
                action,
                idempotency_key,
                attempt,
            } = e
            {
                let a = cfg.actions[action].clone();
                let sources = cfg.sources.clone();
                tokio::spawn(async move {
                    let att = warroom::action::Attempt {
                        action_id: a.id.clone(),
                        idempotency_key,
                        attempt,
                    };
                    warroom::action::execute(&a, &sources, &att, &|s: &str| s.to_string()).await
                });
            }
        }
        if let Some(t) = wait_arrival(&seen, i).await {
            ours.push(t - t0);
        }
    }
    // The naive way: a script spawning curl for the same request.
    let base = seen.lock().unwrap_or_else(|e| e.into_inner()).len();
    let mut naive = Vec::new();
    for i in 0..RUNS / 2 {
        let t0 = Instant::now();
        let child = tokio::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-X",
                "POST",
                "-H",
                "Authorization: Bearer bench-token",
            ])
            .args([
                "-H",
                "Content-Type: application/json",
                "-d",
                "{\"enabled\": false}",
            ])
            .arg(format!("http://{addr}/rollback"))
            .spawn();
        let Ok(mut child) = child else {
            return (ours, None);
        };
        if let Some(t) = wait_arrival(&seen, base + i).await {
            naive.push(t - t0);
        }
        let _ = child.wait().await;
    }
    (ours, Some(naive))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (ours, naive) = rt.block_on(confirm_to_wire());
    println!();
    println!("warroom perf ({} runs, loopback)", ours.len());
    println!("| measure | warroom p50 | warroom p99 | naive p50 | naive p99 | ratio (p50) |");
    println!("|---|---|---|---|---|---|");
    let (p50, p99) = (pct(ours.clone(), 0.5), pct(ours, 0.99));
    match naive {
        Some(n) if !n.is_empty() => {
            let (n50, n99) = (pct(n.clone(), 0.5), pct(n, 0.99));
            println!(
                "| confirm-to-wire (Enter → request at server) vs `curl -X POST` | {} | {} | {} | {} | {:.1}× faster |",
                ms(p50), ms(p99), ms(n50), ms(n99),
                n50.as_secs_f64() / p50.as_secs_f64().max(1e-9)
            );
        }
        _ => println!(
            "| confirm-to-wire (Enter → request at server) | {} | {} | curl not found | - | - |",
            ms(p50),
            ms(p99)
        ),
    }
}
