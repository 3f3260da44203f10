//! `intel::feeds::load_text` as FeedFormat::Warninglist (strict and non-strict), then
//! lookups in the built set. See common/feed.rs.
#![no_main]

#[path = "common/feed.rs"]
mod feed;

libfuzzer_sys::fuzz_target!(|data: &[u8]| feed::run(intel::FeedFormat::Warninglist, data));
