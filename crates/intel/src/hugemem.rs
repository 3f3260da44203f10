//! Zeroed arrays for tables probed at random (filters, hash slots).
//!
//! A probe of a multi-megabyte table misses the TLB as well as the cache,
//! and under a hypervisor a TLB miss is a two-level page walk. Anonymous
//! maps advised `MADV_HUGEPAGE` get 2 MiB pages where the kernel's
//! transparent huge pages are in `madvise` mode (Debian's default), which
//! makes most of those walks disappear. Small arrays stay on the heap.

use bytemuck::Pod;
use memmap2::{Advice, MmapMut, MmapOptions};

/// Arrays below this size are not worth a map of their own.
const MIN_MAPPED_BYTES: usize = 1 << 20;

#[derive(Debug)]
enum Storage<T> {
    Heap(Vec<T>),
    Mapped(MmapMut),
}

/// A fixed-length zeroed array of `T`, in huge pages when large.
#[derive(Debug)]
pub(crate) struct HugeArray<T: Pod> {
    storage: Storage<T>,
    len: usize,
}

impl<T: Pod> Default for HugeArray<T> {
    fn default() -> Self {
        HugeArray { storage: Storage::Heap(Vec::new()), len: 0 }
    }
}

impl<T: Pod> HugeArray<T> {
    pub(crate) fn zeroed(len: usize) -> Self {
        let bytes = len * size_of::<T>();
        if bytes >= MIN_MAPPED_BYTES
            && let Ok(map) = MmapOptions::new().len(bytes).map_anon()
        {
            // Only a hint: without THP the map works with small pages.
            let _ = map.advise(Advice::HugePage);
            return HugeArray { storage: Storage::Mapped(map), len };
        }
        HugeArray { storage: Storage::Heap(vec![T::zeroed(); len]), len }
    }
}

impl<T: Pod> core::ops::Deref for HugeArray<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.storage {
            Storage::Heap(v) => v,
            // A map is page-aligned and a whole number of `T`s long.
            Storage::Mapped(m) => &bytemuck::cast_slice(&m[..])[..self.len],
        }
    }
}

impl<T: Pod> core::ops::DerefMut for HugeArray<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.storage {
            Storage::Heap(v) => v,
            Storage::Mapped(m) => &mut bytemuck::cast_slice_mut(&mut m[..])[..self.len],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_mapped_arrays_are_zeroed_and_writable() {
        for len in [0, 10, 1 << 18] {
            let mut a = HugeArray::<[u64; 2]>::zeroed(len);
            assert_eq!(a.len(), len);
            assert!(a.iter().all(|x| *x == [0, 0]));
            if len > 0 {
                a[len - 1] = [1, 2];
                assert_eq!(a[len - 1], [1, 2]);
            }
        }
    }
}
