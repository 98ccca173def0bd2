//! Test guest `hotload-v2`: a drop-in second version of a `dummy`-style
//! check, for the hot-loading tests. It describes itself completely (the
//! contract's MUSTs hold, so a running monitor accepts it) with version
//! 2.0.0, and every run returns OK `Version 2: TEXT` for its parameter
//! `text` (or `Version 2`), so a test can tell its runs from the standard
//! `dummy`'s. Other parameters (such as `dummy`'s `state`) are ignored.

use guest_common::*;

struct HotloadV2;

impl Guest for HotloadV2 {
    fn describe() -> CheckInfo {
        CheckInfo {
            name: "hotload_v2".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            title: "Test: Second version of a check".to_owned(),
            manpage: Manpage {
                description: "Monitors nothing: always OK with the text it is given, so that a \
                              test sees which version ran. It is never WARN or CRIT."
                    .to_owned(),
                item: None,
                discovery: None,
            },
            params: vec![ParamInfo {
                name: "text".to_owned(),
                description: "Text after 'Version 2: ' in the summary.".to_owned(),
                default_value: None,
                default_source: None,
            }],
        }
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let summary = match param(&request, "text") {
            Some(text) => format!("Version 2: {text}"),
            None => "Version 2".to_owned(),
        };
        Ok(result(vec![partial(State::Ok, summary)], Vec::new()))
    }
}

guest_common::export!(HotloadV2);
