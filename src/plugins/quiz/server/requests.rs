//! What players ask of the game: the host starts one or sets the room's own words, a guesser
//! likes the drawing, the drawer chooses a word.

use super::*;

/// The players' requests: a start or the room's words (the host's), a like, the drawer's
/// choice. A refused one is told to its sender.
pub(super) fn handle_requests(
    time: Res<Time<Real>>,
    config: Res<QuizConfig>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    mut rooms: Query<(&Room, &mut RoomGame, &mut RoomWords)>,
    mut requests: MessageReader<FromClient<QuizToServer>>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for FromClient { client, msg } in requests.read() {
        let Some(player) = index.player(*client).and_then(|e| players.get(e).ok()) else {
            continue;
        };
        let Ok((room, mut slot, mut room_words)) = rooms.get_mut(player.room) else {
            continue;
        };
        let at = At {
            entity: player.room,
            room,
            now,
        };
        let result = match msg {
            QuizToServer::Start(settings) => {
                let game = (*settings, &room_words.words);
                start(&config, &at, *client, game, &mut slot, &mut out)
            }
            QuizToServer::RoomWords(text) => {
                set_room_words(&at, *client, text, &slot, &mut room_words, &mut out)
            }
            QuizToServer::Like if room.is_spectator(*client) => Err(QuizRefusal::Spectating),
            QuizToServer::Like => match slot.0.as_mut().map(|s| s.game.like(*client)) {
                None => Err(QuizRefusal::NotRunning),
                Some(Err(why)) => Err(QuizRefusal::Game(why)),
                Some(Ok(count)) => {
                    let liked = QuizToClient::Liked { by: *client, count };
                    out.quiz(at.room.members().collect(), liked);
                    Ok(())
                }
            },
            QuizToServer::Choose(index) => {
                match slot
                    .0
                    .as_mut()
                    .map(|s| s.game.choose(*client, *index as usize, now))
                {
                    None => Err(QuizRefusal::NotRunning),
                    Some(Err(why)) => Err(QuizRefusal::Game(why)),
                    Some(Ok(events)) => {
                        dispatch(events, &at, &mut slot, &mut out);
                        Ok(())
                    }
                }
            }
        };
        if let Err(why) = result {
            metrics::counter!("catchmind_requests_refused_total", "kind" => "quiz").increment(1);
            out.one(*client, QuizToClient::Refused(why));
        }
    }
}

/// The host sets (or, with an empty list, clears) the room's own words, between games.
fn set_room_words(
    at: &At,
    client: ClientId,
    text: &str,
    slot: &RoomGame,
    room_words: &mut RoomWords,
    out: &mut QuizOut,
) -> Result<(), QuizRefusal> {
    if at.room.host() != Some(client) {
        return Err(QuizRefusal::NotHost);
    }
    if slot.0.is_some() {
        return Err(QuizRefusal::AlreadyRunning);
    }
    if !room_words.may_ask(at.now) {
        return Err(QuizRefusal::RoomWordsTooSoon);
    }
    let words = words::parse_room_words(text).map_err(QuizRefusal::RoomWords)?;
    let count = words.len() as u32;
    room_words.words = Arc::new(words);
    out.quiz(at.room.members().collect(), QuizToClient::RoomWords { count });
    Ok(())
}

/// Starts a game in the room, if `client` may. The game is in the room's slot at once, so a
/// second start in the same frame finds it running.
fn start(
    config: &QuizConfig,
    at: &At,
    client: ClientId,
    (settings, room_words): (Settings, &Arc<Vec<String>>),
    slot: &mut RoomGame,
    out: &mut QuizOut,
) -> Result<(), QuizRefusal> {
    if slot.0.is_some() {
        return Err(QuizRefusal::AlreadyRunning);
    }
    if at.room.host() != Some(client) {
        return Err(QuizRefusal::NotHost);
    }
    let share = settings.room_words.min(100);
    if share > 0 && room_words.is_empty() {
        return Err(QuizRefusal::NoRoomWords);
    }
    let words = match (settings.pack, &config.custom_words) {
        // Only the room's words: the pack is not dealt from.
        _ if share == 100 => Vec::new(),
        (Pack::Custom, Some(words)) => words.to_vec(),
        (Pack::Custom, None) => return Err(QuizRefusal::NoCustomWords),
        (pack, _) => words::builtin(pack),
    };
    let mut rng = StdRng::from_os_rng();
    let members: Vec<ClientId> = at.room.players().collect();
    let bag = match share {
        0 => words::WordBag::new(words),
        share => words::WordBag::mixed(words, room_words.to_vec(), share),
    };
    let (game, events) =
        Game::start(settings, config.timing, &members, bag, &mut rng, at.now).map_err(QuizRefusal::Game)?;
    metrics::counter!("catchmind_games_started_total").increment(1);
    let names = members
        .iter()
        .filter_map(|&id| Some((id, at.room.name_of(id)?.to_owned())))
        .collect();
    info!(
        "room {}: game started ({} players, {:?})",
        at.room.name,
        members.len(),
        game.settings
    );
    slot.0 = Some(GameSession {
        game,
        rng,
        names,
        album: Vec::new(),
    });
    out.commands.entity(at.entity).try_insert(HandOverLines);
    dispatch(events, at, slot, out);
    Ok(())
}
