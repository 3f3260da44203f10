//! What a browser or script sends the web side, over arbitrary bytes: the
//! credentials check (Authorization header, cookies, `?token=`, basic-auth
//! files) and the live stream's filter (its parameters, then any event line
//! it is matched against). Never a panic; a wrong credential never passes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use web::auth::{AuthConfig, BasicCredentials, verify};
use web::live::StreamFilter;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1}');
    let (auth, cookie, params, line) =
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let _ = BasicCredentials::parse(auth);
    let config = AuthConfig {
        token: Some("s3cret".into()),
        basic: Some(BasicCredentials { user: "ana".into(), password: "pw".into() }),
    };
    let mut headers = axum::http::HeaderMap::new();
    for (name, value) in [("authorization", auth), ("cookie", cookie)] {
        if let Ok(v) = axum::http::HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    let params: HashMap<String, String> =
        params.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if verify(&config, &headers, &params).is_ok() {
        // Only the real secrets open the door.
        // (Percent-encoded cookies may spell the token another way.)
        let all = format!("{auth} {cookie} {params:?}");
        assert!(
            all.contains('%') || all.contains("s3cret") || all.contains("YW5hOnB3"),
            "granted without a secret: {all}"
        );
    }
    if let Ok(f) = StreamFilter::from_params(&params) {
        let _ = f.matches(line);
    }
});
