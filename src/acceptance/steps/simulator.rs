//! Steps that look inside the embedded simulator, for what the protocol
//! cannot read back (a file name, the feeds): they belong to `@simulator`
//! scenarios and run only on the `embedded` target.

use cucumber::then;

use crate::acceptance::DiscosWorld;
use crate::backend::Snapshot;

/// What the embedded simulator holds now; fails the step on any other
/// target, saying why.
fn snapshot(world: &DiscosWorld) -> Snapshot {
    match world.backend.as_ref().and_then(|b| b.simulator()) {
        Some(simulator) => simulator.snapshot(),
        None => world.fail(format!(
            "this step looks inside the simulator, which only the embedded target has (the target is {})",
            world.settings.target
        )),
    }
}

/// The file name reached the simulator exactly as the scenario wrote it,
/// unescaped.
#[then(expr = "the simulator's file name is {string}")]
async fn the_file_name_is(world: &mut DiscosWorld, expected: String) {
    let got = snapshot(world).filename;
    if got.as_deref() != Some(expected.as_str()) {
        world.fail(format!(
            "expected the simulator's file name to be\n    {expected:?}\nbut it is\n    {got:?}"
        ));
    }
}

/// The feeds the simulator holds, as `set-enable` left them (the
/// protocol cannot read them back).
#[then(expr = "the simulator's feeds are {int} and {int}")]
async fn the_feeds_are(world: &mut DiscosWorld, feed1: i64, feed2: i64) {
    let got = snapshot(world).feeds;
    if got != (feed1, feed2) {
        world.fail(format!(
            "expected the simulator's feeds to be {feed1} and {feed2}, but they are {} and {}",
            got.0, got.1
        ));
    }
}

/// The calibration interleave the simulator holds, as `cal-on` left it.
#[then(expr = "the simulator's calibration interleave is {int}")]
async fn the_interleave_is(world: &mut DiscosWorld, expected: u64) {
    let got = snapshot(world).calibration;
    if got != Some(expected) {
        world.fail(format!(
            "expected the simulator's calibration interleave to be {expected}, but it is {got:?}"
        ));
    }
}

/// The shift the simulator holds, as `set-shift` left it.
#[then(expr = "the simulator's shift is {int}")]
async fn the_shift_is(world: &mut DiscosWorld, expected: i64) {
    let got = snapshot(world).shift;
    if got != expected {
        world.fail(format!(
            "expected the simulator's shift to be {expected}, but it is {got}"
        ));
    }
}
