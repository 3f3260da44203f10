#![no_main]

use libfuzzer_sys::fuzz_target;

// (being written)
fuzz_target!(|_data: &[u8]| {});
