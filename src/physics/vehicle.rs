//! Road-user types and their default dimensions and driver parameters.

use serde::{Deserialize, Serialize};

use super::lateral::BicycleParams;
use super::longitudinal::IdmParams;

/// Kinds of road users the traffic model drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VehicleType {
    Car,
    Van,
    Truck,
    Bus,
    Cyclist,
}

impl VehicleType {
    /// All types, in declaration order.
    pub const ALL: [VehicleType; 5] = [
        VehicleType::Car,
        VehicleType::Van,
        VehicleType::Truck,
        VehicleType::Bus,
        VehicleType::Cyclist,
    ];

    /// Overall length (m), bumper to bumper; gaps are measured between bumpers.
    pub fn length_m(self) -> f32 {
        match self {
            VehicleType::Car => 4.5,
            VehicleType::Van => 5.5,
            VehicleType::Truck => 12.0,
            VehicleType::Bus => 12.0,
            VehicleType::Cyclist => 1.8,
        }
    }

    /// Overall width (m).
    pub fn width_m(self) -> f32 {
        match self {
            VehicleType::Car => 1.8,
            VehicleType::Van => 2.0,
            VehicleType::Truck => 2.55,
            VehicleType::Bus => 2.55,
            VehicleType::Cyclist => 0.6,
        }
    }

    /// Default IDM parameters (see [`IdmParams`]).
    pub fn idm_params(self) -> IdmParams {
        IdmParams::for_type(self)
    }

    /// Default kinematic-bicycle parameters (see [`BicycleParams`]).
    pub fn bicycle_params(self) -> BicycleParams {
        BicycleParams::for_type(self)
    }
}
