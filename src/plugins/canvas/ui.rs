//! The board widget and the drawing tools (egui). They only read the canvas state and
//! produce [`DrawInput`]s; the canvas plugin applies them.

use bevy_egui::egui::{self, Color32, RichText};

use super::model::{MAX_BRUSH, MIN_BRUSH};
use super::{BOARD_SIZE, BoardPoint, CanvasState, DrawInput};
use crate::i18n::Describe;
use crate::plugins::rooms::Roster;
use crate::t;
use crate::theme;

pub use super::model::PALETTE;

/// Draws the board (the GPU-rendered canvas image, aspect ratio kept) and turns pointer
/// drags on it into draw input. Returns where the board is on screen.
pub fn board(
    ui: &mut egui::Ui,
    texture: Option<egui::TextureId>,
    state: &CanvasState,
    can_draw: bool,
    input: &mut Vec<DrawInput>,
) -> egui::Rect {
    let available = ui.available_rect_before_wrap();
    let scale = (available.width() / BOARD_SIZE.x).min(available.height() / BOARD_SIZE.y);
    let size = egui::vec2(BOARD_SIZE.x * scale, BOARD_SIZE.y * scale);
    let rect = egui::Rect::from_center_size(available.center(), size);
    let sense = if can_draw {
        egui::Sense::click_and_drag()
    } else {
        egui::Sense::hover()
    };
    let response = match texture {
        Some(texture) => ui.put(rect, egui::Image::new((texture, size)).sense(sense)),
        None => {
            ui.painter().rect_filled(rect, 0.0, theme::PAPER);
            ui.allocate_rect(rect, sense)
        }
    };
    let id = response.id.with("stroking");
    if !can_draw {
        ui.data_mut(|d| d.remove::<bool>(id));
    }
    if can_draw && state.fill_tool {
        if response.clicked()
            && let Some(pos) = response.interact_pointer_pos()
        {
            let local = (pos - rect.min) / scale;
            input.extend(BoardPoint::from_f32(local.x, local.y).map(DrawInput::Fill));
        }
        if response.hovered() {
            ui.ctx().set_cursor_icon(egui::CursorIcon::Crosshair);
        }
    } else if can_draw {
        follow_pointer(ui, id, rect, scale, input);
        if let Some(hover) = response.hover_pos() {
            brush_cursor(ui, state, rect, scale, hover);
        }
    }
    rect
}

/// Turns this frame's pointer events over the board (`rect`, drawn at `scale`) into strokes.
/// Whether a stroke is under way is kept in egui's memory under `id`.
fn follow_pointer(ui: &egui::Ui, id: egui::Id, rect: egui::Rect, scale: f32, input: &mut Vec<DrawInput>) {
    let to_board = |pos: egui::Pos2| {
        let local = (pos - rect.min) / scale;
        BoardPoint::from_f32(local.x.clamp(0.0, BOARD_SIZE.x), local.y.clamp(0.0, BOARD_SIZE.y))
    };
    // Strokes follow the raw pointer events rather than egui's click/drag recognition:
    // every motion sample counts (corners survive slow frames), and a quick flick whose
    // press and release land in the same frame still draws.
    let mut stroking = ui.data(|d| d.get_temp::<bool>(id)).unwrap_or(false);
    // Fingers on the screen: a second one makes the gesture a pinch or a scroll, not a
    // stroke, so the first finger's stroke is taken back and none begins until all are up.
    let touches_id = id.with("touches");
    let mut touches = ui.data(|d| d.get_temp::<u32>(touches_id)).unwrap_or(0);
    let layer = ui.layer_id();
    let events = ui.input(|i| i.events.clone());
    for event in &events {
        match event {
            egui::Event::Touch {
                phase: egui::TouchPhase::Start,
                ..
            } => {
                touches += 1;
                if touches >= 2 && stroking {
                    input.extend([DrawInput::End, DrawInput::Undo]);
                    stroking = false;
                }
            }
            egui::Event::Touch {
                phase: egui::TouchPhase::End | egui::TouchPhase::Cancel,
                ..
            } => touches = touches.saturating_sub(1),
            egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed: true,
                ..
            } if !stroking
                && touches < 2
                && rect.contains(*pos)
                && ui.ctx().layer_id_at(*pos) == Some(layer) =>
            {
                if let Some(at) = to_board(*pos) {
                    input.push(DrawInput::Begin(at));
                    stroking = true;
                }
            }
            egui::Event::PointerMoved(pos) if stroking => {
                input.extend(to_board(*pos).map(DrawInput::MoveTo));
            }
            egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed: false,
                ..
            } if stroking => {
                input.extend(to_board(*pos).map(DrawInput::MoveTo));
                input.push(DrawInput::End);
                stroking = false;
            }
            egui::Event::PointerGone | egui::Event::WindowFocused(false) if stroking => {
                input.push(DrawInput::End);
                stroking = false;
            }
            _ => {}
        }
    }
    ui.data_mut(|d| {
        d.insert_temp(id, stroking);
        d.insert_temp(touches_id, touches);
    });
}

