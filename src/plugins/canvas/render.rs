//! Draws the canvas on the GPU, through Bevy's renderer.
//!
//! Approach: render-to-texture with baking. A 2D camera renders a dedicated render layer into
//! the canvas image and never clears it (`ClearColorConfig::None`), so what it drew stays in
//! the image. Each new piece of a stroke becomes a few short-lived mesh entities ("dabs": a
//! rectangle per segment and a disc per point, giving round caps and joins, anti-aliased by
//! MSAA) that live for [`DAB_FRAMES`] frames and are then despawned: by then they are baked
//! into the image. So a frame costs what changed, never the strokes already drawn, and there
//! is no CPU rasterising and no texture upload. Undo, clear and a late-join log clear the image
//! through the camera once and draw the whole log again in that frame.
//!
//! Chosen over a compute pass because meshes, materials, MSAA and render layers are stock
//! Bevy (nothing to maintain in WGSL), and over CPU rasterising because the issue forbids
//! per-frame uploads.

use std::collections::HashMap;
use std::sync::Arc;

use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::camera::visibility::RenderLayers;
use bevy::image::ImageSampler;
use bevy::prelude::*;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};

use super::fill::FillMask;
use super::{
    BOARD_HEIGHT, BOARD_SIZE, BOARD_WIDTH, BoardPoint, Brush, CanvasState, CanvasSystems, FillComputed,
    FillWanted, PaintCanvas,
};

/// The render layer only the canvas camera sees.
pub const CANVAS_LAYER: usize = 7;
/// Frames a dab stays alive: enough for it to be drawn once even if its first frame is
/// skipped while a pipeline compiles; drawing an opaque shape twice changes nothing visible.
pub const DAB_FRAMES: u8 = 2;
/// The board's background; the eraser paints it.
pub const BACKGROUND: [u8; 3] = [255, 255, 255];

pub fn plugin(app: &mut App) {
    app.init_resource::<CanvasRenderStats>()
        .init_resource::<GallerySettings>()
        .init_resource::<LastSave>()
        .add_message::<SaveCanvas>()
        .add_systems(Startup, setup_canvas)
        .add_systems(Last, (save_requests, fill_requests))
        .add_systems(
            PostUpdate,
            (expire_dabs, paint, apply_clear)
                .chain()
                .after(CanvasSystems::LocalInput),
        );
}

/// The canvas image: what the UI shows and what gets saved.
#[derive(Resource, Clone)]
pub struct CanvasImage(pub Handle<Image>);

/// Counters for tests and measurements.
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct CanvasRenderStats {
    /// Dab entities alive now (what this frame costs).
    pub live_dabs: usize,
    /// Full repaints so far.
    pub repaints: u64,
}

/// The camera drawing into the canvas image; while `clear_frames` is above zero its frames
/// start from the background.
#[derive(Component)]
struct CanvasCamera {
    clear_frames: u8,
}

#[derive(Component)]
struct Dab {
    frames_left: u8,
}

#[derive(Resource)]
struct DabAssets {
    segment: Handle<Mesh>,
    disc: Handle<Mesh>,
    materials: HashMap<[u8; 3], Handle<ColorMaterial>>,
    /// Each fill of the drawing as a texture, uploaded once: a repaint (an undo, say) draws
    /// the same images again. Only the drawing's fills are kept (at most 32).
    fills: Vec<(Arc<FillMask>, Handle<Image>)>,
}

impl DabAssets {
    fn material(&mut self, brush: Brush, materials: &mut Assets<ColorMaterial>) -> Handle<ColorMaterial> {
        let colour = if brush.eraser { BACKGROUND } else { brush.colour };
        self.materials
            .entry(colour)
            .or_insert_with(|| materials.add(ColorMaterial::from(srgb(colour))))
            .clone()
    }
}

fn srgb([r, g, b]: [u8; 3]) -> Color {
    Color::srgb_u8(r, g, b)
}

