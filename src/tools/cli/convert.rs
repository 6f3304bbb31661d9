//! `convert` and `store`: source models into webverify weights files, and their storage.

use super::args::*;
use super::{read, write_weights};

pub(super) fn convert(args: ConvertArgs) -> crate::Result<()> {
    let ConvertArgs {
        model,
        out,
        crop_scale,
        layout,
        colour,
        mean,
        std,
        output,
    } = args;
    let source = model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = if model.extension().is_some_and(|e| e == "onnx") {
        let options = crate::tools::onnx::ImportOptions {
            layout,
            colour,
            mean,
            std,
            output,
        };
        let imported = crate::tools::onnx::onnx_to_weights(&read(&model)?, &source, &options)?;
        for note in &imported.notes {
            eprintln!("note: {note}");
        }
        let p = &imported.preprocessing;
        println!(
            "{} ops; input {}x{}x{} ({}, {}), mean {:?}, std {:?}; output {:?} of {} values",
            imported.ops,
            p.channels,
            p.size,
            p.size,
            p.layout,
            p.colour,
            p.mean,
            p.std,
            imported.output,
            imported.output_dim
        );
        imported.bytes
    } else if model.extension().is_some_and(|e| e == "pth") {
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
    Ok(())
}

pub(super) fn store(args: StoreArgs) -> crate::Result<()> {
    let StoreArgs {
        weights,
        out,
        storage,
    } = args;
    let storage = crate::io::storage::Storage::parse(&storage)?;
    let bytes = crate::io::weights::restore(&read(&weights)?, storage)?;
    write_weights(&out, &bytes, storage.name())?;
    Ok(())
}
