//! The arguments of every MCP tool: one documented `Deserialize + JsonSchema` struct per tool.
//! The doc comments and bounds here *are* the input schemas agents read, so every field says
//! what it does, its default and its limits. Unknown arguments are refused, and a bad value is
//! reported with the argument's name ([`Args`]), so an agent can fix its call.

use rmcp::ErrorData;
use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::engine::{self, Options};

/// A tool's arguments, deserialised with the failing argument's name in the error (rmcp's own
/// `Parameters` says only "invalid type: string, expected u32"). The error keeps rmcp's
/// "failed to deserialize parameters" prefix, which makes rmcp answer with an `isError: true`
/// tool result instead of a protocol error.
#[derive(Debug)]
pub struct Args<T>(pub T);

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Args<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        parse(serde_json::Value::Object(arguments))
            .map(Args)
            .map_err(|message| ErrorData::invalid_params(message, None))
    }
}

/// Deserialises `value`, naming the argument at fault.
pub fn parse<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("failed to deserialize parameters: {}", e.inner())
        } else {
            format!(
                "failed to deserialize parameters: argument `{path}`: {}",
                e.inner()
            )
        }
    })
}

/// Engine options, the same names as the CLI flags and the service's query parameters. Each is
/// parsed by the engine's own parser (`Options::set`), so it means the same everywhere. Their
/// documentation (the schema agents read) is in [`with_engine_options`], which adds them to the
/// tools that take them.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub block: Option<u32>,
    pub width: Option<u32>,
    pub colors: Option<u32>,
    pub palette: Option<String>,
    pub levels: Option<u32>,
    pub full_color: Option<bool>,
    pub dither: Option<DitherParam>,
    pub scale: Option<u32>,
    pub grid: Option<bool>,
    pub alpha_threshold: Option<u32>,
    pub vivid: Option<bool>,
    pub optimize: Option<bool>,
    pub detail: Option<u32>,
    pub dct_scale: Option<DctScaleParam>,
    pub max_pixels: Option<u64>,
}

