//! A TCP conversation over `wasi:sockets` with the check's own deadline.
//!
//! Every wait goes through [`Deadline::wait`], so no call blocks past the
//! deadline whatever the peer does.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use wasmon_sdk::Deadline;
use wasmon_sdk::wasi::io::streams::{InputStream, OutputStream, StreamError};
use wasmon_sdk::wasi::sockets::instance_network::instance_network;
use wasmon_sdk::wasi::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasmon_sdk::wasi::sockets::tcp::TcpSocket;
use wasmon_sdk::wasi::sockets::tcp_create_socket::create_tcp_socket;

/// How long to wait for more data once some has arrived and the expected
/// text is still missing; check_tcp gives up after the same two seconds of
/// silence before it reports a mismatch.
pub const IDLE_GRACE: Duration = Duration::from_secs(2);

/// Why a conversation ended without the expected result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The peer refused the connection (ECONNREFUSED).
    Refused,
    /// The deadline passed.
    Timeout,
    /// The sandbox policy does not allow this connection.
    Denied,
    /// Any other failure, described for the operator.
    Other(String),
}

impl NetError {
    /// Maps a `wasi:sockets` error code.
    fn from_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::ConnectionRefused => Self::Refused,
            ErrorCode::Timeout => Self::Timeout,
            ErrorCode::AccessDenied => Self::Denied,
            ErrorCode::RemoteUnreachable => Self::Other("No route to host".to_owned()),
            ErrorCode::ConnectionReset => Self::Other("Connection reset by peer".to_owned()),
            ErrorCode::ConnectionAborted => Self::Other("Connection aborted".to_owned()),
            ErrorCode::InvalidArgument => Self::Other("Invalid address".to_owned()),
            other => Self::Other(capitalize(other.message())),
        }
    }

    /// Maps a stream error (the connection failed while reading or writing).
    fn from_stream(err: StreamError) -> Self {
        match err {
            StreamError::Closed => Self::Other("Connection closed by peer".to_owned()),
            StreamError::LastOperationFailed(e) => Self::Other(capitalize(&e.to_debug_string())),
        }
    }
}

/// Upper-cases the first letter, for messages taken from WASI error texts.
fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An open connection. Fields are declared so that the streams drop before
/// the socket they belong to.
pub struct Connection {
    /// Data from the peer.
    input: InputStream,
    /// Data to the peer.
    output: OutputStream,
    /// The socket; kept alive for as long as its streams.
    _socket: TcpSocket,
}

/// Connects to `addr` before `deadline`.
pub fn connect(addr: SocketAddr, deadline: Deadline) -> Result<Connection, NetError> {
    let (family, remote) = match addr {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            (IpAddressFamily::Ipv4, IpSocketAddress::Ipv4(Ipv4SocketAddress { port: v4.port(), address: (a, b, c, d) }))
        }
        SocketAddr::V6(v6) => {
            let s = v6.ip().segments();
            (
                IpAddressFamily::Ipv6,
                IpSocketAddress::Ipv6(Ipv6SocketAddress {
                    port: v6.port(),
                    flow_info: v6.flowinfo(),
                    address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                    scope_id: v6.scope_id(),
                }),
            )
        }
    };
    let socket = create_tcp_socket(family).map_err(NetError::from_code)?;
    let network = instance_network();
    socket.start_connect(&network, remote).map_err(NetError::from_code)?;
    let ready = socket.subscribe();
    let result = loop {
        match socket.finish_connect() {
            Ok((input, output)) => break Ok((input, output)),
            Err(ErrorCode::WouldBlock) => {
                if !deadline.wait(&ready) {
                    break Err(NetError::Timeout);
                }
            }
            Err(code) => break Err(NetError::from_code(code)),
        }
    };
    drop(ready);
    let (input, output) = result?;
    Ok(Connection { input, output, _socket: socket })
}

/// What the peer sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The bytes received, at most the limit asked for plus one read.
    pub data: Vec<u8>,
    /// The peer closed the connection.
    pub eof: bool,
}

impl Connection {
    /// Writes all of `data` and flushes it before `deadline`.
    pub fn send(&self, data: &[u8], deadline: Deadline) -> Result<(), NetError> {
        let ready = self.output.subscribe();
        let mut rest = data;
        while !rest.is_empty() {
            let permit = self.output.check_write().map_err(NetError::from_stream)?;
            if permit == 0 {
                if !deadline.wait(&ready) {
                    return Err(NetError::Timeout);
                }
                continue;
            }
            let n = rest.len().min(usize::try_from(permit).unwrap_or(usize::MAX));
            self.output.write(&rest[..n]).map_err(NetError::from_stream)?;
            rest = &rest[n..];
        }
        self.output.flush().map_err(NetError::from_stream)?;
        // A flush completes when check-write reports room again.
        loop {
            if self.output.check_write().map_err(NetError::from_stream)? > 0 {
                return Ok(());
            }
            if !deadline.wait(&ready) {
                return Err(NetError::Timeout);
            }
        }
    }

    /// Reads until `done` says the data is enough, the peer closes the
    /// connection, nothing more arrives for two seconds after some data, or
    /// `deadline` passes. Only a deadline passing with no data at all is an
    /// error ([`NetError::Timeout`]).
    pub fn receive(&self, deadline: Deadline, done: impl Fn(&[u8]) -> bool) -> Result<Reply, NetError> {
        let ready = self.input.subscribe();
        let mut reply = Reply::default();
        loop {
            match self.input.read(4096) {
                Ok(chunk) if chunk.is_empty() => {
                    let wait_until = if reply.data.is_empty() { deadline } else { deadline.min_after(IDLE_GRACE) };
                    if !wait_until.wait(&ready) {
                        if reply.data.is_empty() {
                            return Err(NetError::Timeout);
                        }
                        return Ok(reply);
                    }
                }
                Ok(chunk) => {
                    reply.data.extend_from_slice(&chunk);
                    if done(&reply.data) {
                        return Ok(reply);
                    }
                }
                Err(StreamError::Closed) => {
                    reply.eof = true;
                    return Ok(reply);
                }
                Err(err) => {
                    let err = NetError::from_stream(err);
                    if reply.data.is_empty() {
                        return Err(err);
                    }
                    // Data arrived before a reset: judge what we have.
                    reply.eof = true;
                    return Ok(reply);
                }
            }
        }
    }
}

/// Parses an address literal as the host hands it over (`target.address`).
pub fn parse_address(text: &str) -> Option<IpAddr> {
    let trimmed = text.trim().trim_start_matches('[').trim_end_matches(']');
    trimmed.parse().ok()
}
