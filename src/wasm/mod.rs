//! wasm-bindgen bindings: the engine behind the JavaScript package (`pkg/index.js`). They only
//! convert arguments and results and map errors; the logic is in the core.
//!
//! Every fallible call returns a rejected promise (or throws) with a JS `Error` whose `code`
//! is [`Error::code`]; nothing here unwraps caller input, so the instance survives bad input.
//! Methods that run the model return promises because GPU reads are asynchronous in browsers.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::backend::Backend;
use crate::error::Error;
use crate::score::verify;

// The classes the package uses are exported by their `#[wasm_bindgen]` attributes.
mod challenge;
mod engine;
mod gallery;
mod liveness;

#[wasm_bindgen(start)]
fn start() {
    // A panic would be a bug; at least make it readable in the console.
    console_error_panic_hook::set_once();
}

/// Every error crosses to JavaScript the same way: an `Error` whose `code` is [`Error::code`]
/// (so `?` is the whole error mapping of a binding).
impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let err = js_sys::Error::new(&e.to_string());
        let _ = Reflect::set(&err, &"code".into(), &e.code().into());
        err.into()
    }
}

/// A result as the plain JS value `JSON.parse` would give (objects, arrays, `null` for `None`).
pub(crate) fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::Inference(format!("cannot convert a result: {e}")).into())
}

/// `{ similarity, match, threshold, far: null, faces: null }` for two embeddings (threshold:
/// the default when absent).
#[wasm_bindgen(js_name = verifyEmbeddings)]
pub fn verify_embeddings(a: &[f32], b: &[f32], threshold: Option<f32>) -> Result<JsValue, JsValue> {
    to_js(&verify::verify(
        a,
        b,
        threshold.unwrap_or(verify::DEFAULT_THRESHOLD),
    )?)
}

/// A serialised result with typed arrays set on it (embeddings, pixels: `Float32Array` and
/// `Uint8Array`, which the serializer would turn into plain arrays of numbers).
pub(crate) fn with_arrays<T: serde::Serialize + ?Sized>(
    value: &T,
    arrays: Vec<(&str, JsValue)>,
) -> Result<JsValue, JsValue> {
    let obj = to_js(value)?;
    for (key, array) in arrays {
        let _ = Reflect::set(&obj, &key.into(), &array);
    }
    Ok(obj)
}

/// Backends compiled into this module.
#[wasm_bindgen(js_name = compiledBackends)]
pub fn compiled_backends() -> Vec<String> {
    Backend::compiled()
        .iter()
        .map(|b| b.name().to_string())
        .collect()
}