/// Defines a tool's argument struct with its own fields followed by every engine option (but
/// `max_pixels`, a local limit only `pixelate` takes), and `engine_options()` to collect them. (serde's `flatten` would do this too, but it cannot refuse
/// unknown fields and loses the argument names in errors.)
macro_rules! with_engine_options {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $( $(#[$fattr:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$attr])*
        pub struct $name {
            $( $(#[$fattr])* pub $field: $ty, )*
            /// Block size in source pixels: each N×N square becomes one cell of the grid. Default 8.
            /// Give either `block` or `width`.
            #[schemars(range(min = 1, max = 4096))]
            #[serde(default, deserialize_with = "whole::opt")]
            pub block: Option<u32>,
            /// Instead of `block`: the grid is exactly this many cells wide; rows follow the aspect ratio.
            #[schemars(range(min = 1, max = 4096))]
            #[serde(default, deserialize_with = "whole::opt")]
            pub width: Option<u32>,
            /// Build a palette of at most this many colours from the image (in Oklab). Default 16.
            /// Give at most one of `colors`, `palette`, `levels`, `full_color`.
            #[schemars(range(min = 2, max = 256))]
            #[serde(default, deserialize_with = "whole::opt")]
            pub colors: Option<u32>,
            /// A fixed palette: a built-in name (pico-8, game-boy, cga, c64, zx-spectrum, nes, 1-bit,
            /// sweetie-16, endesga-32, db16, db32, grayscale-4) or custom hex colours
            /// `#1a1c2c,#5d275d,…`.
            #[schemars(length(min = 1, max = 4096))]
            pub palette: Option<String>,
            /// Posterise each RGB channel to this many levels, like the original pixel-art service.
            #[schemars(range(min = 2, max = 8))]
            #[serde(default, deserialize_with = "whole::opt")]
            pub levels: Option<u32>,
            /// Keep every cell's own colour (no palette reduction).
            pub full_color: Option<bool>,
            /// Dithering, done on the grid. Default none.
            pub dither: Option<DitherParam>,
            /// Draw each cell as a K×K square (output = grid × K) instead of at the source's size.
            /// Give either `scale` or `grid`.
            #[schemars(range(min = 1, max = 64))]
            #[serde(default, deserialize_with = "whole::opt")]
            pub scale: Option<u32>,
            /// Output the grid itself: one pixel per cell.
            pub grid: Option<bool>,
            /// Cells less opaque than this become fully transparent, the rest fully opaque. Default 128.
            #[schemars(range(min = 0, max = 255))]
            #[serde(default, deserialize_with = "whole::opt")]
            pub alpha_threshold: Option<u32>,
            /// Weigh chroma double when building and matching the palette, so small saturated
            /// details keep their colour. Default false.
            pub vivid: Option<bool>,
            /// Spend more time for a smaller PNG. Default false.
            pub optimize: Option<bool>,
            /// 0..=100, default 0: how strongly thin dark lines, text and small saturated
            /// features keep a cell of their own colour instead of being averaged away.
            #[schemars(range(min = 0, max = 100))]
            #[serde(default, deserialize_with = "whole::opt")]
            pub detail: Option<u32>,
            /// JPEG decoding: `full` (default; every cell is the exact linear-light mean of its
            /// pixels) or `fast` (a reduced DCT scale when the block allows: up to 8× less work,
            /// colours near fine detail and cell edges drift).
            pub dct_scale: Option<DctScaleParam>,
        }

        impl $name {
            /// The engine options among the arguments.
            pub fn engine_options(&self) -> EngineOptions {
                EngineOptions {
                    block: self.block,
                    width: self.width,
                    colors: self.colors,
                    palette: self.palette.clone(),
                    levels: self.levels,
                    full_color: self.full_color,
                    dither: self.dither,
                    scale: self.scale,
                    grid: self.grid,
                    alpha_threshold: self.alpha_threshold,
                    vivid: self.vivid,
                    optimize: self.optimize,
                    detail: self.detail,
                    dct_scale: self.dct_scale,
                    max_pixels: None,
                }
            }
        }
    };
}

/// Dithering kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DitherParam {
    /// Flat colours.
    None,
    /// Ordered, 2×2 Bayer pattern.
    Bayer2,
    /// Ordered, 4×4 Bayer pattern (the classic pixel-art look).
    Bayer4,
    /// Ordered, 8×8 Bayer pattern.
    Bayer8,
    /// Error diffusion, Floyd–Steinberg: seen from afar, as light as the area it draws.
    FloydSteinberg,
    /// Error diffusion, Atkinson (Mac-like: drops a quarter of the error, for contrast).
    Atkinson,
}

/// How a JPEG is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DctScaleParam {
    /// Full size: exact cell colours.
    Full,
    /// A reduced DCT scale (1/2 to 1/8) when the block allows: faster, less exact.
    Fast,
}

impl DctScaleParam {
    fn name(self) -> &'static str {
        match self {
            DctScaleParam::Full => "full",
            DctScaleParam::Fast => "fast",
        }
    }
}

impl DitherParam {
    fn name(self) -> &'static str {
        match self {
            DitherParam::None => "none",
            DitherParam::Bayer2 => "bayer2",
            DitherParam::Bayer4 => "bayer4",
            DitherParam::Bayer8 => "bayer8",
            DitherParam::FloydSteinberg => "floyd-steinberg",
            DitherParam::Atkinson => "atkinson",
        }
    }
}