/// Board units (origin top left, y down) to the canvas camera's world (origin centre, y up).
fn world(p: BoardPoint) -> Vec2 {
    Vec2::new(
        p.x as f32 - BOARD_WIDTH as f32 / 2.0,
        BOARD_HEIGHT as f32 / 2.0 - p.y as f32,
    )
}

fn setup_canvas(mut commands: Commands, mut images: ResMut<Assets<Image>>, mut meshes: ResMut<Assets<Mesh>>) {
    let mut image = Image::new_target_texture(
        BOARD_SIZE.x as u32,
        BOARD_SIZE.y as u32,
        TextureFormat::Rgba8UnormSrgb,
        None,
    );
    image.texture_descriptor.usage |= TextureUsages::COPY_SRC;
    // Start as the background, so the board is never shown transparent.
    if let Some(data) = image.data.as_mut() {
        data.fill(255);
    }
    image.asset_usage = RenderAssetUsages::RENDER_WORLD;
    let handle = images.add(image);
    commands.spawn((
        Name::new("canvas camera"),
        // The image's own pixels are not what the camera loads: clear through the camera.
        // A few frames, in case the image is not on the GPU yet in the first one.
        CanvasCamera { clear_frames: 3 },
        Camera2d,
        Camera {
            order: -1,
            clear_color: ClearColorConfig::None,
            ..default()
        },
        RenderTarget::Image(handle.clone().into()),
        RenderLayers::layer(CANVAS_LAYER),
    ));
    commands.insert_resource(DabAssets {
        segment: meshes.add(Rectangle::new(1.0, 1.0)),
        disc: meshes.add(Circle::new(0.5).mesh().resolution(48)),
        materials: HashMap::new(),
        fills: Vec::new(),
    });
    commands.insert_resource(CanvasImage(handle));
}

fn expire_dabs(mut commands: Commands, mut dabs: Query<(Entity, &mut Dab)>) {
    for (entity, mut dab) in &mut dabs {
        dab.frames_left = dab.frames_left.saturating_sub(1);
        if dab.frames_left == 0 {
            commands.entity(entity).despawn();
        }
    }
}

/// Clears the image this frame only when asked; otherwise the camera keeps what it drew.
///
/// The camera stays active every frame: the picture persists in the camera's own (MSAA)
/// textures, which Bevy recycles when a camera stops rendering, so an inactive frame would
/// lose it (the render tests check idle frames).
fn apply_clear(mut cameras: Query<(&mut Camera, &mut CanvasCamera)>) {
    for (mut camera, mut canvas) in &mut cameras {
        let clear = canvas.clear_frames > 0;
        let wanted = if clear {
            ClearColorConfig::Custom(srgb(BACKGROUND))
        } else {
            ClearColorConfig::None
        };
        if std::mem::discriminant(&camera.clear_color) != std::mem::discriminant(&wanted) {
            camera.clear_color = wanted;
        }
        canvas.clear_frames = canvas.clear_frames.saturating_sub(1);
    }
}

