//! Test guest `host-memory`: `check()` makes the host hold memory outside
//! its linear memory, keeping every handle, in the way parameter `case`
//! names:
//! - `fields`: `count` (default 16,000) `wasi:http` fields resources with
//!   a 15,000-byte header each,
//! - `requests`: `count` outgoing requests, each with such a header and a
//!   body holding one 64 KiB write.
//!
//! The host must count what it holds against the check's memory limit and
//! end the run with the memory limit outcome long before `count`. If it
//! ever gets there, the check returns OK `Held N <case>`.

use guest_common::*;
use wasip2::http::types::{Fields, OutgoingRequest};

struct HostMemory;

/// One header value, under the host's 16 KiB limit of a fields resource.
const VALUE: usize = 15_000;

fn fields() -> Fields {
    let fields = Fields::new();
    // A refused append leaves the fields resource empty: still held.
    let _ = fields.append("x-pad", &[b'a'; VALUE]);
    fields
}

impl Guest for HostMemory {
    fn describe() -> CheckInfo {
        info(
            "host_memory",
            "Test: Host memory held through wasi:http resources",
            "Creates wasi:http fields or outgoing requests in a loop and keeps them, chosen by parameter case.",
            &[
                ("case", "What to hold: fields or requests.", Some("fields")),
                ("count", "How many to create.", Some("16000")),
            ],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let count: usize = param_or(&request, "count", "a number", 16_000)?;
        let case = param(&request, "case").unwrap_or("fields").to_string();
        let mut held_fields = Vec::new();
        let mut held_requests = Vec::new();
        for _ in 0..count {
            match case.as_str() {
                "fields" => held_fields.push(fields()),
                "requests" => {
                    let request = OutgoingRequest::new(fields());
                    let body = request.body().map_err(|()| CheckError::Failed("no body".into()))?;
                    let stream = body.write().map_err(|()| CheckError::Failed("no body stream".into()))?;
                    let room = stream.check_write().unwrap_or(0).min(64 << 10) as usize;
                    let _ = stream.write(&vec![b'b'; room]);
                    // Children before their parents when dropped.
                    held_requests.push((stream, body, request));
                }
                other => {
                    let message = format!("Parameter case: expected fields or requests, got \"{other}\"");
                    return Err(CheckError::BadParams(message));
                }
            }
        }
        let held = held_fields.len() + held_requests.len();
        Ok(result(vec![partial(State::Ok, format!("Held {held} {case}"))], Vec::new()))
    }
}

guest_common::export!(HostMemory);
