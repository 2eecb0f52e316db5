//! Steps that set up the backend and connect clients.

use cucumber::{given, then, when};

use super::Who;
use crate::acceptance::DiscosWorld;

/// The backend under test: the run's target, fresh for the scenario unless
/// the target is one running backend that every scenario shares.
#[given("a backend")]
async fn a_backend(world: &mut DiscosWorld) {
    world.start_backend(None).await;
}

/// The simulator (or a `cmd:` backend, through `DISCOS_CATALOGUE`) knowing
/// exactly the configurations of a catalogue file.
#[given(expr = "a backend with the catalogue {string}")]
async fn a_backend_with_catalogue(world: &mut DiscosWorld, catalogue: String) {
    world.start_backend(Some(&catalogue)).await;
}

/// Opens the connection and reads the handshake.
#[given(expr = "{client} is connected")]
#[when(expr = "{client} connects")]
async fn connects(world: &mut DiscosWorld, who: Who) {
    world.connect(&who.0).await;
}

/// Connects the client ("the client") and reads the backend's first
/// line, the handshake.
#[when("a client connects")]
async fn a_client_connects(world: &mut DiscosWorld) {
    world
        .connect(crate::acceptance::world::DEFAULT_CLIENT)
        .await;
}

/// Connects two clients by these names, one after the other, each
/// reading its handshake.
#[given(expr = "the clients {string} and {string} are connected")]
async fn two_clients_connect(world: &mut DiscosWorld, a: String, b: String) {
    world.connect(&a).await;
    world.connect(&b).await;
}

/// The line the backend sent, unprompted, when the connection opened.
#[then(expr = "the connection opens with {string}")]
async fn the_connection_opens_with(world: &mut DiscosWorld, expected: String) {
    connection_opens_with(world, crate::acceptance::world::DEFAULT_CLIENT, &expected).await;
}

/// The line the named client's connection opened with, unprompted.
#[then(expr = "the connection of client {string} opens with {string}")]
async fn the_connection_of_opens_with(world: &mut DiscosWorld, name: String, expected: String) {
    connection_opens_with(world, &name, &expected).await;
}

async fn connection_opens_with(world: &mut DiscosWorld, name: &str, expected: &str) {
    let got = world.party(name).await.client.handshake().clone();
    if let Err(difference) = crate::protocol::contract::compare(expected, &got) {
        world.fail_clause(
            "handshake",
            format!(
                "expected the connection of {name} to open with\n    {expected}\nbut it opened with\n    {got}\n({difference})"
            ),
        );
    }
}

/// Stops the backend under the clients' feet, as a crash or a shutdown
/// would; only a backend this run started can be stopped.
#[when("the backend stops")]
async fn the_backend_stops(world: &mut DiscosWorld) {
    let Some(mut backend) = world.backend.take() else {
        world.fail("there is no backend to stop; say \"Given a backend\" first");
    };
    if !backend.is_owned() {
        let address = backend.address();
        world.backend = Some(backend);
        world.fail(format!(
            "the backend at {address} was not started by this run and cannot be stopped by it; tag this scenario @fresh"
        ));
    }
    let leaks = backend.stop().await;
    world.backend = Some(backend);
    if !leaks.is_empty() {
        world.fail(format!(
            "the backend did not stop cleanly: {}",
            leaks.join("; ")
        ));
    }
}
