//! The command line.

use clap::Parser;

/// The port the original game used, and ours by default.
pub const DEFAULT_PORT: u16 = 1234;

/// Catch Mind (캐치마인드): draw a word, let the others guess it in chat.
///
/// With no arguments, opens the launcher to host or join a game.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "game",
    version = crate::version::BUILD,
    about,
    long_about = None,
    after_help = "With no arguments, opens the launcher to host or join a game."
)]
pub struct Cli {
    /// Join the game at ADDR (host, host:port or [IPv6]:port; the port defaults to 1234).
    #[arg(long, value_name = "ADDR", help_heading = "Play")]
    #[cfg_attr(not(feature = "client"), arg(hide = true))]
    pub client: Option<String>,

    /// Your nickname (1 to 24 characters).
    #[arg(long, value_name = "NICK", help_heading = "Play")]
    #[cfg_attr(not(feature = "client"), arg(hide = true))]
    pub name: Option<String>,

    /// Room to join or create (default: the server's lobby).
    #[arg(long, value_name = "NAME", requires = "client", help_heading = "Play")]
    #[cfg_attr(not(feature = "client"), arg(hide = true))]
    pub room: Option<String>,

    /// Join as a spectator: watch the board, the chat and the scores without playing.
    #[arg(long, requires = "client", help_heading = "Play")]
    #[cfg_attr(not(feature = "client"), arg(hide = true))]
    pub spectate: bool,

    /// The interface's language: ko (한국어) or en (English); by default the one the launcher
    /// last used, else the system's, else English.
    #[arg(long, value_name = "LANG", value_parser = parse_lang, help_heading = "Play")]
    #[cfg_attr(not(feature = "client"), arg(hide = true))]
    pub lang: Option<crate::i18n::Lang>,

    /// Host a game (with a window, the host plays too; add --headless for a dedicated server).
    #[arg(long, conflicts_with = "client", help_heading = "Host")]
    pub server: bool,

    /// Listen on every address, IPv4 and IPv6, on port N (default 1234).
    #[arg(
        long,
        value_name = "N",
        requires = "server",
        conflicts_with = "bind",
        help_heading = "Host"
    )]
    pub port: Option<u16>,

    /// Listen on ADDR only (for example 127.0.0.1:1234 or [::1]:1234) rather than on every
    /// address.
    #[arg(long, value_name = "ADDR", requires = "server", help_heading = "Host")]
    pub bind: Option<String>,

    /// Run the server without a window, logging to stderr (stop with Ctrl+C or SIGTERM).
    #[arg(long, requires = "server", help_heading = "Host")]
    pub headless: bool,

    /// Most players per room.
    #[arg(long, value_name = "N", default_value_t = 12, value_parser = clap::value_parser!(u16).range(2..=64), requires = "server", help_heading = "Server")]
    pub room_size: u16,

    /// Spectators each room takes besides its players (they take no player's seat).
    #[arg(long, value_name = "N", default_value_t = crate::plugins::rooms::rules::DEFAULT_SPECTATORS, value_parser = clap::value_parser!(u16).range(0..=64), requires = "server", help_heading = "Server")]
    pub spectators: u16,

    /// Most rooms on the server.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..=4096), requires = "server", help_heading = "Server")]
    pub max_rooms: u16,

    /// Seconds a player's seat (name, score, turn) is kept after their connection drops, for
    /// them to reconnect to; 0 keeps none.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u16).range(0..=3600), requires = "server", help_heading = "Server")]
    pub seat_hold: u16,

    /// A custom word list for games (one word per line; blank lines and # comments ignored),
    /// offered to hosts as the "custom" pack.
    #[arg(long, value_name = "FILE", requires = "server", help_heading = "Server")]
    pub words: Option<std::path::PathBuf>,

    /// Most connections the server holds at once; its open-file limit is raised to fit (or, if
    /// the hard limit is lower, the cap is lowered and it says so).
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=65536), requires = "server", help_heading = "Operator")]
    pub max_connections: u32,

    /// Open connections from one address (a household, a classroom or an office behind one
    /// NAT shares one; IPv6 counts per /64). Higher lets one person take more of the server.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=65536), requires = "server", help_heading = "Operator")]
    pub per_address_connections: u32,

    /// Rooms that players from one address made and that still exist.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=4096), requires = "server", help_heading = "Operator")]
    pub per_address_rooms: u16,

    /// New connections per minute from one address (bursts of half that, at least 30).
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=60000), requires = "server", help_heading = "Operator")]
    pub per_address_rate: u32,

    /// Folder of a browser client's page, served on the game's port (default: `web` beside
    /// this executable, else `target/web` in the current folder, when either holds one).
    #[arg(long, value_name = "DIR", requires = "server", help_heading = "Host")]
    pub web: Option<std::path::PathBuf>,

    /// Seconds a stop (SIGTERM, Ctrl+C) waits for the games' turns in progress to end before
    /// it closes every connection; a second signal stops at once; 0 stops at once.
    #[arg(long, value_name = "SECS", default_value_t = 90, value_parser = clap::value_parser!(u16).range(0..=3600), requires = "server", help_heading = "Operator")]
    pub drain_timeout: u16,

    /// Serve the admin endpoint at ADDR (for example 127.0.0.1:9100): /metrics (Prometheus),
    /// /healthz (the game loop ticks) and /readyz (takes players: not draining, not full).
    /// Needs --headless.
    #[arg(long, value_name = "ADDR", requires = "headless", help_heading = "Operator")]
    pub admin: Option<String>,

    /// Allow --admin on an address other machines can reach (its figures are counts only: no
    /// names or addresses).
    #[arg(long, requires = "admin", help_heading = "Operator")]
    pub admin_public: bool,

    /// Run under Agones: tell its SDK sidecar (AGONES_SDK_GRPC_PORT, else port 9357) that the
    /// server is Ready, ping its health from the game loop, report players and rooms as its
    /// Counters, and say Shutdown after a drain. Needs --headless and a build with the
    /// `agones` feature.
    #[arg(long, requires = "headless", help_heading = "Operator")]
    pub agones: bool,

    /// Folder the gallery of drawings is saved in (default: the user's data folder); the game
    /// deletes only drawings it saved there, never other files.
    #[arg(long, value_name = "DIR", help_heading = "Window")]
    #[cfg_attr(not(feature = "client"), arg(hide = true))]
    pub gallery: Option<std::path::PathBuf>,

    /// Do not save each finished drawing to the gallery by itself.
    #[arg(long, help_heading = "Window")]
    #[cfg_attr(not(feature = "client"), arg(hide = true))]
    pub no_autosave: bool,

    /// Window position on screen, as X,Y (handy for several windows on one screen).
    #[arg(long, value_name = "X,Y", value_parser = parse_pair::<i32>, help_heading = "Window")]
    #[cfg_attr(not(feature = "client"), arg(hide = true))]
    pub window_pos: Option<(i32, i32)>,

    /// Window size, as WIDTHxHEIGHT (default 1280x800, at least 960x600).
    #[arg(long, value_name = "WxH", value_parser = parse_size, help_heading = "Window")]
    #[cfg_attr(not(feature = "client"), arg(hide = true))]
    pub window_size: Option<(u32, u32)>,
}

