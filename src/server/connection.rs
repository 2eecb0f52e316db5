//! One client connection: read lines, answer each in order, write replies
//! in batches.
//!
//! Replies to every request that arrived in one read are written with one
//! write, so a pipelining client costs one system call per batch rather than
//! one per reply, and a client that only sends (never reads) is held back by
//! TCP instead of growing a buffer here.
//!
//! A connection waiting for its client holds no buffer: they are dropped
//! before each wait and taken again when bytes arrive, so ten thousand quiet
//! clients cost the server little more than their sockets.

use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::{Decoder, Encoder};
use tokio_util::io::poll_read_buf;
use tokio_util::sync::CancellationToken;

use super::panic;
use crate::backend::Handler;
use crate::client::escape_line;
use crate::protocol::{LineCodec, Message, ProtocolError, handshake};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8 * 1024;
/// Replies buffered before they are written even mid-batch.
const WRITE_HIGH_WATER: usize = 64 * 1024;

pub(super) struct Connection {
    stream: TcpStream,
    handler: Arc<dyn Handler>,
    codec: LineCodec,
    input: BytesMut,
    output: BytesMut,
}

impl Connection {
    pub(super) fn new(stream: TcpStream, handler: Arc<dyn Handler>, max_line: usize) -> Connection {
        Connection {
            stream,
            handler,
            codec: LineCodec::new(max_line),
            input: BytesMut::new(),
            output: BytesMut::new(),
        }
    }

    /// Serves the connection until the client closes it, an I/O error, or
    /// `token` is cancelled.
    pub(super) async fn run(&mut self, token: CancellationToken) -> std::io::Result<()> {
        self.stream.set_nodelay(true)?;
        self.codec.encode(&handshake(), &mut self.output)?;
        loop {
            while let Some(frame) = self.codec.decode(&mut self.input)? {
                self.answer(frame).await;
                if self.output.len() >= WRITE_HIGH_WATER {
                    self.write(&token).await?;
                }
            }
            self.write(&token).await?;
            let read = loop {
                // Nothing unanswered is left: hand the buffers back while
                // the client thinks or idles.
                if self.input.is_empty() {
                    self.input = BytesMut::new();
                }
                self.output = BytesMut::new();
                // Ready at once when bytes are known to be waiting.
                tokio::select! {
                    biased;
                    () = token.cancelled() => return Ok(()),
                    ready = self.stream.readable() => ready?,
                }
                if let Some(read) = self.read_ready().await {
                    break read?;
                }
            };
            if read == 0 {
                // The client closed its side; a last line without its line
                // end still gets its answer.
                while let Some(frame) = self.codec.decode_eof(&mut self.input)? {
                    self.answer(frame).await;
                }
                return self.write(&token).await;
            }
        }
    }

    /// Reads what has already arrived, without waiting; `None` when nothing
    /// has. Reads through `poll_read`, which takes a short read as "socket
    /// drained", so the next wait goes straight to the poller instead of
    /// costing a read that finds nothing: three system calls per batch
    /// (read, write, poll), not four.
    async fn read_ready(&mut self) -> Option<std::io::Result<usize>> {
        self.input.reserve(READ_CHUNK);
        let (stream, input) = (&mut self.stream, &mut self.input);
        std::future::poll_fn(|cx| {
            Poll::Ready(match poll_read_buf(Pin::new(&mut *stream), cx, input) {
                Poll::Ready(read) => Some(read),
                Poll::Pending => None,
            })
        })
        .await
    }

    async fn write(&mut self, token: &CancellationToken) -> std::io::Result<()> {
        if self.output.is_empty() {
            return Ok(());
        }
        tokio::select! {
            biased;
            () = token.cancelled() => Ok(()),
            written = self.stream.write_all_buf(&mut self.output) => written,
        }
    }

    async fn answer(&mut self, frame: Result<Message, ProtocolError>) {
        let reply = match frame {
            Ok(request) if request.is_request() => self.call(&request).await,
            Ok(reply) => Message::invalid(
                &reply.name,
                "a reply ('!') was sent to the server; requests start with '?'",
            ),
            Err(error) => error.to_reply(),
        };
        reply.write_to(&mut self.output);
    }

    /// Calls the handler; a panic in it becomes a `fail` reply and one log
    /// line.
    async fn call(&self, request: &Message) -> Message {
        match panic::catch(self.handler.handle(request)).await {
            Ok(reply) => reply,
            Err(caught) => {
                tracing::error!(
                    request = %escape_line(&request.to_string()),
                    panic = ?caught.message,
                    at = %caught.location.as_deref().unwrap_or("unknown"),
                    "handler panicked; answered fail"
                );
                Message::fail(&request.name, format!("internal error: {}", caught.message))
            }
        }
    }
}
