//! glTF 2.0 models (`.gltf` with external or embedded resources, `.glb`) imported as actor
//! meshes: the default scene's node hierarchy (TRS and matrix nodes, instanced meshes, several
//! primitives), skins posed by the first animation, and per-triangle colours from the base
//! colour factor and texture. glTF's axes (+Y up, front +Z, metres) become the actor frame
//! (x forward, y left, z up). How a glTF material becomes a verisim material (camera colour and
//! 905 nm behaviour) is [`lidar_material`]'s rule, documented in `docs/assets.md`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ::gltf::animation::util::ReadOutputs;
use ::gltf::animation::{Interpolation, Property};
use ::gltf::image::Format;
use ::gltf::mesh::Mode;
use ::gltf::texture::WrappingMode;
use glam::{Mat4, Quat, Vec2, Vec3};

use crate::scenario::ModelFront;
use crate::scenario::materials::Material;

/// Largest model file read (the main `.gltf`/`.glb`; the shared test models are < 0.5 MB).
pub const MAX_MODEL_BYTES: u64 = 256 << 20;
/// Largest triangle count of one model (a detailed car is ~10⁵).
pub const MAX_MODEL_TRIANGLES: usize = 2_000_000;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ImportError {
    pub path: PathBuf,
    pub message: String,
}

/// A glTF material as the camera and the lidar need it, for one colour of its texture.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelMaterial {
    /// The glTF material's name (`""` for unnamed and for glTF's default material).
    pub name: String,
    /// Linear RGB base colour (factor × texel).
    pub albedo: [f32; 3],
    pub alpha: f32,
    /// Whether the material blends (`alphaMode: BLEND`).
    pub blend: bool,
    pub roughness: f32,
    pub metalness: f32,
    /// `KHR_materials_transmission` factor (0 without the extension).
    pub transmission: f32,
}

/// What a file holds, for `import` summaries and the figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelStats {
    pub nodes: usize,
    pub meshes: usize,
    pub primitives: usize,
    /// Triangles drawn by the scene (a mesh instanced by two nodes counts twice).
    pub triangles: usize,
    pub materials: usize,
    pub textures: usize,
    pub skins: usize,
    pub animations: usize,
}

/// An imported model in the actor frame at the file's scale (not centred).
#[derive(Clone, Debug)]
pub struct Model {
    /// The triangles of each pose: one for a static model, or poses evenly spaced over the
    /// first animation.
    pub poses: Vec<Vec<[Vec3; 3]>>,
    /// Per triangle, an index into `materials`.
    pub tri_material: Vec<u32>,
    pub materials: Vec<ModelMaterial>,
    pub stats: ModelStats,
    /// Length of the first animation, seconds (0 without one).
    pub animation_s: f32,
}

/// The rotation from glTF axes (a model whose front faces `front`, +Y up) to the actor frame.
pub fn actor_from_gltf(front: ModelFront) -> Mat4 {
    // glTF +Z (front) → x, +X (left, seen from behind a +Z-facing model) → y, +Y → z.
    let base = Mat4::from_cols(
        glam::Vec4::new(0.0, 1.0, 0.0, 0.0),
        glam::Vec4::new(0.0, 0.0, 1.0, 0.0),
        glam::Vec4::new(1.0, 0.0, 0.0, 0.0),
        glam::Vec4::W,
    );
    // Turn the model about +Y so that its front faces +Z first.
    let turn = match front {
        ModelFront::PlusZ => 0.0,
        ModelFront::MinusZ => std::f32::consts::PI,
        ModelFront::PlusX => -std::f32::consts::FRAC_PI_2,
        ModelFront::MinusX => std::f32::consts::FRAC_PI_2,
    };
    base * Mat4::from_rotation_y(turn)
}

