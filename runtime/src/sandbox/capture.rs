//! The guest's stdout and stderr, captured in memory up to a byte budget.
//! Writes beyond the budget are accepted and dropped, so a guest that floods
//! its output neither blocks nor grows the host's memory; it is marked as
//! truncated instead.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// A capped in-memory sink. A typed check's stdout and stderr share one
/// (interleaved, as a terminal would show them); a plugin's stderr is a
/// [`second`](Capture::second) sink beside its stdout, kept apart but
/// within the same budget, and second to it: stdout may use the whole
/// budget whatever stderr wrote first, and stderr keeps only what stdout
/// leaves (each buffer holds at most the budget).
#[derive(Clone, Debug)]
pub(crate) struct Capture {
    inner: Arc<Mutex<Captured>>,
    /// Which of the two buffers this handle writes to.
    stream: usize,
}

#[derive(Debug, Default)]
struct Captured {
    streams: [Vec<u8>; 2],
    budget: usize,
    dropped: u64,
}

impl Capture {
    pub(crate) fn new(budget: usize) -> Capture {
        Capture { inner: Arc::new(Mutex::new(Captured { budget, ..Captured::default() })), stream: 0 }
    }

    /// A second sink that shares this one's budget but keeps its own bytes.
    pub(crate) fn second(&self) -> Capture {
        Capture { inner: self.inner.clone(), stream: 1 }
    }

    fn append(&self, buf: &[u8]) {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // The first stream's room does not shrink for the second's bytes.
        let used = if self.stream == 0 { c.streams[0].len() } else { c.streams[0].len() + c.streams[1].len() };
        let room = c.budget.saturating_sub(used);
        let take = room.min(buf.len());
        c.streams[self.stream].extend_from_slice(&buf[..take]);
        c.dropped += (buf.len() - take) as u64;
    }

    /// What this sink captured (lossy UTF-8), and how many bytes were
    /// dropped over the shared budget by either sink.
    pub(crate) fn contents(&self) -> (String, u64) {
        let c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // What the first stream wrote after the second took its room is
        // taken back from the second's end.
        let excess = (c.streams[0].len() + c.streams[1].len()).saturating_sub(c.budget);
        let bytes = &c.streams[self.stream];
        let bytes = if self.stream == 1 { &bytes[..bytes.len() - excess] } else { &bytes[..] };
        (String::from_utf8_lossy(bytes).into_owned(), c.dropped + excess as u64)
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

/// Most bytes the guest may hand over in one write.
const WRITE_PERMIT: usize = 64 << 10;

#[wasmtime_wasi::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl AsyncWrite for Capture {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_budget_and_counts_the_rest() {
        let mut c = Capture::new(10);
        OutputStream::write(&mut c, Bytes::from_static(b"hello ")).unwrap();
        OutputStream::write(&mut c, Bytes::from_static(b"world, again")).unwrap();
        let (text, dropped) = c.contents();
        assert_eq!(text, "hello worl");
        assert_eq!(dropped, 8);
    }

    #[test]
    fn a_second_sink_shares_the_budget() {
        let mut out = Capture::new(10);
        let mut err = out.second();
        OutputStream::write(&mut out, Bytes::from_static(b"stdout")).unwrap();
        OutputStream::write(&mut err, Bytes::from_static(b"stderr")).unwrap();
        assert_eq!(out.contents(), ("stdout".to_string(), 2));
        assert_eq!(err.contents(), ("stde".to_string(), 2));
    }

    /// A plugin's stderr written first does not use up its stdout's
    /// budget (issue 16): stdout comes first.
    #[test]
    fn stdout_comes_before_stderr() {
        let mut out = Capture::new(10);
        let mut err = out.second();
        OutputStream::write(&mut err, Bytes::from_static(b"a flood of stderr")).unwrap();
        OutputStream::write(&mut out, Bytes::from_static(b"OK - fine")).unwrap();
        assert_eq!(out.contents(), ("OK - fine".to_string(), 16));
        assert_eq!(err.contents(), ("a".to_string(), 16));
    }
}
