// Lidar sweep: one ray per (beam, column); writes one LidarHit slot per ray (two with dual
// returns). Physics: received power, SNR detection, fog backscatter, rain/snow particle
// returns, wet/snowy ground; equations in docs/lidar.md.
// CPU twin: src/backend/cpu/lidar.rs (written line for line alike). Needs shared/types.wgsl,
// shared/rng.wgsl, shared/bvh.wgsl, shared/particle_grid.wgsl.

@group(1) @binding(0) var<uniform> lp: LidarParams;
@group(1) @binding(1) var<storage, read> beams: array<vec2<f32>>;
@group(1) @binding(2) var<storage, read> columns: array<vec2<f32>>;
@group(1) @binding(3) var<storage, read_write> hits: array<LidarHit>;

// Class ids, random streams and reflectivities: src/abi/shared.rs (generated into this source).
const PI: f32 = 3.14159265; // the f32 nearest π, as std::f32::consts::PI
// Counter-RNG streams (the `stream` word of rand()).
// Soft-target (fog) peak search: samples per pulse length and most samples.
// Range bins along the beam in which drops and flakes are sampled.
// Equivalent Lambertian reflectivity of a rain drop's cross-section: π·Q_ext·(β/α) with
// Q_ext = 2 and Hahner's β/α = 0.046/ln 20; of a snowflake: NIR reflectance of snow.
// Reflectivity at 905 nm of snow lying on the ground.
// Size limits (mm): rain drops; snow as melted diameter; Holroyd D_f² = D_m³ / 0.17.

// Transmitter/receiver overlap ξ(r).
// A clear coat over the surface (car paint): sensors::lidar::coated_reflectance, line for line.
fn coated_reflectance(rho_shape: f32, inv_m2: f32, cos_inc: f32) -> f32 {
    if inv_m2 <= 0.0 {
        return rho_shape;
    }
    let c = max(cos_inc, 1e-3);
    let m = 1.0 - c;
    let f = CLEARCOAT_F0 + (1.0 - CLEARCOAT_F0) * (m * m * m * m * m);
    let c2 = c * c;
    let tan2 = (1.0 - c2) / c2;
    let lobe = f * exp(-tan2 * inv_m2) * inv_m2 / (4.0 * c2 * c2 * c);
    return rho_shape * (1.0 - f) * (1.0 - f) + lobe;
}

fn overlap(r: f32) -> f32 {
    if lp.overlap_full_m <= lp.overlap_start_m {
        return select(0.0, 1.0, r >= lp.overlap_start_m);
    }
    return clamp((r - lp.overlap_start_m) / (lp.overlap_full_m - lp.overlap_start_m), 0.0, 1.0);
}

// Two-way transmission exp(−2αr).
fn transmission2(r: f32) -> f32 {
    return exp(-2.0 * lp.extinction_per_m * r);
}

// Schlick's Fresnel reflectance of water (n = 1.33, F0 = 0.02).
fn fresnel_water(cos_i: f32) -> f32 {
    let m = 1.0 - cos_i;
    return 0.02 + 0.98 * (m * m * m * m * m);
}

// Diffuse reflectivity at 905 nm of a hit surface, with snow cover and a water film on
// upward-facing surfaces (the film passes 1 − F in and out).
fn surface_reflectivity(rho: f32, n: vec3<f32>, cos_inc: f32) -> f32 {
    var r = rho;
    if n.z > 0.7 {
        r = r + (GROUND_SNOW_REFLECTIVITY - r) * lp.snow_cover;
        let t = 1.0 - fresnel_water(cos_inc);
        r = r * (1.0 + (t * t - 1.0) * lp.wetness);
    }
    return r;
}