/// The brush cursor: the size and colour the next stroke will have.
fn brush_cursor(ui: &egui::Ui, state: &CanvasState, rect: egui::Rect, scale: f32, hover: egui::Pos2) {
    let brush = state.current_brush();
    let radius = (brush.size as f32 * scale / 2.0).max(1.5);
    let colour = if brush.eraser {
        theme::ERASER_CURSOR
    } else {
        rgb(brush.colour)
    };
    ui.painter_at(rect)
        .circle_stroke(hover, radius, egui::Stroke::new(1.5, colour));
    ui.ctx().set_cursor_icon(egui::CursorIcon::None);
}

/// The tool column: the pen, colours, size, eraser, undo, clear and save. Returns whether
/// the player asked to save the picture. During a game (`in_game`) the pen follows the turns.
pub fn tools(
    ui: &mut egui::Ui,
    state: &mut CanvasState,
    roster: &Roster,
    in_game: bool,
    last_save: Option<&Result<std::path::PathBuf, String>>,
    input: &mut Vec<DrawInput>,
) -> bool {
    let holding = state.i_hold_the_pen(roster.me);
    ui.label(RichText::new(t!("canvas-drawing")).strong());
    pen_status(ui, state, roster, in_game, input);
    ui.separator();
    ui.add_enabled_ui(holding, |ui| {
        palette(ui, state);
        brush_options(ui, state, input);
    });
    ui.separator();
    save_button(ui, last_save)
}

/// Who holds the pen, with the buttons to take or release it outside a game, and why the
/// last request was refused.
fn pen_status(
    ui: &mut egui::Ui,
    state: &CanvasState,
    roster: &Roster,
    in_game: bool,
    input: &mut Vec<DrawInput>,
) {
    let me = roster.me;
    if me.is_none() {
        // Connecting, or the session ended: nobody's pen to take.
        ui.label(RichText::new(t!("canvas-not-in-room")).weak());
        return;
    }
    if roster.spectating() {
        match state.pen.map(|holder| roster.display_name(holder)) {
            Some(name) => ui.label(t!("canvas-is-drawing", name = name)),
            None if in_game => ui.label(t!("canvas-between-turns")),
            None => ui.label(t!("canvas-nobody-drawing")),
        };
        ui.label(RichText::new(t!("room-you-watch")).weak());
        return;
    }
    match state.pen {
        Some(holder) if in_game && Some(holder) == me => {
            ui.label(RichText::new(t!("canvas-your-turn")).color(theme::EMPHASIS));
        }
        Some(holder) if in_game => {
            let name = roster.display_name(holder);
            ui.label(t!("canvas-is-drawing", name = name));
        }
        None if in_game => {
            ui.label(t!("canvas-between-turns"));
        }
        Some(holder) if Some(holder) == me => {
            ui.label(RichText::new(t!("canvas-you-hold")).color(theme::SUCCESS));
            if ui.button(t!("canvas-release")).clicked() {
                input.push(DrawInput::ReleasePen);
            }
        }
        Some(holder) => {
            let name = roster.display_name(holder);
            ui.label(t!("canvas-is-drawing", name = name));
            if ui
                .button(t!("canvas-take"))
                .on_hover_text(t!("canvas-take-hover"))
                .clicked()
            {
                input.push(DrawInput::TakePen);
            }
        }
        None => {
            ui.label(t!("canvas-nobody-drawing"));
            if ui.button(t!("canvas-take")).clicked() {
                input.push(DrawInput::TakePen);
            }
        }
    }
    if let Some(why) = &state.refused {
        ui.label(RichText::new(why.describe()).color(theme::ERROR).small());
    }
}

