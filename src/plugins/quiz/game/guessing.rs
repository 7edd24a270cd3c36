//! What a chat message is during a game: a guess that scores, a close one, chat, or one
//! withheld because it gives the word away, names several words at once, or comes from a
//! guesser barred in the turn.

use super::*;

impl Game {
    /// Classifies a chat message from `who`, at address `from`; a correct guess scores (and
    /// may end the turn).
    ///
    /// No answer tells a player more than guessing one word at a time would: a message naming
    /// two or more pack words is refused whatever the word (so it tells nothing), and one that
    /// contains the word without being it bars its sender's identity and address from scoring
    /// in this turn (so what it told is worth nothing before the word changes). Only players
    /// present when the turn began score in it, so new names cannot score again.
    pub fn guess(
        &mut self,
        who: ClientId,
        from: IpAddr,
        message: &str,
        now: Duration,
    ) -> (Guess, Vec<Event>) {
        let turn = match &mut self.phase {
            Phase::Drawing(turn) => turn,
            // The chooser cannot tell the room which words they are choosing from.
            Phase::Choosing { drawer, options, .. }
                if *drawer == who && options.iter().any(|o| text::leaks(message, o)) =>
            {
                return (Guess::DrawerLeak, Vec::new());
            }
            _ => return (Guess::Chat, Vec::new()),
        };
        if who == turn.drawer {
            let verdict = if text::leaks(message, &turn.word) {
                Guess::DrawerLeak
            } else {
                Guess::PrivateChat
            };
            return (verdict, Vec::new());
        }
        if turn.has_guessed(who) {
            return (Guess::PrivateChat, Vec::new());
        }
        let barred = turn.barred.contains(&who)
            || turn.barred_from.contains(&from)
            || turn.barred_from.len() >= MAX_BARRED_ADDRESSES;
        if is_guess_of(message, &turn.word) {
            if barred {
                return (Guess::Barred, Vec::new());
            }
            if !turn.eligible.contains(&who) {
                return (Guess::NextTurn, Vec::new());
            }
            let first = turn.guessed.is_empty();
            let points = guesser_points(now.saturating_sub(turn.started), turn.length, first);
            turn.guessed.push((who, points));
            *self.scores.entry(who).or_default() += points;
            let mut events = vec![Event::Guessed { who, points }];
            let cut = Duration::from_secs(self.settings.cut_secs.into());
            if first && !cut.is_zero() && now + cut < turn.until {
                turn.until = now + cut;
                events.push(Event::TimeCut { until: turn.until });
            }
            if self.everyone_guessed() {
                // The turn ends now: no time is left to cut.
                events.retain(|e| !matches!(e, Event::TimeCut { .. }));
                events.extend(self.end_turn(now));
            }
            return (Guess::Correct { points }, events);
        }
        if is_close(message, &turn.word) {
            return (Guess::Close, Vec::new());
        }
        // A guess of another word of the pack is a wrong guess, whatever it contains (배추 when
        // the word is 배): shown like any, so it tells nothing and bars nobody.
        if self.pack.is_a_guess(message) {
            return (Guess::Chat, Vec::new());
        }
        if self.pack.named_in(message) >= 2 {
            return (Guess::OneAtATime, Vec::new());
        }
        if contains_word(message, &turn.word) {
            if !turn.barred.contains(&who) && turn.barred.len() < MAX_BARRED_ADDRESSES {
                turn.barred.push(who);
            }
            if !turn.barred_from.contains(&from) && turn.barred_from.len() < MAX_BARRED_ADDRESSES {
                turn.barred_from.push(from);
            }
            return (Guess::ContainsWord, Vec::new());
        }
        (Guess::Chat, Vec::new())
    }
}
