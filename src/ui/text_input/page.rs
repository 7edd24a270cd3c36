//! Typing in a browser. A browser gives a canvas no input-method text (winit's web backend has
//! no IME: Korean typed on the canvas arrives as unidentified keys), so while a text field has
//! egui's focus the keyboard goes to a hidden `<input>` of ours instead: the browser's own IME
//! (desktop or phone keyboard) composes there, and its composition, commits, plain typing and
//! editing keys become the same [`TextEvent`]s the window gives natively, in the order they
//! came, through [`TextQueue`](super::TextQueue) (which holds an Enter for the syllable it
//! commits). When no field has the focus, the canvas has the keyboard back.
//!
//! The element takes the id of bevy_egui's own text agent and comes first in the page, so
//! bevy_egui's touch handling (which opens a phone's keyboard by focusing its agent) opens ours.

use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyCode, KeyboardInput};
use bevy::prelude::*;
use bevy::window::{Ime, PrimaryWindow};
use bevy_egui::{EguiInput, EguiOutput, EguiPreUpdateSet, PrimaryEguiContext, egui};
use crossbeam_channel::{Receiver, Sender};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CompositionEvent, HtmlElement, HtmlInputElement, InputEvent, KeyboardEvent};

use super::TextEvent;

/// bevy_egui's text agent's id (see the module's doc).
const AGENT_ID: &str = "egui_text_agent";

/// What the page's input element typed, in order.
#[derive(Resource)]
pub(super) struct PageText(pub(super) Receiver<TextEvent>);

/// The element and the canvas the keyboard goes back to.
struct Elements {
    input: HtmlInputElement,
    canvas: Option<HtmlElement>,
}

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Startup, install)
        .add_systems(
            PreUpdate,
            keep_egui_focused
                .after(EguiPreUpdateSet::ProcessInput)
                .before(EguiPreUpdateSet::BeginPass),
        )
        .add_systems(
            PostUpdate,
            follow_text_focus.after(bevy_egui::EguiPostUpdateSet::ProcessOutput),
        );
}

impl Elements {
    fn input_has_focus(&self) -> bool {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|active| active == **self.input)
    }
}

/// While our input element has the keyboard the canvas has not, so the window counts as
/// unfocused; egui then takes no key for a focused field (its `has_focus` asks for both), and
/// Enter would send nothing. The page is what has the focus: egui hears that.
fn keep_egui_focused(
    elements: Option<NonSend<Elements>>,
    mut inputs: Query<&mut EguiInput, With<PrimaryEguiContext>>,
) {
    if !elements.is_some_and(|e| e.input_has_focus()) {
        return;
    }
    for mut input in &mut inputs {
        input.focused = true;
        if let Some(viewport) = input.viewports.get_mut(&egui::ViewportId::ROOT) {
            viewport.focused = Some(true);
        }
    }
}

fn install(world: &mut World) {
    let Ok(window) = world
        .query_filtered::<Entity, With<PrimaryWindow>>()
        .single(world)
    else {
        return;
    };
    let Some(input) = create_input() else {
        warn!(
            "no input element for typing: the browser's keyboard reaches the game without its input method"
        );
        return;
    };
    let (tx, rx) = crossbeam_channel::unbounded();
    listen(&input, window, tx);
    let canvas = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(crate::ui::browser::CANVAS).ok().flatten())
        .and_then(|c| c.dyn_into::<HtmlElement>().ok());
    world.insert_resource(PageText(rx));
    world.insert_non_send(Elements { input, canvas });
}

/// A text field of one pixel at the page's top left, first in the page, hidden until a field
/// of the game takes the focus.
fn create_input() -> Option<HtmlInputElement> {
    let document = web_sys::window()?.document()?;
    let input: HtmlInputElement = document.create_element("input").ok()?.dyn_into().ok()?;
    input.set_type("text");
    input.set_id(AGENT_ID);
    for (name, value) in [
        ("autocapitalize", "off"),
        ("autocomplete", "off"),
        ("autocorrect", "off"),
        ("spellcheck", "false"),
        ("aria-hidden", "true"),
    ] {
        let _ = input.set_attribute(name, value);
    }
    let style = input.style();
    for (name, value) in [
        ("position", "fixed"),
        ("left", "0"),
        ("top", "0"),
        ("width", "1px"),
        ("height", "1px"),
        ("opacity", "0"),
        ("border", "none"),
        ("padding", "0"),
        ("caret-color", "transparent"),
        ("font-size", "16px"),
    ] {
        let _ = style.set_property(name, value);
    }
    input.set_hidden(true);
    document.body()?.prepend_with_node_1(&input).ok()?;
    Some(input)
}

/// Adds a listener for the page's life.
fn on(input: &HtmlInputElement, name: &str, callback: Closure<dyn FnMut(web_sys::Event)>) {
    let _ = input.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
    callback.forget();
}

