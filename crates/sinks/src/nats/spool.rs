//! The NATS sink's on-disk spool: append-only segment files of
//! length-prefixed, checksummed records, replayed in order.
//!
//! Record: `u32 len` (LE, of the payload) `u32 crc32` (IEEE, of the
//! payload), payload = `u16 id_len` `id` `u16 subject_len` `subject`
//! `body`. Segments are `DIR/NNNNNNNNNNNNNNNNNNNN.seg` (20 decimal digits,
//! in write order); a new one starts once the current one passes
//! `SEGMENT_BYTES`. A segment is deleted once every record in it is
//! acknowledged, and all of them once the spool is drained.
//!
//! A file `DIR/lock`, locked while a spool is open, keeps a second writer
//! out.
//!
//! At open, every segment is scanned: a record that is cut short or fails
//! its checksum (a crash mid-write) ends the good prefix; the file is
//! truncated there and the rest is counted as discarded.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A segment is closed (and a new one started) once it is this long.
pub const SEGMENT_BYTES: u64 = 4 << 20;
/// Largest payload accepted when reading back (length sanity check).
pub const MAX_RECORD: u32 = 64 << 20;
const HEADER: u64 = 8;

/// One spooled event: what it takes to publish it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub subject: String,
    pub body: Vec<u8>,
}

impl Record {
    fn encode(&self) -> io::Result<Vec<u8>> {
        let (id, subject) = (self.id.as_bytes(), self.subject.as_bytes());
        if id.len() > usize::from(u16::MAX) || subject.len() > usize::from(u16::MAX) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "id or subject longer than 65535 bytes"));
        }
        let payload_len = 4 + id.len() + subject.len() + self.body.len();
        if payload_len > MAX_RECORD as usize {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "record too large for the spool"));
        }
        let mut out = Vec::with_capacity(HEADER as usize + payload_len);
        out.extend_from_slice(&(payload_len as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(id.len() as u16).to_le_bytes());
        out.extend_from_slice(id);
        out.extend_from_slice(&(subject.len() as u16).to_le_bytes());
        out.extend_from_slice(subject);
        out.extend_from_slice(&self.body);
        let crc = crc32(&out[HEADER as usize..]);
        out[4..8].copy_from_slice(&crc.to_le_bytes());
        Ok(out)
    }

    fn decode(payload: &[u8]) -> Option<Record> {
        let take = |p: &mut &[u8], n: usize| -> Option<Vec<u8>> {
            if p.len() < n {
                return None;
            }
            let (a, b) = p.split_at(n);
            *p = b;
            Some(a.to_vec())
        };
        let mut p = payload;
        let n = u16::from_le_bytes(take(&mut p, 2)?.try_into().ok()?) as usize;
        let id = String::from_utf8(take(&mut p, n)?).ok()?;
        let n = u16::from_le_bytes(take(&mut p, 2)?.try_into().ok()?) as usize;
        let subject = String::from_utf8(take(&mut p, n)?).ok()?;
        Some(Record { id, subject, body: p.to_vec() })
    }
}

/// A place in the spool: segment number and byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    seq: u64,
    off: u64,
}

struct Segment {
    seq: u64,
    len: u64,
    path: PathBuf,
    file: File,
}

/// What the scan at open found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Good records found (to be replayed).
    pub records: u64,
    /// Bad tails cut off (one per damaged segment).
    pub corrupt: u64,
    /// Bytes cut off.
    pub corrupt_bytes: u64,
}

pub struct Spool {
    /// Held (locked) while the spool is open.
    _lock: File,
    dir: PathBuf,
    limit: u64,
    segs: VecDeque<Segment>,
    /// Open for appending on the last segment; None: the next append
    /// starts a new segment.
    writer: Option<File>,
    next_seq: u64,
    /// The next record to replay.
    read: Pos,
    /// Everything before this is acknowledged.
    acked: Pos,
    bytes: u64,
    /// Records found damaged while reading back (after the open scan).
    pub read_errors: u64,
}

fn seg_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.seg"))
}

/// Reads one record at `off`; Ok(None) when the bytes there are not a whole
/// valid record.
fn read_record(file: &File, off: u64, len: u64) -> io::Result<Option<(Record, u64)>> {
    if len - off < HEADER {
        return Ok(None);
    }
    let mut h = [0u8; HEADER as usize];
    file.read_exact_at(&mut h, off)?;
    let n = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    if !(4..=MAX_RECORD).contains(&n) || len - off - HEADER < u64::from(n) {
        return Ok(None);
    }
    let mut payload = vec![0u8; n as usize];
    file.read_exact_at(&mut payload, off + HEADER)?;
    if crc32(&payload) != crc {
        return Ok(None);
    }
    Ok(Record::decode(&payload).map(|r| (r, HEADER + u64::from(n))))
}

