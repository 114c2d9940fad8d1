//! Dead, slow and lying sources against tiny loopback servers.
//! Each ends in a clear no-data state with a reason, never in ok.

use crate::common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use warroom::config::{Config, Dur, Source};
use warroom::engine::{Band, Engine, Status};
use warroom::poll::{poll_once, Clients};
use warroom::sample::{NoDataKind, PollOutcome};

/// A server that answers every connection with `respond(stream)`.
async fn serve<F, Fut>(respond: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                // Read the request head before answering.
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                respond(s).await;
            });
        }
    });
    format!("http://{addr}/x")
}

async fn fixed(status_line: &'static str, body: &'static [u8]) -> String {
    serve(move |mut s| async move {
        let head = format!(
            "HTTP/1.1 {status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.write_all(body).await;
        let _ = s.shutdown().await;
    })
    .await
}

fn source(url: &str, timeout_ms: u64) -> Source {
    let text = format!(
        "[cutover]\nname = \"t\"\n[[source]]\nid = \"s\"\nkind = \"http\"\nurl = \"{url}\"\n\
         timeout = \"{timeout_ms}ms\"\nmax_body_bytes = 65536\n\
         headers = {{ Authorization = \"Bearer {TOKEN}\" }}\n"
    );
    let cfg: Config = toml::from_str(&text).expect("config");
    cfg.sources[0].clone()
}

async fn poll(url: &str, timeout_ms: u64) -> (PollOutcome, Duration) {
    let src = source(url, timeout_ms);
    let cfg = Config {
        sources: vec![src.clone()],
        ..toml::from_str("[cutover]\nname = \"t\"\n").expect("cfg")
    };
    let clients = Clients::for_config(&cfg).expect("clients");
    let started = Instant::now();
    let r = poll_once(clients.get(&src).expect("client"), &src).await;
    (r.outcome, started.elapsed())
}

fn reason(o: &PollOutcome) -> String {
    match o {
        PollOutcome::Failed { reason, .. } => reason.clone(),
        PollOutcome::Json { body, .. } => panic!("expected a failure, got JSON {body}"),
    }
}

#[tokio::test]
async fn refused_connection_says_so() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    let (o, _) = poll(&format!("http://{addr}/x"), 1000).await;
    assert_eq!(reason(&o), "connection refused");
}

#[tokio::test]
async fn silent_server_hits_the_total_time_out_on_time() {
    let url = serve(|s| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await;
    let (o, took) = poll(&url, 300).await;
    assert!(reason(&o).starts_with("time-out after"), "{o:?}");
    assert!(took < Duration::from_millis(800), "{took:?}");
}

#[tokio::test]
async fn trickled_body_hits_the_total_time_out() {
    let url = serve(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{")
            .await;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if s.write_all(b" ").await.is_err() {
                return;
            }
        }
    })
    .await;
    let (o, took) = poll(&url, 400).await;
    assert!(reason(&o).starts_with("time-out after"), "{o:?}");
    assert!(took < Duration::from_millis(900), "{took:?}");
}

