//! The command line's arguments: the subcommands, one argument struct each, and the groups
//! several commands share (models, pair lists, evaluation outputs).

use std::path::PathBuf;

pub(super) use super::convert_args::{ConvertArgs, StoreArgs};
use super::read;
use crate::{Backend, Embedder};

/// One subcommand; each runs in the file of its family (`super::run`).
#[derive(clap::Subcommand)]
pub(super) enum Command {
    /// Convert a source model into webverify's safetensors weights: a TFLite MobileFaceNet
    /// (`.tflite`), a TF.js BlazeFace short-range or Face Mesh graph (`model.json` with its
    /// shards), a MiniFASNet liveness checkpoint (`.pth`), or any embedding network in ONNX
    /// (`.onnx`, docs/MODELS.md).
    Convert(ConvertArgs),
    /// Rewrite a weights file (embedder or detector) with its tensors stored as f32, f16 or int8
    /// (per-channel symmetric); the network still runs in f32. Metadata, calibration included,
    /// is kept: refit it for the new file with `calibrate --write`.
    Store(StoreArgs),
    /// Print the unit-length embeddings of images as JSON lines.
    Embed(EmbedArgs),
    /// Detect faces and print them as JSON lines (box, score, six landmarks, in pixels).
    Detect(DetectArgs),
    /// The main face's dense landmarks (Face Mesh) as JSON: 468 points, the five alignment
    /// points, eye openness, head pose.
    Landmarks(LandmarksArgs),
    /// Challenge liveness on the frames of a video (taken `--fps` apart): the asked motions,
    /// checked frame by frame; prints each frame's observation and the final status as JSON.
    Challenge(ChallengeArgs),
    /// Measure the challenge combined with the passive check on test videos made from a
    /// database laid out as NUAA's: every `--every`-th live and print frame of `--split`, made
    /// into videos of random head motions; BPCER and APCER (a print moved through the motions,
    /// a print held still), beside the passive check alone on the same videos.
    EvalChallenge(EvalChallengeArgs),
    /// Make a test video for the challenge from one frame: its face, warped along its mesh,
    /// makes the given motions; writes `0001.png`, `0002.png`, … into `--out`.
    ChallengeVideo(ChallengeVideoArgs),
    /// Compare two images.
    Verify(VerifyArgs),
    /// Evaluate verification on a pair list (LFW protocol: k-fold accuracy, ROC AUC, EER, TAR@FAR).
    Eval(EvalArgs),
    /// Calibrate scores on the images of a pair list: impostor pairs are all pairs of images of
    /// different people; prints the thresholds at FAR 1e-2, 1e-3, 1e-4 and stores the calibration
    /// in the weights' metadata with --write.
    Calibrate(CalibrateArgs),
    /// Passive liveness of the frames of one face track: prints JSON (live, mean score,
    /// threshold, each frame's score and face box).
    Liveness(LivenessArgs),
    /// Measure passive liveness (ISO/IEC 30107-3) on a database laid out as NUAA's: thresholds
    /// at BPCER 1 % and 5 % chosen on its train frames, APCER per attack type, BPCER and ACER on
    /// its test lists, ROC AUC and EER; for single frames and for face tracks (their mean score
    /// against the frame thresholds, as the SDK decides).
    EvalLiveness(LivenessEval),
    /// Measure open-set identification on a folder per person: enroll the first `--enroll`
    /// images of people who have more, probe with the rest and with people never enrolled;
    /// rank-1, identification and false-accept rates for each aggregation policy.
    EvalIdentify(EvalIdentifyArgs),
    /// Fine-tune the embedder on a folder per identity (the folder names are the labels) and
    /// write the tuned weights, which `--tuned` and the browser package's `importTuned` load.
    #[cfg(feature = "train")]
    Train(TrainArgs),
    /// Time a 1:N search (`identify`) over a gallery of random unit templates: the CPU loop and
    /// the device matrix product on each backend (median and minimum of `--runs`).
    BenchIdentify(BenchIdentifyArgs),
    /// Time load, first embedding, single embeddings and batches of 16 (median and minimum).
    Bench(BenchArgs),
}

/// The arguments of `embed`.
#[derive(clap::Args)]
pub(super) struct EmbedArgs {
    pub(super) images: Vec<PathBuf>,
    #[command(flatten)]
    pub(super) models: Models,
}

/// The arguments of `detect`.
#[derive(clap::Args)]
pub(super) struct DetectArgs {
    pub(super) images: Vec<PathBuf>,
    #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
    pub(super) detector: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub(super) backend: String,
    /// Write the aligned 112x112 crop of the main face beside each image as `<name>.aligned.png`.
    #[arg(long)]
    pub(super) save_aligned: bool,
}

