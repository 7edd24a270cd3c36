# The interface in English. Every message here has its Korean twin in ko.ftl (a test checks).

## Launcher
launcher-tagline = Catch Mind — one draws, everyone guesses
launcher-nickname = Nickname
launcher-nickname-hint = 1 to 24 characters
launcher-join-title = Join a game
launcher-address = Address
launcher-address-hint = host's IP or name
launcher-port = Port
launcher-room = Room
launcher-room-hint = optional: the lobby if empty
launcher-watch-only = Watch only (join as a spectator)
launcher-connect = Connect
launcher-rooms = Rooms…
launcher-rooms-hover = list this server's rooms
launcher-recent = Recent
launcher-recent-hover = join again
launcher-host-title = Host a game
launcher-host = Host
launcher-host-note = You play too; others join with your address.
launcher-error-nickname = Nickname: { $why }.
launcher-error-room = Room: { $why }.
launcher-error-port = The port must be a number from 1 to 65535.
launcher-error-address = Enter the address of the host (for example 192.168.0.10).
launcher-error-host = Cannot host: { $why }.

## Room list
rooms-title = Rooms on { $addr }
rooms-back = Back
rooms-watch-only = Watch only
rooms-stopped = The list stopped: { $why }
rooms-unreachable = Cannot list the rooms: { $why }
rooms-try-again = Try again
rooms-asking = Asking the server for its rooms…
rooms-fullest = The { $shown } fullest of { $total } rooms. Refreshed every 2 s.
rooms-refreshed = Refreshed every 2 s.
rooms-new-room = New room
rooms-new-room-hint = a name for your room
rooms-create = Create
rooms-none = No rooms yet: make one below.
rooms-col-room = Room
rooms-col-players = Players
rooms-col-now = Now
rooms-col-words = Words
rooms-watching = { $count } watching
rooms-in-game = in a game
rooms-free-drawing = free drawing
rooms-join = Join
rooms-watch = Watch
rooms-full = the room is full
rooms-no-spectator-place = no place for another spectator
rooms-lang-ko = Korean
rooms-lang-en = English
rooms-lang-custom = own words

## Album
album-title = Album of the game
album-drawn-by = drawn by { $name }
album-nobody-found = nobody found it
album-found-by = found by { $names }
album-replay = ▶ Replay
album-replay-hover = replay it
album-nothing-drawn = nothing was drawn
album-no-longer-kept = no longer kept
album-heading = { $word } — drawn by { $name }
album-cut-short = A very long turn: the server kept only its beginning.
album-pause = ⏸ Pause
album-play = ▶ Play
album-start = ⏮ Start
album-back = Back to the album
album-save-png = 💾 Save PNG
album-save-timelapse = 🎞 Save time-lapse
album-save-timelapse-hover = an animated PNG: a frame every half second of the drawing, 10 a second
album-saving = Saving…
album-saved = Saved to { $path }

## Room screen
room-stop-hosting = Stop hosting
room-leave = Leave
room-connected = ● connected
room-connecting = ● connecting…
room-disconnected = ● disconnected
room-server-restarting = ⚠ Server restarting
room-host-closing = ⚠ Host closing the game
room-last-turn = { $what }: last turn, at most { $left }
room-name = Room: { $room }
room-player-count = { $players } / { $capacity } players
room-server = Server: { $addr }
room-chat = Chat
room-reconnecting-title = Reconnecting
room-reconnecting = Reconnecting… ({ $attempt })
room-seat-kept = { $why }. Your seat, score and turn are kept for { $secs } s.
room-cancel = Cancel
room-try-again = Try again
room-reconnect = Reconnect
room-back-to-launcher = Back to launcher
room-connecting-title = Connecting
room-connecting-to = Connecting to { $addr }…
room-players = Players
room-players-of = Players ({ $playing }/{ $capacity })
room-col-name = name
room-col-score = score
room-col-ip = ip
room-col-port = port
room-others-join-at = Others join at:
room-will-watch = You will watch from the end of the turn
room-will-play = You will play from the end of the turn
room-stay = Stay
room-you-watch = You are watching
room-play = Play
room-play-hover = take a player's seat (at the end of the turn, during a game)
room-watch = Watch
room-watch-hover = stop playing and watch (at the end of the turn, during a game)
room-kick-title = Kick { $name }
room-kick-no-reason = Kick (no reason)
room-kick-for = Kick for { $reason }
room-spectators-no-vote = Spectators do not vote to kick
room-vote-kick = Vote to kick { $name }
room-you = (you)
room-reconnecting-mark = (reconnecting…)
room-watching-mark = watching

## Drawing tools
canvas-drawing = Drawing
canvas-is-drawing = { $name } is drawing
canvas-between-turns = Between turns
canvas-nobody-drawing = Nobody is drawing
canvas-your-turn = Your turn: draw!
canvas-you-hold = You hold the pen
canvas-release = Release the pen
canvas-take = Take the pen
canvas-take-hover = possible once they have not drawn for 10 s
canvas-custom = Custom
canvas-brush = ✏ Brush (B)
canvas-eraser = Eraser (E)
canvas-fill = Fill (F)
canvas-fill-hover = fills the area you click with the colour
canvas-size = Size ([ and ])
canvas-undo = Undo
canvas-undo-hover = Ctrl+Z: your last stroke
canvas-clear = Clear
canvas-clear-hover = cannot be undone
canvas-save = 💾 Save PNG (Ctrl+S)
canvas-saved-to = Saved to

