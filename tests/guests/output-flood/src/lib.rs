//! Test guest `output-flood`: produces far more output than a check should.
//!
//! By default `check()` first writes 8 MiB to stdout and 8 MiB to stderr, then
//! returns one OK partial whose summary is 1 MiB and whose details are 4 MiB,
//! and 20 000 metrics (`flood_0` … `flood_19999`). The summary starts with
//! `Output flood: stdout <outcome>, stderr <outcome>, ` (outcome `8388608 bytes
//! written` or `failed after N bytes: <error>`), then pads with `x`. The host
//! should cut the result to its limits (or reject it) and keep only a bounded
//! amount of the streams, without using memory in proportion to what the
//! guest wrote.
//!
//! With `forever=true` it instead writes to stdout in an endless loop (also
//! after write errors), so only the host's deadline stops it.

use std::io::Write;

use guest_common::*;

struct OutputFlood;

const MIB: usize = 1 << 20;

impl Guest for OutputFlood {
    fn describe() -> CheckInfo {
        info(
            "output_flood",
            "Test: Oversized output",
            "Writes a lot to stdout and stderr, then returns an oversized summary, \
             details and metric list; with forever=true writes to stdout without end.",
            &[
                ("forever", "\"true\" to write to stdout in an endless loop instead of returning.", Some("false")),
                ("stream_bytes", "Bytes written to each of stdout and stderr.", Some("8388608")),
                ("summary_bytes", "Length of the summary in bytes.", Some("1048576")),
                ("details_bytes", "Length of the details in bytes.", Some("4194304")),
                ("metrics", "Number of metrics returned.", Some("20000")),
            ],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        if param_or(&request, "forever", "true or false", false)? {
            hostile_write_forever();
        }
        let stream_bytes = param_or(&request, "stream_bytes", "a byte count", 8 * MIB)?;
        let summary_bytes = param_or(&request, "summary_bytes", "a byte count", MIB)?;
        let details_bytes = param_or(&request, "details_bytes", "a byte count", 4 * MIB)?;
        let metrics = param_or(&request, "metrics", "a count", 20_000usize)?;

        let stdout = flood(&mut std::io::stdout().lock(), stream_bytes, b'o');
        let stderr = flood(&mut std::io::stderr().lock(), stream_bytes, b'e');

        let mut summary = format!("Output flood: stdout {stdout}, stderr {stderr}, ");
        pad(&mut summary, summary_bytes, 'x');
        let mut details = String::with_capacity(details_bytes);
        while details.len() < details_bytes {
            details.push_str("Detail line of the output flood\n");
        }
        details.truncate(details_bytes);

        Ok(result(
            vec![PartialResult { state: State::Ok, summary, details: Some(details) }],
            (0..metrics).map(|i| metric(&format!("flood_{i}"), i as f64, "")).collect(),
        ))
    }
}

/// Pads `text` with `fill` to exactly `len` bytes (or cuts it, on a char
/// boundary, when it is longer).
fn pad(text: &mut String, len: usize, fill: char) {
    while text.len() > len {
        text.pop();
    }
    text.extend(std::iter::repeat_n(fill, len - text.len()));
}

/// Writes `total` bytes of `byte` lines to `out` and says how that went.
fn flood(out: &mut dyn Write, total: usize, byte: u8) -> String {
    let mut line = vec![byte; 1023];
    line.push(b'\n');
    let mut written = 0;
    while written < total {
        let n = line.len().min(total - written);
        if let Err(e) = out.write_all(&line[..n]) {
            return format!("failed after {written} bytes: {e}");
        }
        written += n;
    }
    match out.flush() {
        Ok(()) => format!("{written} bytes written"),
        Err(e) => format!("flush failed after {written} bytes: {e}"),
    }
}

/// Writes lines to stdout forever, ignoring errors.
#[inline(never)]
fn hostile_write_forever() -> ! {
    let line = [b'f'; 4096];
    let mut out = std::io::stdout();
    loop {
        let _ignored = out.write_all(&line);
    }
}

guest_common::export!(OutputFlood);
