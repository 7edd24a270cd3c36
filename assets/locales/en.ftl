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
