// A TypeScript user of the package: `tsc --noEmit -p tests/consumer` must accept this with strict
// checks, so the published types cover the API as documented in the README.
import Verifier, { Gallery, IndexedDBStore, WebverifyError } from 'webverify';
import { training, F32_MODEL_URL } from 'webverify-training';
import type { TrainingModule } from 'webverify-training';
// A package file imported through a bundler's asset handling: its URL.
import detectorFile from 'webverify/models/blazeface-short.safetensors';
import gpuModuleFile from 'webverify/wasm/webverify_gpu_bg.wasm';
import type { ErrorCode, Identification, Verification, EnrollResult, CalibrationResult, Face, FineTuneResult, FineTuneProgress, TunedCalibration, FaceLandmarks, FaceQuality, LivenessResult, ChallengeAction, ChallengeStatus } from 'webverify';

export async function demo(photo: HTMLImageElement, video: HTMLVideoElement, key: CryptoKey): Promise<string> {
  const v = await Verifier.create({ backend: 'auto', worker: true, cache: false, onProgress: (p) => p.stage === 'wasm' && p.loaded });
  const module: 'cpu' | 'gpu' | 'full' = v.wasmModule;
  const a: Float32Array = await v.embed(photo);
  const faces: Face[] = await v.detect(photo);
  const crop: ImageData = await v.alignedFace(photo, { face: 'detect' });
  const result: Verification = await v.verify(photo, video, { far: 1e-4 });
  const counts: [number, number] | null = result.faces;
  const quality: FaceQuality | undefined = result.quality?.[0];
  const shown = await v.verify(photo, video, { far: 1e-2, threshold: 0.4, crops: true });
  const compared: Face | undefined = shown.mainFaces?.[1];
  const modelSaw: ImageData | undefined = shown.crops?.[0];
  if (!(v instanceof Verifier) || !compared || !modelSaw) throw new Error('typed as the package returns it');
  const live: LivenessResult = await v.liveness(video, { bpcer: 0.01, frames: 5, intervalMs: 100 });
  const liveFrames: LivenessResult = await v.liveness([photo, photo], { threshold: 0.5 });
  const meshed = await Verifier.create({ alignment: 'mesh', detectorUrl: detectorFile, wasmUrl: gpuModuleFile.length ? undefined : gpuModuleFile });
  const companion: TrainingModule = training;
  const trainer = await Verifier.create({ training: companion, modelUrl: F32_MODEL_URL });
  trainer.dispose();
  const landmarks: FaceLandmarks = await meshed.landmarks(photo);
  const yaw: number = landmarks.headPose.yaw + (quality?.pose ?? 0) + (live.live ? 1 : 0) + liveFrames.score;
  const asked: ChallengeAction[] = [];
  const challenged: ChallengeStatus = await v.challenge(video, {
    count: 3,
    stepMs: 5000,
    bpcer: 0.05,
    signal: new AbortController().signal,
    onProgress: (s) => { if (s.action) asked.push(s.action); },
  });
  const passedIn: number = challenged.passed ? challenged.elapsedMs : (challenged.passive?.score ?? 0);
  await v.challenge(video, { steps: ['blink', 'turnLeft'] });
  const s: number = await Verifier.similarity(a, await v.embed(video));
  const refit: CalibrationResult = await v.calibrate([{ a, b: a, same: true }]);
  await v.resetCalibration();

  const gallery = v.createGallery();
  const enrolled: EnrollResult = await gallery.enroll('ada', [photo, a], { metadata: { team: 'blue' }, force: false });
  const who: Identification = await gallery.identify(video, { topK: 3, far: 1e-3, aggregation: 'centroid' });
  const store = new IndexedDBStore({ key });
  await gallery.save(store);
  const loaded: Gallery | null = await Gallery.load(v, store);
  const copy = await Gallery.fromBytes(v, await gallery.toBytes());
  const sealingKey = crypto.getRandomValues(new Uint8Array(32));
  const sealed: Uint8Array = await gallery.toBytes({ key: sealingKey });
  const opened: Gallery = await Gallery.fromBytes(v, sealed, { key: sealingKey });
  const names: string[] = (await copy.list()).map((i) => i.id);
  const size: number = await copy.size();

  const controller = new AbortController();
  const seen: number[] = [];
  const tuned: FineTuneResult = await v.fineTune({
    images: [photo, video],
    labels: ['ada', 'ada'],
    loss: 'supcon',
    trainable: 'adapter',
    steps: 10,
    batchSize: 2,
    onProgress: (p: FineTuneProgress) => seen.push(p.loss),
    onLoad: (p) => p.stage === 'training module' && p.total,
    signal: controller.signal,
    holdBack: 0.2,
  });
  const calibration: TunedCalibration = tuned.calibration;
  const fitted: 'refit' | 'shipped' | undefined = calibration.thresholds[0]?.source;
  const why: string | null = calibration.inherited ? calibration.reason : null;
  const weights: Uint8Array | null = await v.exportTuned();
  if (weights) await v.importTuned(weights);
  const migrated: boolean = await gallery.migrate();
  const scope: string | undefined = v.model.tuned?.scope;
  await v.resetModel();

  try {
    await v.embed({ data: new Uint8Array(3), width: 1, height: 1 });
  } catch (e) {
    if (e instanceof WebverifyError) {
      const code: ErrorCode = e.code;
      return code;
    }
  }
  v.dispose();
  return `${crop.width} ${faces.length} ${s} ${counts} ${refit.impostors} ${enrolled.enrolled} ${who.match} ${loaded} ${names} ${size} ${tuned.modelId} ${migrated} ${scope} ${passedIn} ${asked.length}`;
}
