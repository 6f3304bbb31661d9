//! The enrollment quality gate on real faces: sharp, single, large faces pass; blurred, tiny,
//! crowded photos and another person's face are held back with their reasons; `force` enrolls
//! anyway; a photo without a face is never enrolled.

mod common;

use webverify::quality::{self, sharpness, MIN_SHARPNESS};
use webverify::FaceMode;
use webverify::Gallery;
use webverify::{Image, PixelFormat};

/// Three passes of a 3x3 box blur (close to a Gaussian of sigma 1.4).
fn blurred(image: &Image) -> Image {
    let (w, h) = (image.width(), image.height());
    let mut px: Vec<f32> = image.as_rgb().iter().map(|&v| v as f32).collect();
    for _ in 0..3 {
        let src = px.clone();
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let (mut sum, mut n) = (0.0, 0.0);
                    for dy in -1i32..=1 {
                        for dx in -1i32..=1 {
                            let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                            if xx >= 0 && yy >= 0 && (xx as usize) < w && (yy as usize) < h {
                                sum += src[(yy as usize * w + xx as usize) * 3 + c];
                                n += 1.0;
                            }
                        }
                    }
                    px[(y * w + x) * 3 + c] = sum / n;
                }
            }
        }
    }
    let bytes: Vec<u8> = px.iter().map(|v| v.round() as u8).collect();
    Image::from_pixels(&bytes, w, h, PixelFormat::Rgb, None).unwrap()
}

/// `faces` pasted side by side on a grey canvas.
fn side_by_side(faces: &[&Image]) -> Image {
    let w: usize = faces.iter().map(|f| f.width()).sum::<usize>() + 40 * faces.len();
    let h = faces.iter().map(|f| f.height()).max().unwrap() + 40;
    let mut canvas = vec![90u8; w * h * 3];
    let mut x0 = 20;
    for f in faces {
        for y in 0..f.height() {
            let row = &f.as_rgb()[y * f.width() * 3..(y + 1) * f.width() * 3];
            canvas[((y + 20) * w + x0) * 3..((y + 20) * w + x0 + f.width()) * 3]
                .copy_from_slice(row);
        }
        x0 += f.width() + 40;
    }
    Image::from_pixels(&canvas, w, h, PixelFormat::Rgb, None).unwrap()
}

fn codes(issues: &[quality::Issue]) -> Vec<&str> {
    issues.iter().map(|i| i.code).collect()
}

#[test]
fn the_gate_holds_back_bad_templates_with_reasons() {
    let shared = shared_or_skip!();
    let inputs = shared.join("reference/mobilefacenet/inputs");
    let man = Image::open(inputs.join("face_03_samples_man.png")).unwrap();
    let woman = Image::open(inputs.join("face_02_samples_woman.png")).unwrap();
    let p = common::pipeline();
    let offered = pollster::block_on(p.offer_async(
        &[
            side_by_side(&[&man]),
            blurred(&side_by_side(&[&man])),
            side_by_side(&[&man.resize_bilinear(40, 40)]),
            side_by_side(&[&man, &woman]),
            Image::from_pixels(&[128u8; 64 * 64 * 3], 64, 64, PixelFormat::Rgb, None).unwrap(),
            exposed(&side_by_side(&[&man]), 3.0),
        ],
        FaceMode::Detect,
    ))
    .unwrap();
    assert_eq!(
        codes(&offered[0].issues),
        Vec::<&str>::new(),
        "{:?}",
        offered[0].issues
    );
    // Blurred: the pass/fail check, and the graded score falls below the gate too.
    assert_eq!(
        codes(&offered[1].issues)[0],
        "BLURRY",
        "{:?}",
        offered[1].issues
    );
    assert!(
        codes(&offered[2].issues).contains(&"SMALL_FACE"),
        "{:?}",
        offered[2].issues
    );
    assert_eq!(codes(&offered[3].issues), ["SEVERAL_FACES"]);
    assert_eq!(codes(&offered[4].issues), ["NO_FACE"]);
    assert!(offered[4].embedding.is_none());
    // Overexposed (and with it the landmarks thrown off): only the graded score catches it,
    // and it names the weakest component.
    assert_eq!(
        codes(&offered[5].issues),
        ["LOW_QUALITY"],
        "{:?}",
        offered[5].issues
    );
    assert!(
        offered[5].issues[0].message.contains("weakest: "),
        "{:?}",
        offered[5].issues
    );

    let mut g = Gallery::new(p.embedder.model_ref());
    // The consistency threshold is the embedder's calibrated one at CONSISTENCY_FAR.
    let report = g
        .enroll_photos(&p.embedder, "man", offered.clone(), Some("{}"), false)
        .unwrap();
    assert_eq!(report.enrolled, 1, "only the clean photo");
    assert_eq!(report.issues.len(), 6);

    // Another person offered as "man" disagrees with the enrolled template.
    let other =
        pollster::block_on(p.offer_async(&[side_by_side(&[&woman])], FaceMode::Detect)).unwrap();
    let report = g
        .enroll_photos(&p.embedder, "man", other.clone(), None, false)
        .unwrap();
    assert_eq!(report.enrolled, 0);
    assert_eq!(codes(&report.issues[0]), ["INCONSISTENT"]);
    // The caller can override; a photo without a face still cannot be enrolled.
    let forced = g
        .enroll_photos(&p.embedder, "man", offered, None, true)
        .unwrap();
    assert_eq!(forced.enrolled, 5);
    assert_eq!(g.template_count(), 6);
}

