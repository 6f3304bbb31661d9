//! Test videos for the challenge liveness: one real frame warped, guided by its face mesh, into
//! a sequence of head motions (`webverify challenge-video`). There is no video of people
//! turning on request in our data, so the motions are synthesised: a head turn (yaw) or looking
//! up (pitch) rotates the face as a cylinder about its vertical (horizontal) axis through the
//! mesh's centre — each column (row) of the face moves to where a point on the cylinder's
//! surface would be seen after the rotation — blended back to the still frame towards the edge
//! of an ellipse around the face, so that the background does not move.
//!
//! Blinks are not made: stretching the lid skin over the eye (which looks closed to a person)
//! moves Face Mesh's lid points by only 5–25 % (eye aspect ratio 0.30 → 0.28 on an LFW face,
//! 0.32 → 0.24 on a NUAA one), where real closed eyes read 0.11–0.16 against a median of 0.30
//! for open ones (232 LFW faces), so a synthetic blink would test the warp, not the check.
//!
//! The frames are what a camera would show of a face making these motions to first order; they
//! test the decision end to end, they do not measure error rates.

use crate::error::{Error, Result};
use crate::face::mesh::{FaceMesh, Mesh};
use crate::face::pipeline::Pipeline;
use crate::image::{Image, PixelFormat};
use crate::liveness::challenge::Action;

/// How far a turn goes at its extreme, degrees of the cylinder.
pub const TURN_DEG: f32 = 40.0;
/// How far looking up goes, degrees of the cylinder.
pub const LOOK_UP_DEG: f32 = 35.0;

/// The face's extent as the warp needs it, from its mesh.
#[derive(Clone, Copy, Debug)]
pub struct FaceShape {
    centre: [f32; 2],
    /// Half the face's width and height (the cylinders' radii).
    radius: [f32; 2],
}

impl FaceShape {
    /// The shape of the face `mesh` was found on.
    pub fn of(mesh: &Mesh) -> Self {
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for p in &mesh.points {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        Self {
            centre: [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0],
            radius: [(hi[0] - lo[0]) / 2.0, (hi[1] - lo[1]) / 2.0 * 1.2],
        }
    }
}

/// One frame's pose: yaw (+: the person's left) and pitch (+: up), degrees of the cylinder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pose {
    /// Degrees, + the person's left.
    pub yaw: f32,
    /// Degrees, + up.
    pub pitch: f32,
}

const NEUTRAL: Pose = Pose {
    yaw: 0.0,
    pitch: 0.0,
};

/// `image` with the face of `shape` in `pose`.
pub fn posed(image: &Image, shape: &FaceShape, pose: Pose) -> Result<Image> {
    let (w, h) = (image.width(), image.height());
    let src = image.as_rgb();
    let mut out = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let px = bilinear(src, w, h, unrotate(shape, pose, [x as f32, y as f32]));
            out[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&px);
        }
    }
    Image::from_pixels(&out, w, h, PixelFormat::Rgb, None)
}

/// Where the pixel at `p` of the rotated face comes from in the unrotated one.
fn unrotate(shape: &FaceShape, pose: Pose, p: [f32; 2]) -> [f32; 2] {
    let [cx, cy] = shape.centre;
    let [rx, ry] = shape.radius;
    // Full effect inside the face, none outside an ellipse 1.3 times its size.
    let e = ((p[0] - cx) / (rx * 1.3)).powi(2) + ((p[1] - cy) / (ry * 1.3)).powi(2);
    let weight = smoothstep(1.0, 0.45, e.sqrt());
    if weight <= 0.0 {
        return p;
    }
    let cylinder = |v: f32, centre: f32, radius: f32, angle: f32| {
        let u = ((v - centre) / radius).clamp(-1.0, 1.0);
        let phi =
            (u.asin() - angle).clamp(-std::f32::consts::FRAC_PI_2, std::f32::consts::FRAC_PI_2);
        centre + radius * phi.sin()
    };
    // Turning to the person's left moves the face towards the image's right: the output takes
    // its pixels from further left. Looking up moves it up: pixels come from further down.
    let sx = cylinder(p[0], cx, rx, pose.yaw.to_radians());
    let sy = cylinder(p[1], cy, ry, -pose.pitch.to_radians());
    [p[0] + weight * (sx - p[0]), p[1] + weight * (sy - p[1])]
}

fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn bilinear(src: &[u8], w: usize, h: usize, p: [f32; 2]) -> [u8; 3] {
    let x = p[0].clamp(0.0, (w - 1) as f32);
    let y = p[1].clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |xx: usize, yy: usize, c: usize| src[(yy * w + xx) * 3 + c] as f32;
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let top = at(x0, y0, c) * (1.0 - fx) + at(x1, y0, c) * fx;
        let bottom = at(x0, y1, c) * (1.0 - fx) + at(x1, y1, c) * fx;
        *o = (top * (1.0 - fy) + bottom * fy).round() as u8;
    }
    out
}

/// The poses of a video at `fps` that holds still for `lead_s` seconds, then makes `actions` in
/// order, each taking `step_s` seconds (a third moving there, a third holding, a third coming
/// back) followed by `step_s / 2` of stillness. An empty list is a still face; a blink is an
/// error (see the module's comment).
pub fn script(actions: &[Action], fps: f32, lead_s: f32, step_s: f32) -> Result<Vec<Pose>> {
    let frames = |s: f32| ((s * fps).round() as usize).max(1);
    let mut out = vec![NEUTRAL; frames(lead_s)];
    for action in actions {
        let extreme = match action {
            Action::TurnLeft => Pose {
                yaw: TURN_DEG,
                ..NEUTRAL
            },
            Action::TurnRight => Pose {
                yaw: -TURN_DEG,
                ..NEUTRAL
            },
            Action::LookUp => Pose {
                pitch: LOOK_UP_DEG,
                ..NEUTRAL
            },
            Action::Blink => {
                return Err(Error::InvalidInput(
                    "blinks are not synthesised (the mesh does not see a warped lid as closed)"
                        .into(),
                ))
            }
        };
        let ramp = frames(step_s / 3.0);
        let at = |k: f32| Pose {
            yaw: extreme.yaw * k,
            pitch: extreme.pitch * k,
        };
        out.extend((1..=ramp).map(|i| at(i as f32 / ramp as f32)));
        out.extend(std::iter::repeat_n(extreme, ramp));
        out.extend((0..ramp).rev().map(|i| at(i as f32 / ramp as f32)));
        out.extend(std::iter::repeat_n(NEUTRAL, frames(step_s / 2.0)));
    }
    Ok(out)
}

/// `image`'s face, found by `pipeline`'s detector and `mesh`, made into the frames of `poses`
/// (`NO_FACE` without one).
pub fn video(
    pipeline: &Pipeline,
    mesh: &FaceMesh,
    image: &Image,
    poses: &[Pose],
) -> Result<Vec<Image>> {
    let found = pollster::block_on(pipeline.landmarks_with_async(mesh, image))?;
    render(image, &FaceShape::of(&found.mesh), poses)
}

/// The frames of `script` applied to `image`, whose face has `shape`.
pub fn render(image: &Image, shape: &FaceShape, poses: &[Pose]) -> Result<Vec<Image>> {
    poses.iter().map(|&p| posed(image, shape, p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_holds_each_extreme_and_returns_to_neutral() {
        let poses = script(&[Action::TurnLeft, Action::LookUp], 10.0, 1.0, 1.5).unwrap();
        assert_eq!(poses.len(), 10 + 2 * (5 * 3 + 8));
        assert!(poses[..10].iter().all(|p| *p == NEUTRAL));
        assert_eq!(poses.iter().filter(|p| p.yaw == TURN_DEG).count(), 5 + 1);
        assert_eq!(
            poses.iter().filter(|p| p.pitch == LOOK_UP_DEG).count(),
            5 + 1
        );
        assert_eq!(*poses.last().unwrap(), NEUTRAL);
        assert_eq!(script(&[], 10.0, 2.0, 1.0).unwrap().len(), 20);
        assert!(script(&[Action::Blink], 10.0, 2.0, 1.0).is_err());
    }
}