#[tokio::test]
async fn status_matrix() {
    let cases: [(&'static str, &str); 9] = [
        ("204 No Content", "HTTP 204"),
        (
            "401 Unauthorized",
            "unauthorized (HTTP 401): check the token in the Authorization header",
        ),
        ("403 Forbidden", "unauthorized (HTTP 403)"),
        ("404 Not Found", "not found (HTTP 404)"),
        ("429 Too Many Requests", "rate limited (HTTP 429)"),
        (
            "500 Internal Server Error",
            "HTTP 500 Internal Server Error",
        ),
        ("502 Bad Gateway", "HTTP 502 Bad Gateway"),
        ("503 Service Unavailable", "HTTP 503 Service Unavailable"),
        ("504 Gateway Timeout", "HTTP 504 Gateway Timeout"),
    ];
    for (line, want) in cases {
        let url = fixed(line, b"{}").await;
        let (o, _) = poll(&url, 1000).await;
        let r = reason(&o);
        assert!(r.contains(want), "{line}: {r}");
        assert!(!r.contains(TOKEN), "{line}: token leaked");
    }
}

#[tokio::test]
async fn bodies_that_are_not_json_are_errors() {
    let cases: [(&'static [u8], &str); 4] = [
        (b"", "empty body"),
        (b"<html><body>502 Bad Gateway</body></html>", "body is HTML"),
        (b"{\"summary\": {\"p95_ms\": 12", "not JSON"),
        (b"{\"v\": 1e400}", "not JSON"),
    ];
    for (body, want) in cases {
        let url = fixed("200 OK", body).await;
        let (o, _) = poll(&url, 1000).await;
        assert!(reason(&o).contains(want), "{body:?}: {o:?}");
    }
}

#[tokio::test]
async fn huge_and_endless_bodies_are_cut_at_the_cap() {
    static HUGE: [u8; 200_000] = [b' '; 200_000];
    let url = fixed("200 OK", &HUGE).await;
    let (o, _) = poll(&url, 2000).await;
    assert!(
        reason(&o).contains("larger than the 65536 byte cap"),
        "{o:?}"
    );

    let url = serve(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("{:x}\r\n{}\r\n", 8192, " ".repeat(8192));
        while s.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;
    let (o, took) = poll(&url, 5000).await;
    assert!(reason(&o).contains("byte cap"), "{o:?}");
    assert!(
        took < Duration::from_secs(3),
        "cut at the cap, not at the time-out: {took:?}"
    );
}

/// A value that parses but is not a number (null, a string, "NaN") is no data, never
/// a number; a negative or large number is judged as it is.
#[tokio::test]
async fn value_edges_map_to_states() {
    let cfg: Arc<Config> = Arc::new(
        toml::from_str(
            r#"
[cutover]
name = "t"
[[source]]
id = "s"
kind = "http"
url = "http://127.0.0.1:1/"
[[signal]]
id = "v"
source = "s"
kind = "metric"
path = ".v"
unit = "%"
crit = "> 2"
critical = true
"#,
        )
        .expect("cfg"),
    );
    let cases: [(&'static [u8], Status); 8] = [
        (b"null", Status::NoData(NoDataKind::Empty)),
        (b"{}", Status::NoData(NoDataKind::Empty)),
        (b"{\"v\": null}", Status::NoData(NoDataKind::Empty)),
        (b"{\"v\": \"5\"}", Status::NoData(NoDataKind::Empty)),
        (b"{\"v\": \"NaN\"}", Status::NoData(NoDataKind::Empty)),
        (b"{\"v\": -3}", Status::Band(Band::Ok)),
        (b"{\"v\": 250}", Status::Band(Band::Crit)),
        // Duplicate keys: the last one wins, as in serde_json and jq.
        (b"{\"v\": 9, \"v\": 1}", Status::Band(Band::Ok)),
    ];
    for (body, want) in cases {
        let url = fixed("200 OK", body).await;
        let mut c = (*cfg).clone();
        c.sources[0].url = url;
        c.sources[0].timeout = Dur(Duration::from_secs(1));
        let c = Arc::new(c);
        let clients = Clients::for_config(&c).expect("clients");
        let r = poll_once(clients.get(&c.sources[0]).expect("client"), &c.sources[0]).await;
        let mut e = Engine::new(c.clone(), r.mono);
        e.ingest(&r);
        assert_eq!(e.rows[0].status, want, "{}", String::from_utf8_lossy(body));
    }
}

#[tokio::test]
async fn one_source_down_is_not_green() {
    let sim = start_sim(warroom::sim::Scenario::Healthy).await;
    let cfg = demo_config(&sim);
    let mut c = (*cfg).clone();
    // Point one source at a closed port.
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dead = l.local_addr().expect("addr");
    drop(l);
    c.sources[1].url = format!("http://{dead}/api/check-files");
    let c = Arc::new(c);
    let mut e = Engine::new(c.clone(), stamp(0).mono);
    for r in poll_all_at(&c, stamp(0)).await {
        e.ingest(&r);
    }
    let counts = e.counts();
    assert_eq!(counts.sources_down, 1);
    assert!(!counts.all_green());
    assert_eq!(counts.crit, 0, "a dead source is not a breach");
    sim.shutdown().await;
}

/// A listener whose accept queue is full: the kernel drops the next SYNs, so a connect
/// hangs until the connect time-out (a blackholed host, on loopback).
fn full_backlog_listener() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns from creation.
    let l = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len),
            0,
            "bind"
        );
        assert_eq!(libc::listen(fd, 0), 0, "listen");
        std::net::TcpListener::from_raw_fd(fd)
    };
    let addr = l.local_addr().expect("addr");
    // Fill the queue (never accepted); the connects that would hang are given up on.
    let mut held = Vec::new();
    for _ in 0..4 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            held.push(s);
        }
    }
    (l, held)
}

#[tokio::test]
async fn a_connect_time_out_reads_like_the_total_one() {
    let (l, _held) = full_backlog_listener();
    let addr = l.local_addr().expect("addr");
    let text = format!(
        "[cutover]\nname = \"t\"\n[[source]]\nid = \"s\"\nkind = \"http\"\n\
         url = \"http://{addr}/x\"\ntimeout = \"3s\"\nconnect_timeout = \"300ms\"\n"
    );
    let cfg: Config = toml::from_str(&text).expect("config");
    let src = cfg.sources[0].clone();
    let clients = Clients::for_config(&cfg).expect("clients");
    let r = poll_once(clients.get(&src).expect("client"), &src).await;
    // Not a bare "time-out": the same wording, with its limit, as the total time-out's.
    assert_eq!(
        reason(&r.outcome),
        "time-out after 300ms",
        "{:?}",
        r.outcome
    );
}
