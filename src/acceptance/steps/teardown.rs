//! A step that breaks the rules on purpose, to prove the verified teardown
//! notices. Use it only in scenarios tagged `@deliberate-leak`, which the
//! default run leaves out.

use cucumber::when;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::acceptance::DiscosWorld;

/// Opens a connection to the backend and keeps it open past the end of
/// the scenario, so that the verified teardown must find it; only for
/// scenarios tagged `@deliberate-leak`.
#[when("a connection is leaked on purpose")]
async fn a_connection_is_leaked(world: &mut DiscosWorld) {
    let address = world.backend_address().await;
    let opened = async {
        let mut stream = TcpStream::connect(&address).await?;
        // Once the handshake has arrived the backend counts the connection.
        let mut byte = [0u8; 1];
        while byte[0] != b'\n' {
            if stream.read(&mut byte).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok::<_, std::io::Error>(stream)
    };
    match opened.await {
        // Kept open past the teardown's client close: the backend still
        // counts it when the check runs.
        Ok(stream) => world.leaked.push(stream),
        Err(error) => world.fail(format!("cannot open a connection to {address}: {error}")),
    }
}
