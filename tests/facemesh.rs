//! The Face Mesh port: our graph executor on the converted weights gives TF.js's 468 points and
//! face probability (tests/fixtures/facemesh-reference.json, made by
//! tools/facemesh_reference.mjs with TF.js 4.22 on the source graph) on synthetic inputs and on
//! the reference faces; the converter is deterministic; crafted programs are refused.

mod common;

use std::path::Path;

use webverify::io::weights::set_metadata;
use webverify::{Backend, ErrorCode, FaceMesh, Image};

const SIDE: usize = 192;

fn weights() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/facemesh.safetensors"))
        .expect("models/facemesh.safetensors is committed")
}

fn reference() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/facemesh-reference.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The script's synthetic pattern `k`, planar RGB `[3, 192, 192]`, values 0–1.
fn synthetic(k: usize) -> Vec<f32> {
    let mut out = vec![0.0; 3 * SIDE * SIDE];
    for y in 0..SIDE {
        for x in 0..SIDE {
            for c in 0..3 {
                let v = (29 * x + 53 * y + 97 * c + 41 * k * k + (x * y) % 13 * 7) % 256;
                out[c * SIDE * SIDE + y * SIDE + x] = v as f32 / 255.0;
            }
        }
    }
    out
}

/// A reference face enlarged by nearest neighbour, as the script does.
fn face(image: &Image) -> Vec<f32> {
    let (w, h) = (image.width(), image.height());
    let rgb = image.as_rgb();
    let mut out = vec![0.0; 3 * SIDE * SIDE];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (sx, sy) = (x * w / SIDE, y * h / SIDE);
            for c in 0..3 {
                out[c * SIDE * SIDE + y * SIDE + x] = rgb[(sy * w + sx) * 3 + c] as f32 / 255.0;
            }
        }
    }
    out
}

fn check(backend: Backend, inputs: Vec<f32>, first: usize) {
    let reference = reference();
    let n = inputs.len() / (3 * SIDE * SIDE);
    let mesh = FaceMesh::with_device(&weights(), backend.cpu_device().unwrap()).unwrap();
    let (points, faces) = pollster::block_on(mesh.run_async(inputs, n)).unwrap();
    let mut worst = 0.0f32;
    for i in 0..n {
        let want: Vec<f32> = reference["mesh"][first + i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        for (g, w) in points[i * 1404..(i + 1) * 1404].iter().zip(&want) {
            worst = worst.max((g - w).abs());
        }
        let flag = reference["faceflag"][first + i].as_f64().unwrap() as f32;
        // The engine gives the logit; the source graph the probability.
        let face = 1.0 / (1.0 + (-faces[i]).exp());
        assert!(
            (face - flag).abs() < 1e-3,
            "input {}: face {face} vs {flag}",
            first + i,
        );
    }
    println!(
        "mesh on {}: worst |coordinate difference| {worst:.2e} pixels",
        backend.name()
    );
    // TF.js's CPU kernels and burn's sum in other orders; a wrong layer moves points by pixels.
    assert!(worst < 2e-2, "{} pixels", worst);
}

#[test]
fn synthetic_inputs_give_tfjs_points() {
    for backend in Backend::compiled() {
        check(backend, (0..2).flat_map(synthetic).collect(), 0);
    }
}

#[test]
fn reference_faces_give_tfjs_points() {
    let shared = shared_or_skip!();
    let names = reference()["inputs"].as_array().unwrap()[2..].to_vec();
    let inputs: Vec<f32> = names
        .iter()
        .flat_map(|n| {
            let path = shared
                .join("reference/mobilefacenet/inputs")
                .join(n[1].as_str().unwrap());
            face(&Image::open(path).unwrap())
        })
        .collect();
    check(Backend::Flex, inputs, 2);
}

#[test]
fn crafted_mesh_weights_are_refused() {
    let good = weights();
    let code =
        |bytes: &[u8]| match FaceMesh::with_device(bytes, Backend::Flex.cpu_device().unwrap()) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.kind(),
        };
    assert_eq!(code(&good[..good.len() / 3]), ErrorCode::ModelLoad);
    assert_eq!(
        code(&set_metadata(&good, "program", None).unwrap()),
        ErrorCode::ModelLoad
    );
    // An op reading one that runs after it, an impossible conv, garbage.
    for program in [
        r#"{"ops":[{"op":"input","channels":3,"size":192},{"op":"sigmoid","input":5}]}"#,
        r#"{"ops":[{"op":"input","channels":3,"size":192},{"op":"conv","input":0,"in_channels":0,"out_channels":4,"kernel":3,"stride":1,"depthwise":false,"same":true,"prelu":false}]}"#,
        r#"{"ops":[{"op":"sigmoid","input":0}]}"#,
        "not json",
    ] {
        let forged = set_metadata(&good, "program", Some(program)).unwrap();
        assert_eq!(code(&forged), ErrorCode::ModelLoad, "{program}");
    }
}

