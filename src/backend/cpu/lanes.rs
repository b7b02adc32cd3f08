//! Four 3-vectors in SSE lanes, stored as their x, y and z across the lanes: the CPU's packets
//! of rays (`super::packet`, the lidar sweep) compute with these. Every operation runs the
//! same f32 operations, in the same order, as its glam `Vec3` namesake, so each lane gets
//! exactly the bits the one-ray code gets.

use std::ops::{Add, Div, Mul, Sub};

use glam::{Vec3, Vec4};

/// Lanes per packet.
pub const LANES: usize = 4;

#[derive(Clone, Copy)]
pub struct Lanes3 {
    pub x: Vec4,
    pub y: Vec4,
    pub z: Vec4,
}

impl From<[Vec3; LANES]> for Lanes3 {
    #[inline(always)]
    fn from(v: [Vec3; LANES]) -> Self {
        Lanes3 {
            x: Vec4::new(v[0].x, v[1].x, v[2].x, v[3].x),
            y: Vec4::new(v[0].y, v[1].y, v[2].y, v[3].y),
            z: Vec4::new(v[0].z, v[1].z, v[2].z, v[3].z),
        }
    }
}

impl From<[[f32; 3]; LANES]> for Lanes3 {
    #[inline(always)]
    fn from(v: [[f32; 3]; LANES]) -> Self {
        Lanes3::from(v.map(Vec3::from))
    }
}

impl Lanes3 {
    #[inline(always)]
    pub fn splat(v: [f32; 3]) -> Self {
        Lanes3 {
            x: Vec4::splat(v[0]),
            y: Vec4::splat(v[1]),
            z: Vec4::splat(v[2]),
        }
    }

    /// Lane `l`.
    #[inline(always)]
    pub fn lane(&self, l: usize) -> Vec3 {
        Vec3::new(self.x[l], self.y[l], self.z[l])
    }

    #[inline(always)]
    pub fn lanes(&self) -> [Vec3; LANES] {
        std::array::from_fn(|l| self.lane(l))
    }

    #[inline(always)]
    pub fn dot(&self, r: &Lanes3) -> Vec4 {
        self.x * r.x + self.y * r.y + self.z * r.z
    }

    #[inline(always)]
    pub fn cross(&self, r: &Lanes3) -> Lanes3 {
        Lanes3 {
            x: self.y * r.z - r.y * self.z,
            y: self.z * r.x - r.z * self.x,
            z: self.x * r.y - r.x * self.y,
        }
    }

    #[inline(always)]
    pub fn add(&self, r: &Lanes3) -> Lanes3 {
        Lanes3 {
            x: self.x + r.x,
            y: self.y + r.y,
            z: self.z + r.z,
        }
    }

    #[inline(always)]
    pub fn sub(&self, r: &Lanes3) -> Lanes3 {
        Lanes3 {
            x: self.x - r.x,
            y: self.y - r.y,
            z: self.z - r.z,
        }
    }

    /// Each lane times its own factor (`Vec3 * f32`).
    #[inline(always)]
    pub fn scale(&self, s: Vec4) -> Lanes3 {
        Lanes3 {
            x: self.x * s,
            y: self.y * s,
            z: self.z * s,
        }
    }

    /// `Vec3::normalize`: times `1 / sqrt(dot(self, self))`.
    #[inline(always)]
    pub fn normalize(&self) -> Lanes3 {
        self.scale(Vec4::ONE / sqrt(self.dot(self)))
    }

    /// `-v` in the lanes of `mask`.
    #[inline(always)]
    pub fn negate_where(&self, mask: glam::BVec4A) -> Lanes3 {
        Lanes3 {
            x: Vec4::select(mask, -self.x, self.x),
            y: Vec4::select(mask, -self.y, self.y),
            z: Vec4::select(mask, -self.z, self.z),
        }
    }

    /// `bvh::xform_dir` of each lane by the same 3x4 rows.
    #[inline(always)]
    pub fn xform_dir(m: &[[f32; 4]; 3], d: &Lanes3) -> Lanes3 {
        let row = |r: &[f32; 4]| {
            Vec4::splat(r[0]) * d.x + Vec4::splat(r[1]) * d.y + Vec4::splat(r[2]) * d.z
        };
        Lanes3 {
            x: row(&m[0]),
            y: row(&m[1]),
            z: row(&m[2]),
        }
    }
}

/// Each lane's square root, correctly rounded as `f32::sqrt`.
#[inline(always)]
pub fn sqrt(v: Vec4) -> Vec4 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86_64.
        unsafe { Vec4::from(std::arch::x86_64::_mm_sqrt_ps(v.into())) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Vec4::from_array(v.to_array().map(f32::sqrt))
    }
}

/// The arithmetic the lidar's formulas are written in once, for one ray (`f32`) or four
/// lanes (`Vec4`): either way each lane runs the same f32 operations in the same order.
pub trait Lane:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    fn splat(v: f32) -> Self;
    /// `f32::clamp(x, 0, 1)` (NaN stays NaN).
    fn clamp01(self) -> Self;
    /// 1 where `self >= edge`, else 0.
    fn step(self, edge: f32) -> Self;
}

impl Lane for f32 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        v
    }

    #[inline(always)]
    fn clamp01(self) -> Self {
        self.clamp(0.0, 1.0)
    }

    #[inline(always)]
    fn step(self, edge: f32) -> Self {
        if self >= edge { 1.0 } else { 0.0 }
    }
}

impl Lane for Vec4 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Vec4::splat(v)
    }

    #[inline(always)]
    fn clamp01(self) -> Self {
        let v = Vec4::select(self.cmplt(Vec4::ZERO), Vec4::ZERO, self);
        Vec4::select(v.cmpgt(Vec4::ONE), Vec4::ONE, v)
    }

    #[inline(always)]
    fn step(self, edge: f32) -> Self {
        Vec4::select(self.cmpge(Vec4::splat(edge)), Vec4::ONE, Vec4::ZERO)
    }
}
