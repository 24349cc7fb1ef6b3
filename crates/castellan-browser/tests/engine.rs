//! The Chromium engine on real Chromium: pages, statuses, cookies, and the scope that keeps a
//! browser on the hub's address. Needs Debian's `chromium` and `chromium-driver`.

use std::time::Duration;

use castellan_browser::{ChromiumConfig, ChromiumEngine};
use castellan_core::connector::browser::{BrowserEngine, TabScope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback HTTP server answering every request with `status` and `body` (HTML); the paths
/// it was asked for go to the returned channel.
async fn server(
    status: &'static str,
    body: &'static str,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                let _ = tx.send(path);
                let out = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nSet-Cookie: sid=abc; Path=/; HttpOnly\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(out.as_bytes()).await;
            });
        }
    });
    (port, rx)
}

fn scope(port: u16) -> TabScope {
    TabScope {
        host: "127.0.0.1".into(),
        port,
        ip: "127.0.0.1".parse().unwrap(),
    }
}

#[tokio::test]
async fn a_tab_loads_pages_reads_statuses_and_keeps_to_its_scope() {
    let engine = ChromiumEngine::new(ChromiumConfig::default());
    let (port, mut asked) = server("200 OK", "<html><body><input id=q><a id=go href=/next>go</a><img src='http://127.0.0.1:1/x.png'></body></html>").await;
    let (other, mut other_asked) = server("200 OK", "<p>other</p>").await;
    let mut tab = engine.open(&scope(port)).await.expect("a browser opens");
    let load = tab
        .goto(&format!("http://127.0.0.1:{port}/start"))
        .await
        .unwrap();
    assert_eq!((load.status, load.failed), (Some(200), false), "{load:?}");
    assert_eq!(asked.recv().await.unwrap(), "/start");
    tab.fill("#q", "typed").await.unwrap();
    // Characters WebDriver would read as keys (here Enter) are never typed.
    let err = tab.fill("#q", "Ana\u{E007}").await.unwrap_err();
    assert!(
        matches!(
            err,
            castellan_core::connector::ConnectorError::Configuration(_)
        ),
        "{err:?}"
    );
    let v = tab
        .read("return document.getElementById('q').value", vec![])
        .await
        .unwrap();
    assert_eq!(v, "typed");
    let cookies = tab.cookies().await.unwrap();
    assert!(
        cookies
            .iter()
            .any(|c| c.name == "sid" && c.value == "abc" && c.http_only),
        "{cookies:?}"
    );
    // A second browser signed in with the first one's cookies.
    let mut second = engine.open(&scope(port)).await.unwrap();
    second
        .goto(&format!("http://127.0.0.1:{port}/landing"))
        .await
        .unwrap();
    let mine: Vec<_> = cookies
        .iter()
        .cloned()
        .map(|mut c| {
            c.value = "restored".into();
            c
        })
        .collect();
    second.add_cookies(&mine).await.unwrap();
    let got = second.cookies().await.unwrap();
    assert!(
        got.iter().any(|c| c.name == "sid" && c.value == "restored"),
        "{got:?}"
    );
    second.close().await;
    let load = tab.submit("#go").await.unwrap();
    assert!(load.url.ends_with("/next"), "{load:?}");
    // Another loopback port is out of scope: the browser never reaches it.
    let load = tab
        .goto(&format!("http://127.0.0.1:{other}/"))
        .await
        .unwrap();
    assert!(load.failed, "{load:?}");
    assert!(
        other_asked.try_recv().is_err(),
        "the browser reached a port outside its scope"
    );
    let err = tab.fill("#nothing-here", "x").await.unwrap_err();
    assert!(
        matches!(
            err,
            castellan_core::connector::ConnectorError::AppChanged(_)
        ),
        "{err:?}"
    );
    assert!(tab.screenshot().await.unwrap().starts_with(b"\x89PNG"));
    tab.close().await;
}

#[tokio::test]
async fn statuses_of_error_answers_and_the_pool_bound() {
    let cfg = ChromiumConfig {
        max_browsers: 1,
        open_timeout: Duration::from_secs(2),
        ..ChromiumConfig::default()
    };
    let engine = ChromiumEngine::new(cfg);
    let (port, _) = server("503 Service Unavailable", "<p>down</p>").await;
    let mut tab = engine.open(&scope(port)).await.unwrap();
    let load = tab
        .goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    assert_eq!((load.status, load.failed), (Some(503), false), "{load:?}");
    // The only place in the pool is taken: the next open waits, then gives up.
    let err = engine
        .open(&scope(port))
        .await
        .err()
        .expect("no second browser");
    assert!(
        matches!(
            err,
            castellan_core::connector::ConnectorError::Unavailable(_)
        ),
        "{err:?}"
    );
    tab.close().await;
    let tab = engine
        .open(&scope(port))
        .await
        .expect("the place is free again");
    tab.close().await;
}

/// Every process descended from `pid` (from `/proc/*/stat`).
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 2..];
            Some((p, after.split(' ').nth(1)?.parse().ok()?))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.split_off(1)
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s[s.rfind(')').unwrap_or(0)..].starts_with(") Z"))
}

/// A process with an open browser is killed with SIGKILL: chromedriver and every Chromium it
/// started end too (the engine's watcher), none is left behind.
#[tokio::test]
async fn no_browser_outlives_a_killed_process() {
    if std::env::var_os("CASTELLAN_BROWSER_CHILD").is_some() {
        let engine = ChromiumEngine::new(ChromiumConfig::default());
        let (port, _) = server("200 OK", "<p>held</p>").await;
        let mut tab = engine.open(&scope(port)).await.unwrap();
        tab.goto(&format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap();
        println!("browser open");
        tokio::time::sleep(Duration::from_secs(600)).await;
        return;
    }
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "no_browser_outlives_a_killed_process",
            "--nocapture",
        ])
        .env("CASTELLAN_BROWSER_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let opened = out
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("browser open"));
    assert!(opened, "the child opened no browser");
    let procs = descendants(child.id());
    assert!(
        procs.len() >= 3,
        "chromedriver and Chromium run under the child: {procs:?}"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut left: Vec<u32> = procs.clone();
    while !left.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left.retain(|p| alive(*p));
    }
    assert!(
        left.is_empty(),
        "left behind after kill -9: {left:?} of {procs:?}"
    );
}
