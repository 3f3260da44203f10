//! XDR reads (RFC 4506) over a bounded slice: big-endian 32/64-bit words,
//! fixed-length data and variable-length opaque data padded to 4 octets.
//! Each reader knows which error a short read is, so callers say `?`.

use super::SflowError;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// What running out of bytes inside a fixed field means here.
    short: SflowError,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(buf: &'a [u8], short: SflowError) -> Self {
        Reader { buf, pos: 0, short }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], SflowError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(self.short)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], SflowError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, SflowError> {
        self.array::<4>().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, SflowError> {
        self.array::<8>().map(u64::from_be_bytes)
    }

    /// Fixed-length opaque data of `n` octets plus its padding (a MAC
    /// address takes 8 octets on the wire).
    pub(crate) fn fixed_opaque(&mut self, n: usize) -> Result<&'a [u8], SflowError> {
        let data = self.take(n)?;
        self.take(pad(n))?;
        Ok(data)
    }

    /// Variable-length opaque data (or a string): a length word, the data,
    /// then padding to a multiple of 4. A length past the end of this
    /// reader's structure is [`SflowError::BadLength`]. Padding missing at
    /// the very end is tolerated: nothing can follow it anyway.
    pub(crate) fn opaque(&mut self) -> Result<&'a [u8], SflowError> {
        let len = self.u32()?;
        let len = usize::try_from(len).map_err(|_| SflowError::BadLength)?;
        if len > self.remaining() {
            return Err(SflowError::BadLength);
        }
        let data = self.take(len)?;
        self.pos += pad(len).min(self.remaining());
        Ok(data)
    }

    /// An sFlow `address`: type 1 (IPv4) or 2 (IPv6), then the address.
    pub(crate) fn address(&mut self) -> Result<IpAddr, SflowError> {
        match self.u32()? {
            1 => Ok(IpAddr::V4(Ipv4Addr::from(self.array::<4>()?))),
            2 => Ok(IpAddr::V6(Ipv6Addr::from(self.array::<16>()?))),
            t => Err(SflowError::BadAddressType(t)),
        }
    }
}

/// Octets of padding after `n` octets of opaque data.
pub(crate) const fn pad(n: usize) -> usize {
    (4 - n % 4) % 4
}

/// A counted list of `{ data_format, opaque data<> }` structures (samples
/// in a datagram, records in a sample), walked one element at a time. The
/// walk ends after the first error: [`SflowError::BadCount`] when the count
/// claims more elements than there are octets, `Truncated` when fewer than
/// the 8 octets of an element header are left, `BadLength` when a length
/// runs past the enclosing structure, or whatever parsing the element
/// found. Each element takes 8 octets at least, so a bogus count cannot loop.
#[derive(Debug, Clone)]
pub(crate) struct Elements<'a> {
    r: Reader<'a>,
    left: u32,
    done: bool,
}

impl<'a> Elements<'a> {
    pub(crate) const fn new(buf: &'a [u8], count: u32) -> Self {
        Elements { r: Reader::new(buf, SflowError::Truncated), left: count, done: false }
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.r.rest()
    }

    pub(crate) fn next_with<T>(
        &mut self,
        parse: impl FnOnce(u32, &'a [u8]) -> Result<T, SflowError>,
    ) -> Option<Result<T, SflowError>> {
        if self.done || self.left == 0 {
            return None;
        }
        self.left -= 1;
        let item = match self.r.remaining() {
            0 => Err(SflowError::BadCount),
            1..8 => Err(SflowError::Truncated),
            _ => self.r.u32().and_then(|format| self.r.opaque().and_then(|data| parse(format, data))),
        };
        self.done = item.is_err();
        Some(item)
    }

    pub(crate) fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        // One more item than whole elements fit may be the error.
        (0, Some((self.left as usize).min(self.r.remaining() / 8 + 1)))
    }
}

/// A list of big-endian 32-bit values inside the datagram (AS numbers,
/// communities), walked without copying.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct U32List<'a> {
    bytes: &'a [u8],
}

impl<'a> U32List<'a> {
    pub(crate) const fn new(bytes: &'a [u8]) -> Self {
        U32List { bytes }
    }
    pub fn len(&self) -> usize {
        self.bytes.len() / 4
    }
    pub fn is_empty(&self) -> bool {
        self.bytes.len() < 4
    }
    pub fn get(&self, i: usize) -> Option<u32> {
        let at = i.checked_mul(4)?;
        let s = self.bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub fn first(&self) -> Option<u32> {
        self.get(0)
    }
    pub fn last(&self) -> Option<u32> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }
    pub fn iter(&self) -> impl Iterator<Item = u32> + use<'a> {
        self.bytes.chunks_exact(4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    /// The values as they are on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl core::fmt::Debug for U32List<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
