//! `embed`, `detect`, `landmarks` and `verify`: the runtime on image files.

use super::args::*;
use super::read;
use crate::{Backend, Embedder, Image};

pub(super) fn embed(args: EmbedArgs) -> crate::Result<()> {
    let EmbedArgs { images, models } = args;
    let (pipeline, mode) = models.load()?;
    for path in images {
        let [e] = <[Vec<f32>; 1]>::try_from(pipeline.embed_batch(&[Image::open(&path)?], mode)?)
            .map_err(|_| crate::Error::Inference("no embedding returned".into()))?;
        let json = serde_json::json!({ "image": path, "embedding": e });
        println!("{json}");
    }
    Ok(())
}

pub(super) fn detect(args: DetectArgs) -> crate::Result<()> {
    let DetectArgs {
        images,
        detector,
        backend,
        save_aligned,
    } = args;
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
                    crate::Error::InvalidInput(format!("cannot write {}: {e}", out.display()))
                })?;
            }
        }
    }
    Ok(())
}

pub(super) fn landmarks(args: LandmarksArgs) -> crate::Result<()> {
    let LandmarksArgs {
        image,
        mesh,
        detector,
        backend,
    } = args;
    let device = Backend::parse(&backend)?.cpu_device()?;
    let pipeline = crate::Pipeline {
        embedder: Embedder::from_path(crate::DEFAULT_WEIGHTS_PATH, Backend::parse(&backend)?)?,
        detector: Some(crate::Detector::with_device(
            &read(&detector)?,
            device.clone(),
        )?),
        mesh: Some(crate::FaceMesh::with_device(&read(&mesh)?, device)?),
    };
    let found = pollster::block_on(pipeline.landmarks_async(&Image::open(&image)?))?;
    println!(
        "{}",
        serde_json::to_string(&found).map_err(|e| crate::Error::Inference(e.to_string()))?
    );
    Ok(())
}

pub(super) fn verify(args: VerifyArgs) -> crate::Result<()> {
    let VerifyArgs { a, b, far, models } = args;
    let (pipeline, mode) = models.load()?;
    let v = pipeline.verify(
        &Image::open(&a)?,
        &Image::open(&b)?,
        mode,
        crate::score::verify::Threshold::AtFar(far),
    )?;
    println!("{}", serde_json::to_string(&v).unwrap_or_default());
    Ok(())
}
