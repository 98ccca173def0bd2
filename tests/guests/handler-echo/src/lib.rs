//! Test guest `handler-echo`: an event handler (world `handler` of
//! `wit/handler.wit`).
//!
//! `handle()` returns `ok("<trigger> <host>/<service> <STATE> <TYPE>
//! <attempt>/<max> was <PREVIOUS>: <output>")`, where `<service>` is `-` for
//! a host and the trigger is `same-state`, `state-change` or
//! `hard-state-change`. Parameters change that:
//! - `fail = <text>`: return `err(<text>)` instead;
//! - `connect = <ip:port>`: first open a TCP connection there and append
//!   `; connected to <addr>` or return `err("connect to <addr>: <error>")`
//!   (tests of the handler's own grants);
//! - `spin = true`: loop forever (tests of the handler's time limit).

use std::net::{SocketAddr, TcpStream};

wit_bindgen::generate!({
    path: "../../../wit",
    world: "handler",
});

use wasmon::check::events::{StateType, Trigger};
use wasmon::check::types::State;

struct Echo;

fn state(s: State) -> &'static str {
    match s {
        State::Ok => "OK",
        State::Warning => "WARNING",
        State::Critical => "CRITICAL",
        State::Unknown => "UNKNOWN",
    }
}

impl Guest for Echo {
    fn handle(request: HandlerRequest) -> Result<String, String> {
        let param = |name: &str| request.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if param("spin").as_deref() == Some("true") {
            #[allow(clippy::empty_loop, reason = "the test wants a handler that never returns")]
            loop {}
        }
        if let Some(text) = param("fail") {
            return Err(text);
        }
        let e = &request.event;
        let trigger = match e.trigger {
            Trigger::SameState => "same-state",
            Trigger::StateChange => "state-change",
            Trigger::HardStateChange => "hard-state-change",
        };
        let state_type = match e.state_type {
            StateType::Soft => "SOFT",
            StateType::Hard => "HARD",
        };
        let mut text = format!(
            "{trigger} {}/{} {} {state_type} {}/{} was {}: {}",
            e.host,
            e.service.as_deref().unwrap_or("-"),
            state(e.state),
            e.attempt,
            e.max_attempts,
            state(e.previous_state),
            e.output
        );
        if let Some(addr) = param("connect") {
            let addr: SocketAddr = addr.parse().map_err(|_| format!("connect: '{addr}' is not an ip:port"))?;
            TcpStream::connect(addr).map_err(|err| format!("connect to {addr}: {err}"))?;
            text.push_str(&format!("; connected to {addr}"));
        }
        Ok(text)
    }
}

export!(Echo);
