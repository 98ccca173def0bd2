//! Test guest `dns-lookup`: `check()` resolves the host name in parameter
//! `name` through `wasi:sockets/ip-name-lookup`, which the default policy
//! denies.
//!
//! It returns OK `Resolved <name>: <addr>, <addr>…` on success and CRITICAL
//! `Resolve <name> failed: <error-code>` (e.g. `permission-denied`) on failure.
//! A missing `name` is a `bad-params` error.

use std::net::{Ipv4Addr, Ipv6Addr};

use guest_common::*;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::{ErrorCode, IpAddress, resolve_addresses};

struct DnsLookup;

impl Guest for DnsLookup {
    fn describe() -> CheckInfo {
        info(
            "dns_lookup",
            "Test: Name resolution",
            "Resolves the host name in parameter name. OK with the addresses when \
             it resolves, CRIT with the error code when it does not.",
            &[("name", "Host name to resolve, e.g. localhost.", None)],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let name = required_param(&request, "name", "a host name such as localhost")?;
        let outcome = match resolve(name) {
            Ok(addresses) => partial(State::Ok, format!("Resolved {name}: {}", addresses.join(", "))),
            Err(e) => partial(State::Critical, format!("Resolve {name} failed: {}", e.name())),
        };
        Ok(result(vec![outcome], Vec::new()))
    }
}

/// All addresses of `name`, in the resolver's order, as text.
fn resolve(name: &str) -> Result<Vec<String>, ErrorCode> {
    let network = instance_network();
    let stream = resolve_addresses(&network, name)?;
    let mut addresses = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(address)) => addresses.push(format_address(address)),
            Ok(None) => return Ok(addresses),
            Err(ErrorCode::WouldBlock) => stream.subscribe().block(),
            Err(e) => return Err(e),
        }
    }
}

fn format_address(address: IpAddress) -> String {
    match address {
        IpAddress::Ipv4((a, b, c, d)) => Ipv4Addr::new(a, b, c, d).to_string(),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => Ipv6Addr::new(a, b, c, d, e, f, g, h).to_string(),
    }
}

guest_common::export!(DnsLookup);
