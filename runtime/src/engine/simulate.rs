//! The engine on a simulated clock: every due check run in turn, as fast as
//! it can, simulated time standing still while a check runs.

use std::time::Duration;

use crate::clock::{Clock, SimClock};
use crate::config::Config;
use crate::error::Error;
use crate::sandbox::Sandbox;
use crate::state::Time;

use super::{Applied, Due, Engine, Event, Finished, Input};

impl Engine {
    /// Fires the timers due at `now`, then runs every check due at `now`,
    /// one after the other in schedule order, and returns what happened.
    /// The simulator uses this: simulated time does not move while a check
    /// runs. Timers come first, so a downtime that starts when a check is
    /// due covers its result, and one that ends then does not.
    pub async fn run_due(&mut self, now: Time) -> Vec<Event> {
        let mut events = self.fire_timers(now);
        for (id, _) in self.scheduler.pop_due(now) {
            match self.on_due(id, now) {
                Due::Run => {}
                Due::Handled(f) => {
                    run_handlers(*f, now, &mut events).await;
                    continue;
                }
                Due::Skip => continue,
            }
            let pending = self.start(id);
            let run = pending.module.check(&pending.call).await;
            let finished = self.finish(id, run, now, Some(now), now);
            run_handlers(finished, now, &mut events).await;
        }
        events
    }
}

/// Appends what `f` caused, in order, running its event handlers one after
/// the other where they belong (after its own events, before its
/// dependents'): simulated time does not move while they run.
async fn run_handlers(mut f: Finished, now: Time, events: &mut Vec<Event>) {
    let dependents = std::mem::take(&mut f.dependents);
    let handlers = match f.events.first() {
        Some(Event::Result(r)) => r.private.handlers.clone(),
        _ => Vec::new(),
    };
    events.append(&mut f.events);
    for h in handlers {
        let outcome = h.module.handle(&h.call).await;
        events.push(h.event(outcome, now));
    }
    for d in dependents {
        Box::pin(run_handlers(d, now, events)).await;
    }
}

/// Runs the engine on a simulated clock for `duration`, as fast as it can,
/// handing every event to `sink` in time order. Every object's first check
/// runs at t = 0. Hosts' check packs are expanded first
/// ([`crate::pack::expand`]). Timers (downtime start and end) fire at their
/// times, before the checks due at the same time.
pub async fn simulate(
    config: &Config,
    sandbox: &Sandbox,
    duration: Duration,
    sink: impl FnMut(&Event),
) -> Result<(), Error> {
    simulate_with(config, sandbox, duration, Vec::new(), sink).await
}

/// The simulator's inputs are the engine's [`Input`]s, at simulated times.
pub type SimInput = Input;

/// [`simulate`], with `inputs` applied at their times (each before the
/// checks due at the same time). An input naming no object, or one the
/// object refuses, ends the simulation with that error.
pub async fn simulate_with(
    config: &Config,
    sandbox: &Sandbox,
    duration: Duration,
    inputs: Vec<(Duration, SimInput)>,
    sink: impl FnMut(&Event),
) -> Result<(), Error> {
    simulate_from(config, sandbox, Duration::ZERO, duration, inputs, sink).await
}

/// [`simulate_with`], with simulated time zero at the wall-clock time
/// `start` (since the UNIX epoch): time periods are read against it.
pub async fn simulate_from(
    config: &Config,
    sandbox: &Sandbox,
    start: Duration,
    duration: Duration,
    mut inputs: Vec<(Duration, SimInput)>,
    mut sink: impl FnMut(&Event),
) -> Result<(), Error> {
    let clock = SimClock::new();
    let mut config = config.clone();
    crate::pack::expand(&mut config, sandbox).await?;
    let mut engine = Engine::new(config, sandbox)?;
    engine.set_wall_clock_origin(start);
    engine.describe_modules(clock.now()).await;
    engine.schedule_all_at(clock.now());
    inputs.sort_by_key(|(t, _)| *t);
    let mut inputs = std::collections::VecDeque::from(inputs);
    loop {
        let next_input = inputs.front().map(|(t, _)| *t);
        let t = match (engine.next_due(), next_input) {
            (Some(d), Some(i)) => d.min(i),
            (Some(d), None) => d,
            (None, Some(i)) => i,
            (None, None) => break,
        };
        if t > duration {
            break;
        }
        clock.advance_to(t);
        let now = clock.now();
        while inputs.front().is_some_and(|(at, _)| *at <= now) {
            let (_, input) = inputs.pop_front().expect("checked");
            let mut events = Vec::new();
            match engine.apply(input, now)? {
                Applied::Result(f) => run_handlers(f, now, &mut events).await,
                Applied::Events(e) | Applied::Downtime(_, e) => events = e,
                Applied::Run(id) => {
                    let pending = engine.start(id);
                    let run = pending.module.check(&pending.call).await;
                    run_handlers(engine.finish(id, run, now, None, now), now, &mut events).await;
                }
            }
            for e in events.iter().filter(|e| e.is_shown()) {
                sink(e);
            }
        }
        if engine.next_due().is_some_and(|d| d <= now) {
            for event in engine.run_due(now).await.iter().filter(|e| e.is_shown()) {
                sink(event);
            }
        }
    }
    Ok(())
}
