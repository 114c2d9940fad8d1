//! Proxies and TLS. Certificates are made at test time (rcgen) and served by
//! a loopback HTTPS server (tokio-rustls). Every bad certificate ends in an explicit
//! "TLS: …" failure, never in a silent insecure fallback; `insecure_tls` works only when
//! written. Proxies are checked with the real binary so the test process env stays as is.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use std::net::TcpListener as StdListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use warroom::config::Config;
use warroom::poll::{poll_once, Clients};
use warroom::sample::PollOutcome;

const BODY: &[u8] = b"{\"v\": 1}";

fn ok_response() -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        BODY.len()
    )
    .into_bytes();
    r.extend_from_slice(BODY);
    r
}

// ---------------------------------------------------------------- certificates

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca() -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "warroom test CA");
    let key = KeyPair::generate().expect("ca key");
    let cert = p.self_signed(&key).expect("ca cert");
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(p, key),
    }
}

fn leaf_params(names: &[&str], expired: bool) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("leaf params");
    for n in names {
        let san = match n.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*n).try_into().expect("dns name")),
        };
        p.subject_alt_names.push(san);
    }
    p.distinguished_name.push(DnType::CommonName, names[0]);
    if expired {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    p
}

/// (certificate PEM, key PEM) for `names`, signed by `ca` (or by itself when `None`).
fn leaf(ca: Option<&Ca>, names: &[&str], expired: bool) -> (String, String) {
    let key = KeyPair::generate().expect("leaf key");
    let p = leaf_params(names, expired);
    let cert = match ca {
        Some(ca) => p.signed_by(&key, &ca.issuer).expect("signed leaf"),
        None => p.self_signed(&key).expect("self-signed leaf"),
    };
    (cert.pem(), key.serialize_pem())
}

// ---------------------------------------------------------------- servers

/// An HTTPS server on 127.0.0.1:0 presenting `cert`; answers 200 with JSON. Returns the port.
async fn https_server(cert_pem: &str, key_pem: &str) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("cert pem");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key pem");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A failed handshake (the client refused the certificate) just ends here.
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls.write_all(&ok_response()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

/// A plain HTTP server on loopback answering 200 with JSON; records each request line.
async fn http_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let line = head.lines().next().unwrap_or("").to_string();
                log.lock().expect("log").push(line);
                let _ = s.write_all(&ok_response()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (port, seen)
}

/// A loopback port with nothing listening on it (bound, then released).
fn closed_port() -> u16 {
    let l = StdListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

// ---------------------------------------------------------------- polling

async fn poll(url: &str, extra: &str) -> PollOutcome {
    let text = format!(
        "[cutover]\nname = \"t\"\n[[source]]\nid = \"s\"\nkind = \"http\"\nurl = \"{url}\"\n\
         timeout = \"3s\"\n{extra}\n"
    );
    let cfg: Config = toml::from_str(&text).expect("config");
    let clients = Clients::for_config(&cfg).expect("clients");
    let src = &cfg.sources[0];
    poll_once(clients.get(src).expect("client"), src)
        .await
        .outcome
}

fn reason(o: &PollOutcome) -> String {
    match o {
        PollOutcome::Failed { reason, .. } => reason.clone(),
        PollOutcome::Json { body, .. } => panic!("expected a TLS failure, got JSON {body}"),
    }
}

fn assert_json(o: &PollOutcome) {
    match o {
        PollOutcome::Json { status, body, .. } => {
            assert_eq!(*status, 200);
            assert_eq!(body["v"], 1, "{body}");
        }
        PollOutcome::Failed { reason, .. } => panic!("expected JSON, got failure: {reason}"),
    }
}

fn toml_path(p: &std::path::Path) -> String {
    p.display().to_string().replace('\\', "\\\\")
}

#[tokio::test]
async fn certificates_end_in_explicit_tls_states() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = ca();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca.pem).expect("write ca");
    let with_ca = format!("ca_file = \"{}\"", toml_path(&ca_path));

    // A server certificate for 127.0.0.1 and localhost, signed by the private CA.
    let (c, k) = leaf(Some(&ca), &["127.0.0.1", "localhost"], false);
    let good = https_server(&c, &k).await;
    // With the CA in ca_file: JSON, by IP and by name.
    assert_json(&poll(&format!("https://127.0.0.1:{good}/x"), &with_ca).await);
    assert_json(&poll(&format!("https://localhost:{good}/x"), &with_ca).await);
    // Without ca_file the private CA is unknown: an explicit TLS failure.
    let r = reason(&poll(&format!("https://127.0.0.1:{good}/x"), "").await);
    assert_eq!(
        r, "TLS: certificate signed by an unknown CA (self-signed? set ca_file)",
        "private CA without ca_file"
    );
    // insecure_tls = true, written explicitly: accepted.
    assert_json(
        &poll(
            &format!("https://127.0.0.1:{good}/x"),
            "insecure_tls = true",
        )
        .await,
    );
    // insecure_tls = false, written explicitly: still refused.
    let r = reason(
        &poll(
            &format!("https://127.0.0.1:{good}/x"),
            "insecure_tls = false",
        )
        .await,
    );
    assert!(r.starts_with("TLS: "), "{r}");

    // Expired (signed by the trusted CA, so only the date is wrong).
    let (c, k) = leaf(Some(&ca), &["127.0.0.1", "localhost"], true);
    let expired = https_server(&c, &k).await;
    let r = reason(&poll(&format!("https://127.0.0.1:{expired}/x"), &with_ca).await);
    assert_eq!(r, "TLS: certificate expired");

    // Wrong host: SAN only other.example (never resolved: we connect to 127.0.0.1).
    let (c, k) = leaf(Some(&ca), &["other.example"], false);
    let wrong = https_server(&c, &k).await;
    for url in [
        format!("https://127.0.0.1:{wrong}/x"),
        format!("https://localhost:{wrong}/x"),
    ] {
        let r = reason(&poll(&url, &with_ca).await);
        assert_eq!(r, "TLS: certificate is for another host", "{url}");
    }

    // Self-signed: unknown issuer, whether or not a (different) CA file is given.
    let (c, k) = leaf(None, &["127.0.0.1", "localhost"], false);
    let selfsigned = https_server(&c, &k).await;
    for extra in ["", with_ca.as_str()] {
        let r = reason(&poll(&format!("https://127.0.0.1:{selfsigned}/x"), extra).await);
        assert_eq!(
            r, "TLS: certificate signed by an unknown CA (self-signed? set ca_file)",
            "self-signed, extra={extra:?}"
        );
    }
    // ...and trusted when its own certificate is the ca_file.
    let own = dir.path().join("self.pem");
    std::fs::write(&own, &c).expect("write self");
    let own_ca = format!("ca_file = \"{}\"", toml_path(&own));
    assert_json(&poll(&format!("https://127.0.0.1:{selfsigned}/x"), &own_ca).await);
}

