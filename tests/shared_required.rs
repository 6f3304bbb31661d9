//! Tests that need `../shared` skip on a developer's machine without it, and fail where
//! `WEBVERIFY_REQUIRE_SHARED=1` (CI): run this test binary's own `needs_the_data` with the
//! folder pointed somewhere empty, once each way.

mod common;

use std::process::Command;

#[test]
fn needs_the_data() {
    let shared = shared_or_skip!();
    assert!(shared.join("reference").is_dir());
}

fn run_needs_the_data(required: bool) -> (bool, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "needs_the_data", "--nocapture"])
        .env("WEBVERIFY_SHARED", "/nonexistent/webverify-shared");
    if required {
        command.env("WEBVERIFY_REQUIRE_SHARED", "1");
    } else {
        command.env_remove("WEBVERIFY_REQUIRE_SHARED");
    }
    let out = command.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn a_missing_shared_folder_skips_on_a_developer_machine() {
    let (passed, text) = run_needs_the_data(false);
    assert!(passed, "{text}");
    assert!(text.contains("SKIPPED"), "{text}");
}

#[test]
fn a_missing_shared_folder_fails_where_required() {
    let (passed, text) = run_needs_the_data(true);
    assert!(!passed, "{text}");
    assert!(text.contains("WEBVERIFY_REQUIRE_SHARED=1"), "{text}");
}
