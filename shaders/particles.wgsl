// Compute stage `advance_particles`: moves precipitation particles one step and recycles those
// that leave the box around the ego. CPU twin: src/physics/precip.rs (advance_particle), written
// line for line like this file; keep them in sync.
//
// Needs shaders/shared/rng.wgsl and shaders/shared/particles.wgsl prepended
// (precip::particles_shader_source() does it).
//
// Bindings: group 0, binding 0 the PrecipParams uniform; binding 1 the particle storage buffer.
// Dispatch precip::particles_dispatch_workgroups(count).

@group(0) @binding(0) var<uniform> params: PrecipParams;
@group(0) @binding(1) var<storage, read_write> particles: array<Particle>;

fn rain_terminal_velocity_m_per_s(diameter_mm: f32) -> f32 {
    return max(9.65 - 10.3 * exp(-0.6 * diameter_mm), 2.7 * min(diameter_mm, 0.2));
}

fn snow_fall_speed_m_per_s(flake_diameter_mm: f32) -> f32 {
    return 0.8 * pow(max(flake_diameter_mm, 0.0), 0.16);
}

fn snow_flake_diameter_mm(melted_mm: f32) -> f32 {
    return sqrt(melted_mm * melted_mm * melted_mm / HOLROYD_DENSITY_COEFF);
}

fn fall_speed_m_per_s(kind: u32, diameter_mm: f32) -> f32 {
    if (kind == KIND_RAIN) {
        return rain_terminal_velocity_m_per_s(diameter_mm);
    } else {
        return snow_fall_speed_m_per_s(diameter_mm);
    }
}

fn truncated_exp_inverse_cdf(u: f32, lambda_per_mm: f32, d_min_mm: f32, d_max_mm: f32) -> f32 {
    let span = 1.0 - exp(-lambda_per_mm * (d_max_mm - d_min_mm));
    let d = d_min_mm - log(1.0 - u * span) / lambda_per_mm;
    return clamp(d, d_min_mm, d_max_mm);
}

fn diameter_from_uniform_mm(kind: u32, u: f32) -> f32 {
    if (kind == KIND_RAIN) {
        return truncated_exp_inverse_cdf(
            u,
            params.rain_lambda_per_mm,
            max(RAIN_D_MIN_MM, params.min_diameter_mm),
            RAIN_D_MAX_MM,
        );
    } else {
        let melted = truncated_exp_inverse_cdf(
            u,
            params.snow_lambda_per_mm,
            max(SNOW_MELTED_D_MIN_MM, params.min_diameter_mm),
            SNOW_MELTED_D_MAX_MM,
        );
        return snow_flake_diameter_mm(melted);
    }
}

fn draw_u01(index: u32, d: u32) -> f32 {
    return rand(params.seed, params.tick, index, d);
}

fn draw_gauss3(index: u32, d: u32) -> f32 {
    return (draw_u01(index, d) + draw_u01(index, d + 1u) + draw_u01(index, d + 2u) - 1.5) * 2.0;
}

fn wrap_periodic(x: f32, h: f32) -> f32 {
    let w = 2.0 * h;
    return x - w * floor((x + h) / w);
}

// Flux-weighted (N(D)·v(D)) diameter by rejection; see precip.rs respawn_diameter_mm.
fn respawn_diameter_mm(kind: u32, index: u32) -> f32 {
    var d = 0.0;
    if (kind == KIND_RAIN) {
        let lambda = params.rain_lambda_per_mm;
        let a = max(RAIN_D_MIN_MM, params.min_diameter_mm);
        let exp_weight = a * lambda / (a * lambda + 1.0);
        for (var k = 0u; k < DRAW_RESPAWN_D_TRIES; k = k + 1u) {
            let base = DRAW_RESPAWN_D + 4u * k;
            let u_mix = draw_u01(index, base);
            var x = -log(1.0 - draw_u01(index, base + 1u)) / lambda;
            if (u_mix >= exp_weight) {
                x += -log(1.0 - draw_u01(index, base + 2u)) / lambda;
            }
            d = a + x;
            let accept = draw_u01(index, base + 3u);
            if (d <= RAIN_D_MAX_MM
                && accept * RAIN_FLUX_ENVELOPE_SLOPE * d < rain_terminal_velocity_m_per_s(d)) {
                break;
            }
        }
        d = clamp(d, a, RAIN_D_MAX_MM);
    } else {
        let v_max = snow_fall_speed_m_per_s(snow_flake_diameter_mm(SNOW_MELTED_D_MAX_MM));
        for (var k = 0u; k < DRAW_RESPAWN_D_TRIES; k = k + 1u) {
            let base = DRAW_RESPAWN_D + 4u * k;
            d = diameter_from_uniform_mm(kind, draw_u01(index, base));
            let accept = draw_u01(index, base + 3u);
            if (accept * v_max < snow_fall_speed_m_per_s(d)) {
                break;
            }
        }
    }
    return d;
}