// ---------------------------------------------------------------- proxies (real binary)

const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];
const NO_PROXY_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `warroom check -c <cfg> --format json` with every proxy variable set to `proxy`
/// (and NO_PROXY to `no_proxy` when given). The test process env is never touched.
async fn check_via(dir: &std::path::Path, port: u16, proxy: &str, no_proxy: Option<&str>) -> Run {
    let cfg = dir.join(format!("cutover-{port}-{}.toml", no_proxy.is_some()));
    std::fs::write(
        &cfg,
        format!(
            r#"
[cutover]
name = "t"
[[source]]
id = "s"
kind = "http"
url = "http://127.0.0.1:{port}/x"
timeout = "3s"
[[signal]]
id = "v"
source = "s"
kind = "metric"
path = ".v"
crit = "> 5"
critical = true
"#
        ),
    )
    .expect("write config");
    let proxy = proxy.to_string();
    let no_proxy = no_proxy.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
        cmd.args(["check", "-c"])
            .arg(&cfg)
            .args(["--format", "json"]);
        for v in PROXY_VARS.iter().chain(NO_PROXY_VARS.iter()) {
            cmd.env_remove(v);
        }
        for v in PROXY_VARS {
            cmd.env(v, &proxy);
        }
        if let Some(np) = &no_proxy {
            for v in NO_PROXY_VARS {
                cmd.env(v, np);
            }
        }
        let out = cmd.output().expect("run warroom");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .expect("join")
}

/// The one source's error in `check --format json` output.
fn source_error(stdout: &str) -> String {
    let poll: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "poll")
        .expect("a poll line");
    poll["sources"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_proxy_is_bypassed_by_no_proxy_and_named_otherwise() {
    let dir = tempfile::tempdir().expect("tmp");
    let (port, seen) = http_server().await;
    let dead_port = closed_port();
    let dead = format!("http://127.0.0.1:{dead_port}");

    // (a) NO_PROXY lists the internal host: straight to the source, exit 0.
    let r = check_via(dir.path(), port, &dead, Some("127.0.0.1,localhost")).await;
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(seen.lock().expect("seen").len(), 1, "the source was polled");

    // (b) No NO_PROXY: reqwest does not exempt loopback by itself, so the poll goes to
    // the dead proxy; the state names the proxy (not the source) and the exit is 3.
    let r = check_via(dir.path(), port, &dead, None).await;
    assert_eq!(r.code, 3, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(
        source_error(&r.stdout),
        format!("proxy unreachable (127.0.0.1:{dead_port} from HTTP_PROXY): connection refused")
    );
    assert_eq!(
        seen.lock().expect("seen").len(),
        1,
        "the source was not polled"
    );

    // NO_PROXY that lists only other hosts does not exempt this one.
    let r = check_via(dir.path(), port, &dead, Some("localhost,.internal")).await;
    assert_eq!(r.code, 3, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        source_error(&r.stdout).starts_with("proxy unreachable ("),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_proxy_carries_the_poll() {
    let dir = tempfile::tempdir().expect("tmp");
    let (target, target_seen) = http_server().await;
    let (proxy, proxy_seen) = http_server().await;
    let proxy_url = format!("http://127.0.0.1:{proxy}");

    // NO_PROXY does not list 127.0.0.1: the request goes to the proxy, in absolute form.
    let r = check_via(dir.path(), target, &proxy_url, Some("localhost")).await;
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(
        *proxy_seen.lock().expect("proxy log"),
        vec![format!("GET http://127.0.0.1:{target}/x HTTP/1.1")]
    );
    assert!(target_seen.lock().expect("target log").is_empty());

    // NO_PROXY lists it: straight to the source, the proxy sees nothing more.
    let r = check_via(dir.path(), target, &proxy_url, Some("127.0.0.1")).await;
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(proxy_seen.lock().expect("proxy log").len(), 1);
    assert_eq!(
        *target_seen.lock().expect("target log"),
        vec!["GET /x HTTP/1.1".to_string()]
    );
}
