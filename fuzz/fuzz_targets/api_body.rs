#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wasmon_runtime::fuzzing::api_body(data);
});
