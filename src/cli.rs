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
    version,
    about,
    long_about = None,
    after_help = "With no arguments, opens the launcher to host or join a game."
)]
pub struct Cli {
    /// Host a game (with a window, the host plays too; add --headless for a dedicated server).
    #[arg(long, conflicts_with = "client")]
    pub server: bool,

    /// Join the game at ADDR (host or host:port; the port defaults to 1234).
    #[arg(long, value_name = "ADDR")]
    pub client: Option<String>,

    /// Address the server listens on.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "0.0.0.0:1234",
        requires = "server"
    )]
    pub bind: String,

    /// Run the server without a window, logging to stderr (stop with Ctrl+C or SIGTERM).
    #[arg(long, requires = "server")]
    pub headless: bool,

    /// Your nickname (1 to 24 characters).
    #[arg(long, value_name = "NICK")]
    pub name: Option<String>,

    /// Room to join or create (default: the server's lobby).
    #[arg(long, value_name = "NAME", requires = "client")]
    pub room: Option<String>,

    /// The interface's language: ko (한국어) or en (English); by default the one the launcher
    /// last used, else the environment's (LANG), else English.
    #[arg(long, value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<crate::i18n::Lang>,

    /// Join as a spectator: watch the board, the chat and the scores without playing.
    #[arg(long, requires = "client")]
    pub spectate: bool,

    /// Most players per room.
    #[arg(long, value_name = "N", default_value_t = 12, value_parser = clap::value_parser!(u16).range(2..=64), requires = "server")]
    pub room_size: u16,

    /// Spectators each room takes besides its players (they take no player's seat).
    #[arg(long, value_name = "N", default_value_t = crate::plugins::rooms::rules::DEFAULT_SPECTATORS, value_parser = clap::value_parser!(u16).range(0..=64), requires = "server")]
    pub spectators: u16,

    /// Most rooms on the server.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..=4096), requires = "server")]
    pub max_rooms: u16,

    /// Seconds a player's seat (name, score, turn) is kept after their connection drops, for
    /// them to reconnect to; 0 keeps none.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u16).range(0..=3600), requires = "server")]
    pub seat_hold: u16,

    /// Most connections the server holds at once; its open-file limit is raised to fit (or, if
    /// the hard limit is lower, the cap is lowered and it says so).
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=65536), requires = "server")]
    pub max_connections: u32,

    /// Seconds a stop (SIGTERM, Ctrl+C) waits for the games' turns in progress to end before
    /// it closes every connection; a second signal stops at once; 0 stops at once.
    #[arg(long, value_name = "SECS", default_value_t = 90, value_parser = clap::value_parser!(u16).range(0..=3600), requires = "server")]
    pub drain_timeout: u16,

    /// Serve the admin endpoint at ADDR (for example 127.0.0.1:9100): /metrics (Prometheus),
    /// /healthz (the game loop ticks) and /readyz (takes players: not draining, not full).
    #[arg(long, value_name = "ADDR", requires = "headless")]
    pub admin: Option<String>,

    /// Allow --admin on an address other machines can reach (its figures are counts only: no
    /// names or addresses).
    #[arg(long, requires = "admin")]
    pub admin_public: bool,

    /// Run under Agones: tell its SDK sidecar (AGONES_SDK_GRPC_PORT, else port 9357) that the
    /// server is Ready, ping its health from the game loop, report players and rooms as its
    /// Counters, and say Shutdown after a drain. Needs a build with the `agones` feature.
    #[arg(long, requires = "headless")]
    pub agones: bool,

    /// A custom word list for games (one word per line; blank lines and # comments ignored),
    /// offered to hosts as the "custom" pack.
    #[arg(long, value_name = "FILE", requires = "server")]
    pub words: Option<std::path::PathBuf>,

    /// Folder the gallery of drawings is saved in (default: the user's data folder).
    #[arg(long, value_name = "DIR")]
    pub gallery: Option<std::path::PathBuf>,

    /// Do not save each finished drawing to the gallery by itself.
    #[arg(long)]
    pub no_autosave: bool,

    /// Window position on screen, as X,Y (handy for several windows on one screen).
    #[arg(long, value_name = "X,Y", value_parser = parse_pair::<i32>)]
    pub window_pos: Option<(i32, i32)>,

    /// Window size, as WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", default_value = "1280x800", value_parser = parse_size)]
    pub window_size: (u32, u32),
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
    if !(320..=8192).contains(&w) || !(240..=8192).contains(&h) {
        return Err("window size out of range".into());
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
        let cli = Cli::try_parse_from(["game", "--window-pos", "10,20", "--window-size", "800x600"]).unwrap();
        assert_eq!((cli.window_pos, cli.window_size), (Some((10, 20)), (800, 600)));
    }

    #[test]
    fn rejects_contradictions() {
        assert!(Cli::try_parse_from(["game", "--server", "--client", "x"]).is_err());
        assert!(Cli::try_parse_from(["game", "--headless"]).is_err());
        assert!(Cli::try_parse_from(["game", "--server", "--room-size", "1"]).is_err());
    }
}
