//! The SDK's HTTP client ignores proxies from the environment: behind `HTTP_PROXY`, a hub's
//! address policy would only see the proxy's address, and a hub set to `allow_private = no`
//! could reach loopback through it. Its own test binary, because it sets the process's
//! environment before any client is built.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use castellan_connectors::sdk::{AddressPolicy, HttpClient};
use castellan_core::connector::{ConnectorContext, ConnectorError};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback server that answers every request `200 {}` and counts the connections it got.
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
            let _ = sock.write_all(reply.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://127.0.0.1:{}", addr.port()), seen)
}

fn hub(base_url: &str, allow_private: &str) -> ConnectorContext {
    let mut ctx = ConnectorContext::new(base_url, "bot", SecretString::from("pw".to_owned()));
    ctx.timeout = Duration::from_secs(5);
    ctx.settings
        .insert("allow_private".into(), allow_private.into());
    ctx
}

#[tokio::test]
async fn a_proxy_in_the_environment_is_never_used() {
    let (proxy, proxied) = counting_server().await;
    let (target, reached) = counting_server().await;
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        std::env::set_var(var, &proxy);
    }
    let http = HttpClient::new(AddressPolicy::SELF_HOSTED);

    // A hub that may not reach private addresses is refused a name that resolves to loopback.
    let port = target.rsplit(':').next().unwrap();
    let ctx = hub(&format!("http://localhost:{port}"), "no");
    let ep = http.endpoint_for(&ctx).unwrap();
    let err = ep.get("/").send().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Configuration(ref m) if m.contains("allow_private")),
        "{err:?}"
    );
    assert_eq!(proxied.load(Ordering::SeqCst), 0, "went through the proxy");
    assert_eq!(reached.load(Ordering::SeqCst), 0);

    // A hub that may reaches its app directly, not through the proxy.
    let ctx = hub(&target, "yes");
    let r = http
        .endpoint_for(&ctx)
        .unwrap()
        .get("/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(reached.load(Ordering::SeqCst), 1);
    assert_eq!(proxied.load(Ordering::SeqCst), 0, "went through the proxy");
}
