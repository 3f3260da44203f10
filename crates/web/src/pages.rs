//! The dashboard pages (filled in by issue 9's page work).

use crate::state::WebState;
use axum::Router;
use std::sync::Arc;

pub fn router(state: Arc<WebState>) -> Router {
    Router::new().with_state(state)
}