/// The arguments of `landmarks`.
#[derive(clap::Args)]
pub(super) struct LandmarksArgs {
    pub(super) image: PathBuf,
    #[arg(long, default_value = crate::DEFAULT_MESH_PATH)]
    pub(super) mesh: PathBuf,
    #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
    pub(super) detector: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub(super) backend: String,
}

/// The arguments of `challenge`.
#[derive(clap::Args)]
pub(super) struct ChallengeArgs {
    pub(super) frames: Vec<PathBuf>,
    /// The asked motions in order: blink, turnLeft, turnRight, lookUp (comma-separated).
    #[arg(long)]
    pub(super) actions: String,
    #[arg(long, default_value_t = 10.0)]
    pub(super) fps: f64,
    /// Time allowed for each motion, in milliseconds.
    #[arg(long, default_value_t = crate::liveness::challenge::DEFAULT_STEP_MS)]
    pub(super) step_ms: f64,
    #[command(flatten)]
    pub(super) models: FaceModels,
}

/// The arguments of `eval-challenge`.
#[derive(clap::Args)]
pub(super) struct EvalChallengeArgs {
    #[arg(long)]
    pub(super) data: PathBuf,
    #[arg(long, default_value = "test")]
    pub(super) split: String,
    #[arg(long, default_value_t = 4)]
    pub(super) every: usize,
    #[command(flatten)]
    pub(super) models: FaceModels,
}

/// The arguments of `challenge-video`.
#[derive(clap::Args)]
pub(super) struct ChallengeVideoArgs {
    pub(super) frame: PathBuf,
    /// Motions in order (turnLeft, turnRight, lookUp, comma-separated; blinks are not
    /// synthesised); empty: a still face.
    #[arg(long, default_value = "")]
    pub(super) actions: String,
    #[arg(long)]
    pub(super) out: PathBuf,
    #[arg(long, default_value_t = 10.0)]
    pub(super) fps: f32,
    /// Seconds of stillness before the first motion.
    #[arg(long, default_value_t = 1.5)]
    pub(super) lead: f32,
    /// Seconds per motion (move, hold, come back), then half of it still.
    #[arg(long, default_value_t = 1.5)]
    pub(super) step: f32,
    #[command(flatten)]
    pub(super) models: FaceModels,
}

/// The arguments of `verify`.
#[derive(clap::Args)]
pub(super) struct VerifyArgs {
    pub(super) a: PathBuf,
    pub(super) b: PathBuf,
    /// Pick the calibrated threshold at this false-accept rate (default 1e-3).
    #[arg(long)]
    pub(super) far: Option<f64>,
    #[command(flatten)]
    pub(super) models: Models,
}

/// The arguments of `eval`.
#[derive(clap::Args)]
pub(super) struct EvalArgs {
    #[command(flatten)]
    pub(super) list: PairList,
    #[command(flatten)]
    pub(super) models: Models,
    #[command(flatten)]
    pub(super) outputs: EvalOutputs,
    /// Robustness curves: `KIND:LEVEL[,LEVEL…]` (repeatable) degrades the second photo of every
    /// pair at each level and prints one row per level; `--plot DIR` then draws
    /// `DIR/robustness-KIND.svg` per kind. Kinds: blur (sigma, px), jpeg (quality), width (face
    /// width, px), dark (stops under), rotate (degrees), sunglasses (band height, eye distances),
    /// mask (top: 0 mouth … 1 eyes), hand (side, eye distances).
    #[arg(long)]
    pub(super) degrade: Vec<String>,
}

/// The arguments of `calibrate`.
#[derive(clap::Args)]
pub(super) struct CalibrateArgs {
    #[command(flatten)]
    pub(super) list: PairList,
    #[command(flatten)]
    pub(super) models: Models,
    /// Store the calibration in these weights (usually the --weights file itself).
    #[arg(long)]
    pub(super) write: Option<PathBuf>,
}

/// The arguments of `liveness`.
#[derive(clap::Args)]
pub(super) struct LivenessArgs {
    pub(super) frames: Vec<PathBuf>,
    #[arg(long, default_value = crate::DEFAULT_LIVENESS_PATH)]
    pub(super) weights: PathBuf,
    #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
    pub(super) detector: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub(super) backend: String,
    /// The calibrated operating point: 0.05 or 0.01 (live people wrongly rejected).
    #[arg(long, default_value_t = crate::liveness::DEFAULT_BPCER)]
    pub(super) bpcer: f64,
    /// A live-probability threshold instead.
    #[arg(long)]
    pub(super) threshold: Option<f32>,
}

