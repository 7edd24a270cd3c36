//! A turn's hints: how many a word gets, when each is due, and which letter or syllable
//! (or a Korean word's initials) it shows.

use super::*;

/// How many hints a turn has given and gives in all: Korean words get the initials and, for
/// three syllables or more, a syllable; other words get letters ([`text::letter_hints`]).
fn hint_counts(turn: &Turn) -> (usize, usize) {
    if is_korean(&turn.word) {
        let syllables = turn.word.chars().filter(|c| !c.is_whitespace()).count();
        let total = if syllables >= 3 { 2 } else { 1 };
        (usize::from(turn.initials) + turn.revealed.len(), total)
    } else {
        (turn.revealed.len(), text::letter_hints(&turn.word))
    }
}

/// How many hints a turn has given and should have given by `now`: the hints are spread
/// evenly, `total` of them at the `total + 1` equal parts of the turn (so a Korean word of three
/// syllables or more gets its initials at a third and a syllable at two thirds, a shorter one its
/// initials at half the turn).
fn hints_due(turn: &Turn, now: Duration) -> (usize, usize) {
    let (given, total) = hint_counts(turn);
    let span = turn.until.saturating_sub(turn.started).as_secs_f64();
    let elapsed = now.saturating_sub(turn.started).as_secs_f64();
    let due = ((elapsed / span * (total + 1) as f64).floor() as usize).min(total);
    (given, due)
}

/// When the next hint is due, if one is left.
pub(super) fn next_hint_at(turn: &Turn) -> Option<Duration> {
    let (given, total) = hint_counts(turn);
    if given >= total {
        return None;
    }
    let span = turn.until.saturating_sub(turn.started);
    // A millisecond past the boundary, so the tick then finds the hint due despite rounding.
    let at = turn.started + span.mul_f64((given + 1) as f64 / (total + 1) as f64);
    Some(at + Duration::from_millis(1))
}

/// Gives the turn its next hint if one is due by `now`: a Korean word's initials first, then
/// a hidden letter or syllable at random.
pub(super) fn give_due_hint(turn: &mut Turn, now: Duration, rng: &mut impl Rng) -> Vec<Event> {
    let (given, due) = hints_due(turn, now);
    if due <= given {
        return Vec::new();
    }
    let hidden: Vec<usize> = turn
        .word
        .chars()
        .enumerate()
        .filter(|(i, c)| c.is_alphanumeric() && !turn.revealed.contains(i))
        .map(|(i, _)| i)
        .collect();
    if is_korean(&turn.word) && !turn.initials {
        turn.initials = true;
    } else if let Some(&i) = hidden.choose(rng) {
        turn.revealed.push(i);
    }
    vec![Event::Hint { mask: turn.mask() }]
}
