//! Who may read the API and the pages: a token (`Authorization: Bearer`,
//! `?token=`, or the `sdn_token` cookie a `?token=` sets) or basic auth
//! (`Authorization: Basic`), whichever `[http]` configures. Without either,
//! everything is open (the service refuses that on a non-loopback listen).
//! `/metrics` and `/healthz` are served outside these routes and stay open.

// The error is the finished 401 a handler returns as is.
#![allow(clippy::result_large_err)]

use crate::state::WebState;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use std::collections::HashMap;
use std::sync::Arc;

/// The cookie a `?token=` on any page sets, so the browser's next requests
/// (page links, fetches, the event stream) carry the token.
pub const COOKIE: &str = "sdn_token";
pub const REALM: &str = "sdn-sensor";

#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for BasicCredentials {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials").field("user", &self.user).finish_non_exhaustive()
    }
}

impl BasicCredentials {
    /// `user:password` (the password may hold colons; the user may not,
    /// as in RFC 7617). Surrounding white space (a file's last newline) is
    /// dropped.
    pub fn parse(text: &str) -> Result<BasicCredentials, String> {
        let text = text.trim_matches(|c: char| c == '\n' || c == '\r');
        let (user, password) =
            text.split_once(':').ok_or_else(|| "give user:password (a colon between them)".to_string())?;
        if user.is_empty() || password.is_empty() {
            return Err("give user:password (neither may be empty)".to_string());
        }
        if text.chars().any(char::is_control) {
            return Err("user:password may not hold control characters (one line only)".to_string());
        }
        Ok(BasicCredentials { user: user.to_string(), password: password.to_string() })
    }
}

#[derive(Clone, Default, Debug)]
pub struct AuthConfig {
    pub token: Option<String>,
    pub basic: Option<BasicCredentials>,
}

impl AuthConfig {
    /// Whether requests need credentials at all.
    pub fn required(&self) -> bool {
        self.token.as_deref().is_some_and(|t| !t.is_empty()) || self.basic.is_some()
    }
}

/// How a request proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granted {
    /// Nothing is configured.
    Open,
    Header,
    Cookie,
    /// `?token=`: the answer sets the cookie.
    QueryToken,
}

/// The one check every API handler and page goes through (the router's
/// layer calls it; pages may call it again, it is cheap): `Ok` or the 401
/// to answer.
pub fn check(s: &WebState, headers: &HeaderMap, params: &HashMap<String, String>) -> Result<(), Response> {
    verify(&s.auth, headers, params).map(|_| ())
}

pub fn verify(auth: &AuthConfig, headers: &HeaderMap, params: &HashMap<String, String>) -> Result<Granted, Response> {
    if !auth.required() {
        return Ok(Granted::Open);
    }
    let token = auth.token.as_deref().filter(|t| !t.is_empty());
    for value in headers.get_all(header::AUTHORIZATION) {
        let Ok(value) = value.to_str() else { continue };
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") && token.is_some_and(|t| same(rest, t)) {
            return Ok(Granted::Header);
        }
        if scheme.eq_ignore_ascii_case("basic")
            && let Some(want) = &auth.basic
            && let Some((user, password)) = decode_basic(rest)
            // Both compared whatever the first gives (no early exit).
            && same(&user, &want.user) & same(&password, &want.password)
        {
            return Ok(Granted::Header);
        }
    }
    if let Some(t) = token {
        if cookie_values(headers, COOKIE).any(|v| same(&percent_decode(v), t)) {
            return Ok(Granted::Cookie);
        }
        if params.get("token").is_some_and(|g| same(g, t)) {
            return Ok(Granted::QueryToken);
        }
    }
    Err(unauthorized(auth))
}

