//! Compiling a module under its own budget (issue 16): a module that takes
//! minutes and gigabytes to compile must not take the daemon with it.
//!
//! Every compilation runs in a child process forked from this one, which
//! shares the engine: the child compiles and writes the precompiled bytes
//! to a pipe; the parent kills it after [`CompileLimits::time`] or when the
//! memory it wrote itself (its private dirty pages, looked at every 20 ms)
//! is over [`CompileLimits::memory`]. A data limit of that much more than
//! its copy of the parent holds is the child's backstop. The parent then loads the bytes as it loads the
//! precompiled-module cache. One compilation runs at a time per sandbox
//! (hot-loading a folder of new modules compiles them one by one).
//!
//! The child only compiles: it writes nothing but the pipe (its stdout
//! and stderr go to `/dev/null`), runs no destructor and leaves with
//! `_exit`. Wasmtime compiles a component's functions on rayon's thread
//! pool, which this process never starts (it never compiles itself), so
//! the child starts its own.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Time and memory one compilation may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileLimits {
    /// Wall time, default 2 minutes.
    pub time: Duration,
    /// Memory beyond what the process holds, default 2 GiB.
    pub memory: usize,
}

impl Default for CompileLimits {
    fn default() -> CompileLimits {
        CompileLimits { time: Duration::from_secs(120), memory: 2 << 30 }
    }
}

/// Why a compilation did not give a component.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CompileError {
    #[error("compiling it took longer than its budget of {}", humantime::format_duration(*.0))]
    Time(Duration),
    #[error("compiling it needed more memory than its budget of {}", crate::output::human_bytes(*.0 as u64))]
    Memory(usize),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot start the compiler process: {0}")]
    Process(std::io::Error),
}

/// Compiles `bytes` (a component) for `engine` within `limits`.
pub(crate) fn compile(engine: &Engine, bytes: &[u8], limits: CompileLimits) -> Result<Component, CompileError> {
    let precompiled = precompile(engine, bytes, limits)?;
    // SAFETY: the bytes are what `Engine::precompile_component` of this very
    // engine wrote (in a fork of this process), read whole from the pipe.
    unsafe { Component::deserialize(engine, &precompiled) }.map_err(|e| CompileError::Invalid(format!("{e:#}")))
}

/// The first byte the child writes: the rest is the precompiled component.
const COMPILED: u8 = 0;
/// The first byte the child writes: the rest is the compiler's error.
const REFUSED: u8 = 1;

fn precompile(engine: &Engine, bytes: &[u8], limits: CompileLimits) -> Result<Vec<u8>, CompileError> {
    let (read, write) = pipe().map_err(CompileError::Process)?;
    // SAFETY: the child calls only what is safe after fork in a process
    // with threads here (glibc's malloc is), and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(CompileError::Process(std::io::Error::last_os_error()));
    }
    if pid == 0 {
        drop(read);
        child(engine, bytes, limits.memory as u64, write);
    }
    drop(write);
    let deadline = Instant::now() + limits.time;
    let output = read_until(&read, pid, deadline, limits.memory as u64);
    if !matches!(output, Read::Done(_)) {
        // SAFETY: `pid` is our child, not yet waited for.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let status = match wait(pid) {
        Ok(status) => status,
        // Reaped by someone else (an embedder that ignores SIGCHLD): what
        // the pipe holds tells, and the header check of the bytes.
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Some(0),
        Err(e) => return Err(CompileError::Process(e)),
    };
    let output = match output {
        Read::Done(output) => output,
        Read::TimedOut => return Err(CompileError::Time(limits.time)),
        Read::OverMemory => return Err(CompileError::Memory(limits.memory)),
    };
    match output.split_first() {
        Some((&COMPILED, rest)) if status == Some(0) => Ok(rest.to_vec()),
        Some((&REFUSED, why)) => Err(CompileError::Invalid(String::from_utf8_lossy(why).into_owned())),
        // Killed or aborted (an allocation over the data limit aborts).
        _ => Err(CompileError::Memory(limits.memory)),
    }
}

/// The child: compile with `memory` bytes of data memory beyond what it
/// holds (its copy of the parent, measured here: the parent's other threads
/// are not in the child to change it), write the result, `_exit`.
fn child(engine: &Engine, bytes: &[u8], memory: u64, write: OwnedFd) -> ! {
    let Ok(held) = data_memory() else {
        // SAFETY: as below.
        unsafe { libc::_exit(1) }
    };
    let budget = held.saturating_add(memory);
    // SAFETY: plain system calls on values of this function.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if null >= 0 {
            libc::dup2(null, 1);
            libc::dup2(null, 2);
        }
        let limit = libc::rlimit { rlim_cur: budget, rlim_max: budget };
        libc::setrlimit(libc::RLIMIT_DATA, &limit);
    }
    // A panic must not unwind into the parent's code this thread was
    // running when it forked.
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (tag, body) = match engine.precompile_component(bytes) {
            Ok(compiled) => (COMPILED, compiled),
            Err(e) => (REFUSED, format!("{e:#}").into_bytes()),
        };
        write_all(&write, &[tag]) && write_all(&write, &body)
    }))
    .unwrap_or(false);
    // SAFETY: leaving the child without running destructors or atexit
    // handlers that belong to the parent.
    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
}

/// The process's data memory (`VmData`), in bytes.
fn data_memory() -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmData:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or_else(|| std::io::Error::other("no VmData in /proc/self/status"))?;
    Ok(kb * 1024)
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned here alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn write_all(fd: &OwnedFd, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: writes from a live slice to an open descriptor.
        let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// How reading the child's answer ended.
enum Read {
    /// Everything it wrote until it closed the pipe.
    Done(Vec<u8>),
    TimedOut,
    /// Its own memory went over the budget.
    OverMemory,
}

/// How often the child's memory is looked at.
const WATCH: Duration = Duration::from_millis(20);

/// Reads what child `pid` writes to `fd` until it closes it, watching its
/// memory: the pages it wrote itself (`Private_Dirty`), not those it shares
/// with this process. Its data limit is only a backstop: memory this
/// process had freed but kept is its copy's to reuse without a new mapping.
fn read_until(fd: &OwnedFd, pid: libc::pid_t, deadline: Instant, memory: u64) -> Read {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let rollup = format!("/proc/{pid}/smaps_rollup");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Read::TimedOut;
        }
        if private_dirty(&rollup).is_some_and(|bytes| bytes > memory) {
            return Read::OverMemory;
        }
        let mut poll = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = left.min(WATCH).as_millis().max(1) as i32;
        // SAFETY: one pollfd, valid for the call.
        let ready = unsafe { libc::poll(&mut poll, 1, ms) };
        if ready == 0 {
            continue;
        }
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Read::Done(out);
        }
        // SAFETY: reads into a live buffer of its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => return Read::Done(out),
            n if n > 0 => out.extend_from_slice(&buf[..n as usize]),
            _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return Read::Done(out),
        }
    }
}

/// The `Private_Dirty` bytes of a process's `smaps_rollup`.
fn private_dirty(rollup: &str) -> Option<u64> {
    let text = std::fs::read_to_string(rollup).ok()?;
    let kb = text.lines().find_map(|l| l.strip_prefix("Private_Dirty:"))?.trim().trim_end_matches("kB").trim();
    Some(kb.parse::<u64>().ok()? * 1024)
}

/// Waits for `pid`: its exit code, or `None` if a signal ended it.
fn wait(pid: libc::pid_t) -> std::io::Result<Option<i32>> {
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } >= 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)))
}
