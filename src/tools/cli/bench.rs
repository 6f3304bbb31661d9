//! `bench` and `bench-identify`: native timings (median and minimum over rounds).

use super::args::*;
use crate::nn::profile::{LayerKind, LayerTimes};
use crate::{Backend, Embedder, Image};
use std::time::Instant;

fn stats(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0])
}

/// Median and minimum ms of `f` over `rounds` calls, per `per` items.
fn timed(
    rounds: usize,
    per: f64,
    f: &mut dyn FnMut() -> crate::Result<()>,
) -> crate::Result<(f64, f64)> {
    let mut ms = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        f()?;
        ms.push(t.elapsed().as_secs_f64() * 1e3 / per);
    }
    Ok(stats(ms))
}

/// One row for an imported network, timed as the shipped embedder's rows.
fn bench_imported(
    weights: &[u8],
    backend: Backend,
    packed: bool,
    image: &Image,
    (singles, batches): (usize, usize),
) -> crate::Result<String> {
    let t = Instant::now();
    let device = pollster::block_on(backend.device_async())?;
    let net = crate::ImportedNet::from_weights(weights, &device)?;
    net.set_packed_kernels(packed);
    let load = t.elapsed().as_secs_f64() * 1e3;
    let one = std::slice::from_ref(image);
    let batch = vec![image.clone(); 16];
    let t = Instant::now();
    pollster::block_on(net.embed_raw(one, &device))?;
    let first = t.elapsed().as_secs_f64() * 1e3;
    let run = |images: &[Image]| pollster::block_on(net.embed_raw(images, &device)).map(drop);
    let (sm, smin) = timed(singles, 1.0, &mut || run(one))?;
    let (bm, bmin) = timed(batches, 16.0, &mut || run(&batch))?;
    Ok(format!(
        "| native {} imported {}{} | {load:.1} | {first:.1} | {sm:.2} | {smin:.2} | {bm:.2} | {bmin:.2} |",
        backend.name(),
        net.info.metadata.get("source").map_or("", String::as_str),
        match (backend, packed) {
            (Backend::Flex, true) => format!(" ({} convs on packed kernels)", net.packed_convolutions()),
            (Backend::Flex, false) => " (burn ops)".into(),
            _ => String::new(),
        }
    ))
}

fn bench(
    weights: &[u8],
    imported: Option<&[u8]>,
    backends: &str,
    singles: usize,
    batches: usize,
) -> crate::Result<()> {
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
        if imported.is_some() {
            // One network pass per face, as the imported network makes (the default flip TTA
            // makes two).
            embedder.set_tta(crate::Tta::None);
        }
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
            "| native {}{}{} | {load:.1} | {first:.1} | {sm:.2} | {smin:.2} | {bm:.2} | {bmin:.2} |",
            backend.name(),
            if imported.is_some() { " tta none" } else { "" },
            match (backend, packed) {
                (Backend::Flex, true) => " (packed kernels)",
                (Backend::Flex, false) => " (burn ops)",
                _ => "",
            }
        );
        if let Some(imported) = imported {
            let row = bench_imported(imported, backend, packed, &image, (singles, batches))?;
            println!("{row}");
        }
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

/// `bench`: the embedder's timings, or with `--layers` where one embedding's time goes.
pub(super) fn bench_command(args: BenchArgs) -> crate::Result<()> {
    if args.layers {
        bench_layers(&super::read(&args.weights)?, args.singles)
    } else {
        let imported = args.imported.as_ref().map(super::read).transpose()?;
        bench(
            &super::read(&args.weights)?,
            imported.as_deref(),
            &args.backends,
            args.singles,
            args.batches,
        )
    }
}

/// `bench-identify`.
pub(super) fn bench_identify_command(args: BenchIdentifyArgs) -> crate::Result<()> {
    bench_identify(args.templates, args.runs, &args.backends)
}
