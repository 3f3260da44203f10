//! The analyst's side of the service (issue 9): the JSON API over the
//! analytics store, the live event stream, the dashboard pages. It knows
//! the store, not the sensor: the service hands it what it needs (auth,
//! hooks for status and `intel check`, the live feed) through
//! [`state::WebOptions`].

pub mod api;
pub mod auth;
pub mod csv;
pub mod live;
pub mod openapi;
pub mod pages;
pub mod report;
pub mod state;
pub mod status;
pub mod svg;

pub use state::{WebOptions, WebState};

use axum::Router;

/// Every web route (API and pages) behind the credentials check.
pub fn routes(options: WebOptions) -> anyhow::Result<Router> {
    let state = WebState::with_options(options)?;
    Ok(api::router(std::sync::Arc::clone(&state))
        .merge(pages::router(std::sync::Arc::clone(&state)))
        .layer(axum::middleware::from_fn_with_state(state, auth::require)))
}
