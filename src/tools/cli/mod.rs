//! The native command line: model conversion, embedding and verification of image files,
//! evaluation, liveness, fine-tuning and the native benchmarks. (`src/bin/webverify.rs` is its
//! entry point.) The arguments are `args`; each command runs in the file of its family.

mod args;
mod bench;
mod convert;
mod convert_args;
mod eval;
mod face;
mod liveness;
#[cfg(feature = "train")]
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use args::Command;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "webverify",
    version,
    about = "Face verification with a burn MobileFaceNet"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Runs the command line with the process arguments.
pub fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> crate::Result<()> {
    match command {
        Command::Convert(a) => convert::convert(a),
        Command::Store(a) => convert::store(a),
        Command::Embed(a) => face::embed(a),
        Command::Detect(a) => face::detect(a),
        Command::Landmarks(a) => face::landmarks(a),
        Command::Verify(a) => face::verify(a),
        Command::Challenge(a) => liveness::challenge(a),
        Command::EvalChallenge(a) => liveness::eval_challenge(a),
        Command::ChallengeVideo(a) => liveness::challenge_video(a),
        Command::Liveness(a) => liveness::liveness(a),
        Command::EvalLiveness(a) => liveness::eval_liveness(a),
        Command::Eval(a) => eval::eval(a),
        Command::Calibrate(a) => eval::calibrate(a),
        Command::EvalIdentify(a) => eval::eval_identify(a),
        #[cfg(feature = "train")]
        Command::Train(a) => train::train(a),
        Command::BenchIdentify(a) => bench::bench_identify_command(a),
        Command::Bench(a) => bench::bench_command(a),
    }
}

/// Writes a weights file and says what it wrote (size, storage, checksum).
fn write_weights(out: &std::path::Path, bytes: &[u8], storage: &str) -> crate::Result<()> {
    std::fs::write(out, bytes)
        .map_err(|e| crate::Error::ModelLoad(format!("cannot write {}: {e}", out.display())))?;
    println!(
        "wrote {} ({} bytes, {storage}, sha256 {})",
        out.display(),
        bytes.len(),
        crate::io::weights::sha256_hex(bytes)
    );
    Ok(())
}

fn read(path: &PathBuf) -> crate::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| crate::Error::ModelLoad(format!("cannot read {}: {e}", path.display())))
}

fn json(value: &impl serde::Serialize) -> crate::Result<String> {
    serde_json::to_string(value).map_err(|e| crate::Error::Inference(e.to_string()))
}
