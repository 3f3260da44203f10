//! Template records (RFC 3954 §5.2–5.3, RFC 7011 §3.4): parsing of the
//! records of one template set, and the stored form of a template.

use super::{NetflowError, be16, be32};

/// A field length of 65535: variable length (RFC 7011 §7), with a 1-octet
/// length prefix, or 255 and a 2-octet length. Some v9 exporters (H3C) use
/// it too.
pub const VARIABLE_LENGTH: u16 = 0xffff;
/// Fields in one template; real templates have well under 100. Bounds the
/// memory one template can take (at most `max_templates` of them).
pub const MAX_TEMPLATE_FIELDS: usize = 512;

/// One field specifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Information element id (v9 field type), without the enterprise bit.
    pub id: u16,
    /// Octets, or [`VARIABLE_LENGTH`].
    pub len: u16,
    /// IPFIX private enterprise number; 0 for IANA elements and all of v9.
    pub pen: u32,
    /// A scope field of an options template.
    pub scope: bool,
}

/// A learned template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Template {
    pub fields: Box<[Field]>,
    pub options: bool,
    /// The shortest record (variable-length fields count 1 octet).
    pub min_len: usize,
}

impl Template {
    pub(super) fn new(fields: &[Field], options: bool) -> Result<Template, NetflowError> {
        let min_len = min_len(fields);
        if min_len == 0 {
            return Err(NetflowError::EmptyTemplate);
        }
        Ok(Template { fields: fields.into(), options, min_len })
    }

    pub(super) fn same(&self, fields: &[Field], options: bool) -> bool {
        self.options == options && *self.fields == *fields
    }
}

fn min_len(fields: &[Field]) -> usize {
    fields.iter().map(|f| if f.len == VARIABLE_LENGTH { 1 } else { usize::from(f.len) }).sum()
}

/// What one template record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Parsed {
    /// A definition; its fields are in the scratch vector.
    Define { id: u16 },
    /// IPFIX withdrawal of one template (field count 0).
    Withdraw { id: u16 },
    /// IPFIX withdrawal of all (options) templates of the domain.
    WithdrawAll,
}

/// Walks the template records of one set body. `ipfix` selects the record
/// formats; `options` the options-template form.
pub(super) struct TemplateRecords<'a> {
    body: &'a [u8],
    pos: usize,
    ipfix: bool,
    options: bool,
    set_id: u16,
}

impl<'a> TemplateRecords<'a> {
    pub(super) fn new(body: &'a [u8], ipfix: bool, options: bool, set_id: u16) -> Self {
        TemplateRecords { body, pos: 0, ipfix, options, set_id }
    }

    /// The next record, its fields written to `fields`; `Ok(None)` at the
    /// end of the set or at padding (too short for a record header, or all
    /// zero).
    pub(super) fn next_record(&mut self, fields: &mut Vec<Field>) -> Result<Option<Parsed>, NetflowError> {
        fields.clear();
        let rest = self.body.get(self.pos..).unwrap_or_default();
        let head = if self.options && !self.ipfix { 6 } else { 4 };
        if rest.len() < head || rest.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        let id = be16(rest, 0);
        if self.ipfix { self.ipfix_record(rest, id, fields) } else { self.v9_record(rest, id, fields) }
    }

    fn v9_record(&mut self, rest: &[u8], id: u16, fields: &mut Vec<Field>) -> Result<Option<Parsed>, NetflowError> {
        let (start, count, scope_count) = if self.options {
            // Options template: scope and option lengths in octets.
            let (scope_len, opt_len) = (usize::from(be16(rest, 2)), usize::from(be16(rest, 4)));
            if scope_len % 4 != 0 || opt_len % 4 != 0 {
                return Err(NetflowError::BadScope);
            }
            (6, (scope_len + opt_len) / 4, scope_len / 4)
        } else {
            (4, usize::from(be16(rest, 2)), 0)
        };
        if count == 0 || count > MAX_TEMPLATE_FIELDS {
            return Err(NetflowError::TemplateFieldCount);
        }
        let end = start + 4 * count;
        if end > rest.len() {
            return Err(NetflowError::TemplateFieldCount);
        }
        if id < 256 {
            return Err(NetflowError::BadTemplateId);
        }
        for i in 0..count {
            let at = start + 4 * i;
            fields.push(Field { id: be16(rest, at), len: be16(rest, at + 2), pen: 0, scope: i < scope_count });
        }
        self.pos += end;
        Ok(Some(Parsed::Define { id }))
    }