#[test]
fn sharpness_orders_sharp_above_blurred() {
    let shared = shared_or_skip!();
    let face =
        Image::open(shared.join("reference/mobilefacenet/inputs/face_00_faceid.png")).unwrap();
    let (sharp, soft) = (sharpness(&face), sharpness(&blurred(&face)));
    assert!(
        sharp > MIN_SHARPNESS && soft < MIN_SHARPNESS,
        "{sharp} / {soft}"
    );
}

/// `image` with every value scaled by `gain` (an under- or over-exposed photo).
fn exposed(image: &Image, gain: f32) -> Image {
    let rgb: Vec<u8> = image
        .as_rgb()
        .iter()
        .map(|&v| (v as f32 * gain).min(255.0) as u8)
        .collect();
    Image::from_pixels(&rgb, image.width(), image.height(), PixelFormat::Rgb, None).unwrap()
}

#[test]
fn the_quality_score_falls_with_each_defect_and_names_it() {
    let shared = shared_or_skip!();
    let man =
        Image::open(shared.join("reference/mobilefacenet/inputs/face_03_samples_man.png")).unwrap();
    let p = common::pipeline();
    let grade = |image: &Image| {
        let prepared = p.prepare(image, FaceMode::Detect).unwrap();
        quality::quality(&prepared).unwrap()
    };
    let good = grade(&side_by_side(&[&man]));
    let soft = grade(&blurred(&side_by_side(&[&man])));
    let dark = grade(&exposed(&side_by_side(&[&man]), 0.25));
    let small = grade(&side_by_side(&[&man.resize_bilinear(40, 40)]));
    println!("good {good:?}\nblurred {soft:?}\ndark {dark:?}\nsmall {small:?}");
    for q in [good, soft, dark, small] {
        for c in [
            q.score,
            q.sharpness,
            q.exposure,
            q.pose,
            q.face_size,
            q.detection,
        ] {
            assert!((0.0..=1.0).contains(&c), "{q:?}");
        }
    }
    assert!(soft.sharpness < good.sharpness && soft.score < good.score);
    assert!(dark.exposure < good.exposure && dark.score < good.score);
    assert!(small.face_size < good.face_size && small.score < good.score);
    // Without a detected face there is nothing to grade.
    let crop = p.prepare(&man, FaceMode::None).unwrap();
    assert!(quality::quality(&crop).is_none());
}

/// Measures the sharpness distribution of aligned LFW DevTrain crops, which sets MIN_SHARPNESS:
/// `cargo test --release --test quality -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_sharpness_on_lfw_devtrain() {
    let shared = shared_or_skip!();
    let pairs = lfw_pairs(&shared, "pairsDevTrain.txt");
    let unique = webverify::tools::eval::unique_images(&pairs);
    let p = common::pipeline();
    let mut values: Vec<f32> = unique
        .iter()
        .filter_map(|path| {
            p.prepare(&Image::open(path).unwrap(), FaceMode::Detect)
                .ok()
        })
        .map(|prepared| sharpness(&prepared.crop))
        .collect();
    values.sort_by(f32::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q) as usize];
    println!(
        "{} crops: sharpness 1st percentile {:.1}, 5th {:.1}, median {:.1}",
        values.len(),
        at(0.01),
        at(0.05),
        at(0.5)
    );
}

