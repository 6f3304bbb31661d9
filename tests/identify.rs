//! The calibrated 1:N search, gallery loading and packed calibration pairs as a Rust user gets
//! them (the same code the wasm bindings call): the search threshold holds the search FAR over
//! the gallery's comparisons, candidates carry their FAR, bad requests are typed errors.

mod common;

use std::cell::RefCell;

use webverify::{Backend, Embedder, ErrorCode, Gallery, Rng, SearchOptions, Searcher};

/// `n` random unit vectors of 192 floats.
fn templates(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let v = rng.centred(192);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn gallery(embedder: &Embedder, people: &[Vec<f32>]) -> Gallery {
    let mut g = Gallery::new(embedder.model_ref());
    for (i, t) in people.iter().enumerate() {
        g.enroll(&format!("p{i}"), std::slice::from_ref(t), None)
            .unwrap();
    }
    g
}

#[test]
fn the_search_threshold_holds_the_search_far() {
    let embedder = Embedder::new(&common::weights(), Backend::Flex).unwrap();
    let people = templates(200, 7);
    let g = gallery(&embedder, &people);
    let options = SearchOptions::default();

    // A probe close to p42 is found, at the threshold for FAR 1e-3 over 200 comparisons.
    let mut probe = people[42].clone();
    probe[0] += 0.05;
    let hit = g.search(&embedder, &probe, &options).unwrap();
    assert_eq!(hit.matched.as_deref(), Some("p42"));
    assert_eq!(hit.far, Some(1e-3));
    let expected = embedder.search_threshold(None, 200).unwrap();
    assert_eq!(hit.threshold, expected);
    // Stricter than the 1:1 threshold at the same FAR: the search makes 200 comparisons.
    assert!(hit.threshold > embedder.threshold(Some(1e-3)).unwrap());
    assert_eq!(hit.candidates.len(), 5);
    let best = &hit.candidates[0];
    let far = best.far.expect("a calibrated model estimates the FAR");
    assert!(far > 0.0 && far < 1e-3, "{far}");
    assert!(hit
        .candidates
        .windows(2)
        .all(|w| w[0].similarity >= w[1].similarity));

    // A stranger (random direction) matches nobody.
    let stranger = &templates(1, 99)[0];
    let miss = g.search(&embedder, stranger, &options).unwrap();
    assert_eq!(miss.matched, None);

    // The searcher (the path the wasm gallery uses) gives the same answer on the CPU.
    let shared = RefCell::new(g);
    let searcher = Searcher::new();
    let again = pollster::block_on(searcher.identify(&shared, &embedder, &probe, &options));
    assert_eq!(again.unwrap(), hit);
}

#[test]
fn bad_searches_are_typed_errors() {
    let embedder = Embedder::new(&common::weights(), Backend::Flex).unwrap();
    let g = gallery(&embedder, &templates(3, 1));
    let probe = templates(1, 2).remove(0);
    let code = |o: SearchOptions, p: &[f32]| g.search(&embedder, p, &o).unwrap_err().kind();
    let with = |f: &dyn Fn(&mut SearchOptions)| {
        let mut o = SearchOptions::default();
        f(&mut o);
        o
    };
    assert_eq!(
        code(with(&|o| o.threshold = Some(f32::NAN)), &probe),
        ErrorCode::InvalidInput
    );
    // Far below what the calibration's impostor pairs can support.
    assert_eq!(
        code(with(&|o| o.far = Some(1e-12)), &probe),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(SearchOptions::default(), &probe[..10]),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(SearchOptions::default(), &[f32::NAN; 192]),
        ErrorCode::InvalidInput
    );
    // A caller's own cosine threshold is used as given.
    let own = g
        .search(&embedder, &probe, &with(&|o| o.threshold = Some(-1.0)))
        .unwrap();
    assert_eq!(own.threshold, -1.0);
    assert!(own.matched.is_some());
    // Another model's gallery is refused.
    let mut other = g.model().clone();
    other.sha256 = "0".repeat(64);
    let foreign = Gallery::new(other);
    let err = foreign
        .search(&embedder, &probe, &SearchOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorCode::ModelMismatch);
}

#[test]
fn galleries_load_for_the_embedder_and_packed_pairs_are_checked() {
    let embedder = Embedder::new(&common::weights(), Backend::Flex).unwrap();
    let g = gallery(&embedder, &templates(4, 3));
    let loaded = embedder.load_gallery(&g.to_bytes()).unwrap();
    assert_eq!(loaded.list(), g.list());
    let mut foreign_model = g.model().clone();
    foreign_model.sha256 = "f".repeat(64);
    let foreign = Gallery::new(foreign_model).to_bytes();
    assert_eq!(
        embedder.load_gallery(&foreign).unwrap_err().kind(),
        ErrorCode::ModelMismatch
    );
    // Packed pairs must be whole embeddings, one `same` flag per pair.
    let a = vec![0.1f32; 192 * 2];
    let err = embedder
        .calibrate_packed(&a, &a[..192], &[true, false])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorCode::InvalidInput);
    let err = embedder.calibrate_packed(&a, &a, &[true]).unwrap_err();
    assert_eq!(err.kind(), ErrorCode::InvalidInput);
}

