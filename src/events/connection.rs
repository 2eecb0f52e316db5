//! One connection to the broker and one channel on it, opened as the AMQP
//! connector of old did it — connect, authenticate, open a channel — with
//! each way of failing told apart, and closed so that the broker sees it go.

use std::time::Duration;

use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use lapin::{Channel, Connection, ConnectionProperties, ErrorKind};

use super::url::BrokerUrl;

/// How long connecting, logging in and opening a channel may take: a port
/// that accepts but never speaks AMQP must not hang its caller.
pub const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// Why a connection to the broker could not be had or kept.
// Each variant's fields are the words of its message, which says what they are.
#[allow(missing_docs)]
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// Nothing answered at the broker's address.
    #[error("cannot reach the broker at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The broker refused the login (wrong user or password, or no access
    /// to the virtual host).
    #[error("the broker at {url} refused the login of \"{user}\": {reason}")]
    Refused {
        url: String,
        user: String,
        reason: String,
    },
    /// The broker did not finish the handshake in time.
    #[error("the broker at {url} did not answer within {limit:?}")]
    TimedOut { url: String, limit: Duration },
    /// The broker closed the connection or a channel, or spoke out of turn.
    #[error("the broker at {url}: {reason}")]
    Protocol { url: String, reason: String },
}

impl BrokerError {
    /// Reads a lapin error as one of ours.
    pub(crate) fn from_lapin(url: &BrokerUrl, error: &lapin::Error) -> BrokerError {
        let url_text = url.to_string();
        match error.kind() {
            ErrorKind::IOError(io) => BrokerError::Unreachable {
                url: url_text,
                reason: io.to_string(),
            },
            ErrorKind::ProtocolError(amqp)
                if matches!(
                    amqp.kind(),
                    AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED)
                        | AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED)
                ) =>
            {
                BrokerError::Refused {
                    url: url_text,
                    user: url.user().to_owned(),
                    reason: amqp.to_string(),
                }
            }
            _ => BrokerError::Protocol {
                url: url_text,
                reason: error.to_string(),
            },
        }
    }

    /// True when retrying cannot help: the credentials are wrong.
    pub fn is_refusal(&self) -> bool {
        matches!(self, BrokerError::Refused { .. })
    }
}

/// A connection and a channel on it.
#[derive(Debug)]
pub struct Link {
    /// The connection.
    pub connection: Connection,
    /// Its channel.
    pub channel: Channel,
}

impl Link {
    /// Connects to `url`, logs in, and opens a channel, within
    /// [`CONNECT_LIMIT`]. `name` is shown by the broker beside the
    /// connection (`rabbitmqctl list_connections client_properties`), which
    /// is how a test finds the connections it left open.
    pub async fn open(url: &BrokerUrl, name: &str) -> Result<Link, BrokerError> {
        let properties = ConnectionProperties::default().with_connection_name(name.into());
        let opening = async {
            let connection = Connection::connect_uri(url.uri(), properties)
                .await
                .map_err(|error| BrokerError::from_lapin(url, &error))?;
            match connection.create_channel().await {
                Ok(channel) => Ok(Link {
                    connection,
                    channel,
                }),
                Err(error) => {
                    let _ = connection.close(200, "OK".into()).await;
                    Err(BrokerError::from_lapin(url, &error))
                }
            }
        };
        match tokio::time::timeout(CONNECT_LIMIT, opening).await {
            Ok(result) => result,
            Err(_) => Err(BrokerError::TimedOut {
                url: url.to_string(),
                limit: CONNECT_LIMIT,
            }),
        }
    }

    /// Closes the channel and the connection, waiting for the broker to
    /// confirm each; a link the broker already dropped closes quietly.
    pub async fn close(self) {
        if self.channel.status().connected() {
            let _ = self.channel.close(200, "OK".into()).await;
        }
        if self.connection.status().connected() {
            let _ = self.connection.close(200, "OK".into()).await;
        }
    }
}