/// An LFW View 1 pair list of `../shared` (`pairsDevTrain.txt`, `pairsDevTest.txt`).
fn lfw_pairs(shared: &std::path::Path, list: &str) -> Vec<webverify::tools::pairs::Pair> {
    let dir = shared.join("data/lfw-view1");
    let text = std::fs::read_to_string(dir.join(list)).unwrap();
    webverify::tools::pairs::parse(&text, &dir, &dir.join("images")).unwrap()
}

/// `image` with a filled rectangle (x0, y0, x1, y1 as shares of the width and height) in `rgb`.
fn covered(image: &Image, area: [f32; 4], rgb: [u8; 3]) -> Image {
    let (w, h) = (image.width(), image.height());
    let mut px = image.as_rgb().to_vec();
    let [x0, y0, x1, y1] = area;
    for y in (y0 * h as f32) as usize..(y1 * h as f32) as usize {
        for x in (x0 * w as f32) as usize..(x1 * w as f32) as usize {
            px[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&rgb);
        }
    }
    Image::from_pixels(&px, w, h, PixelFormat::Rgb, None).unwrap()
}

#[test]
fn the_mesh_components_see_closed_eyes_and_covered_faces() {
    let shared = shared_or_skip!();
    let mut p = common::pipeline();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mesh = std::fs::read(root.join(webverify::DEFAULT_MESH_PATH)).unwrap();
    p.mesh = Some(
        webverify::FaceMesh::with_device(&mesh, webverify::Backend::Flex.cpu_device().unwrap())
            .unwrap(),
    );
    let lfw = shared.join("data/lfw-view1/images");
    let grade = |image: &Image| {
        let prepared = p.prepare(image, FaceMode::Detect).unwrap();
        let q = quality::quality(&prepared).unwrap();
        let logit = prepared.mesh.as_ref().unwrap().face_logit;
        (q, logit, quality::photo_issues(&prepared))
    };
    let open = Image::open(lfw.join("Aaron_Peirsol/Aaron_Peirsol_0001.jpg")).unwrap();
    // Laughing with both eyes shut (eye aspect ratios 0.10 and 0.12).
    let shut = Image::open(lfw.join("Kaye_Young/Kaye_Young_0001.jpg")).unwrap();
    let (good, good_logit, good_issues) = grade(&open);
    let (closed, _, closed_issues) = grade(&shut);
    // LFW faces are 250x250 with the face in the middle: a dark band over the eyes
    // (sunglasses) and a pale block over mouth and chin (a mask).
    let (glasses, glasses_logit, glasses_issues) =
        grade(&covered(&open, [0.3, 0.36, 0.7, 0.48], [20, 20, 25]));
    let (masked, masked_logit, masked_issues) =
        grade(&covered(&open, [0.3, 0.58, 0.7, 0.85], [225, 230, 235]));
    println!(
        "open {good:?} (logit {good_logit:.1})\nclosed {closed:?}\nglasses {glasses:?} (logit \
         {glasses_logit:.1})\nmasked {masked:?} (logit {masked_logit:.1})"
    );
    for q in [good, closed, glasses, masked] {
        for (name, c) in q.components() {
            assert!((0.0..=1.0).contains(&c), "{name} {c}");
        }
        assert!((q.score - q.components().iter().map(|c| c.1).product::<f32>()).abs() < 1e-6);
    }
    assert_eq!(good.eyes_open, Some(1.0), "{good:?}");
    assert!(closed.eyes_open.unwrap() < 0.2, "{closed:?}");
    assert!(
        codes(&closed_issues).contains(&"EYES_CLOSED"),
        "{closed_issues:?}"
    );
    assert!(
        !codes(&good_issues).contains(&"EYES_CLOSED"),
        "{good_issues:?}"
    );
    // A covered mouth and chin lower the visibility; a dark band over the eyes only lowers the
    // mesh's logit (it still places eyes there, and sees them open): docs/ACCURACY.md.
    assert_eq!(good.visibility, Some(1.0), "{good:?}");
    assert!(masked.visibility.unwrap() < 0.8, "{masked:?}");
    assert!(
        glasses_logit < good_logit - 4.0,
        "{glasses_logit} / {good_logit}"
    );
    // The occlusion component sees both, the sunglasses too, and enrollment says what is
    // covered; the clean face is untouched.
    assert_eq!(good.occlusion, 1.0, "{good:?}");
    assert!(
        glasses.occlusion < 0.2 && masked.occlusion < 0.2,
        "{glasses:?} {masked:?}"
    );
    assert!(glasses.score < quality::MIN_QUALITY && masked.score < quality::MIN_QUALITY);
    for (issues, says) in [(&glasses_issues, "eye"), (&masked_issues, "mouth")] {
        let occluded = issues.iter().find(|i| i.code == "OCCLUDED");
        assert!(
            occluded.is_some_and(|i| i.message.contains(says)),
            "{issues:?}"
        );
    }
    assert!(
        !codes(&good_issues).contains(&"OCCLUDED"),
        "{good_issues:?}"
    );
    // Without the mesh the two mesh components are absent; occlusion is there and still sees
    // the band.
    let plain = common::pipeline();
    let q = quality::quality(&plain.prepare(&open, FaceMode::Detect).unwrap()).unwrap();
    assert_eq!((q.eyes_open, q.visibility), (None, None));
    let band = covered(&open, [0.3, 0.36, 0.7, 0.48], [20, 20, 25]);
    let q = quality::quality(&plain.prepare(&band, FaceMode::Detect).unwrap()).unwrap();
    assert!(q.occlusion < 0.2, "{q:?}");
}

