//! Messages for the host's log (not for the check's output). The host tags
//! them with the check and service and limits their size and rate.

use crate::bindings::wasmon::check::log::{Level, log};

/// Logs detailed tracing of what the check does.
pub fn debug(message: &str) {
    log(Level::Debug, message)
}

/// Logs normal operation worth recording.
pub fn info(message: &str) {
    log(Level::Info, message)
}

/// Logs something odd that did not stop the check.
pub fn warn(message: &str) {
    log(Level::Warn, message)
}

/// Logs a failure.
pub fn error(message: &str) {
    log(Level::Error, message)
}
