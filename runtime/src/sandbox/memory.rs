//! One memory accountant per run (issue 16): the guest's linear memory and
//! what it makes the host hold (the resource table's entries, `wasi:http`
//! header bytes, outgoing requests and their buffered bodies, sockets and
//! their buffered writes, HTTP connections under way), counted in bytes
//! against the check's one memory limit.
//!
//! - Linear memory is charged when it grows ([`Accountant::grow`]); a grow
//!   that would take linear and host bytes together over the limit is
//!   refused.
//! - Host bytes are measured by walking the run's resource table
//!   ([`Accountant::settle`]): at every memory grow and at every epoch tick
//!   (10 ms) while the guest runs. Over the limit, the run ends with the
//!   memory limit outcome. A guest cannot hide bytes from the walk: every
//!   object it can make the host keep is an entry of that table.
//! - Between two walks a guest can only add entries within the room left:
//!   every walk sets the table's capacity to the entries it holds plus as
//!   many as fit the room if each were as large as an entry can be
//!   ([`MAX_ENTRY_BYTES`]), and at least [`MIN_NEW_ENTRIES`]. A push over
//!   that is refused at once, and the run ends with the memory limit
//!   outcome too.
//!
//! The costs of objects whose bytes are not visible (a socket's buffered
//! write, a body's buffer, a connection's buffers) are their bounds in
//! wasmtime-wasi 48 and hyper, named below.

use std::any::Any;

use wasmtime::component::ResourceTable;
use wasmtime_wasi_http::FieldMap;
use wasmtime_wasi_http::p2::body::HostOutgoingBody;
use wasmtime_wasi_http::p2::types::{
    HostFutureIncomingResponse, HostIncomingResponse, HostOutgoingRequest, HostOutgoingResponse,
};

use super::descriptors::FIELD_SIZE_LIMIT;

/// What one table entry costs beside its contents: the table slot, the
/// box and its bookkeeping.
pub(crate) const ENTRY_BYTES: usize = 256;
/// The chunk size of an outgoing `wasi:http` body (wasmtime's default is
/// 1 MiB); a body buffers at most two chunks.
pub(crate) const BODY_CHUNK: usize = 64 << 10;
/// What an outgoing body may buffer: its chunk and the channel's slot.
const BODY_BYTES: usize = 2 * BODY_CHUNK;
/// A TCP socket's buffered write (wasmtime-wasi's `MAX_READ_SIZE_ALLOC`
/// is also the most its write stream accepts at once).
const SOCKET_BYTES: usize = 64 << 10;
/// An HTTP connection under way: hyper's read buffer bound (about
/// 400 KiB) and TLS state.
const CONNECTION_BYTES: usize = 512 << 10;
/// The most one new table entry can hold before the next walk: a full
/// outgoing request (headers at the field limit and a body's buffer).
pub(crate) const MAX_ENTRY_BYTES: usize = ENTRY_BYTES + FIELD_SIZE_LIMIT + BODY_BYTES;

/// New entries a walk always allows, however little room is left: most
/// entries are small (a stream, a pollable), and a check near its limit
/// must not fail for want of one. At most this many entries of
/// [`MAX_ENTRY_BYTES`] can overshoot the limit until the next walk ends
/// the run.
const MIN_NEW_ENTRIES: usize = 16;

/// Linear memory and host bytes of one run, against its memory limit.
#[derive(Debug)]
pub(crate) struct Accountant {
    limit: usize,
    linear: usize,
    host: usize,
    peak: usize,
    /// The host bytes went over the limit, or a table entry was refused.
    host_exceeded: bool,
    /// A linear memory grow was refused (the guest may have coped).
    grow_refused: bool,
}

impl Accountant {
    pub(crate) fn new(limit: usize) -> Accountant {
        Accountant { limit, linear: 0, host: 0, peak: 0, host_exceeded: false, grow_refused: false }
    }

    /// Whether the host bytes went over the limit (the run ends there).
    pub(crate) fn host_exceeded(&self) -> bool {
        self.host_exceeded
    }

    /// Whether a linear memory grow was refused. The guest sees a failed
    /// `memory.grow` and may cope with it; whether its end was the memory
    /// limit is for the caller to judge.
    pub(crate) fn grow_refused(&self) -> bool {
        self.grow_refused
    }

    /// The most bytes, linear and host together, the run held at a walk
    /// or a grow.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// A linear memory grows from `current` to `desired` bytes: allowed if
    /// linear and host bytes stay within the limit.
    pub(crate) fn grow(&mut self, current: usize, desired: usize) -> bool {
        let linear = self.linear.saturating_sub(current).saturating_add(desired);
        if linear.saturating_add(self.host) > self.limit {
            self.grow_refused = true;
            return false;
        }
        self.linear = linear;
        self.peak = self.peak.max(linear + self.host);
        true
    }