/// Imports `path` with `poses` poses: 1 is the rest pose (skins in their nodes' own
/// transforms); more sample the first animation at evenly spaced times over its length.
pub fn import(path: &Path, front: ModelFront, poses: u32) -> Result<Model, ImportError> {
    let fail = |message: String| ImportError {
        path: path.to_owned(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    if meta.len() > MAX_MODEL_BYTES {
        return Err(fail(format!(
            "{} bytes, more than the {MAX_MODEL_BYTES} a model may have",
            meta.len()
        )));
    }
    let (doc, buffers, images) = ::gltf::import(path).map_err(|e| fail(describe(&e)))?;
    check_accessors(&doc, &buffers).map_err(&fail)?;
    let buffer = |b: ::gltf::Buffer| buffers.get(b.index()).map(|d| d.0.as_slice());
    let scene = doc
        .default_scene()
        .or_else(|| doc.scenes().next())
        .ok_or_else(|| fail("the file has no scene".into()))?;
    let to_actor = actor_from_gltf(front);

    // Per-primitive data read once: positions, skin weights, and per-triangle materials.
    let mut materials: Vec<ModelMaterial> = Vec::new();
    let mut material_index: HashMap<(Option<usize>, Option<[u8; 3]>), u32> = HashMap::new();
    let mut tri_material: Vec<u32> = Vec::new();
    let mut draws: Vec<Draw> = Vec::new();
    let mut stats = ModelStats {
        nodes: doc.nodes().len(),
        meshes: doc.meshes().len(),
        primitives: doc.meshes().map(|m| m.primitives().len()).sum(),
        materials: doc.materials().len(),
        textures: doc.textures().len(),
        skins: doc.skins().len(),
        animations: doc.animations().len(),
        ..Default::default()
    };
    let mut mesh_nodes = Vec::new();
    for root in scene.nodes() {
        collect_mesh_nodes(root, &mut mesh_nodes, 0).map_err(&fail)?;
    }
    for node in &mesh_nodes {
        let mesh = node.mesh().expect("collected for its mesh");
        for prim in mesh.primitives() {
            let what = format!(
                "mesh {} (`{}`) primitive {}",
                mesh.index(),
                mesh.name().unwrap_or(""),
                prim.index()
            );
            match prim.mode() {
                Mode::Triangles => {}
                Mode::Points | Mode::Lines | Mode::LineLoop | Mode::LineStrip => continue,
                m => {
                    return Err(fail(format!(
                        "{what}: mode {m:?} is not supported (triangle lists only)"
                    )));
                }
            }
            let reader = prim.reader(buffer);
            let positions: Vec<Vec3> = reader
                .read_positions()
                .ok_or_else(|| fail(format!("{what}: no POSITION attribute")))?
                .map(Vec3::from)
                .collect();
            let indices: Vec<u32> = match reader.read_indices() {
                Some(i) => i.into_u32().collect(),
                None => (0..positions.len() as u32).collect(),
            };
            if !indices.len().is_multiple_of(3) {
                return Err(fail(format!(
                    "{what}: {} indices is not a whole number of triangles",
                    indices.len()
                )));
            }
            if let Some(&bad) = indices.iter().find(|&&i| i as usize >= positions.len()) {
                return Err(fail(format!(
                    "{what}: index {bad} past its {} vertices",
                    positions.len()
                )));
            }
            if positions.iter().any(|p| !p.is_finite()) {
                return Err(fail(format!("{what}: a vertex position is not finite")));
            }
            stats.triangles += indices.len() / 3;
            if stats.triangles > MAX_MODEL_TRIANGLES {
                return Err(fail(format!(
                    "more than {MAX_MODEL_TRIANGLES} triangles (a model may have at most that)"
                )));
            }
            let skin = match node.skin() {
                Some(skin) => {
                    let joints: Vec<[u16; 4]> = reader
                        .read_joints(0)
                        .ok_or_else(|| fail(format!("{what}: skinned but no JOINTS_0")))?
                        .into_u16()
                        .collect();
                    let weights: Vec<[f32; 4]> = reader
                        .read_weights(0)
                        .ok_or_else(|| fail(format!("{what}: skinned but no WEIGHTS_0")))?
                        .into_f32()
                        .collect();
                    if joints.len() != positions.len() || weights.len() != positions.len() {
                        return Err(fail(format!(
                            "{what}: JOINTS_0/WEIGHTS_0 counts differ from POSITION's"
                        )));
                    }
                    let n_joints = skin.joints().count();
                    if joints.iter().flatten().any(|&j| j as usize >= n_joints) {
                        return Err(fail(format!(
                            "{what}: a joint index is past the skin's {n_joints} joints"
                        )));
                    }
                    Some(SkinData {
                        skin: skin.index(),
                        joints,
                        weights,
                    })
                }
                None => None,
            };
            // The colour of each triangle: factor × the texel under its centroid.
            let material = prim.material();
            let pbr = material.pbr_metallic_roughness();
            let factor = pbr.base_color_factor();
            let texture = match pbr.base_color_texture() {
                Some(info) => {
                    let uv: Vec<Vec2> = reader
                        .read_tex_coords(info.tex_coord())
                        .ok_or_else(|| {
                            fail(format!(
                                "{what}: its material's texture reads TEXCOORD_{} which it lacks",
                                info.tex_coord()
                            ))
                        })?
                        .into_f32()
                        .map(Vec2::from)
                        .collect();
                    if uv.len() != positions.len() {
                        return Err(fail(format!(
                            "{what}: TEXCOORD count differs from POSITION's"
                        )));
                    }
                    let tex = info.texture();
                    let image = images.get(tex.source().index()).ok_or_else(|| {
                        fail(format!("texture {}: its image is missing", tex.index()))
                    })?;
                    let sampler = tex.sampler();
                    Some((uv, image, sampler.wrap_s(), sampler.wrap_t()))
                }
                None => None,
            };
            for t in indices.chunks_exact(3) {
                // 32 levels per sRGB channel (0 and 255 kept exact): colours a viewer cannot
                // tell apart share a material.
                let q = match &texture {
                    Some((uv, image, ws, wt)) => {
                        let c = (uv[t[0] as usize] + uv[t[1] as usize] + uv[t[2] as usize]) / 3.0;
                        let srgb = texel_srgb8(image, c, *ws, *wt)
                            .map_err(|m| fail(format!("{what}: {m}")))?;
                        Some(srgb.map(|v| ((v as u32 * 31 + 127) / 255) as u8))
                    }
                    None => None,
                };
                let key = (material.index(), q);
                let id = match material_index.get(&key) {
                    Some(&id) => id,
                    None => {
                        let texel =
                            q.map_or([1.0; 3], |q| q.map(|v| srgb_to_linear(v as f32 / 31.0)));
                        let id = materials.len() as u32;
                        materials.push(ModelMaterial {
                            name: material.name().unwrap_or("").to_owned(),
                            albedo: [0, 1, 2].map(|k| factor[k] * texel[k]),
                            alpha: factor[3],
                            blend: material.alpha_mode() == ::gltf::material::AlphaMode::Blend,
                            roughness: pbr.roughness_factor(),
                            metalness: pbr.metallic_factor(),
                            transmission: material
                                .transmission()
                                .map_or(0.0, |t| t.transmission_factor()),
                        });
                        material_index.insert(key, id);
                        id
                    }
                };
                tri_material.push(id);
            }
            draws.push(Draw {
                node: node.index(),
                positions,
                indices,
                skin,
            });
        }
    }
    if stats.triangles == 0 {
        return Err(fail("the default scene draws no triangles".into()));
    }

    // Poses: the rest pose, or times evenly spaced over the first animation.
    let animation = doc.animations().next();
    let (t0, t1) = match &animation {
        Some(a) => animation_range(a, &buffer).map_err(&fail)?,
        None => (0.0, 0.0),
    };
    let times: Vec<Option<f32>> = if poses <= 1 || animation.is_none() || t1 <= t0 {
        vec![None]
    } else {
        (0..poses)
            .map(|k| Some(t0 + (t1 - t0) * k as f32 / poses as f32))
            .collect()
    };
    let skins: Vec<::gltf::Skin> = doc.skins().collect();
    let mut out_poses = Vec::with_capacity(times.len());
    for t in times {
        let locals = local_transforms(&doc, animation.as_ref(), t, &buffer).map_err(&fail)?;
        let world = world_transforms(&scene, &locals, doc.nodes().len());
        let mut tris = Vec::with_capacity(stats.triangles);
        for d in &draws {
            let placed: Vec<Vec3> = match &d.skin {
                None => {
                    let m = to_actor * world[d.node];
                    d.positions.iter().map(|&p| m.transform_point3(p)).collect()
                }
                Some(s) => {
                    let skin = &skins[s.skin];
                    let inverse: Vec<Mat4> = match skin.reader(buffer).read_inverse_bind_matrices()
                    {
                        Some(r) => r.map(|m| Mat4::from_cols_array_2d(&m)).collect(),
                        None => vec![Mat4::IDENTITY; skin.joints().count()],
                    };
                    let joint_mats: Vec<Mat4> = skin
                        .joints()
                        .enumerate()
                        .map(|(k, j)| {
                            to_actor
                                * world[j.index()]
                                * inverse.get(k).copied().unwrap_or(Mat4::IDENTITY)
                        })
                        .collect();
                    d.positions
                        .iter()
                        .zip(s.joints.iter().zip(&s.weights))
                        .map(|(&p, (j, w))| {
                            let total: f32 = w.iter().sum();
                            let norm = if total > 0.0 { 1.0 / total } else { 0.0 };
                            (0..4)
                                .map(|k| {
                                    joint_mats[j[k] as usize].transform_point3(p) * w[k] * norm
                                })
                                .sum()
                        })
                        .collect()
                }
            };
            tris.extend(
                d.indices
                    .chunks_exact(3)
                    .map(|t| [0, 1, 2].map(|k| placed[t[k] as usize])),
            );
        }
        if tris.iter().flatten().any(|p| !p.is_finite()) {
            return Err(fail("a node transform makes a vertex non-finite".into()));
        }
        out_poses.push(tris);
    }
    Ok(Model {
        poses: out_poses,
        tri_material,
        materials,
        stats,
        animation_s: (t1 - t0).max(0.0),
    })
}

/// One primitive drawn by one node.
struct Draw {
    node: usize,
    positions: Vec<Vec3>,
    indices: Vec<u32>,
    skin: Option<SkinData>,
}

struct SkinData {
    skin: usize,
    joints: Vec<[u16; 4]>,
    weights: Vec<[f32; 4]>,
}

/// Every accessor's elements lie inside its buffer view, and every view inside its buffer
/// (the library's readers would otherwise return nothing, or read past the end).
fn check_accessors(doc: &::gltf::Document, buffers: &[::gltf::buffer::Data]) -> Result<(), String> {
    for view in doc.views() {
        let have = buffers.get(view.buffer().index()).map_or(0, |b| b.0.len());
        let end = view.offset().checked_add(view.length());
        if end.is_none_or(|e| e > have) {
            return Err(format!(
                "bufferView {}: bytes {}..{} lie past its buffer's {have}",
                view.index(),
                view.offset(),
                view.offset().saturating_add(view.length())
            ));
        }
    }
    for a in doc.accessors() {
        let Some(view) = a.view() else { continue };
        if a.count() == 0 {
            continue;
        }
        let elem = a.size();
        let stride = view.stride().unwrap_or(elem).max(elem);
        let need = (a.count() - 1)
            .checked_mul(stride)
            .and_then(|n| n.checked_add(elem))
            .and_then(|n| n.checked_add(a.offset()));
        if need.is_none_or(|n| n > view.length()) {
            return Err(format!(
                "accessor {}: {} elements of {elem} bytes (stride {stride}) from byte {} need more than the {} bytes of bufferView {}",
                a.index(),
                a.count(),
                a.offset(),
                view.length(),
                view.index()
            ));
        }
    }
    Ok(())
}

/// A glTF library error in words, with what it means for the file.
fn describe(e: &::gltf::Error) -> String {
    match e {
        ::gltf::Error::Io(io) => format!("cannot read the model or a file it names: {io}"),
        ::gltf::Error::Binary(b) => format!("not a valid GLB container: {b:?}"),
        ::gltf::Error::BufferLength {
            buffer,
            expected,
            actual,
        } => format!("buffer {buffer} holds {actual} bytes, the file declares {expected}"),
        ::gltf::Error::Validation(v) => {
            let list: Vec<String> = v
                .iter()
                .take(5)
                .map(|(path, err)| format!("{}: {err}", path.as_str()))
                .collect();
            format!("invalid glTF: {}", list.join("; "))
        }
        other => other.to_string(),
    }
}

/// The nodes of the scene that draw a mesh, depth first (cycles are refused by the glTF
/// validator; the depth cap guards the recursion anyway).
fn collect_mesh_nodes<'a>(
    node: ::gltf::Node<'a>,
    out: &mut Vec<::gltf::Node<'a>>,
    depth: usize,
) -> Result<(), String> {
    if depth > 256 {
        return Err("the node hierarchy is deeper than 256 levels".into());
    }
    if node.mesh().is_some() {
        out.push(node.clone());
    }
    for c in node.children() {
        collect_mesh_nodes(c, out, depth + 1)?;
    }
    Ok(())
}

/// Every node's local transform at time `t` of `animation` (its own TRS or matrix without).
fn local_transforms<'d, 's>(
    doc: &'d ::gltf::Document,
    animation: Option<&::gltf::Animation<'d>>,
    t: Option<f32>,
    buffer: &impl Fn(::gltf::Buffer<'d>) -> Option<&'s [u8]>,
) -> Result<Vec<Mat4>, String> {
    let mut trs: Vec<(Vec3, Quat, Vec3, Option<Mat4>)> = doc
        .nodes()
        .map(|n| match n.transform() {
            ::gltf::scene::Transform::Matrix { matrix } => (
                Vec3::ZERO,
                Quat::IDENTITY,
                Vec3::ONE,
                Some(Mat4::from_cols_array_2d(&matrix)),
            ),
            ::gltf::scene::Transform::Decomposed {
                translation,
                rotation,
                scale,
            } => (
                Vec3::from(translation),
                Quat::from_array(rotation).normalize(),
                Vec3::from(scale),
                None,
            ),
        })
        .collect();
    if let (Some(a), Some(t)) = (animation, t) {
        for ch in a.channels() {
            let node = ch.target().node().index();
            let reader = ch.reader(buffer);
            let inputs: Vec<f32> = reader
                .read_inputs()
                .ok_or("an animation channel has no input times")?
                .collect();
            if inputs.is_empty() {
                return Err("an animation channel has no input times".into());
            }
            let cubic = ch.sampler().interpolation() == Interpolation::CubicSpline;
            let step = ch.sampler().interpolation() == Interpolation::Step;
            let Some(outputs) = reader.read_outputs() else {
                return Err("an animation channel has no output values".into());
            };
            let (k, f) = keyframe(&inputs, t);
            // CUBICSPLINE stores (in-tangent, value, out-tangent) per key: its values are
            // interpolated linearly here (the tangents are dropped).
            let pick = |v: usize| if cubic { 3 * v + 1 } else { v };
            let f = if step { 0.0 } else { f };
            let k1 = (k + 1).min(inputs.len() - 1);
            let slot = &mut trs[node];
            match (outputs, ch.target().property()) {
                (ReadOutputs::Translations(it), Property::Translation) => {
                    let v: Vec<Vec3> = it.map(Vec3::from).collect();
                    let (a, b) = get2(&v, pick(k), pick(k1))?;
                    slot.0 = a.lerp(b, f);
                }
                (ReadOutputs::Rotations(it), Property::Rotation) => {
                    let v: Vec<Quat> = it
                        .into_f32()
                        .map(|q| Quat::from_array(q).normalize())
                        .collect();
                    let (a, b) = get2(&v, pick(k), pick(k1))?;
                    slot.1 = a.slerp(b, f);
                }
                (ReadOutputs::Scales(it), Property::Scale) => {
                    let v: Vec<Vec3> = it.map(Vec3::from).collect();
                    let (a, b) = get2(&v, pick(k), pick(k1))?;
                    slot.2 = a.lerp(b, f);
                }
                // Morph-target weights do not move vertices here.
                _ => {}
            }
            // An animated node is TRS by the glTF rules.
            slot.3 = None;
        }
    }
    Ok(trs
        .into_iter()
        .map(|(t, r, s, m)| m.unwrap_or_else(|| Mat4::from_scale_rotation_translation(s, r, t)))
        .collect())
}

fn get2<T: Copy>(v: &[T], a: usize, b: usize) -> Result<(T, T), String> {
    match (v.get(a), v.get(b)) {
        (Some(&x), Some(&y)) => Ok((x, y)),
        _ => Err("an animation channel has fewer outputs than input times".into()),
    }
}

/// The keyframe at or before `t` and the fraction towards the next one (clamped at the ends).
fn keyframe(inputs: &[f32], t: f32) -> (usize, f32) {
    if inputs.is_empty() || t <= inputs[0] {
        return (0, 0.0);
    }
    let last = inputs.len() - 1;
    if t >= inputs[last] {
        return (last, 0.0);
    }
    let k = inputs.partition_point(|&x| x <= t) - 1;
    let span = inputs[k + 1] - inputs[k];
    (
        k,
        if span > 0.0 {
            (t - inputs[k]) / span
        } else {
            0.0
        },
    )
}

/// The first and last keyframe time over the animation's channels.
fn animation_range<'d, 's>(
    a: &::gltf::Animation<'d>,
    buffer: &impl Fn(::gltf::Buffer<'d>) -> Option<&'s [u8]>,
) -> Result<(f32, f32), String> {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for ch in a.channels() {
        for t in ch
            .reader(buffer)
            .read_inputs()
            .ok_or("an animation channel has no input times")?
        {
            if !t.is_finite() {
                return Err("an animation time is not finite".into());
            }
            lo = lo.min(t);
            hi = hi.max(t);
        }
    }
    Ok(if lo <= hi { (lo, hi) } else { (0.0, 0.0) })
}

/// World transforms of every node reachable from the scene's roots (identity for others).
fn world_transforms(scene: &::gltf::Scene, locals: &[Mat4], n: usize) -> Vec<Mat4> {
    let mut world = vec![Mat4::IDENTITY; n];
    let mut stack: Vec<(::gltf::Node, Mat4)> = scene.nodes().map(|r| (r, Mat4::IDENTITY)).collect();
    while let Some((node, parent)) = stack.pop() {
        let m = parent * locals[node.index()];
        world[node.index()] = m;
        stack.extend(node.children().map(|c| (c, m)));
    }
    world
}

/// The sRGB-encoded texel nearest to `uv` under the sampler's wrapping.
fn texel_srgb8(
    image: &::gltf::image::Data,
    uv: Vec2,
    wrap_s: WrappingMode,
    wrap_t: WrappingMode,
) -> Result<[u8; 3], String> {
    let (w, h) = (image.width as usize, image.height as usize);
    if w == 0 || h == 0 {
        return Err("its texture is empty".into());
    }
    let wrap = |x: f32, mode: WrappingMode, n: usize| -> usize {
        let x = if x.is_finite() { x } else { 0.0 };
        let u = match mode {
            WrappingMode::Repeat => x - x.floor(),
            WrappingMode::MirroredRepeat => {
                let m = x.rem_euclid(2.0);
                if m > 1.0 { 2.0 - m } else { m }
            }
            WrappingMode::ClampToEdge => x.clamp(0.0, 1.0),
        };
        ((u * n as f32) as usize).min(n - 1)
    };
    let (x, y) = (wrap(uv.x, wrap_s, w), wrap(uv.y, wrap_t, h));
    let i = y * w + x;
    let p = &image.pixels;
    let px = |channels: usize, bytes: usize| -> Result<&[u8], String> {
        p.get(i * channels * bytes..(i + 1) * channels * bytes)
            .ok_or_else(|| "its texture holds fewer pixels than its size says".to_string())
    };
    Ok(match image.format {
        Format::R8 => {
            let v = px(1, 1)?[0];
            [v, v, v]
        }
        Format::R8G8 => {
            let v = px(2, 1)?;
            [v[0], v[1], 0]
        }
        Format::R8G8B8 => {
            let v = px(3, 1)?;
            [v[0], v[1], v[2]]
        }
        Format::R8G8B8A8 => {
            let v = px(4, 1)?;
            [v[0], v[1], v[2]]
        }
        // 16-bit channels: the high byte (little-endian).
        Format::R16G16B16 => {
            let v = px(3, 2)?;
            [v[1], v[3], v[5]]
        }
        Format::R16G16B16A16 => {
            let v = px(4, 2)?;
            [v[1], v[3], v[5]]
        }
        other => return Err(format!("texture format {other:?} is not supported")),
    })
}

fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// A glTF material as a verisim material (the rule of `docs/assets.md`). The camera takes the
/// colour, roughness and metalness as they are. At 905 nm: a pane (transmission, or a blended
/// material under 90 % opacity) is the table's `glass`; a metal (metalness ≥ 0.5) is the
/// table's `pole_metal`; any other surface reflects `0.7·√(mean linear albedo)`, clamped to
/// 0.02–0.9, Lambertian to Oren–Nayar σ = 45° as roughness goes 0 to 1. `over`, a table
/// material named by the scenario, replaces every 905 nm property.
pub fn lidar_material(m: &ModelMaterial, over: Option<&Material>) -> Material {
    use crate::scenario::materials::{id, table};
    let named = |n: &str| table()[id(n) as usize].clone();
    let mean = (m.albedo[0] + m.albedo[1] + m.albedo[2]) / 3.0;
    let lidar = if let Some(o) = over {
        o.clone()
    } else if m.transmission > 0.0 || (m.blend && m.alpha < 0.9) {
        named("glass")
    } else if m.metalness >= 0.5 {
        named("pole_metal")
    } else {
        Material {
            reflectivity_905nm: (0.7 * mean.max(0.0).sqrt()).clamp(0.02, 0.9),
            lidar_roughness_deg: 45.0 * m.roughness.clamp(0.0, 1.0),
            lidar_clearcoat_slope: 0.0,
            lidar_transmittance: 0.0,
            ..named("asphalt")
        }
    };
    Material {
        name: m.name.clone(),
        albedo: (
            m.albedo[0].clamp(0.0, 0.99),
            m.albedo[1].clamp(0.0, 0.99),
            m.albedo[2].clamp(0.0, 0.99),
        ),
        roughness: m.roughness.clamp(0.0, 1.0),
        metalness: m.metalness.clamp(0.0, 1.0),
        emissive: (0.0, 0.0, 0.0),
        ..lidar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_map_the_gltf_front_up_and_left_onto_the_actor_frame() {
        let m = actor_from_gltf(ModelFront::PlusZ);
        assert!(m.transform_vector3(Vec3::Z).abs_diff_eq(Vec3::X, 1e-6));
        assert!(m.transform_vector3(Vec3::Y).abs_diff_eq(Vec3::Z, 1e-6));
        assert!(m.transform_vector3(Vec3::X).abs_diff_eq(Vec3::Y, 1e-6));
        // A proper rotation: handedness kept, so outward normals stay outward.
        assert!((m.determinant() - 1.0).abs() < 1e-6);
        for (front, dir) in [
            (ModelFront::MinusZ, Vec3::NEG_Z),
            (ModelFront::PlusX, Vec3::X),
            (ModelFront::MinusX, Vec3::NEG_X),
        ] {
            let m = actor_from_gltf(front);
            assert!(
                m.transform_vector3(dir).abs_diff_eq(Vec3::X, 1e-6),
                "{front:?}"
            );
            assert!(m.transform_vector3(Vec3::Y).abs_diff_eq(Vec3::Z, 1e-6));
        }
    }

    #[test]
    fn keyframes_interpolate_and_clamp() {
        let t = [0.0, 1.0, 3.0];
        assert_eq!(keyframe(&t, -1.0), (0, 0.0));
        assert_eq!(keyframe(&t, 0.5), (0, 0.5));
        assert_eq!(keyframe(&t, 2.0), (1, 0.5));
        assert_eq!(keyframe(&t, 5.0), (2, 0.0));
    }

    #[test]
    fn the_905nm_rule_follows_its_documentation() {
        let base = ModelMaterial {
            name: "paint".into(),
            albedo: [0.7, 0.7, 0.7],
            alpha: 1.0,
            blend: false,
            roughness: 1.0,
            metalness: 0.0,
            transmission: 0.0,
        };
        let white = lidar_material(&base, None);
        assert!((white.reflectivity_905nm - 0.7 * 0.7f32.sqrt()).abs() < 1e-6);
        assert_eq!(white.lidar_roughness_deg, 45.0);
        assert_eq!(white.albedo, (0.7, 0.7, 0.7));
        let black = lidar_material(
            &ModelMaterial {
                albedo: [0.0; 3],
                ..base.clone()
            },
            None,
        );
        assert_eq!(black.reflectivity_905nm, 0.02);
        let pane = lidar_material(
            &ModelMaterial {
                blend: true,
                alpha: 0.3,
                ..base.clone()
            },
            None,
        );
        assert!(pane.lidar_transmittance > 0.0);
        let metal = lidar_material(
            &ModelMaterial {
                metalness: 1.0,
                ..base.clone()
            },
            None,
        );
        assert_eq!(metal.metalness, 1.0);
        assert_eq!(metal.reflectivity_905nm, 0.35);
        // An override takes every 905 nm property and keeps the model's colour.
        let glass = crate::scenario::materials::table()
            [crate::scenario::materials::id("glass") as usize]
            .clone();
        let o = lidar_material(&base, Some(&glass));
        assert_eq!(o.lidar_transmittance, glass.lidar_transmittance);
        assert_eq!(o.reflectivity_905nm, glass.reflectivity_905nm);
        assert_eq!(o.albedo, (0.7, 0.7, 0.7));
    }
}
