//! Event handlers: components of world `handler` (`wit/handler.wit`) that
//! react to what the engine decided about a host or service, the way
//! Nagios's event handlers restart a service or open a ticket.
//!
//! A handler runs in the same sandbox as checks, a fresh instance per
//! event, under its own limits and grants (by default it may reach the
//! address of the host whose event it handles, like a check). Which events
//! it gets is configured per handler (`on`): every result, every state
//! change (SOFT or HARD, the default), or HARD state changes only. What it
//! returns, or why it failed (an error it returned, a timeout, a trap), is
//! logged and published as an [`Event::Handler`](crate::engine::Event).
//! A handler never changes a state and never holds up a check.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use crate::config::HandlerTrigger;
use crate::outcome::State;
use crate::sandbox::module::CheckModule;
use crate::sandbox::policy::{Grants, Limits, Target};
use crate::state::StateType;

/// Why a handler runs now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// A result was processed and the state stayed the same.
    SameState,
    /// The state changed, SOFT or HARD.
    StateChange,
    /// The HARD state changed.
    HardStateChange,
}

impl Trigger {
    /// Whether a handler configured with `on` runs for this trigger.
    pub fn runs(self, on: HandlerTrigger) -> bool {
        match on {
            HandlerTrigger::Result => true,
            HandlerTrigger::StateChange => self != Trigger::SameState,
            HandlerTrigger::HardChange => self == Trigger::HardStateChange,
        }
    }
}

/// What a handler is told about one processed result.
#[derive(Clone, Debug, PartialEq)]
pub struct HandlerEvent {
    /// Why the handler runs now.
    pub trigger: Trigger,
    /// The host.
    pub host: String,
    /// The host's address as configured, if any.
    pub address: Option<String>,
    /// The service, or `None` for the host itself.
    pub service: Option<String>,
    /// The state now (for a host, OK is UP and CRITICAL DOWN).
    pub state: State,
    /// Its type.
    pub state_type: StateType,
    /// The attempt shown to people.
    pub attempt: u32,
    /// `max_check_attempts`.
    pub max_attempts: u32,
    /// The state before the result.
    pub previous_state: State,
    /// The result's first line of output.
    pub output: String,
    /// Its further lines.
    pub long_output: Option<String>,
    /// When the result was processed, in seconds since the clock's epoch.
    pub time: f64,
}

/// One call of a handler.
#[derive(Clone, Debug)]
pub struct HandlerCall {
    /// What happened.
    pub event: HandlerEvent,
    /// The handler's configured parameters.
    pub params: Vec<(String, String)>,
    /// The host whose event it is: what the default grant lets it reach.
    pub target: Target,
    /// Its limits.
    pub limits: Limits,
    /// What it may reach.
    pub grants: Grants,
}

/// How a handler call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerOutcome {
    /// What the handler said it did, or why it did not (its own error, or
    /// the sandbox's: "Handler timed out after 10s", a trap).
    pub result: Result<String, String>,
    /// How long it took.
    pub duration: Duration,
}

/// A loaded handler component. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HandlerModule {
    pub(crate) inner: CheckModule,
}

impl HandlerModule {
    /// The name it was loaded under (its path).
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// Runs the handler once, in a fresh instance. Never fails: every way
    /// it can end is an outcome.
    pub async fn handle(&self, call: &HandlerCall) -> HandlerOutcome {
        self.inner.execute_handle(call).await
    }
}

/// An event handler call the engine decided, ready to run on its own.
#[derive(Clone, Debug)]
pub struct PendingHandler {
    /// The handler's name.
    pub name: Arc<str>,
    /// Its component.
    pub module: HandlerModule,
    /// What to call it with.
    pub call: HandlerCall,
}

impl PendingHandler {
    /// The event that says how the call ended at `now`.
    pub fn event(&self, outcome: HandlerOutcome, now: crate::state::Time) -> crate::event::Event {
        let (ok, output) = match outcome.result {
            Ok(text) => (true, text),
            Err(text) => (false, text),
        };
        crate::event::Event::Handler {
            t: now.as_secs_f64(),
            host: self.call.event.host.clone(),
            service: self.call.event.service.clone(),
            handler: self.name.to_string(),
            trigger: self.call.event.trigger,
            ok,
            output,
        }
    }
}
