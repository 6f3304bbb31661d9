//! Challenge liveness end to end on the native build: test videos made by
//! `tools::challenge_video` from real NUAA frames (a live face, and a printed photo of it,
//! warped along their face mesh into the motions) go through the detector, the mesh and the
//! passive model frame by frame, and the decision is the one the motions and the print call
//! for. (The decision logic alone is tested on crafted observations in
//! `src/liveness/challenge.rs`.)

mod common;

use std::path::Path;

use webverify::challenge::{Action, ChallengeStatus, Failure};
use webverify::tools::challenge_eval::{self, run, FPS};
use webverify::tools::challenge_video::{script, video};
use webverify::{Backend, FaceMesh, Image, Liveness, LivenessModel, Pipeline};

struct Models {
    pipeline: Pipeline,
    mesh: FaceMesh,
    liveness: Liveness,
}

fn models() -> Models {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let device = Backend::Flex.cpu_device().unwrap();
    let read = |p: &str| std::fs::read(root.join(p)).unwrap();
    Models {
        pipeline: common::pipeline(),
        mesh: FaceMesh::with_device(&read(webverify::DEFAULT_MESH_PATH), device.clone()).unwrap(),
        liveness: Liveness::new(vec![LivenessModel::with_device(
            &read(webverify::DEFAULT_LIVENESS_PATH),
            device,
        )
        .unwrap()])
        .unwrap(),
    }
}

/// `frame` made into a video at [`FPS`] that makes `motions`.
fn video_of(m: &Models, frame: &Path, motions: &[Action]) -> Vec<Image> {
    let poses = script(motions, FPS, 1.0, 1.5).unwrap();
    video(&m.pipeline, &m.mesh, &Image::open(frame).unwrap(), &poses).unwrap()
}

/// Runs a challenge asking for `asked` on `frames`, at the shipped BPCER 5 % threshold.
fn challenge(m: &Models, asked: &[Action], step_ms: f64, frames: &[Image]) -> ChallengeStatus {
    let threshold = m.liveness.threshold(0.05, None).unwrap();
    let models = challenge_eval::Models {
        pipeline: &m.pipeline,
        mesh: &m.mesh,
        liveness: &m.liveness,
    };
    run(&models, asked, step_ms, threshold, frames).unwrap()
}

#[test]
fn a_live_face_making_the_asked_motions_passes_and_a_still_one_fails() {
    let shared = shared_or_skip!();
    let m = models();
    let live = shared.join("data/nuaa/ClientRaw/0001/0001_00_00_01_0.jpg");
    let asked = [Action::TurnLeft, Action::LookUp, Action::TurnRight];
    let s = challenge(&m, &asked, 5000.0, &video_of(&m, &live, &asked));
    println!("{s:?}");
    assert!(s.done && s.passed, "{s:?}");
    assert!(s.steps.iter().all(|st| st.passed && st.ms.unwrap() > 0.0));
    assert!(s.passive.unwrap().live);

    // The same face held still: live to the passive model, but it never turns.
    let still = video_of(&m, &live, &[]);
    let frames: Vec<Image> = still.iter().cycle().take(30).cloned().collect();
    let s = challenge(&m, &asked, 3000.0, &frames);
    assert_eq!(
        (s.done, s.passed, s.failure),
        (true, false, Some(Failure::Timeout)),
        "{s:?}"
    );
    assert!(s.passive.unwrap().live, "{s:?}");
}

#[test]
fn motions_in_another_order_or_by_a_print_fail() {
    let shared = shared_or_skip!();
    let m = models();
    // A recording of the motions in another order than the one asked: it turns right while
    // left is asked.
    let live = shared.join("data/nuaa/ClientRaw/0001/0001_00_00_01_0.jpg");
    let recorded = video_of(&m, &live, &[Action::TurnRight, Action::TurnLeft]);
    let s = challenge(
        &m,
        &[Action::TurnLeft, Action::TurnRight],
        5000.0,
        &recorded,
    );
    assert_eq!(s.failure, Some(Failure::WrongMotion), "{s:?}");

    // A printed photo bent and tilted through the motions: the motions pass, the passive model
    // does not.
    let print = shared.join("data/nuaa/ImposterRaw/0001/0001_00_00_01_0.jpg");
    let asked = [Action::TurnLeft, Action::LookUp];
    let s = challenge(&m, &asked, 5000.0, &video_of(&m, &print, &asked));
    println!("{s:?}");
    assert!(s.steps.iter().all(|st| st.passed), "{s:?}");
    assert_eq!(
        (s.passed, s.failure),
        (false, Some(Failure::NotLive)),
        "{s:?}"
    );
}
