/** The training module's location, for `Verifier.create({ training })` of `webverify`. */
export interface TrainingModule {
  /** This package's version: it must be the `webverify` package's. */
  readonly version: string;
  /** The full module's relaxed-SIMD build (browsers that validate relaxed SIMD). */
  readonly 'relaxed-simd': string;
  /** The full module's plain SIMD128 build. */
  readonly simd: string;
}

/** This package's version. */
export declare const VERSION: string;
/** The full module's two builds, for `Verifier.create({ training })`. */
export declare const training: TrainingModule;
/** The f32 MobileFaceNet weights' URL (pass it as `modelUrl`). */
export declare const F32_MODEL_URL: string;
