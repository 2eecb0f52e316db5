//! DISCOS in the scenarios: steps in the words of the people who run the
//! telescopes, each doing what DISCOS's component (Sardara by default, or
//! Skarab) sends for it, and reading every reply as DISCOS reads it.
//!
//! A `When` step does one thing DISCOS does (initialize, measure the
//! system temperature, run a scan). A failure DISCOS's caller would see (a
//! `start` refused) fails the step at once; one DISCOS only logs (a
//! `get-tpi` refused, a reply that lost a character) is kept, and `Then
//! DISCOS saw no error` (or a `Then` about what DISCOS read) reports it.
//! Each failure says what DISCOS would have logged, why, and the
//! requirement of the contract the backend broke.

use cucumber::{given, then, when};

use crate::acceptance::DiscosWorld;
use crate::acceptance::discos::{Component, Discos, Problem};

/// DISCOS, connecting it as Sardara if no step has connected it.
async fn discos(world: &mut DiscosWorld) -> &mut Discos {
    if world.discos.is_none() {
        connect(world, Component::Sardara).await;
    }
    match world.discos.as_mut() {
        Some(discos) => discos,
        None => unreachable!("connect either connects DISCOS or fails the step"),
    }
}

/// Connects DISCOS as `component`, unless it already is.
async fn connect(world: &mut DiscosWorld, component: Component) {
    if let Some(discos) = &world.discos {
        if discos.component() == component {
            return;
        }
        let connected = discos.component();
        world.fail(format!(
            "DISCOS is already connected as {connected}; say \"Given DISCOS drives the backend as {component}\" before anything else DISCOS does"
        ));
    }
    // Through the link to the backend, when a scenario put one there.
    let address = world.client_address().await;
    match Discos::connect(&address, component).await {
        Ok(discos) => world.discos = Some(discos),
        Err(problem) => fail_with(world, &problem),
    }
}

/// Fails the step with what DISCOS would have made of it, naming the
/// requirement the backend broke, if one does.
fn fail_with(world: &DiscosWorld, problem: &Problem) -> ! {
    fail_with_all(world, std::slice::from_ref(problem))
}

/// The first problem first, whole, so that a recap's first line says
/// what went wrong; then the others, the same problem again counted, not
/// repeated (three refused `get-tpi` of one measurement).
fn fail_with_all(world: &DiscosWorld, problems: &[Problem]) -> ! {
    let mut distinct: Vec<(&Problem, usize)> = Vec::new();
    for problem in problems {
        match distinct.iter_mut().find(|(seen, _)| *seen == problem) {
            Some((_, count)) => *count += 1,
            None => distinct.push((problem, 1)),
        }
    }
    let mut message = String::new();
    for (index, (problem, count)) in distinct.iter().enumerate() {
        if index == 1 {
            message.push_str(&format!("\n{} more problem(s):", distinct.len() - 1));
        }
        let text = problem.to_string();
        if index == 0 {
            message.push_str(&text);
        } else {
            message.push_str("\n  ");
            message.push_str(&text.replace('\n', "\n  "));
        }
        if *count > 1 {
            message.push_str(&format!(" — {count} times"));
        }
    }
    match problems.iter().find_map(|p| p.requirement) {
        Some(requirement) => world.fail_requirement(requirement, message),
        None => world.fail(message),
    }
}

/// Opens DISCOS's connection as Sardara, its component for most
/// backends, reading the greeting whose content it ignores.
#[given("DISCOS is connected to the backend")]
#[when("DISCOS connects to the backend")]
async fn connects(world: &mut DiscosWorld) {
    discos(world).await;
}

/// Connects DISCOS as the component that drives this backend at the
/// telescope: Sardara or Skarab. Say it first: the component decides what
/// DISCOS sends.
#[given(expr = "DISCOS drives the backend as {word}")]
async fn drives_as(world: &mut DiscosWorld, component: String) {
    match component.parse() {
        Ok(component) => connect(world, component).await,
        Err(error) => world.fail(error),
    }
}

/// The backend procedure of an observation with this configuration, as
/// the component runs it: `set-configuration`, then one `set-section` per
/// section with the values of DISCOS's own table, `set-integration` of 40
/// ms, and `cal-on`. The configuration must be one DISCOS knows (SK77,
/// SKARAB_1…).
#[given(expr = "DISCOS has initialized the backend as {string}")]
#[when(expr = "DISCOS initializes the backend as {string}")]
async fn initializes(world: &mut DiscosWorld, id: String) {
    initialize(world, &id, None).await;
}

/// As the procedure above, with every section set to this bandwidth and a
/// sample rate of twice it (`setSection=*,*,2300,*,*,4600,*`).
#[when(expr = "DISCOS initializes the backend as {string} with a bandwidth of {float} MHz")]
async fn initializes_with_bandwidth(world: &mut DiscosWorld, id: String, bandwidth: f64) {
    initialize(world, &id, Some(bandwidth)).await;
}