/// Spawns dabs for what changed this frame.
fn paint(
    mut commands: Commands,
    mut requests: MessageReader<PaintCanvas>,
    state: Res<CanvasState>,
    mut assets: (
        ResMut<DabAssets>,
        ResMut<Assets<ColorMaterial>>,
        ResMut<Assets<Image>>,
    ),
    dabs: Query<Entity, With<Dab>>,
    mut cameras: Query<&mut CanvasCamera>,
    mut stats: ResMut<CanvasRenderStats>,
) {
    let requests: Vec<PaintCanvas> = requests.read().cloned().collect();
    if requests.is_empty() {
        stats.live_dabs = dabs.iter().count();
        return;
    }
    let mut painter = Painter {
        commands: &mut commands,
        assets: &mut assets.0,
        materials: &mut assets.1,
        images: &mut assets.2,
        depth: 0,
        spawned: 0,
    };
    if let Some(last_repaint) = requests.iter().rposition(|r| *r == PaintCanvas::Repaint) {
        // Everything before the last repaint is covered by it.
        for entity in &dabs {
            painter.commands.entity(entity).despawn();
        }
        for mut camera in &mut cameras {
            camera.clear_frames = camera.clear_frames.max(1);
        }
        // Fills no longer in the drawing let their textures go.
        let fills: Vec<&Arc<FillMask>> = state
            .drawing
            .strokes()
            .iter()
            .filter_map(|s| s.fill.as_ref())
            .collect();
        painter
            .assets
            .fills
            .retain(|(mask, _)| fills.iter().any(|kept| Arc::ptr_eq(kept, mask)));
        for stroke in state.drawing.strokes() {
            match &stroke.fill {
                Some(mask) => painter.fill(stroke.brush.colour, mask),
                None => painter.polyline(stroke.brush, &stroke.points),
            }
        }
        stats.repaints += 1;
        for request in &requests[last_repaint + 1..] {
            painter.request(request);
        }
        stats.live_dabs = painter.spawned;
    } else {
        for request in &requests {
            painter.request(request);
        }
        stats.live_dabs = dabs.iter().count() + painter.spawned;
    }
}

struct Painter<'a, 'w, 's> {
    commands: &'a mut Commands<'w, 's>,
    assets: &'a mut DabAssets,
    materials: &'a mut Assets<ColorMaterial>,
    images: &'a mut Assets<Image>,
    /// Later dabs get a higher z so they cover earlier ones drawn in the same frame.
    depth: u32,
    spawned: usize,
}

impl Painter<'_, '_, '_> {
    fn request(&mut self, request: &PaintCanvas) {
        match request {
            PaintCanvas::Segments { brush, points } => self.polyline(*brush, points),
            PaintCanvas::Fill { colour, mask } => self.fill(*colour, mask),
            PaintCanvas::Repaint => {}
        }
    }

    /// A fill: its region as a texture of its bounds (uploaded once, kept while the fill is in
    /// the drawing), on a quad, baked in like a dab.
    fn fill(&mut self, colour: [u8; 3], mask: &Arc<FillMask>) {
        let Some((left, top, width, height)) = mask.bounds() else {
            return;
        };
        let cached = self
            .assets
            .fills
            .iter()
            .find(|(kept, _)| Arc::ptr_eq(kept, mask))
            .map(|(_, handle)| handle.clone());
        let handle = match cached {
            Some(handle) => handle,
            None => {
                let handle = self.fill_image(colour, mask);
                self.assets.fills.push((mask.clone(), handle.clone()));
                handle
            }
        };
        self.depth += 1;
        let z = (self.depth % 900_000) as f32 * 0.001;
        let centre = Vec2::new(
            left as f32 + width as f32 / 2.0 - BOARD_WIDTH as f32 / 2.0,
            BOARD_HEIGHT as f32 / 2.0 - (top as f32 + height as f32 / 2.0),
        );
        self.commands.spawn((
            Dab {
                frames_left: DAB_FRAMES,
            },
            Sprite::from_image(handle),
            Transform::from_translation(centre.extend(z)),
            RenderLayers::layer(CANVAS_LAYER),
        ));
        self.spawned += 1;
    }

    /// A fill's region as an image of its bounds.
    fn fill_image(&mut self, colour: [u8; 3], mask: &FillMask) -> Handle<Image> {
        let Some(((_, _, width, height), rgba)) = mask.to_rgba(colour) else {
            return Handle::default();
        };
        let mut image = Image::new(
            Extent3d {
                width: width as u32,
                height: height as u32,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            rgba,
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::RENDER_WORLD,
        );
        // Pixel for pixel: no blur at the region's edge.
        image.sampler = ImageSampler::nearest();
        self.images.add(image)
    }

    fn polyline(&mut self, brush: Brush, points: &[BoardPoint]) {
        let material = self.assets.material(brush, self.materials);
        let size = brush.size as f32;
        let Some(first) = points.first() else { return };
        self.dab(
            self.assets.disc.clone(),
            material.clone(),
            world(*first),
            0.0,
            Vec2::splat(size),
        );
        for pair in points.windows(2) {
            let (a, b) = (world(pair[0]), world(pair[1]));
            let step = b - a;
            let length = step.length();
            if length > 0.0 {
                let angle = step.y.atan2(step.x);
                self.dab(
                    self.assets.segment.clone(),
                    material.clone(),
                    (a + b) / 2.0,
                    angle,
                    Vec2::new(length, size),
                );
            }
            self.dab(
                self.assets.disc.clone(),
                material.clone(),
                b,
                0.0,
                Vec2::splat(size),
            );
        }
    }

    fn dab(
        &mut self,
        mesh: Handle<Mesh>,
        material: Handle<ColorMaterial>,
        at: Vec2,
        angle: f32,
        scale: Vec2,
    ) {
        self.depth += 1;
        // The 2D camera sees z in (-1000, 1000); wrap well inside it.
        let z = (self.depth % 900_000) as f32 * 0.001;
        self.commands.spawn((
            Dab {
                frames_left: DAB_FRAMES,
            },
            Mesh2d(mesh),
            MeshMaterial2d(material),
            Transform {
                translation: at.extend(z),
                rotation: Quat::from_rotation_z(angle),
                scale: scale.extend(1.0),
            },
            RenderLayers::layer(CANVAS_LAYER),
        ));
        self.spawned += 1;
    }
}