/// The arguments of `eval-identify`.
#[derive(clap::Args)]
pub(super) struct EvalIdentifyArgs {
    /// Folder with one sub-folder of images per person.
    #[arg(long)]
    pub(super) images: PathBuf,
    #[arg(long, default_value_t = 2)]
    pub(super) enroll: usize,
    /// Compare enrolling from several photos instead: `1,3,5` enrolls each person with more photos
    /// than the most shots from 1, 3 and 5 of them (separate templates, their mean, their
    /// quality-weighted mean) and reports rank-1 and DIR at FPIR 1e-2 and 1e-3.
    #[arg(long)]
    pub(super) shots: Option<String>,
    /// The target false-accept rate, applied per comparison and per search.
    #[arg(long, default_value_t = crate::score::calibration::DEFAULT_FAR)]
    pub(super) far: f64,
    #[command(flatten)]
    pub(super) models: Models,
}

#[cfg(feature = "train")]
/// The arguments of `train`.
#[derive(clap::Args)]
pub(super) struct TrainArgs {
    /// Folder with one sub-folder of images per identity.
    #[arg(long)]
    pub(super) images: PathBuf,
    /// Only the identities whose folder name sorts from this one …
    #[arg(long)]
    pub(super) from: Option<String>,
    /// … to this one (inclusive).
    #[arg(long)]
    pub(super) to: Option<String>,
    #[command(flatten)]
    pub(super) recipe: RecipeArgs,
    /// Where to write the tuned weights.
    #[arg(long)]
    pub(super) out: PathBuf,
    #[command(flatten)]
    pub(super) models: Models,
}

/// The arguments of `bench-identify`.
#[derive(clap::Args)]
pub(super) struct BenchIdentifyArgs {
    #[arg(long, default_value_t = 100_000)]
    pub(super) templates: usize,
    #[arg(long, default_value_t = 50)]
    pub(super) runs: usize,
    #[arg(long, default_value = "flex,ndarray")]
    pub(super) backends: String,
}

/// The arguments of `bench`.
#[derive(clap::Args)]
pub(super) struct BenchArgs {
    #[arg(long, default_value = crate::DEFAULT_WEIGHTS_PATH)]
    pub(super) weights: PathBuf,
    /// Backends to measure, comma separated.
    #[arg(long, default_value = "flex,ndarray")]
    pub(super) backends: String,
    #[arg(long, default_value_t = 50)]
    pub(super) singles: usize,
    #[arg(long, default_value_t = 20)]
    pub(super) batches: usize,
    /// Instead: where the time of one embedding goes on Flex, per kind of layer, on the
    /// packed kernels and on burn's ops (medians over `--singles` passes).
    #[arg(long)]
    pub(super) layers: bool,
    /// Also time this imported network (`convert model.onnx`) in the same run, on the same
    /// backends and input, beside the shipped embedder.
    #[arg(long)]
    pub(super) imported: Option<PathBuf>,
}

/// The models and how faces are found, shared by the commands that compare images.
#[derive(clap::Args)]
pub(super) struct Models {
    /// `detect`: find and align the main face (largest, discounted by distance from the centre); `none`: the images are aligned crops.
    #[arg(long, default_value = "detect", value_parser = ["detect", "none"])]
    pub(super) face: String,
    #[arg(long, default_value = crate::DEFAULT_WEIGHTS_PATH)]
    pub(super) weights: PathBuf,
    #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
    pub(super) detector: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub(super) backend: String,
    /// Fine-tuned weights (from `webverify train` or a browser's export) to use on top of --weights.
    #[arg(long)]
    pub(super) tuned: Option<PathBuf>,
    /// Align with five points from the face mesh (these weights, e.g. models/facemesh.safetensors)
    /// instead of the detector's four.
    #[arg(long)]
    pub(super) mesh: Option<PathBuf>,
    /// Test-time augmentation: `flip` embeds each face and its mirror image and sums them (twice
    /// the network's work per face; scored with the weights' `calibration_flip` when they carry one).
    #[arg(long, default_value = crate::score::embedder::Tta::DEFAULT.name(), value_parser = ["none", "flip"])]
    pub(super) tta: String,
}

impl Models {
    pub(super) fn load(
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
        pipeline
            .embedder
            .set_tta(crate::score::embedder::Tta::parse(&self.tta)?);
        Ok((
            pipeline,
            crate::face::prepared::FaceMode::parse(&self.face)?,
        ))
    }
}

/// Where `eval` and `eval-liveness` write their curves and scores.
#[derive(clap::Args)]
pub(super) struct EvalOutputs {
    /// Write the ROC curve as CSV (threshold, far, tar; for liveness far is APCER and tar
    /// 1 − BPCER).
    #[arg(long)]
    pub(super) roc: Option<PathBuf>,
    /// Draw the ROC curve as SVG.
    #[arg(long)]
    pub(super) plot: Option<PathBuf>,
    /// Write every pair's (or frame's) score as CSV, for error analysis (`eval`: with the pair's quality
    /// and each component).
    #[arg(long)]
    pub(super) scores: Option<PathBuf>,
}

