//! `cargo test --test acceptance`: the features in `features/`, run against
//! the backend chosen with `--target` (after `--`) or `DISCOS_TARGET`.

fn main() -> std::process::ExitCode {
    discos_acceptance::acceptance::main(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))
}
