//! The analyst's side of the service (issue 9): the JSON API over the
//! analytics store and the dashboard pages. It knows the store, not the
//! sensor: the service hands it what it needs through [`state::WebState`].

pub mod api;
pub mod pages;
pub mod state;

use axum::Router;

/// Every web route (API and pages), when a store is configured.
pub fn routes(db: &std::path::Path, token: Option<String>) -> anyhow::Result<Router> {
    let state = state::WebState::open(db, token)?;
    Ok(api::router(std::sync::Arc::clone(&state)).merge(pages::router(state)))
}