impl Spool {
    /// Opens (creating) the spool in `dir`, scans what an earlier run left
    /// and cuts off damaged tails.
    pub fn open(dir: &Path, limit: u64) -> io::Result<(Spool, Recovery)> {
        std::fs::create_dir_all(dir)?;
        // One spool, one writer: a second sink (or process) on the same
        // directory is refused.
        let lock = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(dir.join("lock"))?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => {
                io::Error::new(io::ErrorKind::WouldBlock, "the spool directory is in use by another sink")
            }
            std::fs::TryLockError::Error(e) => e,
        })?;
        let mut seqs = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(".seg")
                && stem.len() == 20
                && let Ok(seq) = stem.parse::<u64>()
            {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        let mut rec = Recovery::default();
        let mut segs = VecDeque::new();
        let mut bytes = 0;
        for seq in seqs {
            let path = seg_path(dir, seq);
            let file = OpenOptions::new().read(true).write(true).open(&path)?;
            let len = file.metadata()?.len();
            let mut off = 0;
            while off < len {
                match read_record(&file, off, len)? {
                    Some((_, size)) => {
                        off += size;
                        rec.records += 1;
                    }
                    None => break,
                }
            }
            if off < len {
                rec.corrupt += 1;
                rec.corrupt_bytes += len - off;
                file.set_len(off)?;
            }
            if off == 0 {
                drop(file);
                std::fs::remove_file(&path)?;
                continue;
            }
            bytes += off;
            segs.push_back(Segment { seq, len: off, path, file });
        }
        let next_seq = segs.back().map_or(0, |s| s.seq + 1);
        let start = Pos { seq: segs.front().map_or(next_seq, |s| s.seq), off: 0 };
        let spool = Spool {
            _lock: lock,
            dir: dir.to_path_buf(),
            limit,
            segs,
            writer: None,
            next_seq,
            read: start,
            acked: start,
            bytes,
            read_errors: 0,
        };
        Ok((spool, rec))
    }

    /// Bytes on disk (acknowledged records included until their segment
    /// goes).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn end(&self) -> Pos {
        self.segs.back().map_or(Pos { seq: self.next_seq, off: 0 }, |s| Pos { seq: s.seq, off: s.len })
    }

    /// No record left that is not acknowledged.
    pub fn is_drained(&self) -> bool {
        self.segs.is_empty() || self.acked >= self.end()
    }

    /// Records not yet handed out by `next_record` since the last rewind.
    pub fn has_unread(&self) -> bool {
        !self.segs.is_empty() && self.read < self.end()
    }

    /// Appends one record. Ok(false): it does not fit under the limit.
    pub fn append(&mut self, rec: &Record) -> io::Result<bool> {
        let buf = rec.encode()?;
        if self.bytes + buf.len() as u64 > self.limit {
            return Ok(false);
        }
        let rotate = self.writer.is_none() || self.segs.back().is_none_or(|s| s.len >= SEGMENT_BYTES);
        if rotate {
            let seq = self.next_seq;
            let path = seg_path(&self.dir, seq);
            let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
            let writer = file.try_clone()?;
            if self.segs.is_empty() {
                self.read = Pos { seq, off: 0 };
                self.acked = self.read;
            }
            self.segs.push_back(Segment { seq, len: 0, path, file });
            self.writer = Some(writer);
            self.next_seq = seq + 1;
        }
        let (Some(w), Some(seg)) = (self.writer.as_mut(), self.segs.back_mut()) else {
            return Err(io::Error::other("spool writer missing"));
        };
        if let Err(e) = w.write_all(&buf) {
            // Cut back to the last whole record and start afresh in a new
            // segment, so no half record sits before later ones.
            let _ = seg.file.set_len(seg.len);
            self.writer = None;
            if seg.len == 0
                && let Some(seg) = self.segs.pop_back()
            {
                let _ = std::fs::remove_file(&seg.path);
            }
            return Err(e);
        }
        seg.len += buf.len() as u64;
        self.bytes += buf.len() as u64;
        Ok(true)
    }

    /// The next record to replay and the position just past it (to give to
    /// `ack` once it is acknowledged).
    pub fn next_record(&mut self) -> io::Result<Option<(Record, Pos)>> {
        loop {
            let Some(seg) = self.segs.iter().find(|s| s.seq >= self.read.seq) else { return Ok(None) };
            if seg.seq > self.read.seq {
                self.read = Pos { seq: seg.seq, off: 0 };
            }
            if self.read.off >= seg.len {
                match self.segs.iter().find(|s| s.seq > self.read.seq) {
                    Some(s) => {
                        self.read = Pos { seq: s.seq, off: 0 };
                        continue;
                    }
                    None => return Ok(None),
                }
            }
            match read_record(&seg.file, self.read.off, seg.len)? {
                Some((rec, size)) => {
                    self.read.off += size;
                    return Ok(Some((rec, self.read)));
                }
                None => {
                    // Damaged after the open scan: skip the rest of the segment.
                    self.read_errors += 1;
                    self.read.off = seg.len;
                }
            }
        }
    }

    /// Everything up to `pos` is acknowledged: deletes the segments that are
    /// wholly acknowledged (but not the one being written).
    pub fn ack(&mut self, pos: Pos) -> io::Result<()> {
        if pos > self.acked {
            self.acked = pos;
        }
        while self.segs.len() > 1 {
            let head = &self.segs[0];
            if head.seq < self.acked.seq || (head.seq == self.acked.seq && self.acked.off >= head.len) {
                self.remove_head()?;
            } else {
                break;
            }
        }
        Ok(())
    }

    fn remove_head(&mut self) -> io::Result<()> {
        if let Some(seg) = self.segs.pop_front() {
            self.bytes -= seg.len;
            drop(seg.file);
            std::fs::remove_file(&seg.path)?;
        }
        Ok(())
    }

    /// Replays again from the first record not acknowledged.
    pub fn rewind(&mut self) {
        self.read = self.acked;
    }

    /// Once drained: deletes every segment, so the next record starts a new
    /// one.
    pub fn clear(&mut self) -> io::Result<()> {
        self.writer = None;
        while !self.segs.is_empty() {
            self.remove_head()?;
        }
        self.bytes = 0;
        self.read = Pos { seq: self.next_seq, off: 0 };
        self.acked = self.read;
        Ok(())
    }

    /// Flushes what was written to the disk.
    pub fn sync(&mut self) -> io::Result<()> {
        match &self.writer {
            Some(w) => w.sync_data(),
            None => Ok(()),
        }
    }
}

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32 (IEEE 802.3, as zlib's `crc32`).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u32) -> Record {
        Record { id: format!("s:{i}"), subject: "a.b".into(), body: vec![b'x'; (i % 50) as usize] }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sdn-spool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn append_replay_ack_rewind() {
        let d = tmp("basic");
        let (mut s, r) = Spool::open(&d, 1 << 30).unwrap();
        assert_eq!(r, Recovery::default());
        for i in 0..10 {
            assert!(s.append(&rec(i)).unwrap());
        }
        let (a, pa) = s.next_record().unwrap().unwrap();
        assert_eq!(a, rec(0));
        let (b, _) = s.next_record().unwrap().unwrap();
        assert_eq!(b, rec(1));
        s.ack(pa).unwrap();
        s.rewind();
        assert_eq!(s.next_record().unwrap().unwrap().0, rec(1));
        let mut last = None;
        while let Some((_, p)) = s.next_record().unwrap() {
            last = Some(p);
        }
        assert!(!s.is_drained());
        s.ack(last.unwrap()).unwrap();
        assert!(s.is_drained());
        s.clear().unwrap();
        assert_eq!(s.bytes(), 0);
        assert!(s.append(&rec(42)).unwrap());
        assert_eq!(s.next_record().unwrap().unwrap().0, rec(42));
        drop(s);
        let (_, r) = Spool::open(&d, 1 << 30).unwrap();
        assert_eq!(r.records, 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn limit_and_truncated_tail() {
        let d = tmp("tail");
        let (mut s, _) = Spool::open(&d, 200).unwrap();
        let mut stored = 0;
        for i in 0..20 {
            if s.append(&rec(i)).unwrap() {
                stored += 1;
            }
        }
        assert!(stored > 0 && stored < 20);
        assert!(s.bytes() <= 200);
        drop(s);
        let seg = seg_path(&d, 0);
        let len = std::fs::metadata(&seg).unwrap().len();
        OpenOptions::new().write(true).open(&seg).unwrap().set_len(len - 3).unwrap();
        let (mut s, r) = Spool::open(&d, 200).unwrap();
        assert_eq!(r.records, stored - 1);
        assert_eq!(r.corrupt, 1);
        let mut n = 0;
        while let Some((x, _)) = s.next_record().unwrap() {
            assert_eq!(x, rec(n));
            n += 1;
        }
        assert_eq!(u64::from(n), stored - 1);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