/// The colour swatches, four to a row.
fn palette(ui: &mut egui::Ui, state: &mut CanvasState) {
    egui::Grid::new("palette")
        .spacing([6.0, 6.0])
        .min_col_width(0.0)
        .show(ui, |ui| {
            for (i, colour) in PALETTE.iter().enumerate() {
                let selected = !state.brush.eraser && state.brush.colour == *colour;
                let (rect, response) = ui.allocate_exact_size(egui::vec2(34.0, 24.0), egui::Sense::click());
                ui.painter().rect_filled(rect, 3.0, rgb(*colour));
                let outline = if selected {
                    egui::Stroke::new(2.5, theme::ACCENT)
                } else {
                    egui::Stroke::new(1.0, theme::SWATCH_OUTLINE)
                };
                ui.painter()
                    .rect_stroke(rect, 3.0, outline, egui::StrokeKind::Outside);
                if response.clicked() {
                    state.brush.colour = *colour;
                    state.brush.eraser = false;
                }
                if i % 4 == 3 {
                    ui.end_row();
                }
            }
        });
}

/// A custom colour, brush or eraser, size, undo and clear.
fn brush_options(ui: &mut egui::Ui, state: &mut CanvasState, input: &mut Vec<DrawInput>) {
    ui.horizontal(|ui| {
        ui.label(t!("canvas-custom"));
        if egui::color_picker::color_edit_button_srgb(ui, &mut state.brush.colour).changed() {
            state.brush.eraser = false;
        }
    });
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        let brush = !state.brush.eraser && !state.fill_tool;
        if ui.selectable_label(brush, t!("canvas-brush")).clicked() {
            (state.brush.eraser, state.fill_tool) = (false, false);
        }
        if ui
            .selectable_label(state.brush.eraser && !state.fill_tool, t!("canvas-eraser"))
            .clicked()
        {
            (state.brush.eraser, state.fill_tool) = (true, false);
        }
    });
    if ui
        .selectable_label(state.fill_tool, t!("canvas-fill"))
        .on_hover_text(t!("canvas-fill-hover"))
        .clicked()
    {
        (state.brush.eraser, state.fill_tool) = (false, true);
    }
    ui.label(t!("canvas-size"));
    ui.add(egui::Slider::new(&mut state.brush.size, MIN_BRUSH..=MAX_BRUSH));
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        if ui
            .button(t!("canvas-undo"))
            .on_hover_text(t!("canvas-undo-hover"))
            .clicked()
        {
            input.push(DrawInput::Undo);
        }
        if ui
            .button(t!("canvas-clear"))
            .on_hover_text(t!("canvas-clear-hover"))
            .clicked()
        {
            input.push(DrawInput::Clear);
        }
    });
}

/// The save button and where the last picture went (or why it could not be saved). Returns
/// whether the button was clicked.
fn save_button(ui: &mut egui::Ui, last_save: Option<&Result<std::path::PathBuf, String>>) -> bool {
    let save = ui.button(t!("canvas-save")).clicked();
    match last_save {
        Some(Ok(path)) => {
            ui.label(RichText::new(t!("canvas-saved-to")).weak().small());
            ui.label(RichText::new(path.display().to_string()).small());
        }
        Some(Err(why)) => {
            ui.label(RichText::new(why.to_string()).color(theme::ERROR).small());
        }
        None => {}
    }
    save
}

/// Keyboard shortcuts, unless a text field has the keyboard. Returns whether Ctrl+S was
/// pressed.
pub fn shortcuts(
    ctx: &egui::Context,
    state: &mut CanvasState,
    holding: bool,
    input: &mut Vec<DrawInput>,
) -> bool {
    if ctx.egui_wants_keyboard_input() {
        return false;
    }
    let save = ctx.input(|keys| keys.modifiers.command && keys.key_pressed(egui::Key::S));
    if !holding {
        return save;
    }
    ctx.input(|keys| {
        if keys.modifiers.command && keys.key_pressed(egui::Key::Z) {
            input.push(DrawInput::Undo);
        }
        if keys.key_pressed(egui::Key::E) && !keys.modifiers.command {
            (state.brush.eraser, state.fill_tool) = (true, false);
        }
        if keys.key_pressed(egui::Key::B) {
            (state.brush.eraser, state.fill_tool) = (false, false);
        }
        if keys.key_pressed(egui::Key::F) && !keys.modifiers.command {
            (state.brush.eraser, state.fill_tool) = (false, true);
        }
        if keys.key_pressed(egui::Key::OpenBracket) {
            state.brush.size = state.brush.size.saturating_sub(2).max(MIN_BRUSH);
        }
        if keys.key_pressed(egui::Key::CloseBracket) {
            state.brush.size = state.brush.size.saturating_add(2).min(MAX_BRUSH);
        }
    });
    save
}

