#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wasmon_runtime::fuzzing::perfdata(data);
});
