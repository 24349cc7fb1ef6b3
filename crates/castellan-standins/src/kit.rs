//! What every stand-in shares: serving a router on loopback from its own thread, so it outlives
//! the test's runtime and is ready before the first request.

use std::net::TcpListener as StdListener;

use axum::Router;

/// A stand-in being served: its base URL (`http://127.0.0.1:<port>`, no trailing slash).
#[derive(Debug, Clone)]
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
}

/// Serves `router` on `127.0.0.1` at a free port, from a thread with its own Tokio runtime that
/// lives as long as the test process. The socket is bound before this returns, so the first
/// request cannot be refused.
///
/// Panics when no loopback port can be bound (a test environment fault).
pub fn spawn(router: Router) -> Served {
    let std = StdListener::bind("127.0.0.1:0").expect("bind a loopback port for a stand-in");
    std.set_nonblocking(true).expect("non-blocking listener");
    let port = std.local_addr().expect("bound address").port();
    std::thread::Builder::new()
        .name(format!("standin-{port}"))
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the stand-in");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std).expect("tokio listener");
                axum::serve(listener, router)
                    .await
                    .expect("stand-in serves");
            });
        })
        .expect("a thread for the stand-in");
    Served {
        base_url: format!("http://127.0.0.1:{port}"),
    }
}
