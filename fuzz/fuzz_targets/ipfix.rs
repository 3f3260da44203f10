//! IPFIX through one decoder, with templates learned from earlier
//! datagrams; see common/templated.rs.
#![no_main]

#[path = "common/templated.rs"]
mod templated;

libfuzzer_sys::fuzz_target!(|data: &[u8]| templated::run(data, 10, true));
