//! A small seeded random generator (PCG-style LCG step, top 24 bits): reproducible benchmark data,
//! test inputs and, later, augmentations, the same natively and in wasm, without a dependency.

/// Deterministic pseudo-random numbers from a seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    /// `count` values uniform in [−0.5, 0.5).
    pub fn centred(&mut self, count: usize) -> Vec<f32> {
        (0..count).map(|_| self.next_f32() - 0.5).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_in_range() {
        let (a, b) = (Rng::new(3).centred(1000), Rng::new(3).centred(1000));
        assert_eq!(a, b);
        assert!(a.iter().all(|x| (-0.5..0.5).contains(x)));
        let mean = a.iter().sum::<f32>() / 1000.0;
        assert!(mean.abs() < 0.05, "{mean}");
        assert_ne!(Rng::new(4).centred(10), Rng::new(3).centred(10));
    }
}
