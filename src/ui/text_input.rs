//! Keys and input-method text for egui, in the order the window system produced them.
//!
//! bevy_egui reads key presses and IME events in two systems with no order between them, so a
//! syllable the input method committed just before Enter could reach egui after the Enter, and
//! a single-line field drops the rest of a frame's events once Enter ends its input: the last
//! syllables of a fast line were lost. Here one system replays the window's own event stream
//! (`WindowEvent`, in arrival order) and ends a frame's text at an Enter press, keeping what
//! came after it for the next frame, so a field that acts on Enter holds exactly what was typed
//! before it.
//!
//! On X11 the input method also stays allowed for the window's whole life: winit re-creates
//! the X input context every time it is allowed or disallowed and does not focus the new one,
//! so the first key after each toggle (after every Enter, as the field lost and took back the
//! focus) bypassed the IME and arrived as a raw Latin letter. Alacritty keeps X11's IME on for
//! the same reason. Elsewhere bevy_egui allows it while a text field has the focus, so game
//! shortcuts reach the game on a Korean keyboard.

use std::collections::VecDeque;
use std::time::Duration;

use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyCode, KeyboardInput};
use bevy::prelude::*;
use bevy::window::{Ime, PrimaryWindow, RawHandleWrapper, RequestRedraw, WindowEvent};
use bevy_egui::input::EguiInputEvent;
use bevy_egui::{
    EguiClipboard, EguiContextSettings, EguiInputSet, EguiOutput, EguiPostUpdateSet, PrimaryEguiContext,
    egui, helpers,
};
use raw_window_handle::RawWindowHandle;

#[cfg(target_arch = "wasm32")]
mod page;

pub(super) fn plugin(app: &mut App) {
    #[cfg(target_arch = "wasm32")]
    app.add_plugins(page::plugin);
    app.init_resource::<TextQueue>()
        .init_resource::<HeldModifiers>()
        .add_systems(
            PreUpdate,
            feed_egui_in_order.in_set(EguiInputSet::ReadBevyMessages),
        )
        .add_systems(
            PostUpdate,
            keep_x11_ime_allowed.after(EguiPostUpdateSet::ProcessOutput),
        );
}

/// bevy_egui's own keyboard and IME readers are off; [`feed_egui_in_order`] does their work.
pub(super) fn input_settings() -> bevy_egui::EguiInputSystemSettings {
    bevy_egui::EguiInputSystemSettings {
        run_write_keyboard_input_messages_system: false,
        run_write_ime_messages_system: false,
        // In a browser our own input element types (`page`), not bevy_egui's agent.
        #[cfg(target_arch = "wasm32")]
        run_write_text_agent_channel_messages_system: false,
        ..default()
    }
}

/// A key press or an input-method event, as the window produced it.
#[derive(Debug, Clone, PartialEq)]
pub enum TextEvent {
    Key(KeyboardInput),
    Ime(Ime),
}

/// The window's key and IME events on their way to egui, a frame's worth at a time.
///
/// A frame's text ends at an Enter press; what came after it waits for the next frame. An Enter
/// that arrives while a syllable is being composed waits (at most [`HOLD_ENTER`]) for the input
/// method's commit of that syllable: on X11 the commit can reach the window after the Enter
/// that caused it when keys come fast (at 12 ms a key, "사과" + Enter arrived as the Enter and
/// then "과").
#[derive(Resource, Default, Debug)]
pub struct TextQueue {
    ready: VecDeque<TextEvent>,
    held_enter: Option<(TextEvent, Duration)>,
    /// Text has been composed (a non-empty preedit) since the last commit.
    composing: bool,
}

/// The longest an Enter waits for the commit of the syllable being composed.
pub const HOLD_ENTER: Duration = Duration::from_millis(200);

/// A bound on what waits (a frame comes within milliseconds; a stuck window should not hoard
/// keys).
const MAX_QUEUED: usize = 1024;

