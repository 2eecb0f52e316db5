//! The server's buffer budget: the bytes all connections together may hold.
//!
//! A connection that is waiting costs the server only its task and socket
//! (about 2.8 KB), but each one *could* hold a line up to the line limit and
//! a batch of replies its client does not read. A limit per connection
//! cannot keep both promises at once: 16 384 connections × 64 KiB lines is
//! 1 GiB, yet 10 000 idle connections must stay cheap. So the bound is
//! server-wide, in two pools, because the two kinds of buffer call for
//! different answers when room runs out:
//!
//! - **Unfinished lines** (what a connection keeps of a line while it waits
//!   for the rest): a line that does not fit is answered `invalid` and
//!   discarded up to its end, at once. Waiting would let a few thousand
//!   stalled lines block everyone until they time out; refusing costs only
//!   the line that came too late, and the connection goes on.
//! - **Serving** (a read of up to 8 KiB and the replies to it, until they
//!   are written): a connection waits for room before it reads, so its bytes
//!   wait in TCP and nothing is lost. Room comes back as soon as a batch is
//!   written; what holds it longest is a client that does not read its
//!   replies.
//!
//! Waiting for serving room is fair (first come, first served), and a
//! connection holds no serving room while it waits for its client to send,
//! so an unfinished line never keeps another connection from being served.
//!
//! The proxy's links hold their buffers in the same kind of budget, for the
//! same reasons (see [`crate::proxy`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One pool of bytes, shared by every connection.
#[derive(Debug)]
pub(crate) struct Pool {
    semaphore: Arc<Semaphore>,
    size: usize,
    waiting: AtomicUsize,
}

impl Pool {
    pub(crate) fn new(size: usize) -> Pool {
        let size = size.min(Semaphore::MAX_PERMITS);
        Pool {
            semaphore: Arc::new(Semaphore::new(size)),
            size,
            waiting: AtomicUsize::new(0),
        }
    }

    /// Bytes held now by all connections together.
    pub(crate) fn in_use(&self) -> usize {
        self.size - self.semaphore.available_permits()
    }

    /// Connections waiting for room in it now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

/// What one connection holds of one pool.
#[derive(Debug, Default)]
pub(crate) struct Share {
    permit: Option<OwnedSemaphorePermit>,
}

impl Share {
    /// Bytes held.
    pub(crate) fn held(&self) -> usize {
        self.permit
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Grows or shrinks the share to `bytes` without waiting; false (and
    /// unchanged) when the pool has not that much room left.
    pub(crate) fn try_resize(&mut self, pool: &Pool, bytes: usize) -> bool {
        let held = self.held();
        if bytes <= held {
            self.shrink_to(bytes);
            return true;
        }
        let Ok(more) = u32::try_from(bytes - held) else {
            return false;
        };
        match pool.semaphore.clone().try_acquire_many_owned(more) {
            Ok(more) => {
                self.add(more);
                true
            }
            Err(_) => false,
        }
    }

    /// Grows the share to at least `bytes` (at most the whole pool), waiting
    /// in line for the room. Cancel-safe: dropped while waiting, it holds
    /// what it held before.
    pub(crate) async fn grow_to(&mut self, pool: &Pool, bytes: usize) {
        let bytes = bytes.min(pool.size);
        let held = self.held();
        if bytes <= held || self.try_resize(pool, bytes) {
            return;
        }
        let more = u32::try_from(bytes - held).unwrap_or(u32::MAX);
        let waiting = Waiting::new(&pool.waiting);
        // The semaphore is never closed, so acquiring cannot fail.
        if let Ok(more) = pool.semaphore.clone().acquire_many_owned(more).await {
            self.add(more);
        }
        drop(waiting);
    }

    /// Gives back what is held beyond `bytes`.
    pub(crate) fn shrink_to(&mut self, bytes: usize) {
        if bytes == 0 {
            self.permit = None;
        } else if let Some(permit) = &mut self.permit
            && permit.num_permits() > bytes
        {
            drop(permit.split(permit.num_permits() - bytes));
        }
    }

    fn add(&mut self, more: OwnedSemaphorePermit) {
        match &mut self.permit {
            Some(permit) => permit.merge(more),
            None => self.permit = Some(more),
        }
    }
}

/// Counts a connection as waiting for as long as it lives, so a waiter
/// dropped by a shutdown or a line timeout is counted out too.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Waiting<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_grows_and_shrinks_within_its_pool() {
        let pool = Pool::new(100);
        let mut a = Share::default();
        let mut b = Share::default();
        assert!(a.try_resize(&pool, 60));
        assert!(!b.try_resize(&pool, 50), "only 40 left");
        assert_eq!(b.held(), 0);
        assert!(b.try_resize(&pool, 40));
        assert_eq!(pool.in_use(), 100);
        a.shrink_to(10);
        assert_eq!((a.held(), pool.in_use()), (10, 50));
        assert!(a.try_resize(&pool, 0));
        drop(b);
        assert_eq!(pool.in_use(), 0);
    }

    #[tokio::test]
    async fn a_share_waits_for_room_and_is_counted_while_it_waits() {
        let pool = Arc::new(Pool::new(100));
        let mut holder = Share::default();
        holder.grow_to(&pool, 80).await;
        let waiter = tokio::spawn({
            let pool = pool.clone();
            async move {
                let mut share = Share::default();
                share.grow_to(&pool, 50).await;
                share.held()
            }
        });
        while pool.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        holder.shrink_to(50);
        assert_eq!(waiter.await.unwrap(), 50);
        assert_eq!(pool.waiting(), 0);
        // More than the pool is asked: the whole pool is the most it gets.
        let mut greedy = Share::default();
        holder.shrink_to(0);
        greedy.grow_to(&pool, 1000).await;
        assert_eq!(greedy.held(), 100);
    }
}