/// `image` mirrored left–right.
fn mirrored(image: &Image) -> Image {
    let (w, h) = (image.width(), image.height());
    let rgb = image.as_rgb();
    let mut out = Vec::with_capacity(rgb.len());
    for y in 0..h {
        for x in (0..w).rev() {
            out.extend_from_slice(&rgb[(y * w + x) * 3..(y * w + x) * 3 + 3]);
        }
    }
    Image::from_pixels(&out, w, h, webverify::PixelFormat::Rgb, None).unwrap()
}

#[test]
fn pose_and_eyes_mirror_with_the_face() {
    let shared = shared_or_skip!();
    let pipeline = common::pipeline();
    let detector = pipeline.detector.as_ref().unwrap();
    let mesh = FaceMesh::with_device(&weights(), Backend::Flex.cpu_device().unwrap()).unwrap();
    let photo =
        Image::open(shared.join("data/lfw-view1/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"))
            .unwrap();
    let of = |image: &Image| {
        let faces = detector.detect(image).unwrap();
        pollster::block_on(mesh.mesh_async(image, &faces[0])).unwrap()
    };
    let (a, b) = (of(&photo), of(&mirrored(&photo)));
    let (pa, pb) = (a.head_pose(), b.head_pose());
    println!(
        "pose {pa:?}, mirrored {pb:?}; eyes {:?} / {:?}",
        a.eye_openness(),
        b.eye_openness()
    );
    assert!(a.face_score > 0.9 && b.face_score > 0.9);
    // Mirroring turns yaw and roll around and keeps pitch (within the mesh's own noise).
    assert!((pa.yaw + pb.yaw).abs() < 3.0, "{pa:?} {pb:?}");
    assert!((pa.roll + pb.roll).abs() < 2.0, "{pa:?} {pb:?}");
    assert!((pa.pitch - pb.pitch).abs() < 3.0, "{pa:?} {pb:?}");
    // Open eyes, the two eyes swapped by the mirror.
    let (ea, eb) = (a.eye_openness(), b.eye_openness());
    assert!(ea.iter().all(|&r| r > 0.15), "{ea:?}");
    assert!(
        (ea[0] - eb[1]).abs() < 0.05 && (ea[1] - eb[0]).abs() < 0.05,
        "{ea:?} {eb:?}"
    );
    // The five points land where the mirrored face has them.
    let w = photo.width() as f32;
    let (fa, fb) = (a.alignment_points(), b.alignment_points());
    for (p, q) in [(0, 1), (1, 0), (2, 2), (3, 4), (4, 3)] {
        let d = ((fa[p][0] - (w - 1.0 - fb[q][0])).powi(2) + (fa[p][1] - fb[q][1]).powi(2)).sqrt();
        assert!(d < 3.0, "point {p}: {:?} vs mirrored {:?}", fa[p], fb[q]);
    }
}

/// The signs of yaw and pitch on real photos whose pose is plain to see: the mirror test above
/// cannot tell a sign error that flips both.
#[test]
fn pose_has_the_documented_signs() {
    let shared = shared_or_skip!();
    let pipeline = common::pipeline();
    let detector = pipeline.detector.as_ref().unwrap();
    let mesh = FaceMesh::with_device(&weights(), Backend::Flex.cpu_device().unwrap()).unwrap();
    let pose = |name: &str| {
        let person = &name[..name.len() - 5];
        let image =
            Image::open(shared.join(format!("data/lfw-view1/images/{person}/{name}.jpg"))).unwrap();
        let faces = detector.detect(&image).unwrap();
        pollster::block_on(mesh.mesh_async(&image, &faces[0]))
            .unwrap()
            .head_pose()
    };
    // Turned to her left (her nose points to the image's right).
    let p = pose("Aiysha_Smith_0001");
    assert!(p.yaw > 20.0, "{p:?}");
    // Turned to his right.
    let p = pose("Abdullatif_Sener_0001");
    assert!(p.yaw < -10.0, "{p:?}");
    // Reading a paper on the desk: looking down (and turned to his left).
    let p = pose("Abdul_Majeed_Shobokshi_0001");
    assert!(p.pitch < -10.0 && p.yaw > 20.0, "{p:?}");
}
