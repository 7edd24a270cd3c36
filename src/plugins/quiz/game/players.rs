//! Players coming and going mid-game: joining, their connection dropping (the seat held),
//! coming back, leaving, and how much of the departed the board keeps.

use super::*;

impl Game {
    /// A player joins mid-game: they draw later (end of the order) and guess at once.
    pub fn join(&mut self, who: ClientId) {
        if !self.order.contains(&who) {
            self.order.push(who);
            self.scores.entry(who).or_default();
        }
    }

    /// A player's connection dropped and their seat is held: they are not waited for, and a
    /// drawer's turn moves on after [`DRAWER_GRACE`] unless they come back.
    pub fn away(&mut self, who: ClientId, now: Duration) -> Vec<Event> {
        if !self.order.contains(&who) || self.away.contains(&who) {
            return Vec::new();
        }
        self.away.push(who);
        if self.drawer() == Some(who) && !matches!(self.phase, Phase::Reveal { .. }) {
            self.drawer_grace = Some(now + DRAWER_GRACE);
        }
        match &self.phase {
            Phase::Drawing(_) if self.everyone_guessed() => self.end_turn(now),
            _ => Vec::new(),
        }
    }

    /// A player came back to their held seat: everything the game kept for them stands.
    pub fn back(&mut self, who: ClientId) {
        self.away.retain(|&id| id != who);
        if self.drawer() == Some(who) {
            self.drawer_grace = None;
        }
    }

    /// A player leaves: a drawer's turn ends; under two players the game ends early.
    pub fn leave(&mut self, who: ClientId, now: Duration, rng: &mut impl Rng) -> Vec<Event> {
        if !self.order.contains(&who) || self.phase == Phase::Over {
            return Vec::new();
        }
        self.away.retain(|&id| id != who);
        if self.drawer() == Some(who) {
            self.drawer_grace = None;
        }
        self.order.retain(|&id| id != who);
        if self.order.len() < 2 {
            // The turn being drawn still ends with its reveal, then the game.
            let mut events = match &self.phase {
                Phase::Drawing(_) => self.end_turn(now),
                _ => Vec::new(),
            };
            self.forget_departed(who);
            self.phase = Phase::Over;
            events.push(Event::GameOver { early: true });
            return events;
        }
        let events = match &self.phase {
            Phase::Drawing(turn) if turn.drawer == who => self.end_turn(now),
            Phase::Choosing { drawer, .. } if *drawer == who => self.begin_choosing(rng, now),
            Phase::Drawing(_) if self.everyone_guessed() => self.end_turn(now),
            _ => Vec::new(),
        };
        self.forget_departed(who);
        events
    }

    /// Only scorers stay on the board after leaving, and only the best [`MAX_DEPARTED`], so
    /// players coming and going cannot grow it.
    fn forget_departed(&mut self, who: ClientId) {
        if self.scores.get(&who) == Some(&0) {
            self.scores.remove(&who);
        }
        let mut departed: Vec<(ClientId, u32)> = self
            .scores
            .iter()
            .filter(|(id, _)| !self.order.contains(id))
            .map(|(&id, &p)| (id, p))
            .collect();
        if departed.len() > MAX_DEPARTED {
            departed.sort_by_key(|&(_, p)| std::cmp::Reverse(p));
            for (id, _) in &departed[MAX_DEPARTED..] {
                self.scores.remove(id);
            }
        }
    }
}