/// The smallest window the game's screens are laid out for (the room screen's tool and side
/// columns with a board between them); the window cannot be made smaller.
pub const MIN_WINDOW_SIZE: (u32, u32) = (960, 600);

/// The window's size when `--window-size` is not given.
pub const DEFAULT_WINDOW_SIZE: (u32, u32) = (1280, 800);

impl Cli {
    #[cfg(not(target_arch = "wasm32"))]
    /// What the server listens on: `--bind`'s address, else every address on `--port` (or
    /// 1234).
    pub fn listen(&self) -> crate::plugins::net::Listen {
        match &self.bind {
            Some(addr) => crate::plugins::net::Listen::Addr(addr.clone()),
            None => crate::plugins::net::Listen::Everywhere(self.port.unwrap_or(DEFAULT_PORT)),
        }
    }

    /// The options given that a headless server has no use for (a window's, a player's).
    pub fn headless_misfits(&self) -> Vec<&'static str> {
        if !self.headless {
            return Vec::new();
        }
        [
            ("--name", self.name.is_some()),
            ("--lang", self.lang.is_some()),
            ("--gallery", self.gallery.is_some()),
            ("--no-autosave", self.no_autosave),
            ("--window-pos", self.window_pos.is_some()),
            ("--window-size", self.window_size.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

fn parse_pair<T: std::str::FromStr>(text: &str) -> Result<(T, T), String> {
    let (a, b) = text.split_once(',').ok_or("expected X,Y")?;
    Ok((
        a.trim().parse().map_err(|_| format!("bad number {a:?}"))?,
        b.trim().parse().map_err(|_| format!("bad number {b:?}"))?,
    ))
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once(['x', 'X']).ok_or("expected WIDTHxHEIGHT")?;
    let w: u32 = w.trim().parse().map_err(|_| format!("bad width {w:?}"))?;
    let h: u32 = h.trim().parse().map_err(|_| format!("bad height {h:?}"))?;
    let (min_w, min_h) = MIN_WINDOW_SIZE;
    if !(min_w..=8192).contains(&w) || !(min_h..=8192).contains(&h) {
        return Err(format!("window size out of range: at least {min_w}x{min_h}"));
    }
    Ok((w, h))
}

/// `--lang`'s value: `ko` or `en` (a locale such as `ko_KR.UTF-8` works too).
fn parse_lang(text: &str) -> Result<crate::i18n::Lang, String> {
    crate::i18n::Lang::parse(text)
        .ok_or_else(|| format!("{text:?}: the game speaks ko (한국어) and en (English)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_ko_or_en() {
        let cli = Cli::try_parse_from(["game", "--lang", "ko"]).unwrap();
        assert_eq!(cli.lang, Some(crate::i18n::Lang::Ko));
        assert_eq!(Cli::try_parse_from(["game"]).unwrap().lang, None);
        assert!(Cli::try_parse_from(["game", "--lang", "fr"]).is_err());
    }

    #[test]
    fn parses_the_documented_forms() {
        let cli = Cli::try_parse_from(["game", "--server", "--headless", "--bind", "127.0.0.1:0"]).unwrap();
        assert!(cli.server && cli.headless);
        let cli =
            Cli::try_parse_from(["game", "--client", "10.0.0.5", "--name", "철수", "--room", "방1"]).unwrap();
        assert_eq!(cli.client.as_deref(), Some("10.0.0.5"));
        assert_eq!(cli.room.as_deref(), Some("방1"));
        let cli = Cli::try_parse_from(["game", "--window-pos", "10,20", "--window-size", "960x600"]).unwrap();
        assert_eq!(
            (cli.window_pos, cli.window_size),
            (Some((10, 20)), Some((960, 600)))
        );
    }

    #[test]
    fn rejects_contradictions() {
        assert!(Cli::try_parse_from(["game", "--server", "--client", "x"]).is_err());
        assert!(Cli::try_parse_from(["game", "--headless"]).is_err());
        // Smaller than the screens are laid out for.
        assert!(Cli::try_parse_from(["game", "--window-size", "800x600"]).is_err());
        assert!(Cli::try_parse_from(["game", "--server", "--room-size", "1"]).is_err());
    }

    #[test]
    fn port_is_every_address_and_bind_one() {
        use crate::plugins::net::Listen;
        let cli = Cli::try_parse_from(["game", "--server", "--port", "4000"]).unwrap();
        assert_eq!(cli.listen(), Listen::Everywhere(4000));
        let cli = Cli::try_parse_from(["game", "--server"]).unwrap();
        assert_eq!(cli.listen(), Listen::Everywhere(DEFAULT_PORT));
        let cli = Cli::try_parse_from(["game", "--server", "--bind", "127.0.0.1:5"]).unwrap();
        assert_eq!(cli.listen(), Listen::Addr("127.0.0.1:5".into()));
        assert!(Cli::try_parse_from(["game", "--server", "--port", "1", "--bind", "x"]).is_err());
        assert!(Cli::try_parse_from(["game", "--port", "1"]).is_err());
    }

    #[test]
    fn per_address_limits_have_flags() {
        let cli = Cli::try_parse_from(["game", "--server"]).unwrap();
        assert_eq!(
            (
                cli.per_address_connections,
                cli.per_address_rooms,
                cli.per_address_rate
            ),
            (16, 4, 60)
        );
        let cli = Cli::try_parse_from([
            "game",
            "--server",
            "--per-address-connections",
            "64",
            "--per-address-rooms",
            "10",
            "--per-address-rate",
            "300",
        ])
        .unwrap();
        assert_eq!(
            (
                cli.per_address_connections,
                cli.per_address_rooms,
                cli.per_address_rate
            ),
            (64, 10, 300)
        );
        assert!(Cli::try_parse_from(["game", "--server", "--per-address-connections", "0"]).is_err());
    }

    #[test]
    fn a_headless_server_refuses_window_and_player_options() {
        let cli = Cli::try_parse_from(["game", "--server", "--headless"]).unwrap();
        assert!(cli.headless_misfits().is_empty());
        let cli = Cli::try_parse_from([
            "game",
            "--server",
            "--headless",
            "--name",
            "x",
            "--window-size",
            "960x600",
        ])
        .unwrap();
        assert_eq!(cli.headless_misfits(), ["--name", "--window-size"]);
        // A hosting window takes them all.
        let cli = Cli::try_parse_from(["game", "--server", "--name", "x", "--window-pos", "1,2"]).unwrap();
        assert!(cli.headless_misfits().is_empty());
    }

    #[test]
    fn help_groups_the_options_and_the_version_names_the_commit() {
        use clap::CommandFactory;
        let help = Cli::command().render_help().to_string();
        for heading in ["Play:", "Host:", "Server:", "Operator:", "Window:"] {
            assert!(help.contains(heading), "{heading} missing from:\n{help}");
        }
        assert!(help.find("Play:") < help.find("Operator:"));
        let version = Cli::command().render_version().to_string();
        assert_eq!(version.trim(), format!("game {}", crate::version::BUILD));
    }
}