#[test]
fn a_refit_on_few_impostors_keeps_the_shipped_threshold_where_it_cannot_support_the_far() {
    let embedder = Embedder::new(&common::weights(), Backend::Flex).unwrap();
    let shipped = embedder.threshold(None).unwrap();
    let people = templates(101, 7);
    // 100 impostor pairs support a FAR of 1e-2 but not the default 1e-3.
    let pairs: Vec<(&[f32], &[f32], bool)> = people
        .windows(2)
        .map(|w| (w[0].as_slice(), w[1].as_slice(), false))
        .chain([(people[0].as_slice(), people[0].as_slice(), true)])
        .collect();
    let refit = embedder.calibrate(&pairs).unwrap();
    let at = |far: f64| {
        refit
            .thresholds
            .iter()
            .find(|t| t.far == far)
            .unwrap()
            .clone()
    };
    assert_eq!(at(1e-2).source, webverify::ThresholdSource::Refit);
    assert_eq!(at(1e-3).source, webverify::ThresholdSource::Shipped);
    assert_eq!(at(1e-3).threshold, Some(shipped));
    // A plain comparison (default FAR 1e-3) still works, at the shipped threshold ...
    let v = embedder.compare(&people[0], &people[0], None).unwrap();
    assert!(v.is_match);
    assert_eq!(v.threshold, shipped);
    // ... and 1e-2 uses the refit.
    assert_eq!(
        embedder.threshold(Some(1e-2)).unwrap(),
        at(1e-2).threshold.unwrap()
    );
}

#[test]
fn sealed_galleries_load_only_under_their_key() {
    let embedder = Embedder::new(&common::weights(), Backend::Flex).unwrap();
    let g = gallery(&embedder, &templates(3, 11));
    let key = [7u8; 32];
    let sealed = g.to_sealed_bytes(&key).unwrap();
    assert_eq!(
        embedder.load_sealed_gallery(&sealed, &key).unwrap().list(),
        g.list()
    );
    assert_eq!(
        embedder
            .load_sealed_gallery(&sealed, &[8u8; 32])
            .unwrap_err()
            .kind(),
        ErrorCode::WrongKey
    );
    // A forger who rewrites the plain bytes inside (and their SHA-256) cannot fix the tag.
    let mut forged = sealed.clone();
    let n = forged.len();
    forged[n - 40] ^= 0x10;
    assert_eq!(
        embedder
            .load_sealed_gallery(&forged, &key)
            .unwrap_err()
            .kind(),
        ErrorCode::WrongKey
    );
    assert_eq!(
        embedder.load_gallery(&sealed).unwrap_err().kind(),
        ErrorCode::CorruptData
    );
}
