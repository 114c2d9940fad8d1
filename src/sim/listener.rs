//! The data listener: a socket that can be closed and re-bound on the same address while one
//! `axum::serve` keeps running, and connections that can be cut when the system goes `down`.
//!
//! `down` must mean connection refused *at once*, so the listening socket lives in a slot that
//! `set_scenario` empties synchronously (dropping it closes the fd), rather than inside a task.

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the simulator down with it: the data stays usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
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
    pub(crate) slot: Arc<Slot>,
    pub(crate) addr: SocketAddr,
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