## Chat
chat-hint = Type a message, Enter to send
chat-not-connected = Not connected
chat-send = Send
chat-private-spectators = Only the spectators see this (during a turn)
chat-private-insiders = Only the drawer and those who found the word see this

## Game
quiz-round = Round { $round } / { $rounds }
quiz-your-turn-choose = Your turn: choose a word
quiz-choosing = { $who } is choosing a word…
quiz-draw = Draw:
quiz-got-it = ✔ You got it:
quiz-guess = Guess:
quiz-letters = { $count }
quiz-word-was = The word was
quiz-game = Game
quiz-the-host = the host
quiz-waiting-host = Waiting for { $who } (★) to start a game.
quiz-rounds = Rounds
quiz-drawing-time = Drawing time
quiz-choices = Words to pick from
quiz-hints = Hints
quiz-hints-on = letters over time
quiz-time-cut = Time cut
quiz-room-words = Room's words
quiz-words = Words
quiz-pack-english = English
quiz-pack-custom = Custom
quiz-custom-hover = the server's list: { $count } words
quiz-start = ▶ Start game
quiz-needs-two = a game needs at least two players
quiz-waiting-second = Waiting for a second player…
quiz-likes-hover = likes of this drawing
quiz-like = ♡ Like the drawing ({ $count })
quiz-like-hover = once per turn
quiz-cut-on = at first find
quiz-cut-hover = once the first guesser finds the word, the others have at most this long
quiz-room-words-off = not used
quiz-room-words-mixed = mixed
quiz-room-words-only = only these
quiz-room-words-first = paste a list below first
quiz-percent-of-turns = { " " }% of turns
quiz-own-words = Room's own words
quiz-own-words-set = Room's own words ({ $count } set)
quiz-room-words-hint = words separated by commas or new lines: up to 1,000 words of 32 characters
quiz-set-words = Set words
quiz-clear-words = Clear
quiz-your-turn-title = Your turn!
quiz-choose-word = Choose a word to draw
quiz-pick-for-you = { $secs } s, then one is picked for you
quiz-nobody-found = Nobody found it.
quiz-banner-your-turn = ✏ Your turn to draw!
quiz-banner-word-was = The word was: { $word }
quiz-banner-over-early = Game over: too few players
quiz-banner-over = 🏆 Game over!
quiz-over-early-title = Game over (ended early)
quiz-over-title = Game over
quiz-ended-early-note = Fewer than two players were left; the scores so far:
quiz-left-mark = (left)
quiz-points = { $points } pts
quiz-close = Close

## Chat notices
chat-while-away = While you were away:
chat-reconnected = Reconnected: you are back in your seat in room "{ $room }".
chat-watching-room = You are watching room "{ $room }": you see the board, the chat and the scores; during a turn only the other spectators read what you write.
chat-joined-room = You joined room "{ $room }" ({ $others } other { $others ->
        [one] player
       *[other] players
    } here{ $watching ->
        [0] {""}
       *[other] , { $watching } watching
    }).
chat-earlier-above = (earlier messages above)
chat-joined = { $name } joined.
chat-joined-to-watch = { $name } joined to watch.
chat-left = { $name } { $reason }.
chat-away = { $name } lost their connection; their seat is kept for them.
chat-back = { $name } is back.
chat-kicked = { $name } was kicked { $by }.
chat-kick-vote = { $voter } voted to kick { $target } ({ $votes } of { $needed } votes needed; right-click a name to vote).
chat-will-watch = You will watch from the end of this turn.
chat-will-play = You will play from the end of this turn.
chat-stay = You stay as you are.
chat-cannot-change = Cannot change: { $why }.
chat-ended-removed = Removed
chat-ended-not-joined = Could not join
chat-ended-disconnected = Disconnected
chat-ended = { $what }: { $why }.
chat-you-watch = You now watch: you see the board, the chat and the scores; during a turn only the other spectators read what you write.
chat-you-play = You play again.
chat-now-watches = { $name } now watches.
chat-plays-again = { $name } plays again.
chat-server-restarting = The server is restarting
chat-host-closing = The host is closing the game
chat-last-turn = { $what }: this turn is the last one; the room closes when it ends (at most { $left } from now).
chat-closes-now = { $what }; the room closes now.

## Game notices
quiz-you-found = You guessed the word! +{ $points }
quiz-found = { $name } guessed the word! +{ $points }
quiz-hint = Hint: { $mask }
quiz-reshuffled = Every word of the pack has come up: it was shuffled again.
quiz-the-host-capital = The host
quiz-room-words-cleared = { $name } cleared the room's own words.
quiz-room-words-given = { $name } gave this room { $count } words of its own for games.
quiz-likes-yours = ♥ { $name } likes your drawing.
quiz-time-cut-notice = The word was found: { $secs } s left to draw.
quiz-game-begins = The game begins: { $rounds } { $rounds ->
        [one] round
       *[other] rounds
    }.
quiz-round-choosing = Round { $round }: { $name } is choosing a word.
quiz-ended-early = The game ended early: fewer than two players are left.
quiz-winner = Game over! { $name } wins with { $points } points.
quiz-tie = Game over! A tie at { $points } points: { $names }.
tell-close = So close! One letter off.
tell-contains-word = Not sent: your message gave the word away, so you (and anyone at your address) cannot score in this turn. Type a guess alone.
tell-barred = Not sent: you, or someone at your address, gave the word away in this turn; you can score again in the next.
tell-drawer-leak = Not sent: you are drawing, so you cannot give the word away in chat.
tell-next-turn = Not sent: you joined during this turn, so you can score from the next one.
tell-one-at-a-time = Not sent: one guess per message (it names more than one word of the pack).
