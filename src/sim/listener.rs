//! The data listener: a socket that can be closed and re-bound on the same address while one
//! `axum::serve` keeps running, and connections that can be cut when the system goes `down`.
//!
//! `down` must mean connection refused *at once*, so the listening socket lives in a slot that
//! `set_scenario` empties synchronously (dropping it closes the fd), rather than inside a task.
//! `DataListener` decides when to empty and refill it, and what to say when the address was
//! taken in the meantime.

use super::state::{lock, SimEvent};
use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;

/// What a failed bind says: the common causes in words, the rest as the OS puts it.
pub(crate) fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => "address in use".into(),
        io::ErrorKind::AddrNotAvailable => "address not available on this host".into(),
        io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".into()
        }
        _ => e.to_string(),
    }
}

/// Binds with SO_REUSEADDR so the address can be taken again right after `down`, even with
/// connections of the previous socket still in TIME_WAIT. Needs a tokio runtime context.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Shared between the accept loop and whoever switches scenarios.
#[derive(Default)]
pub(crate) struct Slot {
    listener: Mutex<Option<TcpListener>>,
    wake: Notify,
    conns: Mutex<HashMap<u64, Killer>>,
    next_id: AtomicU64,
}

impl Slot {
    pub(crate) fn is_up(&self) -> bool {
        lock(&self.listener).is_some()
    }

    pub(crate) fn install(&self, l: TcpListener) {
        *lock(&self.listener) = Some(l);
        self.wake.notify_one();
    }

    /// Closes the listening socket and cuts every open connection (idle keep-alive ones too,
    /// or a pooled client would keep talking to a "down" system).
    pub(crate) fn close(&self) {
        let old = lock(&self.listener).take();
        drop(old);
        self.wake.notify_one();
        let conns: Vec<Killer> = lock(&self.conns).drain().map(|(_, k)| k).collect();
        for k in conns {
            k.kill();
        }
    }
}

/// The data listener's address and whether it is open, kept to match the scenario.
pub(crate) struct DataListener {
    slot: Arc<Slot>,
    addr: SocketAddr,
    /// Last re-bind failure; the mutex also serializes opening and closing.
    error: Mutex<Option<String>>,
    /// Set by shutdown: nothing re-binds after it.
    stopped: AtomicBool,
    /// A re-bind retry task is running.
    retrying: AtomicBool,
    rt: tokio::runtime::Handle,
}

impl DataListener {
    /// `slot` holds the bound socket (or nothing, to start `down`); needs a tokio runtime.
    pub(crate) fn new(slot: Arc<Slot>, addr: SocketAddr) -> Self {
        DataListener {
            slot,
            addr,
            error: Mutex::new(None),
            stopped: AtomicBool::new(false),
            retrying: AtomicBool::new(false),
            rt: tokio::runtime::Handle::current(),
        }
    }

    /// The address it is (re-)bound on, also while closed.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn is_up(&self) -> bool {
        self.slot.is_up()
    }

    /// Why the last re-bind failed, while it still does.
    pub(crate) fn error(&self) -> Option<String> {
        lock(&self.error).clone()
    }

    /// What `axum::serve` accepts from.
    pub(crate) fn accept_from(&self) -> SlotListener {
        SlotListener {
            slot: self.slot.clone(),
            addr: self.addr,
        }
    }

    /// Opens or closes the socket as `want_up` says (asked under the lock, so concurrent
    /// scenario changes settle on the last one) and reports each change through `emit`.
    /// Returns true when the socket should be open but could not be.
    pub(crate) fn reconcile(
        &self,
        want_up: impl FnOnce() -> bool,
        emit: impl Fn(SimEvent),
    ) -> bool {
        let mut err = lock(&self.error);
        if self.stopped.load(Ordering::SeqCst) {
            return false;
        }
        let want_up = want_up();
        if want_up && !self.slot.is_up() {
            let _rt = self.rt.enter();
            match bind(self.addr) {
                Ok(l) => {
                    self.slot.install(l);
                    *err = None;
                    emit(SimEvent::ListenerReopened);
                }
                Err(e) => {
                    let msg = format!("cannot listen on {} again: {}", self.addr, io_reason(&e));
                    // Say it once, not on every retry.
                    if err.as_deref() != Some(msg.as_str()) {
                        tracing::warn!("sim: {msg}");
                        emit(SimEvent::ListenerError(msg.clone()));
                        *err = Some(msg);
                    }
                    return true;
                }
            }
        } else if !want_up {
            *err = None;
            if self.slot.is_up() {
                self.slot.close();
                emit(SimEvent::ListenerClosed);
            }
        }
        false
    }

    /// Takes the retry duty; false when a retry task already runs.
    pub(crate) fn claim_retry(&self) -> bool {
        !self.retrying.swap(true, Ordering::SeqCst)
    }

    pub(crate) fn release_retry(&self) {
        self.retrying.store(false, Ordering::SeqCst);
    }

    pub(crate) fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.rt.spawn(task);
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// From now on nothing re-binds.
    pub(crate) fn mark_stopped(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Closes the socket and cuts its connections.
    pub(crate) fn close(&self) {
        self.slot.close();
    }
}

/// A duplicate handle to a connection's socket, used only to shut it down from outside.
struct Killer(Option<std::net::TcpStream>);

impl Killer {
    fn new(s: &TcpStream) -> Self {
        Killer(dup(s))
    }
    fn kill(self) {
        if let Some(s) = self.0 {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[cfg(unix)]
fn dup(s: &TcpStream) -> Option<std::net::TcpStream> {
    use std::os::fd::AsFd;
    s.as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::net::TcpStream::from)
}

#[cfg(windows)]
fn dup(s: &TcpStream) -> Option<std::net::TcpStream> {
    use std::os::windows::io::AsSocket;
    s.as_socket()
        .try_clone_to_owned()
        .ok()
        .map(std::net::TcpStream::from)
}

#[cfg(not(any(unix, windows)))]
fn dup(_: &TcpStream) -> Option<std::net::TcpStream> {
    None
}

/// What `axum::serve` accepts from: waits while the slot is empty (down) instead of failing.
pub(crate) struct SlotListener {
    slot: Arc<Slot>,
    addr: SocketAddr,
}

impl axum::serve::Listener for SlotListener {
    type Io = TrackedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // While the slot is empty (down) this stays pending and only the notification can
            // end the wait. `notify_one` stores a permit, so a swap is never missed.
            let accepted = poll_fn(|cx| match lock(&self.slot.listener).as_ref() {
                Some(l) => l.poll_accept(cx),
                None => Poll::Pending,
            });
            tokio::select! {
                r = accepted => match r {
                    Ok((stream, peer)) => {
                        let id = self.slot.next_id.fetch_add(1, Ordering::Relaxed);
                        lock(&self.slot.conns).insert(id, Killer::new(&stream));
                        let tracked = TrackedStream { inner: stream, id, slot: self.slot.clone() };
                        return (tracked, peer);
                    }
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!("sim: accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                },
                // The listener was swapped (closed or re-bound): look at the slot again.
                _ = self.slot.wake.notified() => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// A connection that unregisters itself from the kill list when hyper drops it.
pub(crate) struct TrackedStream {
    inner: TcpStream,
    id: u64,
    slot: Arc<Slot>,
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        lock(&self.slot.conns).remove(&self.id);
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
