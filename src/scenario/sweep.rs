//! Randomized sweeps: the scenario of each episode, drawn from the `variations` block with the
//! counter-based RNG keyed by (scenario seed, episode index) only, so every shard of a run
//! draws the same values for the same frame. Draws become `--set` assignments and go through
//! [`scenario::apply_overrides`], so a drawn value is validated exactly like the file.

use serde::{Deserialize, Serialize};

use crate::rng::{rand, seed32};
use crate::scenario::{self, Distribution, Scenario, ScenarioError, Variations};

/// RNG stream of the variation draws (distinct from the shaders' streams).
const STREAM: u32 = 0x5745_4550; // "SWEP"
/// Draw index of the rare-case lottery (parameters use draws 0..).
const RARE_DRAW: u32 = 0xFFFF;

/// What one episode drew: the assignments applied, and the rare case if one was picked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeDraw {
    pub episode: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rare_case: Option<String>,
    pub sets: Vec<String>,
}

/// The episode a frame belongs to (0 when the scenario has no variations).
pub fn episode_of(scenario: &Scenario, frame: u32) -> u32 {
    scenario
        .variations
        .as_ref()
        .map_or(0, |v| frame / v.episode_frames)
}

/// The first frame of a frame's episode.
pub fn episode_start(scenario: &Scenario, frame: u32) -> u32 {
    scenario
        .variations
        .as_ref()
        .map_or(0, |v| frame / v.episode_frames * v.episode_frames)
}

fn pick_weighted(items: &[(String, f32)], r: f32) -> &str {
    let total: f32 = items.iter().map(|(_, w)| w).sum();
    let mut acc = 0.0;
    for (value, w) in items {
        acc += w / total;
        if r < acc {
            return value;
        }
    }
    &items.last().expect("validated: not empty").0
}

/// The assignments drawn for `episode`.
pub fn draw(v: &Variations, seed: u64, episode: u32) -> EpisodeDraw {
    let s = seed32(seed);
    let mut sets = Vec::new();
    let mut grid_index = episode;
    for (j, p) in v.params.iter().enumerate() {
        let r = rand(s, STREAM, episode, j as u32);
        let value = match &p.values {
            Distribution::Uniform { lo, hi } => {
                let x = lo + (hi - lo) * r;
                // Shortest text that reads back as the same f32.
                format!("{:?}", x.clamp(*lo, *hi))
            }
            Distribution::Choice(items) => pick_weighted(items, r).to_string(),
            Distribution::Grid(values) => {
                let n = values.len() as u32;
                let v = values[(grid_index % n) as usize].clone();
                grid_index /= n;
                v
            }
        };
        sets.push(format!("{}={value}", p.set));
    }
    let r = rand(s, STREAM, episode, RARE_DRAW);
    let mut acc = 0.0;
    let mut rare_case = None;
    for case in &v.rare {
        acc += case.weight;
        if r < acc {
            rare_case = Some(case.name.clone());
            sets.extend(case.sets.iter().cloned());
            break;
        }
    }
    EpisodeDraw {
        episode,
        rare_case,
        sets,
    }
}

/// The scenario of `episode`, validated; `None` draw when the scenario has no variations.
pub fn episode_scenario(
    base: &Scenario,
    episode: u32,
) -> Result<(Scenario, Option<EpisodeDraw>), ScenarioError> {
    let Some(v) = &base.variations else {
        return Ok((base.clone(), None));
    };
    let d = draw(v, base.run.seed, episode);
    let s = scenario::apply_overrides(base, &d.sets)?;
    Ok((s, Some(d)))
}

/// Applies every value a variation can take once (Uniform bounds, each choice, each grid
/// value, each rare case) so a bad path or value fails before any frame is rendered.
pub fn precheck(base: &Scenario) -> Result<(), ScenarioError> {
    let Some(v) = &base.variations else {
        return Ok(());
    };
    for p in &v.params {
        let values: Vec<String> = match &p.values {
            Distribution::Uniform { lo, hi } => vec![format!("{lo:?}"), format!("{hi:?}")],
            Distribution::Choice(items) => items.iter().map(|(x, _)| x.clone()).collect(),
            Distribution::Grid(values) => values.clone(),
        };
        for value in values {
            scenario::apply_overrides(base, &[format!("{}={value}", p.set)])?;
        }
    }
    for case in &v.rare {
        scenario::apply_overrides(base, &case.sets)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{RareCase, VariedParam};

    fn sweep() -> Variations {
        Variations {
            episode_frames: 1,
            params: vec![
                VariedParam {
                    set: "weather.rain_mm_per_h".into(),
                    values: Distribution::Uniform { lo: 0.0, hi: 10.0 },
                },
                VariedParam {
                    set: "weather.sun_elevation_deg".into(),
                    values: Distribution::Grid(vec!["-10".into(), "20".into(), "60".into()]),
                },
                VariedParam {
                    set: "weather.cloud_cover".into(),
                    values: Distribution::Grid(vec!["0".into(), "1".into()]),
                },
            ],
            rare: vec![RareCase {
                name: "dense fog".into(),
                weight: 0.25,
                sets: vec!["weather.fog_visibility_m=Some(30.0)".into()],
            }],
        }
    }

    #[test]
    fn draws_are_deterministic_and_grids_cover_every_combination() {
        let v = sweep();
        assert_eq!(draw(&v, 7, 3), draw(&v, 7, 3));
        assert_ne!(draw(&v, 7, 3).sets[0], draw(&v, 8, 3).sets[0]);
        let mut combos = std::collections::BTreeSet::new();
        for e in 0..6 {
            let d = draw(&v, 7, e);
            combos.insert((d.sets[1].clone(), d.sets[2].clone()));
        }
        assert_eq!(combos.len(), 6, "3 x 2 grid in 6 episodes: {combos:?}");
    }

    #[test]
    fn rare_cases_come_at_their_weight_and_uniform_stays_in_range() {
        let v = sweep();
        let n = 4000;
        let mut rare = 0;
        for e in 0..n {
            let d = draw(&v, 1, e);
            let rain: f32 = d.sets[0].split('=').nth(1).unwrap().parse().unwrap();
            assert!((0.0..=10.0).contains(&rain));
            if d.rare_case.is_some() {
                assert!(
                    d.sets
                        .last()
                        .unwrap()
                        .starts_with("weather.fog_visibility_m")
                );
                rare += 1;
            }
        }
        let p = rare as f64 / n as f64;
        // Binomial: sd = sqrt(0.25 * 0.75 / 4000) ≈ 0.0068; 5 sd.
        assert!((p - 0.25).abs() < 0.035, "{p}");
    }
}