impl TextQueue {
    /// Adds an event that arrived at `now`.
    pub fn push(&mut self, event: TextEvent, now: Duration) {
        for event in as_keys(event) {
            if self.ready.len() >= MAX_QUEUED {
                return;
            }
            match &event {
                TextEvent::Ime(Ime::Preedit { value, .. }) if !value.is_empty() => {
                    self.composing = true;
                }
                TextEvent::Ime(Ime::Commit { .. }) => {
                    self.composing = false;
                    self.ready.push_back(event);
                    if let Some((enter, _)) = self.held_enter.take() {
                        self.ready.push_back(enter);
                    }
                    continue;
                }
                _ if is_enter_press(&event) && self.composing && self.held_enter.is_none() => {
                    self.held_enter = Some((event, now + HOLD_ENTER));
                    continue;
                }
                _ => {}
            }
            self.ready.push_back(event);
        }
    }

    /// This frame's share at `now`: everything up to and including the first Enter press.
    pub fn take_frame(&mut self, now: Duration) -> Vec<TextEvent> {
        if let Some((_, deadline)) = &self.held_enter
            && now >= *deadline
        {
            let (enter, _) = self.held_enter.take().expect("checked");
            self.composing = false;
            self.ready.push_back(enter);
        }
        let end = self
            .ready
            .iter()
            .position(is_enter_press)
            .map_or(self.ready.len(), |i| i + 1);
        self.ready.drain(..end).collect()
    }

    /// Something is left for a later frame.
    pub fn waiting(&self) -> bool {
        !self.ready.is_empty() || self.held_enter.is_some()
    }
}

fn is_enter_press(event: &TextEvent) -> bool {
    matches!(event, TextEvent::Key(key) if key.state == ButtonState::Pressed
        && matches!(key.logical_key, Key::Enter))
}

/// An Enter that reached the window as the input method's text: winit on X11 turns a key into
/// a commit while it believes a composition is open, which it does for a moment when keys come
/// fast (every other Enter of a line typed at 12 ms a key became `Commit("\r")`, and egui
/// ignores that, so the line was not sent and the next one ran on from it).
pub fn as_keys(event: TextEvent) -> Vec<TextEvent> {
    match &event {
        TextEvent::Ime(Ime::Commit { window, value }) if value == "\r" || value == "\n" => {
            [ButtonState::Pressed, ButtonState::Released]
                .map(|state| {
                    TextEvent::Key(KeyboardInput {
                        key_code: KeyCode::Enter,
                        logical_key: Key::Enter,
                        state,
                        text: None,
                        repeat: false,
                        window: *window,
                    })
                })
                .into()
        }
        _ => vec![event],
    }
}

/// The modifiers held and whether they allow typing text (Ctrl+A selects, it types no "a").
#[derive(Debug, Clone, Copy, Default)]
pub struct Modifiers {
    pub egui: egui::Modifiers,
    pub text_allowed: bool,
}

/// The modifier keys held, followed event by event in the window's order: Ctrl+A typed within
/// one frame (press Ctrl, A, release both) is Ctrl+A, where a state read once a frame would
/// already see Ctrl released and type an "a".
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct HeldModifiers {
    shift: bool,
    ctrl: bool,
    alt: bool,
    logo: bool,
}

impl HeldModifiers {
    /// Follows a modifier key's press or release.
    pub fn follow(&mut self, event: &TextEvent) {
        let TextEvent::Key(key) = event else {
            return;
        };
        let down = key.state == ButtonState::Pressed;
        match key.key_code {
            KeyCode::ShiftLeft | KeyCode::ShiftRight => self.shift = down,
            KeyCode::ControlLeft | KeyCode::ControlRight => self.ctrl = down,
            KeyCode::AltLeft | KeyCode::AltRight => self.alt = down,
            KeyCode::SuperLeft | KeyCode::SuperRight => self.logo = down,
            _ => {}
        }
    }

    /// As egui sees them (Command is the logo key on macOS, Ctrl elsewhere), and whether they
    /// allow typing text (Ctrl+Alt is AltGr outside macOS).
    pub fn current(&self) -> Modifiers {
        let mac = cfg!(target_os = "macos");
        Modifiers {
            egui: egui::Modifiers {
                alt: self.alt,
                ctrl: self.ctrl,
                shift: self.shift,
                mac_cmd: mac && self.logo,
                command: if mac { self.logo } else { self.ctrl },
            },
            text_allowed: !self.logo && !self.ctrl || !mac && self.ctrl && self.alt,
        }
    }
}

