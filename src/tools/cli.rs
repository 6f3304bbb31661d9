//! The native command line: model conversion, embedding and verification of image files, and
//! the native benchmark. (`src/bin/webverify.rs` is its entry point.)

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::nn::profile::{LayerKind, LayerTimes};
use crate::{Backend, Embedder, Image};
use clap::{Parser, Subcommand};

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

#[derive(Subcommand)]
enum Command {
    /// Convert a source model into webverify's safetensors weights: a TFLite MobileFaceNet
    /// (`.tflite`), a TF.js BlazeFace short-range or Face Mesh graph (`model.json` with its
    /// shards) or a MiniFASNet liveness checkpoint (`.pth`).
    Convert {
        model: PathBuf,
        out: PathBuf,
        /// MiniFASNet only: the face box scale the model was trained with (default: read from
        /// the upstream file name, e.g. 2.7 in `2.7_80x80_MiniFASNetV2.pth`).
        #[arg(long)]
        crop_scale: Option<f32>,
    },
    /// Rewrite a weights file (embedder or detector) with its tensors stored as f32, f16 or int8
    /// (per-channel symmetric); the network still runs in f32. Metadata, calibration included,
    /// is kept: refit it for the new file with `calibrate --write`.
    Store {
        weights: PathBuf,
        out: PathBuf,
        /// f32, f16 or int8.
        #[arg(long)]
        storage: String,
    },
    /// Print the unit-length embeddings of images as JSON lines.
    Embed {
        images: Vec<PathBuf>,
        #[command(flatten)]
        models: Models,
    },
    /// Detect faces and print them as JSON lines (box, score, six landmarks, in pixels).
    Detect {
        images: Vec<PathBuf>,
        #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
        detector: PathBuf,
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// Write the aligned 112x112 crop of the main face beside each image as `<name>.aligned.png`.
        #[arg(long)]
        save_aligned: bool,
    },
    /// The main face's dense landmarks (Face Mesh) as JSON: 468 points, the five alignment
    /// points, eye openness, head pose.
    Landmarks {
        image: PathBuf,
        #[arg(long, default_value = crate::DEFAULT_MESH_PATH)]
        mesh: PathBuf,
        #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
        detector: PathBuf,
        #[arg(long, default_value = "cpu")]
        backend: String,
    },
    /// Challenge liveness on the frames of a video (taken `--fps` apart): the asked motions,
    /// checked frame by frame; prints each frame's observation and the final status as JSON.
    Challenge {
        frames: Vec<PathBuf>,
        /// The asked motions in order: blink, turnLeft, turnRight, lookUp (comma-separated).
        #[arg(long)]
        actions: String,
        #[arg(long, default_value_t = 10.0)]
        fps: f64,
        /// Time allowed for each motion, in milliseconds.
        #[arg(long, default_value_t = crate::liveness::challenge::DEFAULT_STEP_MS)]
        step_ms: f64,
        #[command(flatten)]
        models: FaceModels,
    },
    /// Measure the challenge combined with the passive check on test videos made from a
    /// database laid out as NUAA's: every `--every`-th live and print frame of `--split`, made
    /// into videos of random head motions; BPCER and APCER (a print moved through the motions,
    /// a print held still), beside the passive check alone on the same videos.
    EvalChallenge {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "test")]
        split: String,
        #[arg(long, default_value_t = 4)]
        every: usize,
        #[command(flatten)]
        models: FaceModels,
    },
    /// Make a test video for the challenge from one frame: its face, warped along its mesh,
    /// makes the given motions; writes `0001.png`, `0002.png`, … into `--out`.
    ChallengeVideo {
        frame: PathBuf,
        /// Motions in order (turnLeft, turnRight, lookUp, comma-separated; blinks are not
        /// synthesised); empty: a still face.
        #[arg(long, default_value = "")]
        actions: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 10.0)]
        fps: f32,
        /// Seconds of stillness before the first motion.
        #[arg(long, default_value_t = 1.5)]
        lead: f32,
        /// Seconds per motion (move, hold, come back), then half of it still.
        #[arg(long, default_value_t = 1.5)]
        step: f32,
        #[command(flatten)]
        models: FaceModels,
    },
    /// Compare two images.
    Verify {
        a: PathBuf,
        b: PathBuf,
        /// Pick the calibrated threshold at this false-accept rate (default 1e-3).
        #[arg(long)]
        far: Option<f64>,
        #[command(flatten)]
        models: Models,
    },
    /// Evaluate verification on a pair list (LFW protocol: k-fold accuracy, ROC AUC, EER, TAR@FAR).
    Eval {
        #[command(flatten)]
        list: PairList,
        #[command(flatten)]
        models: Models,
        #[command(flatten)]
        outputs: EvalOutputs,
    },
    /// Calibrate scores on the images of a pair list: impostor pairs are all pairs of images of
    /// different people; prints the thresholds at FAR 1e-2, 1e-3, 1e-4 and stores the calibration
    /// in the weights' metadata with --write.
    Calibrate {
        #[command(flatten)]
        list: PairList,
        #[command(flatten)]
        models: Models,
        /// Store the calibration in these weights (usually the --weights file itself).
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Passive liveness of the frames of one face track: prints JSON (live, mean score,
    /// threshold, each frame's score and face box).
    Liveness {
        frames: Vec<PathBuf>,
        #[arg(long, default_value = crate::DEFAULT_LIVENESS_PATH)]
        weights: PathBuf,
        #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
        detector: PathBuf,
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// The calibrated operating point: 0.05 or 0.01 (live people wrongly rejected).
        #[arg(long, default_value_t = crate::liveness::DEFAULT_BPCER)]
        bpcer: f64,
        /// A live-probability threshold instead.
        #[arg(long)]
        threshold: Option<f32>,
    },
    /// Measure passive liveness (ISO/IEC 30107-3) on a database laid out as NUAA's: thresholds
    /// at BPCER 1 % and 5 % chosen on its train frames, APCER per attack type, BPCER and ACER on
    /// its test lists, ROC AUC and EER; for single frames and for face tracks (their mean score
    /// against the frame thresholds, as the SDK decides).
    EvalLiveness(LivenessEval),
    /// Measure open-set identification on a folder per person: enroll the first `--enroll`
    /// images of people who have more, probe with the rest and with people never enrolled;
    /// rank-1, identification and false-accept rates for each aggregation policy.
    EvalIdentify {
        /// Folder with one sub-folder of images per person.
        #[arg(long)]
        images: PathBuf,
        #[arg(long, default_value_t = 2)]
        enroll: usize,
        /// The target false-accept rate, applied per comparison and per search.
        #[arg(long, default_value_t = crate::score::calibration::DEFAULT_FAR)]
        far: f64,
        #[command(flatten)]
        models: Models,
    },
    /// Fine-tune the embedder on a folder per identity (the folder names are the labels) and
    /// write the tuned weights, which `--tuned` and the browser package's `importTuned` load.
    #[cfg(feature = "train")]
    Train {
        /// Folder with one sub-folder of images per identity.
        #[arg(long)]
        images: PathBuf,
        /// Only the identities whose folder name sorts from this one …
        #[arg(long)]
        from: Option<String>,
        /// … to this one (inclusive).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        recipe: TrainArgs,
        /// Where to write the tuned weights.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        models: Models,
    },
    /// Time a 1:N search (`identify`) over a gallery of random unit templates: the CPU loop and
    /// the device matrix product on each backend (median and minimum of `--runs`).
    BenchIdentify {
        #[arg(long, default_value_t = 100_000)]
        templates: usize,
        #[arg(long, default_value_t = 50)]
        runs: usize,
        #[arg(long, default_value = "flex,ndarray")]
        backends: String,
    },
    /// Time load, first embedding, single embeddings and batches of 16 (median and minimum).
    Bench {
        #[arg(long, default_value = crate::DEFAULT_WEIGHTS_PATH)]
        weights: PathBuf,
        /// Backends to measure, comma separated.
        #[arg(long, default_value = "flex,ndarray")]
        backends: String,
        #[arg(long, default_value_t = 50)]
        singles: usize,
        #[arg(long, default_value_t = 20)]
        batches: usize,
        /// Instead: where the time of one embedding goes on Flex, per kind of layer, on the
        /// packed kernels and on burn's ops (medians over `--singles` passes).
        #[arg(long)]
        layers: bool,
    },
}

/// The models and how faces are found, shared by the commands that compare images.
#[derive(clap::Args)]
struct Models {
    /// `detect`: find and align the main face (largest, discounted by distance from the centre); `none`: the images are aligned crops.
    #[arg(long, default_value = "detect", value_parser = ["detect", "none"])]
    face: String,
    #[arg(long, default_value = crate::DEFAULT_WEIGHTS_PATH)]
    weights: PathBuf,
    #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
    detector: PathBuf,
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// Fine-tuned weights (from `webverify train` or a browser's export) to use on top of --weights.
    #[arg(long)]
    tuned: Option<PathBuf>,
    /// Align with five points from the face mesh (these weights, e.g. models/facemesh.safetensors)
    /// instead of the detector's four.
    #[arg(long)]
    mesh: Option<PathBuf>,
}

impl Models {
    fn load(
        &self,
    ) -> crate::Result<(
        crate::face::pipeline::Pipeline,
        crate::face::prepared::FaceMode,
    )> {
        let backend = Backend::parse(&self.backend)?;
        let mut pipeline =
            crate::face::pipeline::Pipeline::from_paths(&self.weights, &self.detector, backend)?;
        if let Some(path) = &self.mesh {
            pipeline.mesh = Some(crate::FaceMesh::with_device(
                &read(path)?,
                backend.cpu_device()?,
            )?);
        }
        if let Some(path) = &self.tuned {
            let info = pipeline.embedder.load_tuned(&read(path)?)?;
            eprintln!("using tuned weights {} ({})", path.display(), info.id());
        }
        Ok((
            pipeline,
            crate::face::prepared::FaceMode::parse(&self.face)?,
        ))
    }
}

/// Where `eval` and `eval-liveness` write their curves and scores.
#[derive(clap::Args)]
struct EvalOutputs {
    /// Write the ROC curve as CSV (threshold, far, tar; for liveness far is APCER and tar
    /// 1 − BPCER).
    #[arg(long)]
    roc: Option<PathBuf>,
    /// Draw the ROC curve as SVG.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Write every pair's (or frame's) score as CSV, for error analysis (`eval`: with the pair's quality
    /// and each component).
    #[arg(long)]
    scores: Option<PathBuf>,
}

/// A pair list for evaluation or calibration.
#[derive(clap::Args)]
struct PairList {
    /// Pair list (LFW `pairs*.txt` format or the general `fold path_a path_b same` format).
    #[arg(long)]
    pairs: PathBuf,
    /// Image root for LFW-format lists (default: `images/` beside the list, else its folder).
    #[arg(long)]
    images: Option<PathBuf>,
}

impl PairList {
    fn name(&self) -> String {
        self.pairs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn read(&self) -> crate::Result<Vec<crate::tools::pairs::Pair>> {
        let list_dir = self
            .pairs
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .to_path_buf();
        let images = self.images.clone().unwrap_or_else(|| {
            let beside = list_dir.join("images");
            if beside.is_dir() {
                beside
            } else {
                list_dir.clone()
            }
        });
        let text = String::from_utf8(read(&self.pairs)?).map_err(|_| {
            crate::Error::InvalidInput(format!("{} is not text", self.pairs.display()))
        })?;
        crate::tools::pairs::parse(&text, &list_dir, &images)
    }
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

fn run(command: Command) -> crate::Result<()> {
    match command {
        Command::Convert {
            model,
            out,
            crop_scale,
        } => {
            let source = model
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = if model.extension().is_some_and(|e| e == "pth") {
                let scale = crop_scale
                    .or_else(|| crate::tools::minifasnet::crop_scale_from_name(&source))
                    .ok_or_else(|| {
                        crate::Error::InvalidInput(format!(
                            "{source}: no crop scale in the name; pass --crop-scale"
                        ))
                    })?;
                crate::tools::minifasnet::minifasnet_from_pytorch(&model, scale)?
            } else if model.extension().is_some_and(|e| e == "json") {
                let (json, shards) = crate::tools::tfjs::read_files(&model)?;
                // Face Mesh's graph declares its outputs in its signature.
                if String::from_utf8_lossy(&json).contains("\"output_mesh\"") {
                    crate::tools::graph::facemesh_from_tfjs(&json, &shards, &source)?
                } else {
                    crate::tools::convert::blazeface_from_tfjs(&json, &shards, &source)?
                }
            } else {
                crate::tools::convert::convert_to_weights(&read(&model)?, &source)?
            };
            write_weights(&out, &bytes, "f32")?;
        }
        Command::Landmarks {
            image,
            mesh,
            detector,
            backend,
        } => {
            let device = Backend::parse(&backend)?.cpu_device()?;
            let pipeline = crate::Pipeline {
                embedder: Embedder::from_path(
                    crate::DEFAULT_WEIGHTS_PATH,
                    Backend::parse(&backend)?,
                )?,
                detector: Some(crate::Detector::with_device(
                    &read(&detector)?,
                    device.clone(),
                )?),
                mesh: Some(crate::FaceMesh::with_device(&read(&mesh)?, device)?),
            };
            let found = pollster::block_on(pipeline.landmarks_async(&Image::open(&image)?))?;
            println!(
                "{}",
                serde_json::to_string(&found)
                    .map_err(|e| crate::Error::Inference(e.to_string()))?
            );
        }
        Command::Challenge {
            frames,
            actions,
            fps,
            step_ms,
            models,
        } => {
            let (pipeline, mesh, liveness) = models.load()?;
            let mut challenge = crate::liveness::challenge::Challenge::new(
                parse_actions(&actions)?,
                step_ms,
                liveness.threshold(models.bpcer, None)?,
            )?;
            for (i, path) in frames.iter().enumerate() {
                let frame = Image::open(path)?;
                let seen = pollster::block_on(crate::liveness::challenge::observe_async(
                    &pipeline, &mesh, &liveness, &frame,
                ))?;
                let status = challenge.observe(i as f64 * 1000.0 / fps, seen)?;
                println!(
                    "{}",
                    json(&serde_json::json!({ "frame": path, "seen": seen }))?
                );
                if status.done || i + 1 == frames.len() {
                    println!("{}", json(&status)?);
                    break;
                }
            }
        }
        Command::EvalChallenge {
            data,
            split,
            every,
            models,
        } => {
            let (pipeline, mesh, liveness) = models.load()?;
            let m = crate::tools::challenge_eval::Models {
                pipeline: &pipeline,
                mesh: &mesh,
                liveness: &liveness,
            };
            let threshold = liveness.threshold(models.bpcer, None)?;
            let report =
                crate::tools::challenge_eval::evaluate(&m, &data, &split, every, threshold, true)?;
            println!("{report}");
        }
        Command::ChallengeVideo {
            frame,
            actions,
            out,
            fps,
            lead,
            step,
            models,
        } => {
            use crate::tools::challenge_video::{script, video};
            let (pipeline, mesh, _) = models.load()?;
            let poses = script(&parse_actions(&actions)?, fps, lead, step)?;
            let frames = video(&pipeline, &mesh, &Image::open(&frame)?, &poses)?;
            std::fs::create_dir_all(&out).map_err(|e| {
                crate::Error::InvalidInput(format!("cannot create {}: {e}", out.display()))
            })?;
            for (i, frame) in frames.iter().enumerate() {
                let path = out.join(format!("{:04}.png", i + 1));
                image::save_buffer(
                    &path,
                    frame.as_rgb(),
                    frame.width() as u32,
                    frame.height() as u32,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(|e| {
                    crate::Error::InvalidInput(format!("cannot write {}: {e}", path.display()))
                })?;
            }
            eprintln!("{} frames in {}", poses.len(), out.display());
        }
        Command::Liveness {
            frames,
            weights,
            detector,
            backend,
            bpcer,
            threshold,
        } => {
            let device = Backend::parse(&backend)?.cpu_device()?;
            let detector = crate::Detector::with_device(&read(&detector)?, device.clone())?;
            let model = crate::LivenessModel::with_device(&read(&weights)?, device)?;
            let liveness = crate::Liveness::new(vec![model])?;
            let images = frames
                .iter()
                .map(Image::open)
                .collect::<crate::Result<Vec<_>>>()?;
            let result =
                pollster::block_on(liveness.check_async(&detector, &images, bpcer, threshold))?;
            println!(
                "{}",
                serde_json::to_string(&result)
                    .map_err(|e| crate::Error::Inference(e.to_string()))?
            );
        }
        Command::EvalLiveness(args) => eval_liveness(args)?,
        Command::Store {
            weights,
            out,
            storage,
        } => {
            let storage = crate::io::storage::Storage::parse(&storage)?;
            let bytes = crate::io::weights::restore(&read(&weights)?, storage)?;
            write_weights(&out, &bytes, storage.name())?;
        }
        Command::Embed { images, models } => {
            let (pipeline, mode) = models.load()?;
            for path in images {
                let [e] =
                    <[Vec<f32>; 1]>::try_from(pipeline.embed_batch(&[Image::open(&path)?], mode)?)
                        .map_err(|_| crate::Error::Inference("no embedding returned".into()))?;
                let json = serde_json::json!({ "image": path, "embedding": e });
                println!("{json}");
            }
        }
        Command::Detect {
            images,
            detector,
            backend,
            save_aligned,
        } => {
            let device = Backend::parse(&backend)?.cpu_device()?;
            let detector = crate::face::detect::Detector::with_device(&read(&detector)?, device)?;
            for path in images {
                let image = Image::open(&path)?;
                let faces = detector.detect(&image)?;
                println!("{}", serde_json::json!({ "image": path, "faces": faces }));
                if save_aligned {
                    if let Some(crop) = faces.first().and_then(|f| {
                        crate::face::align::align_face(&image, &f.landmarks.alignment_points())
                    }) {
                        let out = path.with_extension("aligned.png");
                        image::save_buffer(
                            &out,
                            crop.as_rgb(),
                            112,
                            112,
                            image::ExtendedColorType::Rgb8,
                        )
                        .map_err(|e| {
                            crate::Error::InvalidInput(format!(
                                "cannot write {}: {e}",
                                out.display()
                            ))
                        })?;
                    }
                }
            }
        }
        Command::Verify { a, b, far, models } => {
            let (pipeline, mode) = models.load()?;
            let v = pipeline.verify(
                &Image::open(&a)?,
                &Image::open(&b)?,
                mode,
                crate::score::verify::Threshold::AtFar(far),
            )?;
            println!("{}", serde_json::to_string(&v).unwrap_or_default());
        }
        #[cfg(feature = "train")]
        Command::Train {
            images,
            from,
            to,
            recipe,
            out,
            models,
        } => {
            // The same options object, and so the same mapping and checks, as the JS package's.
            let options = serde_json::to_value(&recipe)
                .map_err(|e| crate::Error::InvalidInput(format!("training options: {e}")))?;
            let config: crate::train::TrainConfig = serde_json::from_value(options)
                .map_err(|e| crate::Error::InvalidInput(format!("training options: {e}")))?;
            train(&images, from, to, &config, &models, &out)?;
        }
        Command::Calibrate {
            list,
            models,
            write,
        } => {
            let pairs = list.read()?;
            let (pipeline, mode) = models.load()?;
            let unique = crate::tools::eval::unique_images(&pairs);
            let embeddings = crate::tools::eval::embed_all(&pipeline, &unique, mode, true)?;
            let impostor = crate::tools::eval::cross_identity_impostors(&embeddings);
            let source = format!(
                "all cross-identity pairs of the {} images of {} (face {}; {} without a face left out)",
                embeddings.values().filter(|e| e.is_some()).count(),
                list.name(),
                models.face,
                embeddings.values().filter(|e| e.is_none()).count(),
            );
            let c = crate::score::calibration::Calibration::from_impostors(&source, &impostor)?;
            println!("calibration: {source}: {} impostor pairs", c.negatives);
            for far in crate::score::calibration::REPORTED_FARS {
                match c.threshold(far) {
                    Ok(t) => println!(
                        "FAR {far:e}: threshold {t:.4} (backed by {:.0} accepted impostor pairs)",
                        far * c.negatives as f64
                    ),
                    Err(e) => println!("FAR {far:e}: {e}"),
                }
            }
            if let Some(out) = write {
                let bytes = crate::io::weights::set_metadata(
                    &read(&out)?,
                    crate::score::calibration::METADATA_KEY,
                    Some(&c.to_json()),
                )?;
                std::fs::write(&out, bytes).map_err(|e| {
                    crate::Error::InvalidInput(format!("cannot write {}: {e}", out.display()))
                })?;
                println!("stored in {}", out.display());
            }
        }
        Command::Eval {
            list,
            models,
            outputs,
        } => {
            let (pipeline, mode) = models.load()?;
            let pairs = list.read()?;
            let (scored, report) = crate::tools::eval::evaluate(&pipeline, &pairs, mode, true)?;
            println!("{report}");
            let write = |path: &PathBuf, body: &str| {
                std::fs::write(path, body).map_err(|e| {
                    crate::Error::InvalidInput(format!("cannot write {}: {e}", path.display()))
                })
            };
            if let Some(path) = outputs.roc {
                write(&path, &crate::tools::eval::roc_csv(&report.roc))?;
            }
            if let Some(path) = outputs.plot {
                let title = format!("ROC, {} ({} pairs)", list.name(), report.pairs);
                crate::tools::eval::roc_svg(&report.roc, &title, &path)?;
            }
            if let Some(path) = outputs.scores {
                write(
                    &path,
                    &crate::tools::eval::scores_csv(&pairs, &scored, &report),
                )?;
            }
        }
        Command::EvalIdentify {
            images,
            enroll,
            far,
            models,
        } => {
            let (pipeline, mode) = models.load()?;
            let threshold = pipeline.embedder.threshold(Some(far))?;
            let people = crate::tools::identify_eval::people(&images)?;
            let start = std::time::Instant::now();
            let halves =
                crate::tools::identify_eval::evaluate(&pipeline, &people, enroll, far, mode)?;
            println!(
                "{} people in {}; enroll {enroll} per person; FAR {far:e}: per comparison at threshold {threshold:.4}, per search at the threshold for FAR {far:e} / comparisons; halves A and B alternate people in name order",
                people.len(),
                images.display()
            );
            print!("{}", crate::tools::identify_eval::table(&halves));
            println!("time {:.1} s", start.elapsed().as_secs_f64());
        }
        Command::BenchIdentify {
            templates,
            runs,
            backends,
        } => bench_identify(templates, runs, &backends)?,
        Command::Bench {
            weights,
            singles,
            layers: true,
            ..
        } => bench_layers(&read(&weights)?, singles)?,
        Command::Bench {
            weights,
            backends,
            singles,
            batches,
            layers: false,
        } => bench(&read(&weights)?, &backends, singles, batches)?,
    }
    Ok(())
}

fn stats(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0])
}

fn bench(weights: &[u8], backends: &str, singles: usize, batches: usize) -> crate::Result<()> {
    // A deterministic, face-sized input: the cost does not depend on pixel values.
    let pixels: Vec<u8> = (0..112 * 112 * 3).map(|i| (i * 7 % 251) as u8).collect();
    let image = Image::from_pixels(&pixels, 112, 112, crate::PixelFormat::Rgb, None)?;
    let batch = vec![image.clone(); 16];
    println!("| backend | load ms | first ms | single median ms | single min ms | batch16 median ms/face | batch16 min ms/face |");
    println!("|---|---|---|---|---|---|---|");
    // Flex runs twice: on the packed CPU kernels (the default) and on burn's ops.
    let runs = backends
        .split(',')
        .map(|n| Backend::parse(n.trim()))
        .collect::<crate::Result<Vec<_>>>()?;
    let runs = runs.into_iter().flat_map(|b| {
        if b == Backend::Flex {
            vec![(b, true), (b, false)]
        } else {
            vec![(b, false)]
        }
    });
    for (backend, packed) in runs {
        let t = Instant::now();
        let embedder = Embedder::new(weights, backend)?;
        embedder.set_packed_kernels(packed);
        let load = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        embedder.embed(&image)?;
        let first = t.elapsed().as_secs_f64() * 1e3;
        let mut single = Vec::new();
        for _ in 0..singles {
            let t = Instant::now();
            embedder.embed(&image)?;
            single.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let mut batched = Vec::new();
        for _ in 0..batches {
            let t = Instant::now();
            embedder.embed_batch(&batch)?;
            batched.push(t.elapsed().as_secs_f64() * 1e3 / 16.0);
        }
        let (sm, smin) = stats(single);
        let (bm, bmin) = stats(batched);
        println!(
            "| native {}{} | {load:.1} | {first:.1} | {sm:.2} | {smin:.2} | {bm:.2} | {bmin:.2} |",
            backend.name(),
            match (backend, packed) {
                (Backend::Flex, true) => " (packed kernels)",
                (Backend::Flex, false) => " (burn ops)",
                _ => "",
            }
        );
    }
    Ok(())
}

fn bench_layers(weights: &[u8], rounds: usize) -> crate::Result<()> {
    let embedder = Embedder::new(weights, Backend::Flex)?;
    let (kernels, burn) = embedder.profile_layers(rounds)?;
    println!(
        "{}",
        layer_table(&[
            ("native packed kernels", &kernels),
            ("native burn Flex ops", &burn)
        ])
    );
    Ok(())
}

/// A Markdown table: one row per kind, one column of ms (and share of the total) per profile.
fn layer_table(columns: &[(&str, &LayerTimes)]) -> String {
    let mut kinds: Vec<LayerKind> = columns
        .iter()
        .flat_map(|(_, t)| t.0.iter().map(|(k, _)| *k))
        .collect();
    kinds.sort();
    kinds.dedup();
    let mut out = format!(
        "| layers |{}\n|---|{}\n",
        columns
            .iter()
            .map(|(n, _)| format!(" {n} ms (share) |"))
            .collect::<String>(),
        "---|".repeat(columns.len())
    );
    for k in kinds.iter().copied().map(Some).chain([None]) {
        out += &format!("| {} |", k.map_or("**total**", LayerKind::label));
        for (_, t) in columns {
            let ms = match k {
                Some(k) => t.0.iter().find(|(x, _)| *x == k).map_or(0.0, |(_, ms)| *ms),
                None => t.total(),
            };
            out += &format!(" {ms:.2} ({:.0} %) |", 100.0 * ms / t.total());
        }
        out += "\n";
    }
    out
}

/// Deterministic pseudo-random unit vectors for a benchmark's data.
fn random_units(count: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = crate::random::Rng::new(seed);
    let mut out = Vec::with_capacity(count * dim);
    for _ in 0..count {
        let v = rng.centred(dim);
        out.extend(crate::vector::normalised(&v, dim).unwrap_or(v));
    }
    out
}

fn bench_identify(templates: usize, runs: usize, backends: &str) -> crate::Result<()> {
    use crate::gallery::{Aggregation, Gallery};
    let dim = crate::nn::mobilefacenet::EMBEDDING_DIM;
    let model = crate::io::template::ModelRef {
        name: "bench".into(),
        sha256: "0".repeat(64),
        dim,
    };
    let data = random_units(templates, dim, 1);
    let mut gallery = Gallery::new(model);
    for (i, t) in data.chunks_exact(dim).enumerate() {
        gallery.enroll(&format!("p{i}"), &[t.to_vec()], None)?;
    }
    let probes = random_units(runs.max(1), dim, 2);
    let probes: Vec<&[f32]> = probes.chunks_exact(dim).collect();
    println!("{templates} identities x 1 template of {dim} floats, {runs} searches (top 5, centroid policy)");
    println!("| search | first ms | median ms | min ms |");
    println!("|---|---|---|---|");
    let time = |f: &mut dyn FnMut(&[f32]) -> crate::Result<()>| -> crate::Result<(f64, f64, f64)> {
        let t = Instant::now();
        f(probes[0])?;
        let first = t.elapsed().as_secs_f64() * 1e3;
        let mut all = Vec::new();
        for p in &probes {
            let t = Instant::now();
            f(p)?;
            all.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (median, min) = stats(all);
        Ok((first, median, min))
    };
    let (first, median, min) = time(&mut |p| {
        gallery
            .identify(p, 5, 0.5, Aggregation::Centroid)
            .map(|_| ())
    })?;
    println!("| native CPU loop (Gallery::identify) | {first:.2} | {median:.2} | {min:.2} |");
    for name in backends.split(',') {
        let backend = Backend::parse(name.trim())?;
        let device = backend.cpu_device()?;
        let t = Instant::now();
        let index = crate::gallery::search::TemplateIndex::new(
            gallery.search_matrix(Aggregation::Centroid),
            dim,
            &device,
        )?;
        let upload = t.elapsed().as_secs_f64() * 1e3;
        let (first, median, min) = time(&mut |p| {
            let scores = index.scores(p)?;
            let folded = gallery.fold(&scores, Aggregation::Centroid)?;
            gallery.rank(&folded, 5, 0.5);
            Ok(())
        })?;
        println!(
            "| native {} tensor product (upload {upload:.1} ms) | {first:.2} | {median:.2} | {min:.2} |",
            backend.name()
        );
    }
    Ok(())
}

/// The recipe options of `webverify train`, with the command's own defaults; they become a
/// [`crate::train::TrainConfig`] through the same camelCase options object as `fineTune` in JS.
#[cfg(feature = "train")]
#[derive(clap::Args, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TrainArgs {
    /// ntxent (ignores the labels), supcon, triplet, arcface, cosface, sphereface, softmax.
    #[arg(long, default_value = "supcon")]
    loss: String,
    /// adapter, head or all.
    #[arg(long, default_value = "adapter")]
    trainable: String,
    #[arg(long, default_value_t = 200)]
    steps: usize,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f32,
    #[arg(long, default_value_t = 0.1)]
    temperature: f32,
    /// Default: the loss's own (triplet 0.2, arcface 0.5, cosface 0.35, sphereface 4).
    #[arg(long)]
    margin: Option<f32>,
    #[arg(long, default_value_t = 16.0)]
    scale: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Probability of a random illumination gradient per view (0: SimCLR's augmentations only).
    #[arg(long, default_value_t = 0.0)]
    shading: f32,
}

/// `webverify train`: loads the people, fine-tunes with a progress bar, writes the tuned file.
#[cfg(feature = "train")]
fn train(
    root: &std::path::Path,
    from: Option<String>,
    to: Option<String>,
    config: &crate::train::TrainConfig,
    models: &Models,
    out: &std::path::Path,
) -> crate::Result<()> {
    let people: Vec<_> = crate::tools::identify_eval::people(root)?
        .into_iter()
        .filter(|p| from.as_ref().is_none_or(|f| &p.name >= f))
        .filter(|p| to.as_ref().is_none_or(|t| &p.name <= t))
        .collect();
    let (pipeline, mode) = models.load()?;
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (label, person) in people.iter().enumerate() {
        for path in &person.images {
            images.push(Image::open(path)?);
            labels.push(label);
        }
    }
    eprintln!(
        "{} images of {} identities ({} to {}), loss {}, trainable {}, {} steps of {} images",
        images.len(),
        people.len(),
        people.first().map_or("", |p| p.name.as_str()),
        people.last().map_or("", |p| p.name.as_str()),
        config.loss.name(),
        config.scope.name(),
        config.steps,
        config.batch_size
    );
    let bar = indicatif::ProgressBar::new(config.steps as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed}<{eta}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let labels = config.loss.needs_labels().then_some(labels.as_slice());
    let tuned = pollster::block_on(
        pipeline.fine_tune_async(&images, labels, mode, config, |p| {
            bar.set_position(p.step as u64);
            bar.set_message(format!("loss {:.4}", p.loss));
            std::future::ready(true)
        }),
    )?;
    bar.finish();
    let bytes = pollster::block_on(pipeline.embedder.export_tuned())?
        .ok_or_else(|| crate::Error::Inference("no tuned model after training".into()))?;
    std::fs::write(out, &bytes)
        .map_err(|e| crate::Error::InvalidInput(format!("cannot write {}: {e}", out.display())))?;
    let mean = |l: &[f32]| l.iter().sum::<f32>() / l.len().max(1) as f32;
    let tenth = (tuned.losses.len() / 10).max(1);
    println!(
        "trained {} steps in {:.1} s ({:.2} steps/s; {} photos without a face left out); loss {:.4} over the first tenth, {:.4} over the last",
        tuned.losses.len(),
        tuned.ms / 1000.0,
        tuned.losses.len() as f64 / (tuned.ms / 1000.0),
        tuned.skipped,
        mean(&tuned.losses[..tenth]),
        mean(&tuned.losses[tuned.losses.len() - tenth..]),
    );
    println!(
        "wrote {} ({} bytes, {}, tuned from {})",
        out.display(),
        bytes.len(),
        tuned.info.id(),
        pipeline.embedder.shipped_info().id()
    );
    Ok(())
}

/// The arguments of `eval-liveness`.
#[derive(clap::Args)]
struct LivenessEval {
    /// The folder with `client_{train,test}_raw.txt`, `imposter_…` and the frames.
    #[arg(long)]
    data: PathBuf,
    /// Liveness weights; given twice, the two models' live probabilities are averaged.
    #[arg(long, default_value = crate::DEFAULT_LIVENESS_PATH)]
    weights: Vec<PathBuf>,
    #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
    detector: PathBuf,
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// Cut every frame to this many face boxes around the face first (e.g. 1.3: the
    /// print's edges no longer show).
    #[arg(long)]
    cut: Option<f32>,
    /// Frames per face track.
    #[arg(long, default_value_t = 5)]
    track: usize,
    /// The test frames' ROC (far = APCER, tar = 1 − BPCER) and every frame's score.
    #[command(flatten)]
    outputs: EvalOutputs,
    /// Store the frame thresholds chosen on the train lists in this weights file's metadata
    /// (usually the --weights file itself; one model only).
    #[arg(long)]
    write: Option<PathBuf>,
    /// Use the thresholds stored in the (one) model instead of choosing them on the train
    /// lists: how the shipped calibration holds under --cut.
    #[arg(long)]
    stored_thresholds: bool,
}

fn eval_liveness(a: LivenessEval) -> crate::Result<()> {
    use crate::tools::liveness_eval as le;
    let device = Backend::parse(&a.backend)?.cpu_device()?;
    let detector = crate::Detector::with_device(&read(&a.detector)?, device.clone())?;
    let models = a
        .weights
        .iter()
        .map(|w| crate::LivenessModel::with_device(&read(w)?, device.clone()))
        .collect::<crate::Result<Vec<_>>>()?;
    let fixed = if a.stored_thresholds {
        let [only] = models.as_slice() else {
            return Err(crate::Error::InvalidInput(
                "--stored-thresholds needs exactly one model".into(),
            ));
        };
        let stored = |b: f64| {
            only.calibrated_threshold(b).ok_or_else(|| {
                crate::Error::InvalidInput(format!("the model stores no threshold for BPCER {b}"))
            })
        };
        Some([stored(le::BPCERS[0])?, stored(le::BPCERS[1])?])
    } else {
        None
    };
    let liveness = crate::Liveness::new(models)?;
    let started = Instant::now();
    let train = le::nuaa_split(&a.data, "train")?;
    let test = le::nuaa_split(&a.data, "test")?;
    let train_scores = le::score_frames(&train, &detector, &liveness, a.cut, true)?;
    let test_scores = le::score_frames(&test, &detector, &liveness, a.cut, true)?;
    let missed = |s: &[Option<f32>]| s.iter().filter(|s| s.is_none()).count();
    let names: Vec<String> = a.weights.iter().map(|w| w.display().to_string()).collect();
    println!(
        "models           {} (mean of live probabilities when several)",
        names.join(" + ")
    );
    println!(
        "frames           {} train, {} test ({} and {} without a face, left out); cut {}",
        train.len(),
        test.len(),
        missed(&train_scores),
        missed(&test_scores),
        a.cut
            .map_or("none".into(), |c| format!("{c}x the face box"))
    );
    let frames = le::report(
        "frames",
        &le::frame_presentations(&train, &train_scores),
        &le::frame_presentations(&test, &test_scores),
        fixed,
    )?;
    print!("{frames}");
    let tracks = le::report(
        &format!("tracks of {} frames", a.track),
        &le::track_presentations(&train, &train_scores, a.track),
        &le::track_presentations(&test, &test_scores, a.track),
        // As the SDK does: a track's mean is compared with the frame thresholds.
        Some([frames.points[0].threshold, frames.points[1].threshold]),
    )?;
    print!("{tracks}");
    println!("seconds          {:.1}", started.elapsed().as_secs_f64());
    if let Some(path) = &a.outputs.roc {
        std::fs::write(path, crate::tools::eval::roc_csv(&frames.roc))
            .map_err(|e| crate::Error::InvalidInput(format!("{}: {e}", path.display())))?;
    }
    if let Some(path) = &a.outputs.plot {
        crate::tools::eval::roc_svg(
            &frames.roc,
            "liveness ROC (accepted attacks vs accepted live)",
            path,
        )?;
    }
    if let Some(path) = &a.outputs.scores {
        let csv = le::scores_csv(&[
            ("train", &train, &train_scores),
            ("test", &test, &test_scores),
        ]);
        std::fs::write(path, csv)
            .map_err(|e| crate::Error::InvalidInput(format!("{}: {e}", path.display())))?;
    }
    if let Some(path) = &a.write {
        if a.weights.len() != 1 || a.cut.is_some() || a.stored_thresholds {
            return Err(crate::Error::InvalidInput(
                "--write stores the thresholds of one model on uncut frames".into(),
            ));
        }
        let mut bytes = read(path)?;
        for p in &frames.points {
            let key = format!(
                "{}{}",
                crate::liveness::THRESHOLD_KEY_PREFIX,
                p.target_bpcer
            );
            bytes = crate::io::weights::set_metadata(&bytes, &key, Some(&p.threshold.to_string()))?;
        }
        let source = format!(
            "frames of the train lists of {}",
            a.data
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        bytes = crate::io::weights::set_metadata(&bytes, "liveness_calibrated_on", Some(&source))?;
        std::fs::write(path, &bytes)
            .map_err(|e| crate::Error::InvalidInput(format!("{}: {e}", path.display())))?;
        println!(
            "wrote {} (thresholds stored; sha256 {})",
            path.display(),
            crate::io::weights::sha256_hex(&bytes)
        );
    }
    Ok(())
}

/// The detector, mesh and liveness models a challenge needs.
#[derive(clap::Args)]
struct FaceModels {
    #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
    detector: PathBuf,
    #[arg(long, default_value = crate::DEFAULT_MESH_PATH)]
    mesh: PathBuf,
    #[arg(long, default_value = crate::DEFAULT_LIVENESS_PATH)]
    liveness: PathBuf,
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// The passive check's operating point: 0.05 or 0.01.
    #[arg(long, default_value_t = crate::liveness::DEFAULT_BPCER)]
    bpcer: f64,
}

impl FaceModels {
    fn load(&self) -> crate::Result<(crate::Pipeline, crate::FaceMesh, crate::Liveness)> {
        let backend = Backend::parse(&self.backend)?;
        let device = backend.cpu_device()?;
        let pipeline = crate::Pipeline {
            embedder: Embedder::from_path(crate::DEFAULT_WEIGHTS_PATH, backend)?,
            detector: Some(crate::Detector::with_device(
                &read(&self.detector)?,
                device.clone(),
            )?),
            mesh: None,
        };
        let mesh = crate::FaceMesh::with_device(&read(&self.mesh)?, device.clone())?;
        let model = crate::LivenessModel::with_device(&read(&self.liveness)?, device)?;
        Ok((pipeline, mesh, crate::Liveness::new(vec![model])?))
    }
}

/// `blink,turnLeft` → the actions; empty → none.
fn parse_actions(list: &str) -> crate::Result<Vec<crate::liveness::challenge::Action>> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(crate::liveness::challenge::Action::parse)
        .collect()
}

fn json(value: &impl serde::Serialize) -> crate::Result<String> {
    serde_json::to_string(value).map_err(|e| crate::Error::Inference(e.to_string()))
}
