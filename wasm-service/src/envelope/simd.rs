//! wasm SIMD helpers for the module's readers of long request bodies (built with `+simd128`).
//!
//! OSC's runner interprets the module: one dispatch per instruction whether it moves 4 bytes or
//! 16, so scanning a body a vector at a time costs a fraction of a scalar loop.

use core::arch::wasm32::{i64x2, u8x16_eq, u8x16_lt, u8x16_splat, v128, v128_any_true, v128_or};

/// Sixteen bytes as a vector (two 8-byte loads: no `unsafe` pointer load needed).
pub(crate) fn load(block: &[u8; 16]) -> v128 {
    let (first, second) = block.as_chunks::<8>().0.split_at(1);
    i64x2(i64::from_le_bytes(first[0]), i64::from_le_bytes(second[0]))
}

/// The length of the longest prefix of `bytes` made of whole 16-byte blocks holding no `"`, `\`
/// or control character (below 0x20): the bytes that end a plain run inside a JSON string.
pub(crate) fn plain_json_blocks(bytes: &[u8]) -> usize {
    let (quote, backslash, space) = (u8x16_splat(b'"'), u8x16_splat(b'\\'), u8x16_splat(0x20));
    let (blocks, _) = bytes.as_chunks::<16>();
    let plain = blocks.iter().take_while(|block| {
        let v = load(block);
        let stops = v128_or(
            v128_or(u8x16_eq(v, quote), u8x16_eq(v, backslash)),
            u8x16_lt(v, space),
        );
        !v128_any_true(stops)
    });
    plain.count() * 16
}