/// egui's events for one window event, as bevy_egui makes them (text, key, clipboard), with
/// `paste` giving the clipboard's text.
pub fn to_egui(
    event: &TextEvent,
    modifiers: Modifiers,
    paste: &mut dyn FnMut() -> Option<String>,
    out: &mut Vec<egui::Event>,
) {
    match event {
        TextEvent::Ime(Ime::Preedit { value, cursor, .. }) => {
            out.push(egui::Event::Ime(egui::ImeEvent::Preedit {
                text: value.clone(),
                active_range_chars: cursor.map(|(start, end)| start..end),
            }));
        }
        TextEvent::Ime(Ime::Commit { value, .. }) => {
            out.push(egui::Event::Ime(egui::ImeEvent::Commit(value.clone())));
        }
        TextEvent::Ime(Ime::Enabled { .. } | Ime::Disabled { .. }) => {}
        TextEvent::Key(key) => {
            let pressed = key.state == ButtonState::Pressed;
            if modifiers.text_allowed && pressed {
                match &key.logical_key {
                    Key::Character(text) if !text.chars().any(char::is_control) => {
                        out.push(egui::Event::Text(text.to_string()));
                    }
                    Key::Space => out.push(egui::Event::Text(" ".into())),
                    _ => {}
                }
            }
            let physical_key = helpers::bevy_to_egui_physical_key(&key.key_code);
            let Some(egui_key) = helpers::bevy_to_egui_key(&key.logical_key).or(physical_key) else {
                return;
            };
            out.push(egui::Event::Key {
                key: egui_key,
                physical_key,
                pressed,
                repeat: false,
                modifiers: modifiers.egui,
            });
            if modifiers.egui.command && pressed {
                match egui_key {
                    egui::Key::C => out.push(egui::Event::Copy),
                    egui::Key::X => out.push(egui::Event::Cut),
                    egui::Key::V => {
                        if let Some(text) = paste() {
                            out.push(egui::Event::Text(text));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

fn feed_egui_in_order(
    mut window_events: MessageReader<WindowEvent>,
    mut queue: ResMut<TextQueue>,
    time: Res<Time<Real>>,
    mut held: ResMut<HeldModifiers>,
    mut clipboard: Option<ResMut<EguiClipboard>>,
    context: Query<Entity, With<PrimaryEguiContext>>,
    mut egui_events: MessageWriter<EguiInputEvent>,
    mut redraw: MessageWriter<RequestRedraw>,
    #[cfg(target_arch = "wasm32")] page: Option<Res<page::PageText>>,
) {
    let now = time.elapsed();
    #[cfg(target_arch = "wasm32")]
    for event in page.iter().flat_map(|page| page.0.try_iter()) {
        queue.push(event, now);
    }
    for event in window_events.read() {
        let event = match event {
            WindowEvent::KeyboardInput(key) => TextEvent::Key(key.clone()),
            WindowEvent::Ime(ime) => TextEvent::Ime(ime.clone()),
            // Keys released while the window was away are never seen.
            WindowEvent::WindowFocused(focus) if !focus.focused => {
                *held = HeldModifiers::default();
                continue;
            }
            _ => continue,
        };
        // `RUST_LOG=catchmind::ui::text_input=trace` shows what the window system sent.
        trace!("{event:?}");
        queue.push(event, now);
    }
    let Ok(context) = context.single() else {
        *queue = TextQueue::default();
        return;
    };
    let mut paste = || clipboard.as_mut().and_then(|c| c.get_text());
    let mut out = Vec::new();
    for event in queue.take_frame(now) {
        held.follow(&event);
        to_egui(&event, held.current(), &mut paste, &mut out);
    }
    egui_events.write_batch(out.into_iter().map(|event| EguiInputEvent { context, event }));
    if queue.waiting() {
        redraw.write(RequestRedraw);
    }
}

/// On X11, allows the IME once and for all (turning bevy_egui's toggling off), and moves the
/// candidate window to the focused text field.
fn keep_x11_ime_allowed(
    mut windows: Query<(&mut Window, Option<&RawHandleWrapper>), With<PrimaryWindow>>,
    mut contexts: Query<(&mut EguiContextSettings, &EguiOutput), With<PrimaryEguiContext>>,
) {
    let Ok((mut window, handle)) = windows.single_mut() else {
        return;
    };
    let x11 = handle.is_some_and(|h| {
        matches!(
            h.get_window_handle(),
            RawWindowHandle::Xlib(_) | RawWindowHandle::Xcb(_)
        )
    });
    if !x11 {
        return;
    }
    let Ok((mut settings, output)) = contexts.single_mut() else {
        return;
    };
    if settings.enable_ime {
        settings.enable_ime = false;
    }
    if !window.ime_enabled {
        window.ime_enabled = true;
    }
    if let Some(ime) = &output.platform_output.ime {
        let at = Vec2::new(ime.cursor_rect.min.x, ime.cursor_rect.max.y);
        if window.ime_position != at {
            window.ime_position = at;
        }
    }
}

#[cfg(test)]
mod tests {
    use bevy_egui::egui;

    use super::*;
    use crate::plugins::chat::ChatLog;
    use crate::plugins::chat::ui::chat_panel;

    fn window() -> Entity {
        Entity::PLACEHOLDER
    }

    fn key(code: KeyCode, logical: Key, state: ButtonState) -> TextEvent {
        TextEvent::Key(KeyboardInput {
            key_code: code,
            logical_key: logical,
            state,
            text: None,
            repeat: false,
            window: window(),
        })
    }

    fn enter() -> [TextEvent; 2] {
        [
            key(KeyCode::Enter, Key::Enter, ButtonState::Pressed),
            key(KeyCode::Enter, Key::Enter, ButtonState::Released),
        ]
    }

    fn preedit(text: &str) -> TextEvent {
        TextEvent::Ime(Ime::Preedit {
            window: window(),
            value: text.into(),
            cursor: (!text.is_empty()).then_some((text.len(), text.len())),
        })
    }

    fn commit(text: &str) -> TextEvent {
        TextEvent::Ime(Ime::Commit {
            window: window(),
            value: text.into(),
        })
    }

    /// What ibus-hangul sends for `t k r h k` (사과) on the 2-set layout: a syllable is
    /// committed when the next key cannot join it.
    fn sagwa() -> Vec<TextEvent> {
        vec![
            preedit(""),
            preedit("ㅅ"),
            preedit("사"),
            preedit("삭"),
            preedit(""),
            commit("사"),
            preedit(""),
            preedit("ㄱ"),
            preedit("고"),
            preedit("과"),
        ]
    }

    /// The chat panel in a bare egui context (no window, no GPU), with the events of each
    /// window frame passed through a [`TextQueue`] and [`to_egui`] as the game does, a frame
    /// every 16 ms.
    struct ChatInput {
        ctx: egui::Context,
        input: String,
        queue: TextQueue,
        now: Duration,
        sent: Vec<String>,
        focused: bool,
    }

    impl ChatInput {
        fn new() -> Self {
            let mut chat = Self {
                ctx: egui::Context::default(),
                input: String::new(),
                queue: TextQueue::default(),
                now: Duration::ZERO,
                sent: Vec::new(),
                focused: false,
            };
            // Click the input line (the bottom of a 400x300 screen) to focus it.
            chat.run(vec![]);
            let at = egui::pos2(100.0, 285.0);
            chat.run(vec![
                egui::Event::PointerMoved(at),
                egui::Event::PointerButton {
                    pos: at,
                    button: egui::PointerButton::Primary,
                    pressed: true,
                    modifiers: egui::Modifiers::NONE,
                },
            ]);
            chat.run(vec![egui::Event::PointerButton {
                pos: at,
                button: egui::PointerButton::Primary,
                pressed: false,
                modifiers: egui::Modifiers::NONE,
            }]);
            assert!(chat.focused, "the click did not focus the chat input");
            chat
        }

        fn run(&mut self, events: Vec<egui::Event>) {
            let raw = egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(
                    egui::Pos2::ZERO,
                    egui::vec2(400.0, 300.0),
                )),
                events,
                ..Default::default()
            };
            let log = ChatLog::default();
            let mut sent = None;
            let mut output = self.ctx.run_ui(raw, |ui| {
                sent = sent
                    .take()
                    .or_else(|| chat_panel(ui, &log, None, &mut self.input, true));
            });
            output.textures_delta.clear();
            self.sent.extend(sent);
            self.focused = self.ctx.memory(|m| m.focused().is_some());
        }

        /// One window frame: these events arrive, and egui runs once.
        fn frame(&mut self, events: impl IntoIterator<Item = TextEvent>) {
            self.now += Duration::from_millis(16);
            for event in events {
                self.queue.push(event, self.now);
            }
            let mut out = Vec::new();
            for event in self.queue.take_frame(self.now) {
                to_egui(&event, Modifiers::default(), &mut || None, &mut out);
            }
            self.run(out);
        }

        /// Frames with no new input until what was held back is through.
        fn settle(&mut self) {
            while self.queue.waiting() {
                self.frame([]);
            }
            self.frame([]);
        }
    }

    #[test]
    fn a_syllable_committed_just_before_enter_is_sent_with_its_line() {
        let mut chat = ChatInput::new();
        // Typed fast: the whole line, the IME's commit on Enter, and Enter in one frame.
        chat.frame(
            sagwa()
                .into_iter()
                .chain([preedit(""), commit("과")])
                .chain(enter()),
        );
        chat.settle();
        assert_eq!(chat.sent, ["사과"]);
        assert_eq!(chat.input, "");
        assert!(chat.focused, "the input keeps the focus after sending");
    }

    #[test]
    fn the_first_syllable_of_the_next_line_stays_in_the_box() {
        let mut chat = ChatInput::new();
        // Enter, then the next line's first key, in the same frame.
        let mut events = sagwa();
        events.extend([preedit(""), commit("과")]);
        events.extend(enter());
        events.extend([preedit(""), preedit("ㅇ"), preedit("아")]);
        chat.frame(events);
        chat.settle();
        assert_eq!(chat.sent, ["사과"]);
        chat.frame([preedit("안"), preedit(""), commit("안")]);
        chat.frame(enter());
        chat.settle();
        assert_eq!(chat.sent, ["사과", "안"]);
    }

    #[test]
    fn lines_typed_one_after_another_arrive_whole() {
        let mut chat = ChatInput::new();
        for _ in 0..3 {
            chat.frame(sagwa());
            chat.frame([preedit(""), commit("과")]);
            chat.frame(enter());
        }
        chat.settle();
        assert_eq!(chat.sent, ["사과", "사과", "사과"]);
    }

    #[test]
    fn a_fast_line_as_ibus_delivered_it_frame_by_frame() {
        // 안녕하세요 typed at 12 ms a key with Enter, as traced under ibus-hangul.
        let mut chat = ChatInput::new();
        chat.frame([preedit(""), preedit("ㅇ")]);
        chat.frame([preedit("아")]);
        chat.frame([
            preedit("안"),
            preedit(""),
            preedit(""),
            preedit(""),
            commit("안"),
            preedit(""),
            preedit("ㄴ"),
        ]);
        chat.frame([
            preedit("녀"),
            preedit("녕"),
            preedit(""),
            preedit(""),
            preedit(""),
            commit("녕"),
            preedit(""),
            preedit("ㅎ"),
        ]);
        chat.frame([
            preedit("하"),
            preedit("핫"),
            preedit(""),
            preedit(""),
            preedit(""),
            commit("하"),
            preedit(""),
            preedit("세"),
        ]);
        chat.frame([preedit(""), commit("세")]);
        chat.frame([
            preedit(""),
            preedit(""),
            preedit("요"),
            preedit(""),
            preedit(""),
            preedit(""),
            commit("요"),
        ]);
        chat.frame(enter());
        chat.settle();
        assert_eq!(chat.sent, ["안녕하세요"]);
        assert_eq!(chat.input, "");
    }

    #[test]
    fn an_enter_the_ime_committed_as_text_sends_the_line() {
        let mut chat = ChatInput::new();
        let mut events = sagwa();
        events.extend([preedit(""), commit("과")]);
        events.push(commit("\r"));
        chat.frame(events);
        chat.settle();
        assert_eq!(chat.sent, ["사과"]);
        assert_eq!(chat.input, "");
    }

    #[test]
    fn an_enter_that_overtakes_the_last_syllables_commit_waits_for_it() {
        // As seen at 12 ms a key under ibus-hangul: the Enter (as "\r") before "과".
        let mut chat = ChatInput::new();
        let mut events = sagwa();
        events.extend([preedit(""), commit("\r"), preedit(""), commit("과")]);
        chat.frame(events);
        chat.settle();
        assert_eq!(chat.sent, ["사과"]);
        // The commit may also come frames later.
        chat.frame(sagwa());
        chat.frame([preedit(""), key(KeyCode::Enter, Key::Enter, ButtonState::Pressed)]);
        chat.frame([commit("과")]);
        chat.settle();
        assert_eq!(chat.sent, ["사과", "사과"]);
    }

    #[test]
    fn an_enter_after_a_cancelled_syllable_goes_after_a_short_wait() {
        let mut chat = ChatInput::new();
        chat.frame([
            preedit("ㄱ"),
            preedit(""),
            commit("가"),
            preedit("ㄴ"),
            preedit(""),
        ]);
        chat.frame(enter());
        assert!(chat.sent.is_empty(), "the Enter waits for a commit that may come");
        chat.settle();
        assert_eq!(chat.sent, ["가"]);
        assert!(chat.now <= Duration::from_millis(16 * 3) + HOLD_ENTER + Duration::from_millis(32));
    }

    #[test]
    fn enter_ends_a_frame_and_the_rest_waits() {
        let mut queue = TextQueue::default();
        for event in [commit("가")].into_iter().chain(enter()).chain([commit("나")]) {
            queue.push(event, Duration::ZERO);
        }
        let first = queue.take_frame(Duration::ZERO);
        assert_eq!(first.len(), 2);
        assert!(is_enter_press(&first[1]));
        assert!(queue.waiting(), "the release and the next commit wait");
        assert_eq!(queue.take_frame(Duration::ZERO).len(), 2);
        assert!(!queue.waiting());
    }

    #[test]
    fn a_shortcut_typed_within_one_frame_is_a_shortcut_not_text() {
        let ctrl = |state| key(KeyCode::ControlLeft, Key::Control, state);
        let a = |state| key(KeyCode::KeyA, Key::Character("a".into()), state);
        let mut held = HeldModifiers::default();
        let mut out = Vec::new();
        for event in [
            ctrl(ButtonState::Pressed),
            a(ButtonState::Pressed),
            a(ButtonState::Released),
            ctrl(ButtonState::Released),
            a(ButtonState::Pressed),
        ] {
            held.follow(&event);
            to_egui(&event, held.current(), &mut || None, &mut out);
        }
        let texts: Vec<&egui::Event> = out.iter().filter(|e| matches!(e, egui::Event::Text(_))).collect();
        assert_eq!(texts, [&egui::Event::Text("a".into())], "only the second A types");
        assert!(out.iter().any(|e| matches!(e,
            egui::Event::Key { key: egui::Key::A, pressed: true, modifiers, .. } if modifiers.command)));
    }

    #[test]
    fn keys_become_text_and_keys_as_bevy_egui_makes_them() {
        let mut out = Vec::new();
        let typing = Modifiers {
            egui: egui::Modifiers::NONE,
            text_allowed: true,
        };
        let a = key(KeyCode::KeyA, Key::Character("a".into()), ButtonState::Pressed);
        to_egui(&a, typing, &mut || None, &mut out);
        assert_eq!(out[0], egui::Event::Text("a".into()));
        assert!(matches!(
            out[1],
            egui::Event::Key {
                key: egui::Key::A,
                pressed: true,
                ..
            }
        ));
        out.clear();
        let ctrl = Modifiers {
            egui: egui::Modifiers::COMMAND,
            text_allowed: false,
        };
        let v = key(KeyCode::KeyV, Key::Character("v".into()), ButtonState::Pressed);
        to_egui(&v, ctrl, &mut || Some("붙여넣기".into()), &mut out);
        assert!(matches!(
            out[0],
            egui::Event::Key {
                key: egui::Key::V,
                ..
            }
        ));
        assert_eq!(out[1], egui::Event::Text("붙여넣기".into()));
    }
}
