//! Four f32 lanes: WebAssembly SIMD128 in wasm (the fused multiply-add of relaxed SIMD where the
//! build enables it), a plain array natively, so that the same kernels run — and are tested —
//! on both. Natively the compiler vectorises the array form with SSE/NEON.

#[cfg(target_arch = "wasm32")]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self(f32x4_splat(x))
        }
        /// # Safety
        /// `p` is valid for reading four f32s (no alignment needed).
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            Self(v128_load(p as *const v128))
        }
        /// # Safety
        /// `p` is valid for writing four f32s (no alignment needed).
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        /// `self + a·b`; one rounding with relaxed SIMD (where the engine fuses it), two without.
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            {
                Self(f32x4_relaxed_madd(a.0, b.0, self.0))
            }
            #[cfg(not(target_feature = "relaxed-simd"))]
            {
                Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
            }
        }
        #[inline(always)]
        pub fn add(self, b: Self) -> Self {
            Self(f32x4_add(self.0, b.0))
        }
        /// PReLU: `x` where positive, `alpha·x` elsewhere. `pmax`/`pmin` are single
        /// instructions (maxps/minps) where `f32x4_max` needs NaN handling.
        #[inline(always)]
        pub fn prelu(self, alpha: Self) -> Self {
            let zero = f32x4_splat(0.0);
            let pos = f32x4_pmax(zero, self.0);
            let neg = f32x4_pmin(zero, self.0);
            Self(f32x4_add(pos, f32x4_mul(alpha.0, neg)))
        }
        /// ReLU: `max(x, 0)`.
        #[inline(always)]
        pub fn relu(self) -> Self {
            Self(f32x4_pmax(f32x4_splat(0.0), self.0))
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self([x; 4])
        }
        /// # Safety
        /// `p` is valid for reading four f32s (no alignment needed).
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            Self((p as *const [f32; 4]).read_unaligned())
        }
        /// # Safety
        /// `p` is valid for writing four f32s (no alignment needed).
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            (p as *mut [f32; 4]).write_unaligned(self.0)
        }
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }
        #[inline(always)]
        pub fn add(self, b: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i] + b.0[i]))
        }
        #[inline(always)]
        pub fn prelu(self, alpha: Self) -> Self {
            Self(std::array::from_fn(|i| {
                let x = self.0[i];
                x.max(0.0) + alpha.0[i] * x.min(0.0)
            }))
        }
        #[inline(always)]
        pub fn relu(self) -> Self {
            Self(self.0.map(|x| x.max(0.0)))
        }
    }
}

pub use imp::F32x4;