/// Reads the board back for each fill asked for and floods it on the CPU; the region comes
/// back as [`FillComputed`] (none when the fill would change nothing).
fn fill_requests(
    mut commands: Commands,
    mut wanted: MessageReader<FillWanted>,
    image: Option<Res<CanvasImage>>,
) {
    let Some(image) = image else { return };
    for &FillWanted { at, colour } in wanted.read() {
        commands.spawn(Readback::texture(image.0.clone())).observe(
            move |done: On<ReadbackComplete>,
                  mut commands: Commands,
                  mut out: MessageWriter<FillComputed>| {
                let seed = (at.x.max(0) as usize, at.y.max(0) as usize);
                if let Some(mask) = super::fill::flood(&done.data, seed, colour) {
                    out.write(FillComputed { at, colour, mask });
                }
                commands.entity(done.entity).despawn();
            },
        );
    }
}

/// Asks for the canvas as it is now to be saved as a PNG named `name` in the gallery.
#[derive(Message, Debug, Clone)]
pub struct SaveCanvas {
    pub name: String,
}

/// Where drawings are saved, and whether each finished drawing is saved by itself.
#[derive(Resource, Debug, Clone)]
pub struct GallerySettings {
    pub folder: Option<std::path::PathBuf>,
    pub auto_save: bool,
}

impl Default for GallerySettings {
    fn default() -> Self {
        Self {
            folder: super::gallery::default_folder(),
            // A browser saves by downloading: a file every turn would be a nuisance there.
            auto_save: cfg!(not(target_arch = "wasm32")),
        }
    }
}

/// The outcome of the last save, for the UI: the file's path, or why it failed.
#[derive(Resource, Debug, Clone, Default)]
pub struct LastSave(pub Option<Result<std::path::PathBuf, String>>);

