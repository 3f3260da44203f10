//! The store's ingest over arbitrary lines: a malformed line is counted and
//! skipped, never a panic or an error for the batch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static STORE: RefCell<store::Store> = RefCell::new({
        let path = std::env::temp_dir().join(format!("sdn-fuzz-store-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        store::Store::open(&store::StoreConfig { path, max_age: None, max_bytes: None }).expect("open the store")
    });
}

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    STORE.with(|s| {
        s.borrow_mut().insert_json(&lines).expect("a batch of bad lines is not an error");
    });
});
