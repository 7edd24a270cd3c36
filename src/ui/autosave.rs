//! Saving finished drawings to the gallery by themselves: in free drawing when the pen
//! changes hands, in a game at the end of each turn (with its word).

use bevy::prelude::*;

use crate::id::ClientId;
use crate::plugins::canvas::render::{GallerySettings, SaveCanvas};
use crate::plugins::canvas::{CanvasState, gallery};
use crate::plugins::quiz::{QuizView, TurnEnded};
use crate::plugins::rooms::Roster;

/// In a free-draw room a drawing is finished when the pen changes hands: save it to the
/// gallery (unless turned off). Games save at the end of each turn instead.
pub(super) fn save_finished_drawings(
    state: Res<CanvasState>,
    roster: Res<Roster>,
    quiz: Res<QuizView>,
    settings: Res<GallerySettings>,
    mut previous: Local<Option<ClientId>>,
    mut save: MessageWriter<SaveCanvas>,
) {
    if state.pen == *previous {
        return;
    }
    if let Some(drawer) = previous.take()
        && quiz.game.is_none()
        && settings.auto_save
        && state.drawing.strokes().iter().any(|s| s.author == drawer)
    {
        let name = roster.display_name(drawer);
        save.write(SaveCanvas {
            name: gallery::file_name(&roster.room, None, &name, &gallery::local_stamp()),
        });
    }
    *previous = state.pen;
}

/// A game's turn is over: save the picture with its word (unless turned off).
pub(super) fn save_finished_turns(
    state: Res<CanvasState>,
    roster: Res<Roster>,
    settings: Res<GallerySettings>,
    mut ended: MessageReader<TurnEnded>,
    mut save: MessageWriter<SaveCanvas>,
) {
    for TurnEnded { word, drawer } in ended.read() {
        if settings.auto_save && !state.drawing.strokes().is_empty() {
            let name = roster.display_name(*drawer);
            save.write(SaveCanvas {
                name: gallery::file_name(&roster.room, Some(word.as_str()), &name, &gallery::local_stamp()),
            });
        }
    }
}