/// A pair list for evaluation or calibration.
#[derive(clap::Args)]
pub(super) struct PairList {
    /// Pair list (LFW `pairs*.txt` format or the general `fold path_a path_b same` format).
    #[arg(long)]
    pub(super) pairs: PathBuf,
    /// Image root for LFW-format lists (default: `images/` beside the list, else its folder).
    #[arg(long)]
    pub(super) images: Option<PathBuf>,
}

impl PairList {
    pub(super) fn name(&self) -> String {
        self.pairs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub(super) fn read(&self) -> crate::Result<Vec<crate::tools::pairs::Pair>> {
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

/// The recipe options of `webverify train`, with the command's own defaults; they become a
/// [`crate::train::TrainConfig`] through the same camelCase options object as `fineTune` in JS.
#[cfg(feature = "train")]
#[derive(clap::Args, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RecipeArgs {
    /// ntxent (ignores the labels), supcon, triplet, arcface, cosface, sphereface, softmax.
    #[arg(long, default_value = "supcon")]
    pub(super) loss: String,
    /// adapter, head or all.
    #[arg(long, default_value = "adapter")]
    pub(super) trainable: String,
    #[arg(long, default_value_t = 200)]
    pub(super) steps: usize,
    #[arg(long, default_value_t = 32)]
    pub(super) batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub(super) lr: f64,
    #[arg(long, default_value_t = 1e-4)]
    pub(super) weight_decay: f32,
    #[arg(long, default_value_t = 0.1)]
    pub(super) temperature: f32,
    /// Default: the loss's own (triplet 0.2, arcface 0.5, cosface 0.35, sphereface 4).
    #[arg(long)]
    pub(super) margin: Option<f32>,
    #[arg(long, default_value_t = 16.0)]
    pub(super) scale: f32,
    #[arg(long, default_value_t = 0)]
    pub(super) seed: u64,
    /// Probability of a random illumination gradient per view (0: SimCLR's augmentations only).
    #[arg(long, default_value_t = 0.0)]
    pub(super) shading: f32,
    /// Share of the identities held back to calibrate on (0: train on all, keep the calibration).
    #[arg(long, default_value_t = crate::train::config::DEFAULT_HOLD_BACK)]
    pub(super) hold_back: f64,
}

/// The arguments of `eval-liveness`.
#[derive(clap::Args)]
pub(super) struct LivenessEval {
    /// The folder with `client_{train,test}_raw.txt`, `imposter_…` and the frames.
    #[arg(long)]
    pub(super) data: PathBuf,
    /// Liveness weights; given twice, the two models' live probabilities are averaged.
    #[arg(long, default_value = crate::DEFAULT_LIVENESS_PATH)]
    pub(super) weights: Vec<PathBuf>,
    #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
    pub(super) detector: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub(super) backend: String,
    /// Cut every frame to this many face boxes around the face first (e.g. 1.3: the
    /// print's edges no longer show).
    #[arg(long)]
    pub(super) cut: Option<f32>,
    /// Frames per face track.
    #[arg(long, default_value_t = 5)]
    pub(super) track: usize,
    /// The test frames' ROC (far = APCER, tar = 1 − BPCER) and every frame's score.
    #[command(flatten)]
    pub(super) outputs: EvalOutputs,
    /// Store the frame thresholds chosen on the train lists in this weights file's metadata
    /// (usually the --weights file itself; one model only).
    #[arg(long)]
    pub(super) write: Option<PathBuf>,
    /// Use the thresholds stored in the (one) model instead of choosing them on the train
    /// lists: how the shipped calibration holds under --cut.
    #[arg(long)]
    pub(super) stored_thresholds: bool,
}

/// The detector, mesh and liveness models a challenge needs.
#[derive(clap::Args)]
pub(super) struct FaceModels {
    #[arg(long, default_value = crate::DEFAULT_DETECTOR_PATH)]
    pub(super) detector: PathBuf,
    #[arg(long, default_value = crate::DEFAULT_MESH_PATH)]
    pub(super) mesh: PathBuf,
    #[arg(long, default_value = crate::DEFAULT_LIVENESS_PATH)]
    pub(super) liveness: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub(super) backend: String,
    /// The passive check's operating point: 0.05 or 0.01.
    #[arg(long, default_value_t = crate::liveness::DEFAULT_BPCER)]
    pub(super) bpcer: f64,
}

impl FaceModels {
    pub(super) fn load(
        &self,
    ) -> crate::Result<(crate::Pipeline, crate::FaceMesh, crate::Liveness)> {
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
