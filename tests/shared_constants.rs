//! The constants the engine and the JavaScript package share are the engine's: `pkg/constants.js`
//! holds each one once for the package, and this test fails when a value there (or a union of
//! `pkg/index.d.ts` built from one) differs from the Rust definition.

use webverify::quality::issue_code;
use webverify::ErrorCode;

const CONSTANTS_JS: &str = include_str!("../pkg/constants.js");
const INDEX_DTS: &str = include_str!("../pkg/index.d.ts");

/// The text after `export const NAME =` up to its `;`.
fn js_value(name: &str) -> String {
    let key = format!("export const {name} =");
    let start = CONSTANTS_JS
        .find(&key)
        .unwrap_or_else(|| panic!("pkg/constants.js exports {name}"))
        + key.len();
    let end = start
        + CONSTANTS_JS[start..]
            .find(';')
            .expect("a ; after the value");
    // Comments inside a list are not values.
    CONSTANTS_JS[start..end]
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

fn js_numbers(name: &str) -> Vec<f64> {
    js_value(name)
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}: {s} is a number"))
        })
        .collect()
}

fn js_strings(name: &str) -> Vec<String> {
    js_value(name)
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches('\'').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The members of `type` in index.d.ts written as `code: 'A' | 'B' …;` or `type X = 'A' | …;`.
fn dts_union(after: &str) -> Vec<String> {
    let start = INDEX_DTS
        .find(after)
        .unwrap_or_else(|| panic!("index.d.ts has {after}"))
        + after.len();
    let end = start + INDEX_DTS[start..].find(';').unwrap();
    INDEX_DTS[start..end]
        .split('|')
        .map(|s| s.trim().trim_matches('\'').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn numbers_match_the_engine() {
    assert_eq!(js_numbers("CROP_SIZE"), [webverify::INPUT_SIZE as f64]);
    assert_eq!(js_numbers("REPORTED_FARS"), webverify::REPORTED_FARS);
    assert_eq!(js_numbers("DEFAULT_FAR"), [webverify::DEFAULT_FAR]);
    assert_eq!(js_numbers("LIVENESS_BPCERS"), webverify::CALIBRATED_BPCERS);
}

#[test]
fn issue_codes_match_the_engine_and_the_types() {
    let engine: Vec<String> = issue_code::ALL.iter().map(|c| c.to_string()).collect();
    assert_eq!(js_strings("ISSUE_CODES"), engine);
    let mut declared = dts_union("export interface QualityIssue {\n  code:");
    declared.sort();
    let mut expected = engine.clone();
    expected.sort();
    assert_eq!(declared, expected);
}

#[test]
fn test_time_augmentation_matches_the_engine_and_the_types() {
    let modes = [webverify::Tta::None, webverify::Tta::Flip];
    let names: Vec<String> = modes.iter().map(|m| m.name().to_string()).collect();
    assert_eq!(js_strings("TTA_MODES"), names);
    for name in &names {
        assert_eq!(webverify::Tta::parse(name).unwrap().name(), name);
    }
    assert_eq!(
        js_strings("DEFAULT_TTA"),
        [webverify::Tta::DEFAULT.name().to_string()]
    );
    assert_eq!(dts_union("export type Tta ="), names);
}

#[test]
fn error_codes_match_the_engine_and_the_types() {
    let mut expected: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    expected.extend(["DISPOSED".to_string(), "INTERNAL".to_string()]);
    assert_eq!(js_strings("ERROR_CODES"), expected);
    let mut declared = dts_union("export type ErrorCode =");
    declared.sort();
    expected.sort();
    assert_eq!(declared, expected);
}

#[test]
fn the_reader_reads_what_it_checks() {
    // A reader that found nothing would compare empty lists.
    assert_eq!(js_strings("ISSUE_CODES").len(), 9);
    assert_eq!(js_strings("TTA_MODES").len(), 2);
    assert_eq!(js_strings("ERROR_CODES").len(), ErrorCode::ALL.len() + 2);
}
