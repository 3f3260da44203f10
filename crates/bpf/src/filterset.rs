//! Named filter expressions compiled for every common link type at load, so
//! workers share one immutable set without locks.

use crate::{BpfError, Compiler, Program, linktype_to_dlt};
use std::sync::atomic::{AtomicU64, Ordering};

/// Link types compiled up front: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, NULL,
/// LOOP, FDDI, IPV4, IPV6 (every link type the sensor decodes; without
/// IPV4 and IPV6 no rule could match a capture of those). Ethernet comes
/// first: expressions must compile for it.
pub const COMMON_LINKTYPES: [i32; 9] = [1, 113, 276, 101, 0, 108, 10, 228, 229];

/// tcpdump's default snap length; it only shows in RET values.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Named expressions, compiled per link type.
pub struct FilterSet {
    compiler: Compiler,
    snaplen: u32,
    filters: Vec<(String, String)>,
    tables: Vec<Table>,
    /// Packets whose link type has no table: nothing can match them.
    unknown_linktype: AtomicU64,
}

struct Table {
    linktype: i32,
    /// `linktype_to_dlt(linktype)`: the lookup key.
    dlt: i32,
    /// One per filter; Err holds libpcap's message when the expression
    /// means nothing on this link type (e.g. `ether host` on RAW).
    programs: Vec<Result<Program, String>>,
}

/// A filter that can never match on one link type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable<'a> {
    pub filter: usize,
    pub name: &'a str,
    pub linktype: i32,
    pub message: &'a str,
}

impl FilterSet {
    /// Compiles every filter for [`COMMON_LINKTYPES`]. A filter that does not
    /// compile for Ethernet is a configuration error naming the filter; other
    /// link types only record it (see [`FilterSet::unavailable`]).
    pub fn new(compiler: Compiler, filters: Vec<(String, String)>, snaplen: u32) -> Result<FilterSet, BpfError> {
        let mut set = FilterSet { compiler, snaplen, filters, tables: Vec::new(), unknown_linktype: AtomicU64::new(0) };
        let ethernet = COMMON_LINKTYPES[0];
        let mut programs = Vec::with_capacity(set.filters.len());
        for (name, expr) in &set.filters {
            match set.compiler.compile(expr, ethernet, snaplen) {
                Ok(p) => programs.push(Ok(p)),
                Err(e) => return Err(BpfError::Filter { name: name.clone(), source: Box::new(e) }),
            }
        }
        set.tables.push(Table { linktype: ethernet, dlt: linktype_to_dlt(ethernet), programs });
        for linktype in &COMMON_LINKTYPES[1..] {
            set.add_linktype(*linktype);
        }
        Ok(set)
    }

    /// Compiles all filters for one more link type (e.g. a capture file's),
    /// before the set is shared. Returns how many filters are unavailable there.
    pub fn add_linktype(&mut self, linktype: i32) -> usize {
        if let Some(t) = self.table(linktype) {
            return t.programs.iter().filter(|p| p.is_err()).count();
        }
        let programs: Vec<Result<Program, String>> = self
            .filters
            .iter()
            .map(|(_, expr)| {
                self.compiler.compile(expr, linktype, self.snaplen).map_err(|e| match e {
                    BpfError::Compile { message, .. } => message,
                    other => other.to_string(),
                })
            })
            .collect();
        let failed = programs.iter().filter(|p| p.is_err()).count();
        self.tables.push(Table { linktype, dlt: linktype_to_dlt(linktype), programs });
        failed
    }

    fn table(&self, linktype: i32) -> Option<&Table> {
        let dlt = linktype_to_dlt(linktype);
        self.tables.iter().find(|t| t.dlt == dlt)
    }

    /// Clears `out`, then pushes the index of every filter accepting the
    /// packet. `linktype` is the capture's LINKTYPE/DLT value. False when no
    /// filter was compiled for that link type (also counted in
    /// [`FilterSet::unknown_linktype_packets`]).
    pub fn matching(&self, linktype: i32, packet: &[u8], wire_len: u32, out: &mut Vec<usize>) -> bool {
        out.clear();
        let Some(table) = self.table(linktype) else {
            self.unknown_linktype.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        for (i, program) in table.programs.iter().enumerate() {
            if let Ok(p) = program
                && p.matches(packet, wire_len)
            {
                out.push(i);
            }
        }
        true
    }

    /// The program of filter `index` for `linktype`, if it compiled there.
    pub fn program(&self, index: usize, linktype: i32) -> Option<&Program> {
        self.table(linktype)?.programs.get(index)?.as_ref().ok()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.filters.iter().map(|(n, _)| n.as_str())
    }

    pub fn name(&self, index: usize) -> Option<&str> {
        self.filters.get(index).map(|(n, _)| n.as_str())
    }

    pub fn expression(&self, index: usize) -> Option<&str> {
        self.filters.get(index).map(|(_, e)| e.as_str())
    }

    pub fn len(&self) -> usize {
        self.filters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Link types that have compiled programs.
    pub fn linktypes(&self) -> impl Iterator<Item = i32> + '_ {
        self.tables.iter().map(|t| t.linktype)
    }

    /// (filter, link type) pairs that never match, with libpcap's reason; for
    /// a load-time log line.
    pub fn unavailable(&self) -> impl Iterator<Item = Unavailable<'_>> {
        self.tables.iter().flat_map(move |t| {
            t.programs.iter().enumerate().filter_map(move |(i, p)| {
                let message = p.as_ref().err()?;
                Some(Unavailable { filter: i, name: &self.filters[i].0, linktype: t.linktype, message })
            })
        })
    }

    /// Packets seen on link types without programs (nothing matched them).
    pub fn unknown_linktype_packets(&self) -> u64 {
        self.unknown_linktype.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for FilterSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterSet")
            .field("filters", &self.filters)
            .field("linktypes", &self.linktypes().collect::<Vec<_>>())
            .finish()
    }
}
