//! Test guest `descriptor-flood`: `check()` takes descriptors in a loop and
//! keeps them, in the way parameter `case` names, against the address in
//! parameter `addr`:
//! - `sockets`: `count` (default 1,000) TCP connections,
//! - `http`: `count` (default 200) `wasi:http` GET requests started at once
//!   (to a listener that never answers, they stay under way).
//!
//! The host caps both per run: the guest reports what it got, as OK
//! `Opened N of M sockets` or `N of M requests under way, R refused` with
//! the metrics `opened` or `under_way` and `refused`.

use std::net::{SocketAddr, TcpStream};

use guest_common::*;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, OutgoingRequest, Scheme};

struct DescriptorFlood;

impl Guest for DescriptorFlood {
    fn describe() -> CheckInfo {
        info(
            "descriptor_flood",
            "Test: Sockets or HTTP requests opened in a loop",
            "Opens TCP connections or starts wasi:http requests to parameter addr in a loop, chosen by parameter \
             case, and keeps them open.",
            &[
                ("case", "What to open: sockets or http.", Some("sockets")),
                ("addr", "IP address and TCP port, e.g. 127.0.0.1:4000.", None),
                ("count", "How many to open.", Some("1000")),
            ],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let expected = "an IP address and port such as 127.0.0.1:4000";
        let text = required_param(&request, "addr", expected)?;
        let addr: SocketAddr = text
            .parse()
            .map_err(|_| CheckError::BadParams(format!("Parameter addr: expected {expected}, got \"{text}\"")))?;
        match param(&request, "case").unwrap_or("sockets") {
            "sockets" => sockets(addr, param_or(&request, "count", "a number", 1000)?),
            "http" => http(addr, param_or(&request, "count", "a number", 200)?),
            other => Err(CheckError::BadParams(format!("Parameter case: expected sockets or http, got \"{other}\""))),
        }
    }
}

fn sockets(addr: SocketAddr, count: usize) -> Result<CheckResult, CheckError> {
    let mut open = Vec::new();
    let mut first_error = None;
    for _ in 0..count {
        match TcpStream::connect(addr) {
            Ok(s) => open.push(s),
            Err(e) => {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let mut summary = format!("Opened {} of {count} sockets", open.len());
    if let Some(e) = first_error {
        summary.push_str(&format!(", first error: {e}"));
    }
    Ok(result(vec![partial(State::Ok, summary)], vec![metric("opened", open.len() as f64, "")]))
}

fn http(addr: SocketAddr, count: usize) -> Result<CheckResult, CheckError> {
    let mut futures = Vec::new();
    let mut refused = 0;
    for _ in 0..count {
        let request = OutgoingRequest::new(Fields::new());
        let _ = request.set_scheme(Some(&Scheme::Http));
        let _ = request.set_authority(Some(&addr.to_string()));
        let _ = request.set_path_with_query(Some("/"));
        match outgoing_handler::handle(request, None) {
            Ok(f) => futures.push(f),
            Err(_) => refused += 1,
        }
    }
    // Give every request time to be sent or refused, then look.
    wasip2::clocks::monotonic_clock::subscribe_duration(1_000_000_000).block();
    let mut under_way = 0;
    for f in &futures {
        // A response is only looked at when its pollable is polled; the
        // timer that is ready at once keeps this from waiting.
        let now = wasip2::clocks::monotonic_clock::subscribe_duration(0);
        wasip2::io::poll::poll(&[&f.subscribe(), &now]);
        match f.get() {
            None => under_way += 1,
            Some(_) => refused += 1,
        }
    }
    let summary = format!("{under_way} of {count} requests under way, {refused} refused");
    let metrics = vec![metric("under_way", under_way as f64, ""), metric("refused", refused as f64, "")];
    Ok(result(vec![partial(State::Ok, summary)], metrics))
}

guest_common::export!(DescriptorFlood);