impl EngineOptions {
    /// The options as `name=value` pairs in the engine's vocabulary, after checking that no two
    /// options that replace each other were given.
    pub fn pairs(&self) -> Result<Vec<(String, String)>, String> {
        exclusive(&[
            ("block", self.block.is_some()),
            ("width", self.width.is_some()),
        ])?;
        exclusive(&[
            ("colors", self.colors.is_some()),
            ("palette", self.palette.is_some()),
            ("levels", self.levels.is_some()),
            ("full_color", self.full_color == Some(true)),
        ])?;
        exclusive(&[
            ("scale", self.scale.is_some()),
            ("grid", self.grid == Some(true)),
        ])?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut push = |name: &str, value: String| pairs.push((name.to_string(), value));
        if let Some(v) = self.block {
            push("block", v.to_string());
        }
        if let Some(v) = self.width {
            push("width", v.to_string());
        }
        if let Some(v) = self.colors {
            push("colors", v.to_string());
        }
        if let Some(v) = &self.palette {
            push("palette", v.clone());
        }
        if let Some(v) = self.levels {
            push("levels", v.to_string());
        }
        if self.full_color == Some(true) {
            push("colors", "full".to_string());
        }
        if let Some(v) = self.dither {
            push("dither", v.name().to_string());
        }
        if let Some(v) = self.scale {
            push("scale", v.to_string());
        }
        if let Some(v) = self.grid {
            push("grid", v.to_string());
        }
        if let Some(v) = self.alpha_threshold {
            push("alpha_threshold", v.to_string());
        }
        if let Some(v) = self.vivid {
            push("vivid", v.to_string());
        }
        if let Some(v) = self.optimize {
            push("optimize", v.to_string());
        }
        if let Some(v) = self.detail {
            push("detail", v.to_string());
        }
        if let Some(v) = self.dct_scale {
            push("dct_scale", v.name().to_string());
        }
        Ok(pairs)
    }

    /// The engine options, every value parsed by `Options::set`.
    pub fn to_options(&self) -> Result<Options, String> {
        let mut options = Options::default();
        for (name, value) in self.pairs()? {
            options.set(&name, &value).map_err(|e| e.to_string())?;
        }
        if let Some(max) = self.max_pixels {
            if max == 0 || max > engine::Limits::DEFAULT_MAX_PIXELS {
                return Err(format!(
                    "max_pixels must be 1..={}",
                    engine::Limits::DEFAULT_MAX_PIXELS
                ));
            }
            options.limits.max_pixels = max;
        }
        Ok(options)
    }
}

fn exclusive(given: &[(&str, bool)]) -> Result<(), String> {
    let named: Vec<&str> = given
        .iter()
        .filter(|(_, set)| *set)
        .map(|(n, _)| *n)
        .collect();
    if named.len() > 1 {
        return Err(format!(
            "give only one of {}: got {}",
            given.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            named.join(" and ")
        ));
    }
    Ok(())
}

with_engine_options! {
/// Arguments of `pixelate`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PixelateParams {
    /// The image file (PNG, JPEG, WebP, GIF or BMP), inside the allowed roots; relative paths
    /// start at the first root. Give exactly one of `path`, `data_base64`, `url`.
    #[schemars(length(min = 1, max = 4096))]
    pub path: Option<String>,
    /// The image bytes, base64 (a `data:image/...;base64,` prefix is accepted). At most 48 MiB
    /// of base64.
    #[schemars(length(min = 1, max = 50_331_648))]
    pub data_base64: Option<String>,
    /// An http(s) URL to download the image from (at most 32 MiB, 30 s).
    #[schemars(length(min = 8, max = 4096))]
    pub url: Option<String>,
    /// Where to write the full-size PNG, inside the allowed roots (an existing file is replaced).
    /// Default: `<name>.pixel.png` next to the input file, or in the first root for data and
    /// URLs.
    #[schemars(length(min = 1, max = 4096))]
    pub output: Option<String>,
    /// Refuse images whose header declares more pixels than this (checked before decoding).
    /// Default and maximum 64,000,000.
    #[schemars(range(min = 1, max = 64_000_000))]
    #[serde(default, deserialize_with = "whole::opt")]
    pub max_pixels: Option<u64>,
    /// For an animated source (GIF, APNG, WebP): pixelate only this frame (0-based), composited
    /// as a viewer shows it, into a still PNG. Without it an animation is written whole.
    #[schemars(range(min = 0, max = 100_000))]
    #[serde(default, deserialize_with = "whole::opt")]
    pub frame: Option<u32>,
}
}

