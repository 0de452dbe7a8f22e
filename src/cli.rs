//! The command line: one subcommand per verb. Each verb's arguments live in its own module.

use clap::{Parser, Subcommand};

/// Pixel art from any image, and a WASM service you can build, check, run as OSC runs it, and deploy.
#[derive(Debug, Parser)]
#[command(name = "pixelsmith", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Turn an image into pixel art (exact grid, Oklab palettes, retro palettes, dithering).
    Pixelate(crate::pixelate::cli::Args),
    /// List the built-in palettes (optionally render a swatch image).
    Palettes(crate::pixelate::cli::PalettesArgs),
}
