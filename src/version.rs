//! Which build this is: the version and the commit it was built from (see `build.rs`), so two
//! builds that cannot play together can say which is which.

/// `0.1.0 (3f2a9c1d0e4b)`, or `0.1.0 (3f2a9c1d0e4b, dirty)` when built from changed sources.
pub const BUILD: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CATCHMIND_COMMIT"), ")");

/// The longest build description a peer may send that is shown (a server's, in a refusal).
pub const MAX_BUILD_CHARS: usize = 64;

/// A peer's build description made safe to show: printable, at most [`MAX_BUILD_CHARS`].
pub fn shown(peer_build: &str) -> String {
    let clean: String = peer_build
        .chars()
        .filter(|c| !c.is_control() && !crate::safe_text::is_invisible(*c))
        .take(MAX_BUILD_CHARS)
        .collect();
    match clean.trim() {
        "" => "?".to_owned(),
        text => text.to_owned(),
    }
}

/// The build as a Kubernetes label value (letters, digits, `-`, `_`, `.`, at most 63, starting
/// and ending with a letter or digit): `0.1.0-3f2a9c1d0e4b`, `0.1.0-3f2a9c1d0e4b-dirty`.
pub fn label() -> String {
    let text = format!("{}-{}", env!("CARGO_PKG_VERSION"), env!("CATCHMIND_COMMIT"));
    let mut label = String::new();
    for c in text.chars() {
        match c {
            c if c.is_ascii_alphanumeric() || c == '.' || c == '_' => label.push(c),
            _ if !label.ends_with('-') => label.push('-'),
            _ => {}
        }
    }
    label.truncate(63);
    label
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_build_names_its_version_and_commit() {
        assert!(super::BUILD.starts_with(concat!(env!("CARGO_PKG_VERSION"), " (")));
        assert!(
            super::BUILD.ends_with(')') && super::BUILD.len() > 10,
            "{}",
            super::BUILD
        );
    }

    #[test]
    fn the_label_is_a_valid_label_value() {
        let label = super::label();
        assert!(label.starts_with(env!("CARGO_PKG_VERSION")), "{label}");
        assert!(
            label.len() <= 63 && !label.contains(' ') && !label.contains(','),
            "{label}"
        );
        assert!(
            label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn a_peers_build_is_shown_safely() {
        assert_eq!(super::shown("0.1.0 (abc)\u{202e}\n"), "0.1.0 (abc)");
        assert_eq!(super::shown(&"x".repeat(1000)).len(), super::MAX_BUILD_CHARS);
        assert_eq!(super::shown("\u{200b}"), "?");
    }
}