fn listen(input: &HtmlInputElement, window: Entity, tx: Sender<TextEvent>) {
    on(input, "keydown", keys(tx.clone(), window, ButtonState::Pressed));
    on(input, "keyup", keys(tx.clone(), window, ButtonState::Released));
    let preedit = {
        let tx = tx.clone();
        Closure::new(move |event: web_sys::Event| {
            let Ok(event) = event.dyn_into::<CompositionEvent>() else {
                return;
            };
            let value = event.data().unwrap_or_default();
            let end = value.len();
            let cursor = Some((end, end));
            let _ = tx.send(TextEvent::Ime(Ime::Preedit {
                window,
                value,
                cursor,
            }));
        })
    };
    on(input, "compositionupdate", preedit);
    let commit = {
        let (tx, input) = (tx.clone(), input.clone());
        Closure::new(move |event: web_sys::Event| {
            let Ok(event) = event.dyn_into::<CompositionEvent>() else {
                return;
            };
            let value = event.data().unwrap_or_default();
            input.set_value("");
            let _ = tx.send(TextEvent::Ime(Ime::Commit { window, value }));
        })
    };
    on(input, "compositionend", commit);
    // Text typed without a composition (Latin letters, a phone's word, a paste).
    let typed = {
        let element = input.clone();
        Closure::new(move |event: web_sys::Event| {
            let Ok(event) = event.dyn_into::<InputEvent>() else {
                return;
            };
            if event.is_composing() {
                return;
            }
            let value = element.value();
            element.set_value("");
            if !value.is_empty() && event.input_type().starts_with("insert") {
                let _ = tx.send(TextEvent::Ime(Ime::Commit { window, value }));
            }
        })
    };
    on(input, "input", typed);
}

/// The editing keys' presses or releases as the window's key events.
fn keys(tx: Sender<TextEvent>, window: Entity, state: ButtonState) -> Closure<dyn FnMut(web_sys::Event)> {
    Closure::new(move |event: web_sys::Event| {
        let Ok(event) = event.dyn_into::<KeyboardEvent>() else {
            return;
        };
        // An Enter that ends a composition counts (the queue holds it for the commit); every
        // other key of a composition is the input method's.
        let composing = event.is_composing() || event.key_code() == 229;
        if composing && event.key() != "Enter" {
            return;
        }
        let Some((logical_key, key_code)) = key_of(&event) else {
            return;
        };
        if matches!(key_code, KeyCode::Tab | KeyCode::Enter) {
            event.prevent_default();
        }
        let _ = tx.send(TextEvent::Key(KeyboardInput {
            key_code,
            logical_key,
            state,
            text: None,
            repeat: event.repeat(),
            window,
        }));
    })
}

/// The keys a text field acts on, as the window names them; `None` for a printable character
/// typed without Ctrl or Cmd (its text comes as input).
fn key_of(event: &KeyboardEvent) -> Option<(Key, KeyCode)> {
    let named = match event.key().as_str() {
        "Enter" => (Key::Enter, KeyCode::Enter),
        "Backspace" => (Key::Backspace, KeyCode::Backspace),
        "Delete" => (Key::Delete, KeyCode::Delete),
        "Tab" => (Key::Tab, KeyCode::Tab),
        "Escape" => (Key::Escape, KeyCode::Escape),
        "ArrowLeft" => (Key::ArrowLeft, KeyCode::ArrowLeft),
        "ArrowRight" => (Key::ArrowRight, KeyCode::ArrowRight),
        "ArrowUp" => (Key::ArrowUp, KeyCode::ArrowUp),
        "ArrowDown" => (Key::ArrowDown, KeyCode::ArrowDown),
        "Home" => (Key::Home, KeyCode::Home),
        "End" => (Key::End, KeyCode::End),
        "Shift" => (Key::Shift, KeyCode::ShiftLeft),
        "Control" => (Key::Control, KeyCode::ControlLeft),
        "Alt" => (Key::Alt, KeyCode::AltLeft),
        "Meta" => (Key::Super, KeyCode::SuperLeft),
        text if (event.ctrl_key() || event.meta_key()) && text.chars().count() == 1 => {
            let code = match event.code().as_str() {
                "KeyA" => KeyCode::KeyA,
                "KeyC" => KeyCode::KeyC,
                "KeyV" => KeyCode::KeyV,
                "KeyX" => KeyCode::KeyX,
                "KeyY" => KeyCode::KeyY,
                "KeyZ" => KeyCode::KeyZ,
                _ => return None,
            };
            (Key::Character(text.to_lowercase().into()), code)
        }
        _ => return None,
    };
    Some(named)
}

/// The hidden input has the keyboard while one of the game's text fields has egui's focus (and
/// sits at its cursor, where the input method shows its candidates); the canvas has it otherwise.
fn follow_text_focus(
    elements: Option<NonSend<Elements>>,
    output: Query<&EguiOutput, With<PrimaryEguiContext>>,
) {
    let (Some(elements), Ok(output)) = (elements, output.single()) else {
        return;
    };
    let focused = elements.input_has_focus();
    match &output.platform_output.ime {
        Some(ime) => {
            let style = elements.input.style();
            let _ = style.set_property("left", &format!("{}px", ime.cursor_rect.min.x));
            let _ = style.set_property("top", &format!("{}px", ime.cursor_rect.min.y));
            if !focused {
                elements.input.set_hidden(false);
                let _ = elements.input.focus();
            }
        }
        None if focused => {
            let _ = elements.input.blur();
            elements.input.set_hidden(true);
            if let Some(canvas) = &elements.canvas {
                let _ = canvas.focus();
            }
        }
        None => {}
    }
}
