//! The SCIM filter parser takes any text from a query string: it must answer a filter or an error,
//! never panic, loop or overflow its stack.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = assent::domain::filter::parse(text);
    }
});
