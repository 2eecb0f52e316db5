//! Steps that set up the backend and connect clients.

use cucumber::{given, then, when};

use crate::acceptance::DiscosWorld;
use crate::acceptance::world::DEFAULT_CLIENT;

#[given("a backend")]
async fn a_backend(world: &mut DiscosWorld) {
    world.start_backend(None).await;
}

#[given(expr = "a backend with the catalogue {string}")]
async fn a_backend_with_catalogue(world: &mut DiscosWorld, catalogue: String) {
    world.start_backend(Some(&catalogue)).await;
}

#[given(expr = "the client/user is connected")]
#[when(expr = "the client/user connects")]
#[when("a client connects")]
async fn the_client_connects(world: &mut DiscosWorld) {
    world.connect(DEFAULT_CLIENT).await;
}

#[given(expr = "client {string} is connected")]
#[when(expr = "client {string} connects")]
async fn client_connects(world: &mut DiscosWorld, name: String) {
    world.connect(&name).await;
}

#[given(expr = "the clients {string} and {string} are connected")]
async fn two_clients_connect(world: &mut DiscosWorld, a: String, b: String) {
    world.connect(&a).await;
    world.connect(&b).await;
}

#[then(expr = "the connection opens with {string}")]
async fn the_connection_opens_with(world: &mut DiscosWorld, expected: String) {
    connection_opens_with(world, DEFAULT_CLIENT, &expected).await;
}

#[then(expr = "the connection of client {string} opens with {string}")]
async fn the_connection_of_opens_with(world: &mut DiscosWorld, name: String, expected: String) {
    connection_opens_with(world, &name, &expected).await;
}

async fn connection_opens_with(world: &mut DiscosWorld, name: &str, expected: &str) {
    let got = world.party(name).await.client.handshake().to_string();
    if got != expected {
        world.fail(format!(
            "expected the connection of {name} to open with\n    {expected}\nbut it opened with\n    {got}"
        ));
    }
}

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