async fn initialize(world: &mut DiscosWorld, id: &str, bandwidth: Option<f64>) {
    let result = discos(world).await.initialize(id, bandwidth).await;
    if let Err(problem) = result {
        fail_with(world, &problem);
    }
}

/// The operator's `setTsysRange`: later measurements ask for total power
/// over this range; nothing is sent until then.
#[given(
    expr = "the operator sets DISCOS's Tsys range to {float} MHz with a bandwidth of {float} MHz"
)]
async fn tsys_range(world: &mut DiscosWorld, frequency: f64, bandwidth: f64) {
    discos(world).await.set_tsys_range(frequency, bandwidth);
}

/// The operator's `tsys`: total power with the calibration mark off, the
/// zero level, total power with the mark on — three `get-tpi` with the
/// Tsys range. DISCOS only logs what goes wrong; a `Then` checks it.
#[when("DISCOS measures the system temperature")]
async fn measures_tsys(world: &mut DiscosWorld) {
    discos(world).await.measure_system_temperature().await;
}

/// One read of total power (`get-tpi` with the Tsys range), as the
/// components' `getTpi` does it.
#[when("DISCOS reads the total power")]
async fn reads_total_power(world: &mut DiscosWorld) {
    discos(world).await.read_total_power("total power").await;
}

/// Every total-power read so far gave DISCOS exactly this many values,
/// all numbers: one per input of the configuration it set.
#[then(expr = "DISCOS reads {int} total power value(s)")]
async fn reads_n_total_power(world: &mut DiscosWorld, count: usize) {
    check_readings(world, count, |what| what != "RMS", "total power").await;
}

/// The operator's `getRms`: one `get-rms`.
#[when("DISCOS reads the RMS")]
async fn reads_rms(world: &mut DiscosWorld) {
    discos(world).await.read_rms().await;
}

/// Every RMS read so far gave DISCOS exactly this many values.
#[then(expr = "DISCOS reads {int} RMS value(s)")]
async fn reads_n_rms(world: &mut DiscosWorld, count: usize) {
    check_readings(world, count, |what| what == "RMS", "RMS").await;
}

async fn check_readings(
    world: &mut DiscosWorld,
    count: usize,
    wanted: fn(&str) -> bool,
    what: &str,
) {
    let discos = discos(world).await;
    let inputs = discos.inputs();
    let readings: Vec<_> = discos
        .readings()
        .iter()
        .filter(|reading| wanted(reading.what))
        .cloned()
        .collect();
    let problems: Vec<Problem> = discos
        .problems()
        .iter()
        .filter(|problem| readings.iter().any(|r| r.request == problem.request))
        .cloned()
        .collect();
    let setup = discos
        .setup()
        .map_or("no configuration".to_owned(), |s| s.id.to_owned());
    if readings.is_empty() {
        world.fail(format!(
            "DISCOS has read no {what} yet; say \"When DISCOS measures the system temperature\" or \"When DISCOS reads the {what}\" first"
        ));
    }
    if inputs != count {
        // What went wrong before (a refused configuration) says why.
        let earlier = world.discos.as_ref().map(|d| d.problems().to_vec());
        if let Some(earlier) = earlier.filter(|problems| !problems.is_empty()) {
            fail_with_all(world, &earlier);
        }
        world.fail(format!(
            "DISCOS reads {inputs} value(s), one per input of {setup}, not {count}: say which configuration DISCOS initializes the backend as"
        ));
    }
    if !problems.is_empty() {
        fail_with_all(world, &problems);
    }
    if let Some(short) = readings.iter().find(|reading| !reading.complete) {
        world.fail(format!(
            "DISCOS read {} of the {count} {what} value(s) it wanted from {}",
            short.values.len(),
            short.request
        ));
    }
}

/// A scan as the Scheduler runs it: each subscan `start`, then `stop` and
/// `set-filename` with the file's name; then the second `stop` every scan
/// ends with, which a backend may refuse (it is not acquiring).
#[when(expr = "DISCOS runs a scan of {int} subscan(s)")]
async fn runs_a_scan(world: &mut DiscosWorld, subscans: u32) {
    let result = discos(world).await.run_scan(subscans).await;
    if let Err(problem) = result {
        fail_with(world, &problem);
    }
}

/// Several scans, one after the other, each as above.
#[when(expr = "DISCOS runs {int} scans of {int} subscan(s)")]
async fn runs_scans(world: &mut DiscosWorld, scans: u32, subscans: u32) {
    for _ in 0..scans {
        runs_a_scan(world, subscans).await;
    }
}

