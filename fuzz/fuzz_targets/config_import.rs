//! `config import` over arbitrary text (the original's JSON with comments
//! and trailing commas): an error or TOML, never a panic; and whatever it
//! writes must be TOML that reads back (the configuration's own checks may
//! still refuse a value, e.g. a feed file that does not exist).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(imported) = sensor::config_import::import("fuzz.json", text) {
        let parsed: Result<toml::Table, _> = toml::from_str(&imported.toml);
        assert!(parsed.is_ok(), "import wrote TOML that does not parse:\n{}", imported.toml);
    }
});