// Standard normal deviate (Box–Muller) from two counter-RNG draws.
fn gauss(stream: u32, index: u32, draw: u32) -> f32 {
    let u1 = 1.0 - rand(lp.seed, stream, index, draw);
    let u2 = rand(lp.seed, stream, index, draw + 1u);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

// A reported return: range with noise, intensity = g·P·R²·R_f²/(R_f² + R²) clamped to [0, 1]
// (g = intensity_scale),
// CARLA's random drop-off.
fn emit(dir_l: vec3<f32>, r: f32, p: f32, label: u32, slot: u32, draw: u32) -> LidarHit {
    var out: LidarHit;
    out.x = 0.0;
    out.y = 0.0;
    out.z = 0.0;
    out.intensity = 0.0;
    out.label = NO_RETURN;
    var rm = r;
    if lp.noise_stddev_m > 0.0 {
        rm = max(r + lp.noise_stddev_m * gauss(STREAM_NOISE, slot, draw), 0.0);
    }
    let f2 = lp.falloff_range_m * lp.falloff_range_m;
    let intensity = clamp(lp.intensity_scale * p * r * r * f2 / (f2 + r * r), 0.0, 1.0);
    if lp.dropoff_general_rate > 0.0 || lp.dropoff_zero_intensity > 0.0 {
        let u = rand(lp.seed, STREAM_DROPOFF, slot, draw);
        if u < lp.dropoff_general_rate {
            return out;
        }
        if intensity < lp.dropoff_intensity_limit {
            let q = lp.dropoff_zero_intensity * (1.0 - intensity / lp.dropoff_intensity_limit);
            if rand(lp.seed, STREAM_DROPOFF, slot, draw + 1u) < q {
                return out;
            }
        }
    }
    out.x = dir_l.x * rm;
    out.y = dir_l.y * rm;
    out.z = dir_l.z * rm;
    out.intensity = intensity;
    out.label = label;
    return out;
}

// What a hard hit returns (ρ·g, through a clear coat) and the share of the beam it passes
// (a pane's one-way transmittance; 0 when opaque). CPU twin: shade_hard.
struct Shade {
    rho_shape: f32,
    transmit: f32,
}

fn shade_hard(h: Hit, d: vec3<f32>) -> Shade {
    let n = hit_normal(h, d);
    let cos_inc = clamp(-dot(n, d), 0.0, 1.0);
    let mat = materials[triangles[h.tri].material];
    let rho = surface_reflectivity(mat.reflectivity, n, cos_inc);
    let shape = mat.lidar_a * cos_inc + mat.lidar_b * (1.0 - cos_inc * cos_inc);
    var out: Shade;
    out.rho_shape = coated_reflectance(rho * shape, mat.clearcoat_inv_m2, cos_inc);
    out.transmit = mat.lidar_transmittance;
    return out;
}

// The hard target behind glass: the candidate of greatest power (or in last-return mode the
// farthest detected), each pane crossed both ways at its transmittance. CPU twin: hard_target.
struct Target {
    h: Hit,
    rho_shape: f32,
}

fn hard_power_air(rho_shape: f32, r: f32) -> f32 {
    return rho_shape * overlap(r) / (r * r) * transmission2(r);
}

fn hard_target(o: vec3<f32>, d: vec3<f32>, time_s: f32, h: Hit) -> Target {
    var best: Target;
    best.h = h;
    best.rho_shape = 0.0;
    if h.tri == NO_RETURN {
        return best;
    }
    let first = shade_hard(h, d);
    best.rho_shape = first.rho_shape;
    if first.transmit <= 0.0 {
        return best;
    }
    var best_p = hard_power_air(first.rho_shape, h.t);
    var cur_t = h.t;
    var gain = first.transmit * first.transmit;
    for (var k = 0u; k < GLASS_MAX_PANES; k += 1u) {
        let t0 = cur_t + GLASS_STEP_M;
        if t0 >= lp.max_range_m {
            break;
        }
        var next = trace_at(o + d * t0, d, lp.max_range_m - t0, false, lp.tlas_root, time_s);
        if next.tri == NO_RETURN {
            break;
        }
        next.t += t0;
        let sh = shade_hard(next, d);
        let rs = sh.rho_shape * gain;
        let p = hard_power_air(rs, next.t);
        let detected = lp.min_power_per_m2 <= 0.0 || p >= lp.min_power_per_m2;
        if p > best_p || (lp.return_mode == RETURN_LAST && detected) {
            best.h = next;
            best.rho_shape = rs;
            best_p = p;
        }
        if sh.transmit <= 0.0 {
            break;
        }
        cur_t = next.t;
        gain *= sh.transmit * sh.transmit;
    }
    return best;
}

// Slot layout: column-major, slot = column * channels + beam; dual second returns at
// slot + channels * columns.
// Threads are laid out in tiles of LIDAR_TILE neighbouring columns of one beam (one SIMD
// group each), so the rays a group traces side by side are nearly parallel and walk the same
// BVH nodes; a column's beams (from the sky to the ground under the car) would diverge.
// LIDAR_TILE, like every constant Rust also reads, is defined once in src/abi/shared.rs.

@compute @workgroup_size(64)
fn lidar_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    // Large sweeps are dispatched as a 2D grid of workgroups.
    let thread = gid.x + gid.y * groups.x * 64u;
    let tiles_per_beam = (lp.columns + LIDAR_TILE - 1u) / LIDAR_TILE;
    let tile = thread / LIDAR_TILE;
    let beam = tile / tiles_per_beam;
    let col = (tile % tiles_per_beam) * LIDAR_TILE + thread % LIDAR_TILE;
    if beam >= lp.channels || col >= lp.columns {
        return;
    }
    let rays = lp.channels * lp.columns;
    let slot = col * lp.channels + beam;
    let b = beams[beam];
    let c = columns[col];
    let dir_l = vec3<f32>(b.x * c.x, b.x * c.y, b.y);
    // Rolling shutter: this column fires at sweep fraction s, from the pose interpolated there.
    let s = (f32(col) + 0.5) / f32(lp.columns);
    let o0 = xform_point(lp.world_from_lidar, vec3<f32>(0.0, 0.0, 0.0));
    let o1 = xform_point(lp.world_from_lidar_end, vec3<f32>(0.0, 0.0, 0.0));
    let o = o0 + (o1 - o0) * s;
    let d0 = xform_dir(lp.world_from_lidar, dir_l);
    let d1 = xform_dir(lp.world_from_lidar_end, dir_l);
    let d = normalize(d0 + (d1 - d0) * s);
    // ... and meets moving actors where they are at its firing time.
    let time_s = (s - 0.5) * lp.sweep_s;
    let hard = hard_target(o, d, time_s, trace_at(o, d, lp.max_range_m, false, lp.tlas_root, time_s));
    let h = hard.h;
    let ideal = lp.min_power_per_m2 <= 0.0;

    // Hard target: P = ρ·(A·cosθ + B·sin²θ)·ξ(R)·exp(−2αR)/R² (Oren–Nayar backscatter;
    // Lambert is A = 1, B = 0).
    var hard_hit = false;
    var hard_r = 0.0;
    var hard_p = 0.0;
    var hard_p_clear = 0.0;
    var hard_label = NO_RETURN;
    if h.tri != NO_RETURN && h.t >= lp.min_range_m {
        hard_hit = true;
        let r = h.t;
        let tri = triangles[h.tri];
        hard_r = r;
        hard_p_clear = hard.rho_shape * overlap(r) / (r * r);
        hard_p = hard_p_clear * transmission2(r);
        hard_label = (tri.class_id & 0xffffu) | (instances[h.inst].instance_id << 16u);
    }
    let hard_det = hard_hit && (ideal || hard_p >= lp.min_power_per_m2);
    // Weather lies between the sensor and the hard target.
    var r_end = lp.max_range_m;
    if h.tri != NO_RETURN {
        r_end = h.t;
    }

    // Soft target (fog): P(R) = π·β·∫_{R−L}^{R} ξ(r)·exp(−2αr)/r² dr, its peak over R.
    var soft_p = 0.0;
    var soft_r = 0.0;
    var soft_class = 0u;
    if !ideal && lp.fog_backscatter_per_m_sr > 0.0 {
        let step = lp.pulse_length_m / FOG_SAMPLES_PER_PULSE;
        let r_lo = lp.overlap_start_m;
        let r_hi = min(r_end, lp.overlap_full_m + 8.0 * lp.pulse_length_m);
        let n = min(u32(max(r_hi - r_lo, 0.0) / step), FOG_MAX_STEPS);
        var g1 = 0.0;
        var g2 = 0.0;
        var g3 = 0.0;
        var r_first = -1.0;
        var r_last = 0.0;
        for (var j = 0u; j < n; j += 1u) {
            let r = r_lo + (f32(j) + 0.5) * step;
            let g0 = overlap(r) * transmission2(r) / (r * r);
            let p = PI * lp.fog_backscatter_per_m_sr * step * (g0 + g1 + g2 + g3);
            let r_c = r_lo + (f32(j) + 1.0) * step - 0.5 * lp.pulse_length_m;
            if r_c >= lp.min_range_m {
                if p > soft_p {
                    soft_p = p;
                }
                if p >= lp.min_power_per_m2 {
                    if r_first < 0.0 {
                        r_first = r_c;
                    }
                    r_last = r_c;
                }
            }
            g3 = g2;
            g2 = g1;
            g1 = g0;
        }
        if soft_p >= lp.min_power_per_m2 {
            // The soft pulse stays above the threshold from r_first to r_last; the
            // discriminator fires somewhere along it.
            let u = rand(lp.seed, STREAM_FOG, slot, 0u);
            soft_r = min(r_first + u * (r_last - r_first), r_end);
            soft_class = CLASS_FOG;
        } else {
            soft_p = 0.0;
        }
    }

    // Rain drops and snowflakes inside the beam, sampled per range bin from N(D) = N0·e^(−ΛD):
    // only particles large enough to pass the threshold are drawn (a Poisson thinning).
    if !ideal && (lp.rain_n0_per_m3_mm > 0.0 || lp.snow_n0_per_m3_mm > 0.0) {
        let r_lo = max(lp.min_range_m, lp.overlap_start_m);
        let r_hi = min(r_end, lp.precip_max_range_m);
        if r_hi > r_lo {
            let dr = (r_hi - r_lo) / f32(PRECIP_BINS);
            for (var k = 0u; k < PRECIP_BINS; k += 1u) {
                for (var kind = 0u; kind < 2u; kind += 1u) {
                    var n0 = lp.rain_n0_per_m3_mm;
                    var lam = lp.rain_lambda_per_mm;
                    var rho = RAIN_REFLECTIVITY;
                    var d_min = RAIN_D_MIN_MM;
                    var d_max = RAIN_D_MAX_MM;
                    if kind == 1u {
                        n0 = lp.snow_n0_per_m3_mm;
                        lam = lp.snow_lambda_per_mm;
                        rho = SNOW_REFLECTIVITY;
                        d_min = SNOW_MELTED_D_MIN_MM;
                        d_max = SNOW_MELTED_D_MAX_MM;
                    }
                    if n0 <= 0.0 {
                        continue;
                    }
                    let r = r_lo + (f32(k) + 0.5) * dr;
                    let w = lp.beam_aperture_m + lp.beam_divergence_rad * r;
                    let t2 = overlap(r) * transmission2(r);
                    // Smallest detectable cross-section diameter (mm): ρ·(D/w)²·t2/r² ≥ P_min.
                    let dcs_min = 1000.0 * w * r * sqrt(lp.min_power_per_m2 / max(rho * t2, 1.0e-30));
                    var dmin = dcs_min;
                    if kind == 1u {
                        dmin = pow(HOLROYD_DENSITY_COEFF * dcs_min * dcs_min, 1.0 / 3.0);
                    }
                    let lo = max(d_min, dmin);
                    if lo >= d_max {
                        continue;
                    }
                    // Expected detectable particles in the bin's beam volume.
                    let mu = 0.25 * PI * w * w * dr * n0 / lam * (exp(-lam * lo) - exp(-lam * d_max));
                    let u = rand(lp.seed, STREAM_PRECIP + kind, slot, k);
                    if u < 1.0 - exp(-mu) {
                        let span = 1.0 - exp(-lam * (d_max - lo));
                        let ud = rand(lp.seed, STREAM_PRECIP + kind, slot, k + 32u);
                        let dd = clamp(lo - log(1.0 - ud * span) / lam, lo, d_max);
                        let rr = r_lo + (f32(k) + rand(lp.seed, STREAM_PRECIP + kind, slot, k + 64u)) * dr;
                        let ww = lp.beam_aperture_m + lp.beam_divergence_rad * rr;
                        var dcs = dd;
                        if kind == 1u {
                            dcs = sqrt(dd * dd * dd / HOLROYD_DENSITY_COEFF);
                        }
                        let frac = min(dcs * 1.0e-3 / ww, 1.0);
                        let p = rho * frac * frac * overlap(rr) * transmission2(rr) / (rr * rr);
                        // Inside the particle field its large drops are explicit (below).
                        let field_drop = in_field(o + d * rr) && dd >= grid.min_diameter_mm;
                        if p >= lp.min_power_per_m2 && p > soft_p && !field_drop {
                            soft_p = p;
                            soft_r = rr;
                            soft_class = select(CLASS_RAIN, CLASS_SNOW, kind == 1u);
                        }
                    }
                }
            }
        }
    }
    // Explicit drops and flakes of the particle field: each one whose centre lies in the beam
    // (within w(r)/2 of its axis) returns ρ·(D/w)²·ξ(r)·exp(−2αr)/r², as the sampled ones.
    if !ideal && grid.particle_count > 0u {
        let r_lo = max(lp.min_range_m, lp.overlap_start_m);
        let r_hi = min(r_end, lp.precip_max_range_m);
        var walk = grid_walk_start(o, d, r_lo, r_hi);
        while walk.live {
            let cell = grid_walk_cell(walk);
            for (var k = grid_cells[cell]; k < grid_cells[cell + 1u]; k += 1u) {
                let q = grid_particle(k);
                let rel = q.position_m - o;
                let t = dot(rel, d);
                if !grid_walk_owns(walk, t) || t < r_lo || t > r_hi {
                    continue;
                }
                let ww = lp.beam_aperture_m + lp.beam_divergence_rad * t;
                let off = rel - d * t;
                let rad = min(0.5 * ww, grid.margin_m);
                if dot(off, off) > rad * rad {
                    continue;
                }
                var rho = RAIN_REFLECTIVITY;
                if q.kind == 1u {
                    rho = SNOW_REFLECTIVITY;
                }
                let frac = min(q.diameter_mm * 1.0e-3 / ww, 1.0);
                let p = rho * frac * frac * overlap(t) * transmission2(t) / (t * t);
                if p >= lp.min_power_per_m2 && p > soft_p {
                    soft_p = p;
                    soft_r = t;
                    soft_class = select(CLASS_RAIN, CLASS_SNOW, q.kind == 1u);
                }
            }
            grid_walk_next(&walk);
        }
    }
    let soft_det = soft_p > 0.0;

    // Return selection.
    var first = 0u; // 0 none, 1 hard, 2 soft
    var second = 0u;
    if lp.return_mode == RETURN_LAST {
        if hard_det {
            first = 1u;
        } else if soft_det {
            first = 2u;
        }
    } else {
        if hard_det && (!soft_det || hard_p >= soft_p) {
            first = 1u;
            if soft_det {
                second = 2u;
            }
        } else if soft_det {
            first = 2u;
            if hard_det {
                second = 1u;
            }
        }
    }
    var out: LidarHit;
    out.x = 0.0;
    out.y = 0.0;
    out.z = 0.0;
    out.intensity = 0.0;
    out.label = NO_RETURN;
    if first == 1u {
        out = emit(dir_l, hard_r, hard_p, hard_label, slot, 0u);
    } else if first == 2u {
        out = emit(dir_l, soft_r, soft_p, soft_class, slot, 0u);
    } else if hard_hit && !ideal && hard_p_clear >= lp.min_power_per_m2 {
        // Lost to the weather (LISA): detected in clear air, hidden by extinction.
        out.x = hard_r;
        out.intensity = -1.0;
    }
    hits[slot] = out;
    if lp.return_mode == RETURN_DUAL {
        var out2: LidarHit;
        out2.x = 0.0;
        out2.y = 0.0;
        out2.z = 0.0;
        out2.intensity = 0.0;
        out2.label = NO_RETURN;
        if second == 1u {
            out2 = emit(dir_l, hard_r, hard_p, hard_label, slot, 2u);
        } else if second == 2u {
            out2 = emit(dir_l, soft_r, soft_p, soft_class, slot, 2u);
        }
        hits[rays + slot] = out2;
    }
}