    /// Measures what `table` holds, with `connections` HTTP connections
    /// under way, and sets the table's capacity to the room left. False
    /// (and the limit marked as hit) when over the limit.
    pub(crate) fn settle(&mut self, table: &mut ResourceTable, connections: usize) -> bool {
        let (entries, bytes) = held(table);
        self.host = bytes.saturating_add(connections.saturating_mul(CONNECTION_BYTES));
        let used = self.linear.saturating_add(self.host);
        self.peak = self.peak.max(used);
        let room = self.limit.saturating_sub(used);
        table.set_max_capacity(entries + (room / MAX_ENTRY_BYTES).max(MIN_NEW_ENTRIES));
        if used > self.limit {
            self.host_exceeded = true;
        }
        !self.host_exceeded
    }

    /// Whether a failed run ended because the table was at the capacity the
    /// room left allowed: a refused allocation, so the memory limit.
    pub(crate) fn refused_entry(&mut self, table: &mut ResourceTable) -> bool {
        let full = table.iter_mut().count() >= table.max_capacity();
        if full {
            self.host_exceeded = true;
        }
        full
    }
}

/// The entries of `table` and the bytes they hold.
pub(crate) fn held(table: &mut ResourceTable) -> (usize, usize) {
    table.iter_mut().fold((0, 0), |(n, bytes), entry| (n + 1, bytes + ENTRY_BYTES + entry_bytes(entry)))
}

/// The bytes behind one entry beyond [`ENTRY_BYTES`].
fn entry_bytes(entry: &(dyn Any + Send)) -> usize {
    let body = |present: bool| if present { BODY_BYTES } else { 0 };
    if let Some(fields) = entry.downcast_ref::<FieldMap>() {
        fields_bytes(fields)
    } else if let Some(r) = entry.downcast_ref::<HostOutgoingRequest>() {
        let text = r.authority.as_ref().map_or(0, String::len) + r.path_with_query.as_ref().map_or(0, String::len);
        fields_bytes(&r.headers) + text + body(r.body.is_some())
    } else if let Some(r) = entry.downcast_ref::<HostOutgoingResponse>() {
        fields_bytes(&r.headers) + body(r.body.is_some())
    } else if let Some(r) = entry.downcast_ref::<HostIncomingResponse>() {
        fields_bytes(&r.headers)
    } else if entry.is::<HostOutgoingBody>() {
        BODY_BYTES
    } else if entry.is::<HostFutureIncomingResponse>() {
        // The request's headers went to hyper; the response's come back.
        FIELD_SIZE_LIMIT
    } else if entry.is::<wasmtime_wasi::p2::TcpSocket>() {
        SOCKET_BYTES
    } else {
        0
    }
}

/// The bytes of a fields resource: every name and value with their
/// representation (the way wasmtime-wasi-http counts its field limit,
/// with the name counted for every value).
fn fields_bytes(fields: &FieldMap) -> usize {
    fields
        .iter()
        .map(|(name, value)| {
            name.as_str().len() + size_of::<http::HeaderName>() + value.len() + size_of::<http::HeaderValue>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_host_bytes_share_one_limit() {
        let mut a = Accountant::new(1 << 20);
        assert!(a.grow(0, 512 << 10));
        let mut table = ResourceTable::new();
        // Empty: the capacity is the room over the largest entry, and at
        // least a few.
        assert!(a.settle(&mut table, 0));
        assert_eq!(table.max_capacity(), MIN_NEW_ENTRIES);
        let mut roomy = ResourceTable::new();
        assert!(Accountant::new(64 << 20).settle(&mut roomy, 0));
        assert_eq!(roomy.max_capacity(), (64 << 20) / MAX_ENTRY_BYTES);

        // Header bytes count in bytes.
        let mut fields = FieldMap::new_mutable(FIELD_SIZE_LIMIT);
        let value = http::HeaderValue::from_bytes(&[b'a'; 10_000]).unwrap();
        fields.append_raw(http::HeaderName::from_static("x-pad"), value).unwrap();
        table.push(fields).unwrap();
        assert!(a.settle(&mut table, 0));
        let (entries, bytes) = held(&mut table);
        assert_eq!(entries, 1);
        assert!((10_000 + ENTRY_BYTES..10_000 + ENTRY_BYTES + 128).contains(&bytes), "{bytes}");

        // With host bytes held, linear memory cannot take the whole limit.
        assert!(!a.grow(512 << 10, 1 << 20));
        assert!(a.grow_refused() && !a.host_exceeded());

        // Connections under way count too: two go over the limit.
        let mut b = Accountant::new(1 << 20);
        assert!(b.settle(&mut table, 1));
        assert!(!b.settle(&mut table, 2));
        assert!(b.host_exceeded() && b.peak() > 1 << 20);
    }

    #[test]
    fn the_table_is_refused_at_the_room_left() {
        let mut a = Accountant::new(40 * MAX_ENTRY_BYTES);
        let mut table = ResourceTable::new();
        assert!(a.settle(&mut table, 0));
        assert_eq!(table.max_capacity(), 40);
        for _ in 0..40 {
            table.push(0u32).unwrap();
        }
        assert!(table.push(0u32).is_err(), "over the room left");
        assert!(a.refused_entry(&mut table) && a.host_exceeded());
        assert!(!Accountant::new(1 << 20).refused_entry(&mut ResourceTable::new()));
    }
}
