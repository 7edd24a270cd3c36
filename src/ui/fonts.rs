//! Fonts: egui's defaults plus a Hangul font, embedded in the binary so it works from any
//! directory.

use std::sync::Arc;

use bevy_egui::egui::{self, FontData, FontDefinitions, FontFamily};

/// Nanum Gothic (SIL Open Font License 1.1; see assets/fonts/NanumGothic-OFL.txt).
static NANUM_GOTHIC: &[u8] = include_bytes!("../../assets/fonts/NanumGothic.ttf");

pub fn install(ctx: &egui::Context) {
    let mut fonts = FontDefinitions::default();
    fonts.font_data.insert(
        "nanum-gothic".into(),
        Arc::new(FontData::from_static(NANUM_GOTHIC)),
    );
    // After egui's own fonts, so Latin text keeps its look and Hangul falls back to Nanum.
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .push("nanum-gothic".into());
    }
    ctx.set_fonts(fonts);
}
