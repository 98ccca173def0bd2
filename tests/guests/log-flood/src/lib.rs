//! Test guest `log-flood`: `check()` writes `count` messages of `bytes` bytes
//! each (10 000 × 16 KiB by default) to the host log at level warn, then
//! returns OK `Logged N messages of M bytes`. The host should cut messages to
//! its size limit and drop those past its rate limit, so its log grows by a
//! bounded amount, and still report the check's OK result.

use guest_common::log::Level;
use guest_common::*;

struct LogFlood;

impl Guest for LogFlood {
    fn describe() -> CheckInfo {
        info(
            "log_flood",
            "Test: Host log flood",
            "Writes many large messages to the host log, then reports OK.",
            &[
                ("count", "Number of messages.", Some("10000")),
                ("bytes", "Length of each message in bytes.", Some("16384")),
            ],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let count = param_or(&request, "count", "a count", 10_000u32)?;
        let bytes = param_or(&request, "bytes", "a byte count", 16_384usize)?;
        let mut message = String::with_capacity(bytes);
        for i in 0..count {
            message.clear();
            message.push_str(&format!("log flood message {i} "));
            while message.len() < bytes {
                message.push('l');
            }
            message.truncate(bytes);
            log::log(Level::Warn, &message);
        }
        Ok(result(vec![partial(State::Ok, format!("Logged {count} messages of {bytes} bytes"))], Vec::new()))
    }
}

guest_common::export!(LogFlood);
