//! The 1:N search on the compute device: a gallery's template matrix kept as a `[templates, dim]`
//! tensor, scored against a probe with one matrix product. On WebGPU the matrix stays in GPU
//! memory between searches; only the probe goes up and one score per template comes back.

use burn::tensor::{Device, Tensor, TensorData};

use crate::backend::read_back;
use crate::error::{Error, Result};

/// A template matrix resident on a device.
pub struct TemplateIndex {
    matrix: Tensor<2>,
    rows: usize,
    dim: usize,
}

impl TemplateIndex {
    /// Uploads `matrix` (`rows × dim`, row-major, unit-length rows) to `device`.
    pub fn new(matrix: &[f32], dim: usize, device: &Device) -> Result<Self> {
        if dim == 0 || matrix.len() % dim != 0 {
            return Err(Error::InvalidInput(format!(
                "{} values are not rows of {dim}",
                matrix.len()
            )));
        }
        let rows = matrix.len() / dim;
        Ok(Self {
            matrix: Tensor::from_data(TensorData::new(matrix.to_vec(), [rows, dim]), device),
            rows,
            dim,
        })
    }

    /// Every row's dot product with `probe` (cosine similarities for unit vectors).
    pub async fn scores_async(&self, probe: &[f32]) -> Result<Vec<f32>> {
        if probe.len() != self.dim {
            return Err(Error::InvalidInput(format!(
                "a probe of {} values for {}-d templates",
                probe.len(),
                self.dim
            )));
        }
        if self.rows == 0 {
            return Ok(Vec::new());
        }
        let device = self.matrix.device();
        let p = Tensor::<2>::from_data(TensorData::new(probe.to_vec(), [1, self.dim]), &device);
        // A matrix-vector product as a broadcast multiply and a row sum: as fast for one probe
        // (both read the matrix once), and it reuses kernels the models already compile into the
        // wasm module, where `matmul` pulled in 9.4 MB of GEMM kernels for the CPU backends.
        let data = read_back(
            (self.matrix.clone() * p).sum_dim(1),
            "reading the scores back",
        )
        .await?;
        data.as_slice::<f32>()
            .map(<[f32]>::to_vec)
            .map_err(|e| Error::Inference(format!("scores are not f32: {e:?}")))
    }

    /// [`TemplateIndex::scores_async`], blocking (the native benchmark's and the tests').
    #[cfg(all(not(target_arch = "wasm32"), any(test, feature = "cli")))]
    pub fn scores(&self, probe: &[f32]) -> Result<Vec<f32>> {
        pollster::block_on(self.scores_async(probe))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_dot_products() {
        let device = crate::Backend::Flex.cpu_device().unwrap();
        let index = TemplateIndex::new(&[1.0, 0.0, 0.0, 1.0, 0.6, 0.8], 2, &device).unwrap();
        let s = index.scores(&[0.6, 0.8]).unwrap();
        let want = [0.6, 0.8, 1.0];
        assert!(
            s.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{s:?}"
        );
        assert!(index.scores(&[1.0]).is_err());
        assert!(TemplateIndex::new(&[1.0; 3], 2, &device).is_err());
    }
}
