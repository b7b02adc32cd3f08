// Counter-based random numbers. Keep in sync with src/rng.rs (bit-identical).

fn pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn hash3(a: u32, b: u32, c: u32) -> u32 {
    return pcg_hash(a ^ pcg_hash(b ^ pcg_hash(c)));
}

fn u01(h: u32) -> f32 {
    return f32(h >> 8u) * (1.0 / 16777216.0);
}

fn rand(seed: u32, stream: u32, index: u32, draw: u32) -> f32 {
    return u01(pcg_hash(hash3(seed, stream, index) ^ pcg_hash(draw)));
}