/// A dark photo is held back as TOO_DARK; a normally lit one is not.
#[test]
fn a_dark_face_is_too_dark() {
    let shared = shared_or_skip!();
    let p = common::pipeline();
    let photo =
        Image::open(shared.join("data/lfw-view1/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"))
            .unwrap();
    let issues = |image: &Image| {
        let prepared = p.prepare(image, FaceMode::Detect).unwrap();
        codes(&quality::photo_issues(&prepared))
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(!issues(&photo).contains(&"TOO_DARK".to_string()));
    let dark = webverify::tools::degrade::apply(
        &photo,
        webverify::tools::degrade::Kind::Dark,
        4.0,
        None,
        1,
    )
    .unwrap();
    assert!(
        issues(&dark).contains(&"TOO_DARK".to_string()),
        "{:?}",
        issues(&dark)
    );
}

/// Measures the occlusion component on LFW DevTrain crops, clean and with the synthetic
/// occluders of `webverify eval --degrade`, which sets its ramp:
/// `cargo test --release --features flex,cli --test quality -- --ignored --nocapture measure_occlusion`.
#[test]
#[ignore]
fn measure_occlusion_on_lfw_devtrain() {
    use webverify::tools::degrade::{apply, Kind};
    let shared = shared_or_skip!();
    let pairs = lfw_pairs(&shared, "pairsDevTrain.txt");
    let unique = webverify::tools::eval::unique_images(&pairs);
    let p = common::pipeline();
    let cases: [(&str, Option<(Kind, f32)>); 7] = [
        ("clean", None),
        ("sunglasses 0.3", Some((Kind::Sunglasses, 0.3))),
        ("sunglasses 0.5", Some((Kind::Sunglasses, 0.5))),
        ("mask 0.3", Some((Kind::Mask, 0.3))),
        ("mask 0.6", Some((Kind::Mask, 0.6))),
        ("hand 0.8", Some((Kind::Hand, 0.8))),
        ("hand 1.2", Some((Kind::Hand, 1.2))),
    ];
    let mut values: Vec<Vec<f32>> = vec![Vec::new(); cases.len()];
    for path in unique.iter().step_by(8) {
        let photo = Image::open(path).unwrap();
        let Ok(clean) = p.prepare(&photo, FaceMode::Detect) else {
            continue;
        };
        let face = clean.main.unwrap();
        for (i, (_, degrade)) in cases.iter().enumerate() {
            let prepared = match degrade {
                None => clean.clone(),
                Some((kind, level)) => {
                    let img = apply(
                        &photo,
                        *kind,
                        *level,
                        Some((face.bbox.width, &face.landmarks)),
                        1,
                    )
                    .unwrap();
                    match p.prepare(&img, FaceMode::Detect) {
                        Ok(prepared) => prepared,
                        Err(_) => continue,
                    }
                }
            };
            values[i].push(quality::least_textured_region(&prepared.crop).1);
        }
    }
    for ((name, _), v) in cases.iter().zip(&mut values) {
        v.sort_by(f32::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        let below = |t: f32| 100.0 * v.iter().filter(|&&x| x < t).count() as f64 / v.len() as f64;
        println!(
            "{name:<15} {} crops: detail ratio 1st pct {:.2}, 5th {:.2}, median {:.2}, 95th {:.2}; below 0.35: {:.1} %, below 0.5: {:.1} %",
            v.len(), at(0.01), at(0.05), at(0.5), at(0.95), below(0.35), below(0.5)
        );
    }
}

/// The enrollment gate with and without the occlusion component on LFW DevTest pairs whose second
/// photo is covered (the occluders of `webverify eval --degrade`), the package's default
/// configuration (int8 weights, flip): the share of pairs the gate rejects and the FNMR / FMR of
/// the pairs it keeps, at the calibrated FAR 1e-3 threshold. "Without" is the same embeddings
/// with the score recomputed as the product of the other components (the gate before issue 29):
/// `cargo test --release --features flex,cli --test quality -- --ignored --nocapture occlusion_gate`.
#[test]
#[ignore]
fn occlusion_gate_with_and_without_the_component() {
    use webverify::tools::degrade::{apply, Kind};
    use webverify::tools::eval::{self, Embedded};
    let shared = shared_or_skip!();
    let pairs = lfw_pairs(&shared, "pairsDevTest.txt");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = webverify::Pipeline::from_paths(
        root.join("models/mobilefacenet-int8.safetensors"),
        root.join(webverify::DEFAULT_DETECTOR_PATH),
        webverify::Backend::Flex,
    )
    .unwrap();
    let unique = eval::unique_images(&pairs);
    let clean = eval::embed_all_with_quality(&p, &unique, FaceMode::Detect, false).unwrap();
    let mut second: Vec<&std::path::Path> = pairs.iter().map(|p| p.b.as_path()).collect();
    second.sort();
    second.dedup();
    // The same embeddings, graded as before the occlusion component existed.
    fn without<'p>(e: &Embedded<'p>) -> Embedded<'p> {
        let mut qualities = e.qualities.clone();
        for q in qualities.values_mut() {
            q.occlusion = 1.0;
            q.score = q.components().iter().map(|c| c.1).product();
        }
        Embedded {
            embeddings: e.embeddings.clone(),
            qualities,
            faces: e.faces.clone(),
        }
    }
    let clean_without = without(&clean);
    println!("| second photo | gate | pairs rejected | FNMR / FMR of the pairs kept (kept) | false non-matches the gate lets through, of the 500 genuine pairs |\n|---|---|---|---|---|");
    let cases: [(&str, Option<(Kind, f32)>); 6] = [
        ("clean", None),
        ("sunglasses 0.3", Some((Kind::Sunglasses, 0.3))),
        ("sunglasses 0.5", Some((Kind::Sunglasses, 0.5))),
        ("mask 0.4", Some((Kind::Mask, 0.4))),
        ("mask 0.6", Some((Kind::Mask, 0.6))),
        ("hand 0.8", Some((Kind::Hand, 0.8))),
    ];
    for (name, degrade) in cases {
        let load = |path: &std::path::Path| {
            let photo = Image::open(path)?;
            match (degrade, clean.faces.get(path)) {
                (Some((kind, level)), Some(f)) => {
                    apply(&photo, kind, level, Some((f.bbox.width, &f.landmarks)), 1)
                }
                _ => Ok(photo),
            }
        };
        let degraded = eval::embed_images(&p, &second, load, FaceMode::Detect, false).unwrap();
        for (gate, first, second) in [
            ("with occlusion", &clean, &degraded),
            ("without", &clean_without, &without(&degraded)),
        ] {
            let start = std::time::Instant::now();
            let (scored, report) = eval::score_pairs(&p, &pairs, first, second, start).unwrap();
            let (threshold, all_fnmr, all_fmr) = report
                .calibrated
                .iter()
                .find(|c| c.0 == 1e-3)
                .map(|c| (c.1, 1.0 - c.3, c.2))
                .unwrap();
            // Genuine pairs the gate keeps and still scores below the threshold: the errors a
            // user meets without being asked for another photo.
            let through = scored
                .iter()
                .zip(&report.pair_quality)
                .filter(|(s, q)| {
                    s.same
                        && s.score < threshold
                        && q.is_some_and(|q| q.score >= quality::MIN_QUALITY)
                })
                .count();
            let (rejected, fnmr, fmr, kept) = report.quality_gate.unwrap();
            println!(
                "| {name} (all pairs: FNMR {:.2} %, FMR {:.2} %) | {gate} | {:.1} % | {:.2} % / {:.2} % ({kept}) | {through} |",
                100.0 * all_fnmr,
                100.0 * all_fmr,
                100.0 * rejected,
                100.0 * fnmr,
                100.0 * fmr
            );
        }
    }
}
