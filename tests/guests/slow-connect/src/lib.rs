//! Test guest `slow-connect`: `check()` connects to the address in parameter
//! `addr` and then blocks reading from the connection. Against a listener that
//! accepts and never writes, the guest waits in a host call (wasi:io poll)
//! forever, so the host's deadline must interrupt a blocked host call, not
//! only running wasm. The host should report UNKNOWN with a timeout message.
//!
//! If the connection fails it returns CRITICAL `Connect to <addr> failed:
//! <error>`; if the peer closes it, OK `Connection closed by peer after N
//! bytes`; a read error gives CRITICAL `Read from <addr> failed: <error>`.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};

use guest_common::*;

struct SlowConnect;

impl Guest for SlowConnect {
    fn describe() -> CheckInfo {
        info(
            "slow_connect",
            "Test: Blocking read from a silent peer",
            "Connects to the address in parameter addr and reads until the peer \
             closes the connection. CRIT when connecting or reading fails, OK when \
             the peer closes.",
            &[("addr", "IP address and TCP port to connect to, e.g. 127.0.0.1:4000.", None)],
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
        let mut stream = match TcpStream::connect(addr) {
            Ok(stream) => stream,
            Err(e) => {
                return Ok(result(
                    vec![partial(State::Critical, format!("Connect to {addr} failed: {e}"))],
                    Vec::new(),
                ));
            }
        };
        let outcome = match hostile_read_to_end(&mut stream) {
            Ok(n) => partial(State::Ok, format!("Connection closed by peer after {n} bytes")),
            Err(e) => partial(State::Critical, format!("Read from {addr} failed: {e}")),
        };
        Ok(result(vec![outcome], Vec::new()))
    }
}

/// Reads and discards everything until end of stream, blocking in between.
#[inline(never)]
fn hostile_read_to_end(stream: &mut TcpStream) -> std::io::Result<u64> {
    let mut buf = [0u8; 4096];
    let mut total = 0u64;
    loop {
        match stream.read(&mut buf)? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}

guest_common::export!(SlowConnect);
