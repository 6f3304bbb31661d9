//! The `webverify` command (see `webverify::tools::cli`).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    webverify::tools::cli::main()
}

// The crate's tests are also built for wasm32, where there is no command line.
#[cfg(target_arch = "wasm32")]
fn main() {}