with_engine_options! {
/// Arguments of `pixelate_batch`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchParams {
    /// Image files and folders inside the allowed roots (relative paths start at the first root).
    /// A folder gives the images directly in it (`recursive` for its subfolders); other files in
    /// it are skipped and counted. At most 200 files in all.
    #[schemars(length(min = 1, max = 200))]
    pub paths: Vec<String>,
    /// The folder for the PNGs, inside the allowed roots, created when missing: `<name>.png`
    /// each, `<name>.gif` for an animated input (subfolders kept with `recursive`). Existing files of those names are replaced; an
    /// input is never overwritten, and two inputs that would share an output name are refused.
    #[schemars(length(min = 1, max = 4096))]
    pub output_dir: String,
    /// Descend into the subfolders of the folders given. Default false.
    pub recursive: Option<bool>,
    /// Build one palette from all the images together (each image weighs the same) and use it
    /// for every output, so a sprite set or the frames of a clip match. Needs an adaptive
    /// palette (`colors`, the default); with `palette` every output shares that one anyway.
    /// Default false.
    pub shared_palette: Option<bool>,
}
}

/// Arguments of `build_service`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildParams {
    /// The Pixelsmith checkout to build in (the folder holding Cargo.toml and wasm-service/),
    /// inside the allowed roots. Default: the first root.
    #[schemars(length(min = 1, max = 4096))]
    pub project_dir: Option<String>,
    /// Stop the build (cargo and every compiler it started) after this many seconds.
    /// Default 1200 (a cold release build takes minutes on a small machine).
    #[schemars(range(min = 10, max = 7200))]
    #[serde(default, deserialize_with = "whole::opt")]
    pub timeout_secs: Option<u64>,
    /// Install the wasm32-wasip1 target with `rustup target add` when it is missing.
    /// Default true.
    pub install_target: Option<bool>,
    /// After the static check, run the built module through the runner emulation. Default true.
    pub dynamic_check: Option<bool>,
}

/// Arguments of `check_module`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckParams {
    /// The `.wasm` file to check, inside the allowed roots. Default: the built module,
    /// `target/wasm32-wasip1/release/wasm-service.wasm` under the first root.
    #[schemars(length(min = 1, max = 4096))]
    pub path: Option<String>,
    /// Also run `GET /` and a small pixelate request through the runner emulation (only when
    /// the static rules pass). Default true.
    pub dynamic: Option<bool>,
}

/// What `run_local` should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunLocalAction {
    /// Start a runner emulation and a gateway for a module.
    #[default]
    Start,
    /// Stop one instance (`id`) or, without `id`, all of them.
    Stop,
    /// List the running instances.
    List,
}

/// Arguments of `run_local`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunLocalParams {
    /// `start` (default), `stop` or `list`.
    pub action: Option<RunLocalAction>,
    /// For `start`: the `.wasm` module to serve, inside the allowed roots. Default: the built
    /// module, `target/wasm32-wasip1/release/wasm-service.wasm` under the first root.
    #[schemars(length(min = 1, max = 4096))]
    pub module: Option<String>,
    /// For `stop`: the instance to stop (as `start` returned it). Without it, all stop.
    #[schemars(length(min = 1, max = 64))]
    pub id: Option<String>,
    /// For `start`: the runner emulation's port on 127.0.0.1. Default 0 (any free port).
    #[schemars(range(min = 0, max = 65535))]
    #[serde(default, deserialize_with = "whole::opt")]
    pub runner_port: Option<u16>,
    /// For `start`: the gateway's port on 127.0.0.1. Default 0 (any free port).
    #[schemars(range(min = 0, max = 65535))]
    #[serde(default, deserialize_with = "whole::opt")]
    pub gateway_port: Option<u16>,
    /// For `start`: wall-clock limit per module run, seconds (OSC has none; here a hanging run
    /// answers 504). Default 60.
    #[schemars(range(min = 1, max = 600))]
    #[serde(default, deserialize_with = "whole::opt")]
    pub time_limit_secs: Option<u64>,
}