fn rgb([r, g, b]: [u8; 3]) -> Color32 {
    Color32::from_rgb(r, g, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ClientId;

    /// Every text the tool column shows for this roster, laid out in a bare egui context.
    fn shown(roster: &Roster) -> Vec<String> {
        let ctx = egui::Context::default();
        let mut state = CanvasState::default();
        let mut input = Vec::new();
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            tools(ui, &mut state, roster, false, None, &mut input);
        });
        output.textures_delta.clear();
        fn collect(shape: &egui::Shape, out: &mut Vec<String>) {
            match shape {
                egui::Shape::Text(text) => out.push(text.galley.text().to_owned()),
                egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| collect(s, out)),
                _ => {}
            }
        }
        let mut texts = Vec::new();
        for clipped in &output.shapes {
            collect(&clipped.shape, &mut texts);
        }
        texts
    }

    /// Out of a room (connecting, or after the session ended) nothing offers the pen; in one,
    /// the free pen is offered. (The column offered "Take the pen" to a window not in a room.)
    #[test]
    fn the_pen_is_offered_only_in_a_room() {
        crate::i18n::in_lang(crate::i18n::Lang::En, || {
            let outside = shown(&Roster::default());
            assert!(!outside.contains(&t!("canvas-take")), "{outside:?}");
            assert!(outside.contains(&t!("canvas-not-in-room")), "{outside:?}");
            let mut roster = Roster::default();
            roster.me = Some(ClientId(1));
            let inside = shown(&roster);
            assert!(inside.contains(&t!("canvas-take")), "{inside:?}");
            assert!(!inside.contains(&t!("canvas-not-in-room")), "{inside:?}");
        });
    }

    /// What the board makes of `frames` of input events, each frame a pass of a bare egui
    /// context 800 x 500 points whose whole area is the board.
    fn board_input(frames: &[Vec<egui::Event>]) -> Vec<DrawInput> {
        let ctx = egui::Context::default();
        let state = CanvasState::default();
        let mut input = Vec::new();
        for events in frames {
            let raw = egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(
                    egui::Pos2::ZERO,
                    egui::vec2(800.0, 500.0),
                )),
                events: events.clone(),
                ..Default::default()
            };
            let mut output = ctx.run_ui(raw, |ui| {
                board(ui, None, &state, true, &mut input);
            });
            output.textures_delta.clear();
        }
        input
    }

    fn touch(id: u64, phase: egui::TouchPhase, x: f32) -> egui::Event {
        egui::Event::Touch {
            device_id: egui::TouchDeviceId(0),
            id: egui::TouchId(id),
            phase,
            pos: egui::pos2(x, 250.0),
            force: None,
        }
    }

    fn button(pressed: bool, x: f32) -> egui::Event {
        egui::Event::PointerButton {
            pos: egui::pos2(x, 250.0),
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        }
    }

    /// One finger draws; a second finger turns the gesture into no stroke at all: the first
    /// finger's stroke is taken back, and nothing is drawn until every finger is up.
    #[test]
    fn two_fingers_do_not_scribble() {
        use egui::TouchPhase::{End, Move, Start};
        let one_finger = board_input(&[
            vec![touch(1, Start, 300.0), button(true, 300.0)],
            vec![
                touch(1, Move, 340.0),
                egui::Event::PointerMoved(egui::pos2(340.0, 250.0)),
            ],
            vec![touch(1, End, 340.0), button(false, 340.0)],
        ]);
        assert!(
            matches!(one_finger.first(), Some(DrawInput::Begin(_))),
            "{one_finger:?}"
        );
        assert_eq!(one_finger.last(), Some(&DrawInput::End));
        assert!(!one_finger.contains(&DrawInput::Undo));

        let pinch = board_input(&[
            vec![touch(1, Start, 300.0), button(true, 300.0)],
            vec![touch(2, Start, 500.0), touch(1, Move, 290.0)],
            vec![
                touch(1, Move, 250.0),
                egui::Event::PointerMoved(egui::pos2(250.0, 250.0)),
            ],
            vec![touch(2, End, 520.0)],
            // The first finger lifts last: still no stroke, and none begins with it.
            vec![touch(1, End, 240.0), button(false, 240.0)],
        ]);
        assert!(matches!(pinch[0], DrawInput::Begin(_)), "{pinch:?}");
        assert_eq!(&pinch[1..], &[DrawInput::End, DrawInput::Undo], "{pinch:?}");
    }
}