    fn ipfix_record(&mut self, rest: &[u8], id: u16, fields: &mut Vec<Field>) -> Result<Option<Parsed>, NetflowError> {
        let count = usize::from(be16(rest, 2));
        if count == 0 {
            self.pos += 4;
            return match id {
                _ if id == self.set_id => Ok(Some(Parsed::WithdrawAll)),
                256.. => Ok(Some(Parsed::Withdraw { id })),
                _ => Err(NetflowError::BadTemplateId),
            };
        }
        let mut at = 4;
        let mut scope_count = 0;
        if self.options {
            if rest.len() < 6 {
                return Err(NetflowError::TemplateFieldCount);
            }
            scope_count = usize::from(be16(rest, 4));
            if scope_count == 0 || scope_count > count {
                return Err(NetflowError::BadScope);
            }
            at = 6;
        }
        if count > MAX_TEMPLATE_FIELDS {
            return Err(NetflowError::TemplateFieldCount);
        }
        if id < 256 {
            return Err(NetflowError::BadTemplateId);
        }
        for i in 0..count {
            if at + 4 > rest.len() {
                return Err(NetflowError::TemplateFieldCount);
            }
            let (raw, len) = (be16(rest, at), be16(rest, at + 2));
            at += 4;
            let mut pen = 0;
            if raw & 0x8000 != 0 {
                if at + 4 > rest.len() {
                    return Err(NetflowError::TemplateFieldCount);
                }
                pen = be32(rest, at);
                at += 4;
            }
            fields.push(Field { id: raw & 0x7fff, len, pen, scope: i < scope_count });
        }
        self.pos += at;
        Ok(Some(Parsed::Define { id }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(body: &[u8], ipfix: bool, options: bool, set_id: u16) -> Result<Vec<(Parsed, Vec<Field>)>, NetflowError> {
        let mut r = TemplateRecords::new(body, ipfix, options, set_id);
        let mut out = Vec::new();
        let mut f = Vec::new();
        while let Some(p) = r.next_record(&mut f)? {
            out.push((p, f.clone()));
        }
        Ok(out)
    }

    #[test]
    fn v9_template_and_padding() {
        let body = [1, 0, 0, 2, 0, 8, 0, 4, 0, 12, 0, 4, 0, 0];
        let t = all(&body, false, false, 0).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].0, Parsed::Define { id: 256 });
        assert_eq!(t[0].1[1], Field { id: 12, len: 4, pen: 0, scope: false });
    }

    #[test]
    fn v9_field_count_past_set() {
        let body = [1, 0, 0, 3, 0, 8, 0, 4, 0, 12, 0, 4];
        assert_eq!(all(&body, false, false, 0), Err(NetflowError::TemplateFieldCount));
        assert_eq!(all(&[1, 0, 0, 0, 0, 8, 0, 4], false, false, 0), Err(NetflowError::TemplateFieldCount));
        assert_eq!(all(&[0, 9, 0, 1, 0, 8, 0, 4], false, false, 0), Err(NetflowError::BadTemplateId));
    }

    #[test]
    fn v9_options_template() {
        // id 257, scope 4 octets (system, 4), options 8 octets (34/4, 35/1), 2 octets padding.
        let body = [1, 1, 0, 4, 0, 8, 0, 1, 0, 4, 0, 34, 0, 4, 0, 35, 0, 1, 0, 0];
        let t = all(&body, false, true, 1).unwrap();
        assert_eq!(t.len(), 1);
        assert!(t[0].1[0].scope && !t[0].1[1].scope);
        assert_eq!(all(&[1, 1, 0, 3, 0, 8, 0, 1], false, true, 1), Err(NetflowError::BadScope));
    }

    #[test]
    fn ipfix_enterprise_and_withdrawal() {
        let body = [1, 0, 0, 2, 0x80, 1, 0, 4, 0, 0, 0x17, 0x3f, 0, 8, 0xff, 0xff, 1, 1, 0, 0, 0, 2, 0, 0];
        let t = all(&body, true, false, 2).unwrap();
        assert_eq!(t[0].1[0], Field { id: 1, len: 4, pen: 5951, scope: false });
        assert_eq!(t[0].1[1].len, VARIABLE_LENGTH);
        assert_eq!(t[1].0, Parsed::Withdraw { id: 257 });
        assert_eq!(t[2].0, Parsed::WithdrawAll);
        // PEN cut off.
        assert_eq!(all(&[1, 0, 0, 1, 0x80, 1, 0, 4, 0, 0], true, false, 2), Err(NetflowError::TemplateFieldCount));
    }

    #[test]
    fn ipfix_options_scope_count() {
        assert_eq!(all(&[1, 0, 0, 1, 0, 0, 0, 1, 0, 4], true, true, 3), Err(NetflowError::BadScope));
        assert_eq!(all(&[1, 0, 0, 1, 0, 2, 0, 1, 0, 4], true, true, 3), Err(NetflowError::BadScope));
        let t = all(&[1, 0, 0, 1, 0, 1, 0, 143, 0, 4], true, true, 3).unwrap();
        assert!(t[0].1[0].scope);
    }

    #[test]
    fn empty_template_rejected() {
        let f = [Field { id: 8, len: 0, pen: 0, scope: false }];
        assert_eq!(Template::new(&f, false), Err(NetflowError::EmptyTemplate));
    }
}
