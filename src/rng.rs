//! Counter-based random numbers, bit-identical to `shaders/shared/rng.wgsl`, so the GPU and
//! the CPU twin draw the same numbers for the same (seed, stream, index, draw).

/// PCG hash (Jarzynski & Olano 2020, "Hash Functions for GPU Rendering").
pub fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

pub fn hash3(a: u32, b: u32, c: u32) -> u32 {
    pcg_hash(a ^ pcg_hash(b ^ pcg_hash(c)))
}

/// Maps a hash to [0, 1) with 24 bits of precision.
pub fn u01(h: u32) -> f32 {
    (h >> 8) as f32 * (1.0 / 16_777_216.0)
}

pub fn rand(seed: u32, stream: u32, index: u32, draw: u32) -> f32 {
    u01(pcg_hash(hash3(seed, stream, index) ^ pcg_hash(draw)))
}

/// Folds a 64-bit scenario seed into the 32-bit seed the shaders use.
pub fn seed32(seed: u64) -> u32 {
    pcg_hash((seed as u32) ^ pcg_hash((seed >> 32) as u32))
}

/// A small deterministic generator for CPU-side scene building (not shared with shaders).
#[derive(Clone, Debug)]
pub struct SceneRng {
    seed: u32,
    stream: u32,
    counter: u32,
}

impl SceneRng {
    pub fn new(seed: u64, stream: u32) -> Self {
        SceneRng {
            seed: seed32(seed),
            stream,
            counter: 0,
        }
    }

    pub fn next_f32(&mut self) -> f32 {
        self.counter = self.counter.wrapping_add(1);
        rand(self.seed, self.stream, self.counter, 0)
    }

    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next_f32()
    }
}

/// A small deterministic generator (SplitMix64): the same seed gives the same numbers on every
/// machine, with no `rand` dependency (plants, resampling, differential-privacy noise).
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform in (0, 1).
    pub fn next_f64(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next_f32()
    }

    /// Laplace(0, b) by inversion.
    pub fn laplace(&mut self, b: f64) -> f64 {
        let u = self.next_f64() - 0.5;
        -b * u.signum() * (1.0 - 2.0 * u.abs()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pcg_hash(0) worked by hand:
    /// state = 0·747796405 + 2891336453 = 2891336453 (0xAC564B05);
    /// state >> 28 = 10, so shift by 14: 2891336453 >> 14 = 176473 (0x2B159);
    /// 0x0002B159 ^ 0xAC564B05 = 0xAC54FA5C = 2891250268;
    /// 2891250268 · 277803737 mod 2^32 = 0x07BB2FFC, then the final `(word >> 22) ^ word`
    /// (word = 0x07BB2FFC; word >> 22 = 0x1E; 0x07BB2FFC ^ 0x1E = 0x07BB2FE2 = 129708002).
    /// The other values were computed with an independent big-integer implementation (Python,
    /// masking to 32 bits after each product and sum).
    #[test]
    fn pcg_hash_known_values() {
        assert_eq!(pcg_hash(0), 129_708_002);
        assert_eq!(pcg_hash(1), 2_831_084_092);
        assert_eq!(pcg_hash(42), 1_223_963_391);
        assert_eq!(pcg_hash(0xdead_beef), 1_730_779_506);
    }

    #[test]
    fn hash3_and_rand_known_values() {
        assert_eq!(hash3(1, 2, 3), 1_493_219_802);
        // rand(0,0,0,0): top 24 bits of the final hash are 4163509.
        assert_eq!(rand(0, 0, 0, 0), 4_163_509.0 / 16_777_216.0);
        assert_eq!(rand(12_345, 7, 99, 3), 15_593_897.0 / 16_777_216.0);
    }

    #[test]
    fn u01_range() {
        assert_eq!(u01(0), 0.0);
        assert!(u01(u32::MAX) < 1.0);
        assert_eq!(u01(u32::MAX), 16_777_215.0 / 16_777_216.0);
    }

    #[test]
    fn uniform_mean_and_variance() {
        let n = 100_000;
        let xs: Vec<f32> = (0..n).map(|i| rand(7, 1, i, 0)).collect();
        let mean = xs.iter().sum::<f32>() / n as f32;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n as f32;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "{var}");
    }
}
