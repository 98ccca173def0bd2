//! Test guest `connect-denied`: `check()` opens a TCP connection to the
//! address in parameter `addr` (an IP address and port, e.g. `127.0.0.3:9`).
//!
//! It returns CRITICAL `Connect to <addr> failed: <error>` when the connection
//! fails (the sandbox denied it, or nothing listens), and OK
//! `Connected to <addr>` when it succeeds. A missing or malformed `addr` is a
//! `bad-params` error. Tests choose a loopback address: one the policy does
//! not grant (expect the denial's error text, typically "Permission denied"
//! / access-denied) and the target's own address (expect OK when a listener is
//! there).

use std::net::{SocketAddr, TcpStream};

use guest_common::*;

struct ConnectDenied;

impl Guest for ConnectDenied {
    fn describe() -> CheckInfo {
        info(
            "connect_denied",
            "Test: TCP connect to an arbitrary address",
            "Connects to the address in parameter addr. OK when the connection \
             is established, CRIT with the error when it fails.",
            &[("addr", "IP address and TCP port to connect to, e.g. 127.0.0.3:9 or [::1]:9.", None)],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let addr = socket_addr(&request)?;
        let outcome = match TcpStream::connect(addr) {
            Ok(_stream) => partial(State::Ok, format!("Connected to {addr}")),
            Err(e) => partial(State::Critical, format!("Connect to {addr} failed: {e}")),
        };
        Ok(result(vec![outcome], Vec::new()))
    }
}

/// Parameter `addr` as a socket address.
fn socket_addr(request: &CheckRequest) -> Result<SocketAddr, CheckError> {
    let expected = "an IP address and port such as 127.0.0.3:9";
    let text = required_param(request, "addr", expected)?;
    text.parse().map_err(|_| CheckError::BadParams(format!("Parameter addr: expected {expected}, got \"{text}\"")))
}

guest_common::export!(ConnectDenied);