/// 401 saying what is accepted; with basic auth the browser is asked to
/// prompt for it.
pub fn unauthorized(auth: &AuthConfig) -> Response {
    let mut ways = Vec::new();
    if auth.token.is_some() {
        ways.push("Authorization: Bearer TOKEN, ?token=TOKEN or the sdn_token cookie (set by ?token=)");
    }
    if auth.basic.is_some() {
        ways.push("Authorization: Basic (user and password of [http] basic_auth)");
    }
    let mut r = crate::api::error(
        StatusCode::UNAUTHORIZED,
        format!("credentials required: give {} (see docs/API.md, Authentication)", ways.join(" or ")),
    );
    let challenge = if auth.basic.is_some() {
        format!("Basic realm=\"{REALM}\", charset=\"UTF-8\"")
    } else {
        format!("Bearer realm=\"{REALM}\"")
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// The layer over every web route: checks, and answers a good `?token=`
/// with the cookie.
pub async fn require(State(s): State<Arc<WebState>>, req: Request, next: Next) -> Response {
    let params: HashMap<String, String> = Query::try_from_uri(req.uri()).map(|Query(p)| p).unwrap_or_default();
    match verify(&s.auth, req.headers(), &params) {
        Err(r) => r,
        Ok(Granted::QueryToken) => {
            let mut r = next.run(req).await;
            if let Some(t) = &s.auth.token
                && let Ok(v) = HeaderValue::from_str(&set_cookie(t))
            {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(_) => next.run(req).await.into_response(),
    }
}

/// `Set-Cookie` for the token: HttpOnly (no script reads it), SameSite
/// Strict (no other site's page sends it), the whole site.
pub fn set_cookie(token: &str) -> String {
    format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", crate::pages::encode_component(token))
}

/// Equal, looking at every byte whatever differs first (the time does not
/// tell how much of a guess was right).
fn same(given: &str, want: &str) -> bool {
    let (g, w) = (given.as_bytes(), want.as_bytes());
    let mut diff = (g.len() != w.len()) as u8;
    for (i, &b) in w.iter().enumerate() {
        diff |= b ^ g.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

fn decode_basic(b64: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Values of cookie `name` in every `Cookie` header.
fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers.get_all(header::COOKIE).into_iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).filter_map(
        move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        },
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn auth() -> AuthConfig {
        AuthConfig { token: Some("t0k; en".into()), basic: Some(BasicCredentials::parse("ana:pa:ss\n").unwrap()) }
    }

    #[test]
    fn every_way_in_and_the_wrong_ones() {
        let a = auth();
        let none = HashMap::new();
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ana:pa:ss"));
        assert_eq!(verify(&a, &headers(&[("authorization", "Bearer t0k; en")]), &none).unwrap(), Granted::Header);
        assert_eq!(verify(&a, &headers(&[("authorization", &basic)]), &none).unwrap(), Granted::Header);
        let cookie = set_cookie("t0k; en");
        let value = cookie.split(';').next().unwrap();
        assert_eq!(value, "sdn_token=t0k%3B%20en");
        assert_eq!(verify(&a, &headers(&[("cookie", &format!("x=1; {value}"))]), &none).unwrap(), Granted::Cookie);
        let q: HashMap<String, String> = [("token".to_string(), "t0k; en".to_string())].into();
        assert_eq!(verify(&a, &HeaderMap::new(), &q).unwrap(), Granted::QueryToken);
        let wrong_basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ana:pa:sS"));
        for h in [
            headers(&[]),
            headers(&[("authorization", "Bearer t0k; e")]),
            headers(&[("authorization", &wrong_basic)]),
            headers(&[("authorization", "Basic !!!")]),
            headers(&[("cookie", "sdn_token=t0k")]),
        ] {
            let r = verify(&a, &h, &none).unwrap_err();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            assert!(r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic realm=\"sdn-sensor\""));
        }
        assert_eq!(verify(&AuthConfig::default(), &headers(&[]), &none).unwrap(), Granted::Open);
    }

    #[test]
    fn credentials_are_checked_when_read() {
        assert!(BasicCredentials::parse("nocolon").is_err());
        assert!(BasicCredentials::parse(":pw").is_err());
        assert!(BasicCredentials::parse("user:").is_err());
        assert!(BasicCredentials::parse("a:b\nc:d").is_err());
        assert_eq!(BasicCredentials::parse("u:p\r\n").unwrap().password, "p");
        assert!(!format!("{:?}", BasicCredentials::parse("u:secret").unwrap()).contains("secret"));
    }

    #[test]
    fn comparison_and_percent_coding() {
        assert!(same("abc", "abc"));
        assert!(!same("ab", "abc"));
        assert!(!same("abcd", "abc"));
        assert!(!same("", "a"));
        assert_eq!(percent_decode(&crate::pages::encode_component("ä x;%")), "ä x;%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
