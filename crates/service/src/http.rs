//! The HTTP listener: `/metrics` and `/healthz` (always open), and with an
//! analytics store the dashboard and `/api/*` (behind `[http]` token or
//! basic auth) on the same address.

use crate::metrics::Metrics;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long requests under way may take once the service stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

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
            let stopped = move || {
                let stop = Arc::clone(&stop2);
                async move {
                    while !stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            };
            // Small chunks (CSV pages, stream lines) go out at once, not
            // after Nagle's delayed-ACK wait (~40 ms per chunk).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "http: TCP_NODELAY");
                }
            });
            let server = axum::serve(listener, app).with_graceful_shutdown(stopped());
            // Requests under way get a moment to finish; live streams and
            // downloads left open would hold the stop for ever, so past
            // that they are cut (the runtime drops their tasks).
            let cut = async {
                stopped().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            };
            tokio::select! {
                r = server => if let Err(e) = r {
                    tracing::error!(error = %e, "http: server failed");
                },
                () = cut => tracing::info!("http: connections still open at stop were closed"),
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

/// The web side's credentials from `[http]` (`base`: the configuration's
/// directory, for a relative `basic_auth_file`). A listen address other
/// than loopback is refused without a token or basic auth.
pub fn web_auth(file: &str, base: &Path, h: &sensor::config::HttpSection) -> anyhow::Result<web::auth::AuthConfig> {
    if h.token.as_deref() == Some("") {
        anyhow::bail!("{file}: http.token is empty: give a token or remove the line");
    }
    let basic = match (&h.basic_auth, &h.basic_auth_file) {
        (Some(_), Some(_)) => anyhow::bail!("{file}: http.basic_auth and http.basic_auth_file: set one of them"),
        (Some(text), None) => Some(
            web::auth::BasicCredentials::parse(text).map_err(|m| anyhow::anyhow!("{file}: http.basic_auth: {m}"))?,
        ),
        (None, Some(path)) => {
            let path = base.join(path);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("{file}: http.basic_auth_file = {}: cannot read: {e}", path.display()))?;
            Some(
                web::auth::BasicCredentials::parse(&text)
                    .map_err(|m| anyhow::anyhow!("{file}: http.basic_auth_file = {}: {m}", path.display()))?,
            )
        }
        (None, None) => None,
    };
    let auth = web::auth::AuthConfig { token: h.token.clone(), basic };
    if !h.listen.ip().is_loopback() && !auth.required() {
        anyhow::bail!(
            "{file}: http.listen = {} is not a loopback address: set http.token or http.basic_auth (or \
             basic_auth_file) too (the dashboard and API would be open to the network)",
            h.listen
        );
    }
    Ok(auth)
}

/// The live stream's counters, read at scrape time.
pub fn live_metrics(metrics: &Metrics, live: &Arc<web::live::LiveFeed>) {
    let live = Arc::downgrade(live);
    metrics.collect(move |out| {
        let Some(live) = live.upgrade() else { return };
        let mut s = crate::metrics::Samples { out, labels: Vec::new() };
        s.counter(
            "sdn_web_stream_dropped_total",
            "Events /api/stream clients missed by falling behind.",
            live.dropped(),
        );
        s.gauge("sdn_web_stream_clients", "Open /api/stream connections.", live.clients() as f64);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> sensor::config::HttpSection {
        sensor::config::Config::parse("c.toml", toml_text).unwrap().http
    }

    #[test]
    fn credentials_from_the_section() {
        let dir = std::env::temp_dir().join(format!("sdn-web-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pw"), "ana:s3cret\n").unwrap();
        let absent = section("");
        assert!(!absent.present);
        assert!(section("[http]\n").present);
        let open = web_auth("c.toml", &dir, &section("[http]\nlisten = \"127.0.0.1:1\"")).unwrap();
        assert!(!open.required());
        let from_file = web_auth("c.toml", &dir, &section("[http]\nbasic_auth_file = \"pw\"")).unwrap();
        assert_eq!(from_file.basic.unwrap().password, "s3cret");
        let public = "[http]\nlisten = \"0.0.0.0:8080\"\n";
        let e = web_auth("c.toml", &dir, &section(public)).unwrap_err().to_string();
        assert!(e.contains("not a loopback address") && e.contains("basic_auth"), "{e}");
        assert!(web_auth("c.toml", &dir, &section(&format!("{public}basic_auth = \"u:p\""))).unwrap().required());
        assert!(web_auth("c.toml", &dir, &section(&format!("{public}token = \"t\""))).unwrap().required());
        for (extra, want) in [
            ("token = \"\"", "http.token is empty"),
            ("basic_auth = \"nocolon\"", "http.basic_auth: give user:password"),
            ("basic_auth = \"a:b\"\nbasic_auth_file = \"pw\"", "set one of them"),
            ("basic_auth_file = \"missing\"", "cannot read"),
        ] {
            let e = web_auth("c.toml", &dir, &section(&format!("[http]\n{extra}"))).unwrap_err().to_string();
            assert!(e.contains(want), "{extra}: {e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