with_engine_options! {
/// Arguments of `call_service`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallParams {
    /// The runner URL: the local emulation's `runner_url` from `run_local`, or a deployed app
    /// (`https://<id>.apps.osaas.io`). Not the gateway URL.
    #[schemars(length(min = 8, max = 2048))]
    pub url: String,
    /// Check `GET /health`. Default true.
    pub health: Option<bool>,
    /// Check `POST /pixelate`. Default true.
    pub pixelate: Option<bool>,
    /// The image to pixelate, inside the allowed roots. Default: a built-in 96×64 sample.
    #[schemars(length(min = 1, max = 4096))]
    pub image_path: Option<String>,
    /// Timeout per request, seconds. Default 120 (the first request to a new OSC app can be
    /// slow).
    #[schemars(range(min = 1, max = 600))]
    #[serde(default, deserialize_with = "whole::opt")]
    pub timeout_secs: Option<u64>,
}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_go_through_the_engine_parser_and_conflicts_are_named() {
        let p: PixelateParams = parse(serde_json::json!({
            "path": "a.png", "width": 64, "palette": "pico-8", "dither": "floyd-steinberg"
        }))
        .unwrap();
        let o = p.engine_options().to_options().unwrap();
        assert_eq!(o.grid, engine::Grid::Width(64));
        assert_eq!(o.dither, engine::Dither::FloydSteinberg);

        let both = EngineOptions {
            block: Some(4),
            width: Some(8),
            ..Default::default()
        };
        let err = both.to_options().unwrap_err();
        assert!(err.contains("block and width"), "{err}");

        let bad = EngineOptions {
            palette: Some("no-such-palette".into()),
            ..Default::default()
        };
        assert!(bad.to_options().unwrap_err().contains("palette"));
    }

    #[test]
    fn unknown_arguments_and_bad_values_are_named() {
        let err = parse::<PixelateParams>(serde_json::json!({"path": "a.png", "sharpen": 2}))
            .unwrap_err();
        assert!(err.contains("unknown field `sharpen`"), "{err}");
        assert!(err.contains("`block`"), "{err}");
        let err = parse::<PixelateParams>(serde_json::json!({"block": "big"})).unwrap_err();
        assert!(
            err.starts_with("failed to deserialize parameters: argument `block`"),
            "{err}"
        );
        let err = parse::<CallParams>(serde_json::json!({"colors": 8})).unwrap_err();
        assert!(err.contains("missing field `url`"), "{err}");
    }

    /// Models often write integers as `8.0`; a whole number is taken, a fraction is not.
    #[test]
    fn integer_arguments_take_whole_floats() {
        let p =
            parse::<PixelateParams>(serde_json::json!({"path": "a.png", "block": 8.0})).unwrap();
        assert_eq!(p.block, Some(8));
        let p = parse::<PixelateParams>(serde_json::json!({"path": "a.png", "max_pixels": 1e6}))
            .unwrap();
        assert_eq!(p.max_pixels, Some(1_000_000));
        for bad in [
            serde_json::json!(8.5),
            serde_json::json!(-1),
            serde_json::json!(1e12),
        ] {
            let err = parse::<PixelateParams>(serde_json::json!({"path": "a.png", "block": bad}))
                .unwrap_err();
            assert!(err.contains("argument `block`"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_palette_description_names_every_built_in_palette() {
        let schema = crate::schema::input::<PixelateParams>();
        let text = serde_json::to_string(&schema).unwrap();
        for palette in engine::palettes::BUILT_IN {
            assert!(
                text.contains(palette.name),
                "{} missing from the schema",
                palette.name
            );
        }
        for field in ["block", "max_pixels", "path"] {
            assert!(schema["properties"].get(field).is_some(), "{field} missing");
        }
        // Every option the engine parses is a tool argument (a new engine option must show up).
        let call = crate::schema::input::<CallParams>();
        for (name, _) in engine::OPTION_NAMES {
            assert!(
                schema["properties"].get(*name).is_some(),
                "pixelate lacks `{name}`"
            );
            assert!(
                call["properties"].get(*name).is_some(),
                "call_service lacks `{name}`"
            );
        }
    }
}

/// Integer arguments that also take a JSON number without a fractional part (`8.0`): language
/// models write those, and JSON Schema's `integer` admits them.
mod whole {
    use serde::de::{Deserialize, Deserializer, Error};

    /// An optional non-negative integer of type `T`, given as `8` or `8.0`.
    pub fn opt<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64>,
    {
        let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
            return Ok(None);
        };
        let whole = match (number.as_u64(), number.as_f64()) {
            (Some(n), _) => n,
            (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0 => {
                f as u64
            }
            _ => {
                return Err(D::Error::custom(format!(
                    "expected a whole number of 0 or more, found {number}"
                )));
            }
        };
        T::try_from(whole)
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{whole} is too large for this argument")))
    }
}
