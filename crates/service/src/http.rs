//! The HTTP listener: `/metrics` now; the dashboard and API (issue 9) join
//! it on the same address.

use crate::metrics::Metrics;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct HttpServer {
    pub local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Binds at once (a taken port is an error at start-up), then serves on
/// its own thread with a one-thread runtime.
pub fn serve(addr: SocketAddr, metrics: Arc<Metrics>, api: Option<Router>) -> anyhow::Result<HttpServer> {
    let std_listener = std::net::TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("http: cannot listen on {addr}: {e} (set [http] listen to a free address)"))?;
    std_listener.set_nonblocking(true)?;
    let local_addr = std_listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let thread = std::thread::Builder::new().name("http".into()).spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "http: no runtime");
                return;
            }
        };
        rt.block_on(async move {
            let mut app =
                Router::new().route("/metrics", get(metrics_page)).route("/healthz", get(healthz)).with_state(metrics);
            if let Some(api) = api {
                app = app.merge(api);
            }
            let listener = match tokio::net::TcpListener::from_std(std_listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "http: listener");
                    return;
                }
            };
            let shutdown = async move {
                while !stop2.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(error = %e, "http: server failed");
            }
        });
    })?;
    Ok(HttpServer { local_addr, stop, thread: Some(thread) })
}

/// 200 once the service runs (every input bound, every thread started),
/// 503 while it starts.
async fn healthz(axum::extract::State(m): axum::extract::State<Arc<Metrics>>) -> impl IntoResponse {
    if m.is_ready() {
        (axum::http::StatusCode::OK, "ok\n")
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

async fn metrics_page(axum::extract::State(m): axum::extract::State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], m.render())
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