/// The second `stop` of a scan's end alone (`terminate`): it must be
/// answered, and a refusal is what DISCOS expects when nothing acquires.
#[when("DISCOS stops the backend again, as at the end of every scan")]
async fn stops_again(world: &mut DiscosWorld) {
    discos(world).await.terminate().await;
}

/// The end of a schedule: Skarab sends `end-schedule`, Sardara nothing.
#[when("DISCOS ends the schedule")]
async fn ends_the_schedule(world: &mut DiscosWorld) {
    discos(world).await.end_schedule().await;
}

/// The operator's `backendPark`: Skarab sends `backend-park`, Sardara
/// nothing.
#[when("DISCOS parks the backend")]
async fn parks(world: &mut DiscosWorld) {
    discos(world).await.park().await;
}

/// The operator's `setShift` (Skarab only): `set-shift`.
#[when(expr = "DISCOS sets the shift to {int}")]
async fn sets_the_shift(world: &mut DiscosWorld, shift: i32) {
    let result = discos(world).await.set_shift(shift).await;
    if let Err(problem) = result {
        fail_with(world, &problem);
    }
}

/// Nodding between two feeds (`enable`): `set-enable`; DISCOS then reads
/// four values (Skarab: two for the same feed twice).
#[when(expr = "DISCOS nods between the feeds {int} and {int}")]
async fn nods(world: &mut DiscosWorld, first: i32, second: i32) {
    let result = discos(world).await.enable_feeds(first, second).await;
    if let Err(problem) = result {
        fail_with(world, &problem);
    }
}

/// A read of the component's `status`: `?status`, of which DISCOS reads
/// the third field as its acquiring flag.
#[when("DISCOS asks for the status")]
async fn asks_for_the_status(world: &mut DiscosWorld) {
    discos(world).await.read_status().await;
}

/// Asks for the status and checks DISCOS read "acquiring" (1).
#[then("DISCOS sees the backend acquiring")]
async fn sees_acquiring(world: &mut DiscosWorld) {
    sees(world, 1.0).await;
}

/// Asks for the status and checks DISCOS read "not acquiring" (0).
#[then("DISCOS sees the backend not acquiring")]
async fn sees_not_acquiring(world: &mut DiscosWorld) {
    sees(world, 0.0).await;
}

async fn sees(world: &mut DiscosWorld, wanted: f64) {
    let discos = discos(world).await;
    let before = discos.problems().len();
    let read = discos.read_status().await;
    let problems = discos.problems()[before..].to_vec();
    if !problems.is_empty() {
        fail_with_all(world, &problems);
    }
    if read != Some(wanted) {
        let state = if wanted == 1.0 {
            "acquiring (1)"
        } else {
            "not acquiring (0)"
        };
        let read = read.map_or(
            "nothing".to_owned(),
            crate::acceptance::discos::wire::number,
        );
        world.fail_requirement(
            "acquiring-flag",
            format!("DISCOS expected the backend {state}, and read {read}"),
        );
    }
}

/// A read of the component's `time`: `?time`, its whole part read as Unix
/// seconds.
#[when("DISCOS asks for the time")]
async fn asks_for_the_time(world: &mut DiscosWorld) {
    discos(world).await.read_time().await;
}

/// Asks for the time and checks DISCOS read the Unix seconds of now
/// (within a day: clocks differ, units do not).
#[then("DISCOS reads the backend's clock as Unix seconds")]
async fn reads_the_clock(world: &mut DiscosWorld) {
    let discos = discos(world).await;
    let before = discos.problems().len();
    let read = discos.read_time().await;
    let problems = discos.problems()[before..].to_vec();
    if !problems.is_empty() {
        fail_with_all(world, &problems);
    }
    if read.is_none() {
        world.fail("DISCOS read no time");
    }
}

/// Asks for the configuration (`get-configuration`) and checks the word
/// DISCOS read.
#[then(expr = "DISCOS reads the configuration {string}")]
async fn reads_the_configuration(world: &mut DiscosWorld, id: String) {
    let discos = discos(world).await;
    let before = discos.problems().len();
    let read = discos.read_configuration().await;
    let problems = discos.problems()[before..].to_vec();
    if !problems.is_empty() {
        fail_with_all(world, &problems);
    }
    if read != id {
        world.fail_requirement(
            "ids-as-written",
            format!("DISCOS set the configuration \"{id}\" and read back \"{read}\""),
        );
    }
}

/// Nothing DISCOS did so far went wrong: no failure, nothing it would
/// have logged, no reply it misread.
#[then("DISCOS saw no error")]
async fn saw_no_error(world: &mut DiscosWorld) {
    let problems = discos(world).await.problems().to_vec();
    if !problems.is_empty() {
        fail_with_all(world, &problems);
    }
}
