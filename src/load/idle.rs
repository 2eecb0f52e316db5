//! Idle connections: how many a backend can hold, what they cost it in
//! memory, and whether it still answers on them.
//!
//! A DISCOS backend serves a few busy clients and may be left holding many
//! quiet ones; holding them must neither exhaust its memory nor make it
//! forget them. So the tool opens N connections (each reads its handshake,
//! as a real client does), holds them through the active run if there is
//! one, then asks a sample spread over them for `status`.
//!
//! A client can also stall in the middle of a line, and a backend that
//! keeps every unfinished line can be made to hold N times its line limit.
//! With an unfinished line asked for, each connection sends the start of a
//! `set-filename` line and not its end; the sample finishes the line (and
//! takes whatever answer it gets, `ok` or `invalid`) before asking `status`.

use std::sync::Arc;

use futures::StreamExt;
use futures::future::join_all;

use super::progress::Counters;
use super::report::{IdleReport, Tally};
use super::{CONNECTING_AT_ONCE, Config, connect_all};
use crate::client::Client;
use crate::protocol::{Code, Message};
use crate::system;

/// Idle connections opened and held.
pub(super) struct Held {
    clients: Vec<Client>,
    asked: usize,
    pub(super) connect_failures: Tally,
}

/// Opens `config.idle_connections` connections and keeps them, each with
/// its unfinished line sent if one is asked for.
pub(super) async fn open(config: &Config, address: &str, counters: &Arc<Counters>) -> Held {
    let (mut clients, mut connect_failures) =
        connect_all(config, address, config.idle_connections, counters).await;
    if config.idle_unfinished_line > 0 {
        let line = unfinished_line(config.idle_unfinished_line);
        let sent = futures::stream::iter(clients)
            .map(|mut client| {
                let line = &line;
                async move {
                    let sent = tokio::time::timeout(config.reply_timeout, client.send_raw(line));
                    match sent.await {
                        Ok(Ok(())) => Ok(client),
                        Ok(Err(error)) => Err(format!("cannot send an unfinished line: {error}")),
                        Err(_) => Err(format!(
                            "the backend did not take an unfinished line within {:?}",
                            config.reply_timeout
                        )),
                    }
                }
            })
            .buffer_unordered(CONNECTING_AT_ONCE)
            .collect::<Vec<_>>()
            .await;
        clients = Vec::with_capacity(sent.len());
        for outcome in sent {
            match outcome {
                Ok(client) => clients.push(client),
                Err(error) => connect_failures.add(1, &error),
            }
        }
    }
    Held {
        clients,
        asked: config.idle_connections,
        connect_failures,
    }
}

/// The start of a `set-filename` line, `bytes` long, without its end.
fn unfinished_line(bytes: usize) -> Vec<u8> {
    let mut line = b"?set-filename,".to_vec();
    line.resize(bytes, b'x');
    line
}

/// Ends the unfinished line and reads its one answer, whatever its code: a
/// backend may keep the line and answer it now, or have refused it already.
async fn finish_line(client: &mut Client) -> Result<(), String> {
    client.send_raw(b"\r\n").await.map_err(|e| e.to_string())?;
    match client.receive().await {
        Ok(reply) if reply.name == "set-filename" => Ok(()),
        Ok(reply) => Err(format!(
            "{reply} (in reply to the finished set-filename line)"
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// The indices of `sample` connections spread evenly over `held`.
pub(super) fn spread(held: usize, sample: usize) -> impl Iterator<Item = usize> {
    let sample = sample.min(held);
    (0..sample).map(move |i| i * held / sample)
}

impl Held {
    /// Reads the server's memory while every connection is still held (and
    /// every unfinished line still unfinished), asks the sample for
    /// `status`, then lets them all go.
    pub(super) async fn check(mut self, config: &Config) -> IdleReport {
        let server_rss_bytes = config
            .server_pid
            .and_then(|pid| system::resident_memory(pid).ok());
        let server_peak_rss_bytes = config
            .server_pid
            .and_then(|pid| system::peak_resident_memory(pid).ok());
        let status = Message::request("status", Vec::<String>::new());
        let unfinished = config.idle_unfinished_line > 0;
        let held = self.clients.len();
        let mut sampled = Vec::new();
        // Take the sampled clients out, keeping the rest held meanwhile.
        for index in spread(held, config.idle_sample)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            sampled.push(self.clients.swap_remove(index));
        }
        let answers = join_all(sampled.iter_mut().map(|client| {
            let status = &status;
            async move {
                if unfinished {
                    finish_line(client).await?;
                }
                match client.request(status).await {
                    Ok(reply) if reply.code() == Some(Code::Ok) && reply.name == "status" => Ok(()),
                    Ok(reply) => Err(format!("{reply} (in reply to {status})")),
                    Err(error) => Err(error.to_string()),
                }
            }
        }))
        .await;
        let mut idle_failures = Tally::default();
        for failure in answers.iter().filter_map(|a| a.as_ref().err()) {
            idle_failures.add(1, failure);
        }
        drop(sampled);
        drop(self.clients);
        IdleReport {
            idle_connections: self.asked,
            idle_held: held,
            idle_unfinished_line_bytes: config.idle_unfinished_line,
            idle_sampled: answers.len(),
            idle_answering: answers.iter().filter(|a| a.is_ok()).count(),
            server_rss_bytes,
            server_peak_rss_bytes,
            idle_failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_spread_over_every_connection() {
        let picked: Vec<_> = spread(10_000, 100).collect();
        assert_eq!(picked.len(), 100);
        assert_eq!(picked[0], 0);
        assert_eq!(picked[99], 9_900);
        assert!(picked.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(spread(3, 100).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(spread(0, 100).count(), 0);
    }
}
