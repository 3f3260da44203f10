//! URLs: the scheme (plain or defanged), the authority and the extent.

use super::*;

/// The scheme of a URL at `j`: its length including `://` and whether it
/// was written defanged.
#[inline]
pub(super) fn url_scheme(t: &[u8], j: usize, refang: bool) -> Option<(usize, bool)> {
    let r = t.get(j..)?;
    let lc = |k: usize| r.get(k).map(|b| b.to_ascii_lowercase());
    let mut defanged = false;
    let name = match lc(0)? {
        b'h' => {
            match (lc(1)?, lc(2)?) {
                (b't', b't') => {}
                (b'x', b'x') if refang => defanged = true,
                _ => return None,
            }
            if lc(3)? != b'p' {
                return None;
            }
            if lc(4) == Some(b's') { 5 } else { 4 }
        }
        b'f' if lc(1)? == b't' && lc(2)? == b'p' => 3,
        _ => return None,
    };
    let after = &r[name..];
    if after.starts_with(b"://") {
        Some((name + 3, defanged))
    } else if refang && after.starts_with(b"[:]//") {
        Some((name + 5, true))
    } else {
        None
    }
}

pub(super) struct Url {
    pub(super) end: usize,
    pub(super) host: (usize, usize),
    pub(super) bracket: bool,
    pub(super) defanged: bool,
}

/// A URL at `j`, whose scheme has not been checked yet.
pub(super) fn parse_url(t: &[u8], j: usize, refang: bool) -> Option<Url> {
    let (slen, mut defanged) = url_scheme(t, j, refang)?;
    let n = t.len();
    let p = j + slen;
    // The authority: up to the path, query or fragment.
    let mut ae = p;
    let mut hs = p;
    while ae < n {
        let b = t[ae];
        if refang
            && matches!(b, b'[' | b'(' | b'{')
            && let Some((_, l)) = defang(t, ae)
        {
            ae += l;
            continue;
        }
        if is(b, URL_STOP) || matches!(b, b'/' | b'?' | b'#') {
            break;
        }
        if b == b'@' {
            hs = ae + 1;
        }
        ae += 1;
    }
    let (host, bracket, mut q) = if hs < n && t[hs] == b'[' && !(refang && defang(t, hs).is_some()) {
        let close = hs + 1 + t[hs + 1..ae].iter().position(|&b| b == b']')?;
        ((hs + 1, close), true, close + 1)
    } else {
        let mut q = hs;
        while q < ae {
            if is(t[q], HOST) || t[q] >= 0x80 {
                q += 1;
            } else if refang && let Some((b'.', l)) = defang(t, q) {
                q += l;
                defanged = true;
            } else {
                break;
            }
        }
        ((hs, q), false, q)
    };
    if host.0 >= host.1 {
        return None;
    }
    // An optional port, then something that can end the authority.
    if q < n && t[q] == b':' {
        q += 1;
    } else if refang && t.get(q..).is_some_and(|r| r.starts_with(b"[:]")) {
        q += 3;
        defanged = true;
    }
    while q < n && is(t[q], DIGIT) {
        q += 1;
    }
    if q < n {
        let b = t[q];
        if !(is(b, URL_STOP) || b"/?#.,;:!)]".contains(&b)) {
            return None;
        }
    }
    // The extent: balanced brackets, trailing punctuation trimmed.
    let (mut paren, mut square) = (0u32, 0u32);
    let mut k = p;
    while k < n {
        let b = t[k];
        if refang
            && matches!(b, b'[' | b'(' | b'{')
            && let Some((_, l)) = defang(t, k)
        {
            defanged = true;
            k += l;
            continue;
        }
        if is(b, URL_STOP) {
            break;
        }
        // A defanged URL inside this one (`?u=hxxp://…`): refang rewrites it.
        if refang && b | 0x20 == b'h' && !is(t[k - 1], ALNUM) && url_scheme(t, k, true).is_some_and(|(_, d)| d) {
            defanged = true;
        }
        match b {
            b'(' => paren += 1,
            b'[' => square += 1,
            b')' if paren == 0 => break,
            b')' => paren -= 1,
            b']' if square == 0 => break,
            b']' => square -= 1,
            _ => {}
        }
        k += 1;
    }
    while k > p && matches!(t[k - 1], b'.' | b',' | b';' | b':' | b'!' | b'?') {
        k -= 1;
    }
    if k <= host.0 {
        return None;
    }
    Some(Url { end: k, host, bracket, defanged })
}
