//! The analyst's side of the service (issue 9): the JSON API over the
//! analytics store. It knows the store, not the sensor: the service hands
//! it what it needs.

pub mod api;

pub use api::routes;
