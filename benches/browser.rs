//! Seconds per browser scenario: the `@browser` scenarios of `features/`
//! (the web console's), run RUNS times (default 3) through the library's
//! runner exactly as `cargo test --test acceptance -- --tags @browser` runs
//! them, each run a fresh one: its WebDriver started by its first browser
//! scenario and stopped, verified, at its end.
//!
//! `cargo bench --bench browser [-- RUNS]`. Each line gives the run's wall
//! time divided by the scenarios it ran (what a suite pays, the WebDriver's
//! start and stop included), the mean of the scenarios' own durations, and
//! the load average when the run began: the machine is shared, so a figure
//! means something only beside its load.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use discos_acceptance::acceptance::Status;
use discos_acceptance::acceptance::browser::Installation;
use discos_acceptance::orchestration::reaper;
use discos_acceptance::run::{Options, run_quietly};

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn main() -> ExitCode {
    let runs = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(3);
    if let Err(missing) = Installation::find() {
        println!("browser benchmark skipped: {missing}");
        return ExitCode::SUCCESS;
    }
    let features = Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
    let artifacts = std::env::temp_dir().join(format!("discos-bench-{}", std::process::id()));
    if let Err(error) = reaper().remove_at_exit(&artifacts) {
        eprintln!("cannot register {}: {error}", artifacts.display());
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut per_scenario = Vec::new();
    for run in 1..=runs {
        let load = load_average();
        let argv = [
            "browser-bench",
            "--tags",
            "@browser",
            "--artifacts",
            &artifacts.to_string_lossy(),
        ]
        .map(str::to_owned);
        let options = match Options::try_parse_from(argv) {
            Ok(options) => options,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        };
        let began = Instant::now();
        let outcome = match runtime.block_on(run_quietly(options, &features)) {
            Ok(outcome) => outcome,
            Err(error) => {
                eprintln!("the run did not start: {error:#}");
                return ExitCode::FAILURE;
            }
        };
        let wall = began.elapsed();
        let passed = outcome.report.count(Status::Passed);
        if !outcome.passed || passed == 0 {
            eprintln!("run {run} did not pass:\n{}", outcome.output);
            return ExitCode::FAILURE;
        }
        let own: Vec<Duration> = outcome
            .report
            .scenarios()
            .filter_map(|(_, scenario)| scenario.duration)
            .collect();
        let own_mean = own.iter().sum::<Duration>().as_secs_f64() / own.len().max(1) as f64;
        let each = wall.as_secs_f64() / passed as f64;
        per_scenario.push(each);
        println!(
            "run {run}: {passed} browser scenarios in {:.2} s: {each:.3} s per scenario \
             (scenarios' own mean {own_mean:.3} s), load average {load} at the start",
            wall.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&artifacts);
    let mean = per_scenario.iter().sum::<f64>() / per_scenario.len().max(1) as f64;
    let best = per_scenario.iter().copied().fold(f64::INFINITY, f64::min);
    let worst = per_scenario.iter().copied().fold(0.0, f64::max);
    println!(
        "{runs} run(s): {mean:.3} s per browser scenario on average (best run {best:.3} s, worst {worst:.3} s)"
    );
    ExitCode::SUCCESS
}
