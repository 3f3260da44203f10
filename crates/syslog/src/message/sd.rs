//! RFC 5424 STRUCTURED-DATA: validation and a zero-copy walk.
//!
//! `SD-ELEMENT = "[" SD-ID *(SP NAME="VALUE") "]"`; names are 1 to 32
//! printable US-ASCII bytes other than `=`, SP, `]` and `"`. In a value,
//! `\` escapes the next byte (RFC 5424 requires it before `"`, `\` and `]`;
//! like rsyslog, an unescaped `]` inside the quotes is accepted).

const MAX_NAME: usize = 32;

fn name_len(s: &[u8]) -> usize {
    s.iter().take(MAX_NAME + 1).take_while(|&&c| c > 32 && c < 127 && !matches!(c, b'=' | b']' | b'"')).count()
}

/// Length of the quoted value starting after the opening `"` (up to, not
/// including, the closing `"`), or `None` if it is not closed.
fn value_len(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// One element at the start of `s`: its id, params text and total length.
fn element(s: &[u8]) -> Option<(&[u8], &[u8], usize)> {
    let body = s.strip_prefix(b"[")?;
    let id = name_len(body);
    if id == 0 || id > MAX_NAME {
        return None;
    }
    let mut i = id;
    loop {
        match body.get(i)? {
            b']' => return Some((&body[..id], &body[id..i], i + 2)),
            b' ' => {
                let n = name_len(&body[i + 1..]);
                if n == 0 || n > MAX_NAME || body.get(i + 1 + n..i + 3 + n) != Some(b"=\"") {
                    return None;
                }
                i += 3 + n;
                i += value_len(&body[i..])? + 1;
            }
            _ => return None,
        }
    }
}

/// Length of the valid STRUCTURED-DATA (one or more elements) at the start
/// of `s`, or `None`.
pub(crate) fn validate(s: &[u8]) -> Option<usize> {
    let mut n = 0;
    while s.get(n) == Some(&b'[') {
        n += element(&s[n..])?.2;
    }
    (n > 0).then_some(n)
}

/// The elements of validated STRUCTURED-DATA.
#[derive(Debug, Clone)]
pub struct SdElements<'a> {
    rest: &'a [u8],
}

impl<'a> SdElements<'a> {
    pub(crate) fn new(sd: &'a [u8]) -> Self {
        SdElements { rest: sd }
    }
}

impl<'a> Iterator for SdElements<'a> {
    type Item = SdElement<'a>;

    fn next(&mut self) -> Option<SdElement<'a>> {
        let Some((id, params, n)) = element(self.rest) else {
            self.rest = b"";
            return None;
        };
        self.rest = &self.rest[n..];
        Some(SdElement { id, params: SdParams { rest: params } })
    }
}

/// `[id name="value" ...]`.
#[derive(Debug, Clone)]
pub struct SdElement<'a> {
    pub id: &'a [u8],
    pub params: SdParams<'a>,
}

/// The `(name, value)` pairs of an element; values as on the wire, with
/// their `\` escapes (see [`unescape_param_value`]).
#[derive(Debug, Clone)]
pub struct SdParams<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SdParams<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let s = self.rest.strip_prefix(b" ")?;
        let n = name_len(s);
        let v = s.get(n + 2..)?;
        let Some(len) = value_len(v) else {
            self.rest = b"";
            return None;
        };
        self.rest = &v[len + 1..];
        Some((&s[..n], &v[..len]))
    }
}

/// Removes the `\` escapes of a PARAM-VALUE: `\"`, `\\` and `\]` become
/// the escaped byte; a `\` before any other byte is kept (RFC 5424 §6.3.3).
/// Writes into `out` (cleared first, reused by the caller) and returns it.
pub fn unescape_param_value<'b>(value: &[u8], out: &'b mut Vec<u8>) -> &'b [u8] {
    out.clear();
    let mut i = 0;
    while i < value.len() {
        let c = value[i];
        if c == b'\\'
            && let Some(&e @ (b'"' | b'\\' | b']')) = value.get(i + 1)
        {
            out.push(e);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}