/// Reads the canvas back from the GPU and writes it to the gallery.
pub(super) fn save_requests(
    mut commands: Commands,
    mut requests: MessageReader<SaveCanvas>,
    image: Option<Res<CanvasImage>>,
    settings: Res<GallerySettings>,
    mut last: ResMut<LastSave>,
) {
    let Some(image) = image else { return };
    for SaveCanvas { name } in requests.read() {
        let folder = settings.folder.clone();
        // A browser has no folder of ours: there the picture is a download.
        if folder.is_none() && cfg!(not(target_arch = "wasm32")) {
            last.0 = Some(Err(crate::i18n::Describe::describe(
                &super::gallery::SaveError::NoFolder,
            )));
            continue;
        }
        let name = name.clone();
        commands
            .spawn(bevy::render::gpu_readback::Readback::texture(image.0.clone()))
            .observe(
                move |done: On<bevy::render::gpu_readback::ReadbackComplete>,
                      mut commands: Commands,
                      mut last: ResMut<LastSave>| {
                    let png = super::gallery::encode_png(&done.data, BOARD_WIDTH as u32, BOARD_HEIGHT as u32)
                        .map_err(|e| crate::i18n::Describe::describe(&e));
                    let result = png.and_then(|png| keep_picture(folder.as_deref(), &name, &png));
                    if let Err(e) = &result {
                        warn!("{e}");
                    }
                    last.0 = Some(result);
                    commands.entity(done.entity).despawn();
                },
            );
    }
}

/// Writes a picture to the gallery folder, or in a browser (no folder) hands it over as a
/// download; where it went, or why not.
fn keep_picture(
    folder: Option<&std::path::Path>,
    name: &str,
    png: &[u8],
) -> Result<std::path::PathBuf, String> {
    match folder {
        Some(folder) => {
            super::gallery::save(folder, name, png).map_err(|e| crate::i18n::Describe::describe(&e))
        }
        #[cfg(target_arch = "wasm32")]
        None => crate::files::download(name, png, "image/png").map(|()| name.into()),
        #[cfg(not(target_arch = "wasm32"))]
        None => Err(crate::i18n::Describe::describe(
            &super::gallery::SaveError::NoFolder,
        )),
    }
}

/// The canvas renderer without a window, for render tests and measurements: the GPU
/// adapter is whatever wgpu finds (lavapipe where there is no GPU); none found is a panic.
pub mod offscreen {
    use std::sync::{Arc, Mutex};

    use bevy::prelude::*;
    use bevy::render::RenderPlugin;
    use bevy::render::gpu_readback::{Readback, ReadbackComplete};
    use bevy::window::ExitCondition;

    use super::super::{CanvasState, PaintCanvas};
    use super::CanvasImage;

    /// An app with the renderer and the canvas plugin's render side only.
    pub fn app() -> App {
        let mut app = renderer();
        app.init_resource::<CanvasState>()
            .add_message::<PaintCanvas>()
            .add_message::<super::super::FillWanted>()
            .add_message::<super::super::FillComputed>()
            .add_plugins(super::plugin);
        started(app)
    }

    /// The game's client as the window runs it, logic and canvas renderer, without a window:
    /// what a player's own board shows, for tests that join a server.
    pub fn client_app() -> App {
        let mut app = renderer();
        app.add_plugins((crate::plugins::client_logic, super::plugin));
        started(app)
    }

    fn renderer() -> App {
        let mut app = App::new();
        app.add_plugins(
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: None,
                    exit_condition: ExitCondition::DontExit,
                    ..default()
                })
                .set(RenderPlugin {
                    synchronous_pipeline_compilation: true,
                    ..default()
                })
                .disable::<bevy::winit::WinitPlugin>()
                .disable::<bevy::log::LogPlugin>(),
        );
        app
    }

    fn started(mut app: App) -> App {
        crate::startup::finish_plugins(&mut app);
        for _ in 0..3 {
            app.update();
        }
        app
    }

    /// Renders two more frames, then reads the canvas image back: tightly packed sRGB RGBA.
    pub fn read_back(app: &mut App) -> Vec<u8> {
        app.update();
        app.update();
        let image = app.world().resource::<CanvasImage>().0.clone();
        let slot: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
        let sink = slot.clone();
        let entity = app
            .world_mut()
            .spawn(Readback::texture(image))
            .observe(move |done: On<ReadbackComplete>| {
                *sink.lock().unwrap() = Some(done.data.clone());
            })
            .id();
        for _ in 0..100 {
            app.update();
            if let Some(data) = slot.lock().unwrap().take() {
                app.world_mut().despawn(entity);
                return data;
            }
        }
        panic!("the GPU readback never completed");
    }
}