fn advance_particle(p_in: Particle, index: u32) -> Particle {
    var p = p_in;
    let dt = params.dt_s;
    let wind = params.wind_m_per_s;
    let center = params.center_m;
    let h = params.half_extents_m;

    // Velocity: wind plus fall speed, plus an Ornstein-Uhlenbeck turbulent drift for snow.
    var vel: vec3<f32>;
    if (p.kind == KIND_RAIN) {
        vel = vec3<f32>(wind.x, wind.y, wind.z - fall_speed_m_per_s(p.kind, p.diameter_mm));
    } else {
        let decay = exp(-dt / params.turbulence_time_s);
        let sigma = params.turbulence_m_per_s * sqrt(max(1.0 - decay * decay, 0.0));
        let dx = (p.velocity_m_per_s.x - wind.x) * decay + sigma * draw_gauss3(index, DRAW_DRIFT);
        let dy = (p.velocity_m_per_s.y - wind.y) * decay + sigma * draw_gauss3(index, DRAW_DRIFT + 3u);
        vel = vec3<f32>(
            wind.x + dx,
            wind.y + dy,
            wind.z - fall_speed_m_per_s(p.kind, p.diameter_mm),
        );
    }
    let pos = p.position_m + vel * dt;

    // Recycling relative to the box.
    var rel = pos - center;
    if (rel.z < -h.z) {
        // Fell out of the bottom: respawn at the top with a fresh, flux-weighted diameter.
        // It entered the region below the box `t_below` ago; the new particle entered the top
        // at that instant, so it has fallen for `t_below` at its own speed.
        let below = -h.z - rel.z;
        let t_below = min(below / max(-vel.z, 1e-3), dt);
        rel.x = (draw_u01(index, DRAW_RESPAWN_X) * 2.0 - 1.0) * h.x;
        rel.y = (draw_u01(index, DRAW_RESPAWN_Y) * 2.0 - 1.0) * h.y;
        let d = respawn_diameter_mm(p.kind, index);
        p.diameter_mm = d;
        var dx = 0.0;
        var dy = 0.0;
        if (p.kind != KIND_RAIN) {
            dx = params.turbulence_m_per_s * draw_gauss3(index, DRAW_RESPAWN_DRIFT);
            dy = params.turbulence_m_per_s * draw_gauss3(index, DRAW_RESPAWN_DRIFT + 3u);
        }
        vel = vec3<f32>(wind.x + dx, wind.y + dy, wind.z - fall_speed_m_per_s(p.kind, d));
        rel.z = clamp(h.z + vel.z * t_below, -h.z, h.z);
    } else if (rel.z > h.z) {
        rel.z = wrap_periodic(rel.z, h.z);
    }
    rel.x = wrap_periodic(rel.x, h.x);
    rel.y = wrap_periodic(rel.y, h.y);

    p.position_m = center + rel;
    p.velocity_m_per_s = vel;
    return p;
}

@compute @workgroup_size(256)
fn advance_particles(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) num_workgroups: vec3<u32>,
) {
    let index = gid.x + gid.y * num_workgroups.x * PARTICLES_WORKGROUP_SIZE;
    if (index >= params.particle_count) {
        return;
    }
    particles[index] = advance_particle(particles[index], index);
}
