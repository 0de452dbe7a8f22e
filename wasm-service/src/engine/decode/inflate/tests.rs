use super::*;

/// Deterministic test data of several kinds a PNG's filtered rows resemble.
fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let random: Vec<u8> = (0..70_000).map(|_| next() as u8).collect();
    // Skewed so rare bytes get codes longer than the table's 10 bits.
    let skewed: Vec<u8> = (0..200_000)
        .map(|_| (next() | 1).trailing_zeros() as u8 * 7 + (next() % 2) as u8)
        .collect();
    let photo_like: Vec<u8> = (0..150_000u32)
        .map(|i| ((i % 1800) / 7 + (i / 1800) * 3 + (i.wrapping_mul(2_654_435_761) >> 29)) as u8)
        .collect();
    let runs: Vec<u8> = (0..100_000u32).map(|i| (i / 997 % 3) as u8).collect();
    let text = b"the quick brown fox jumps over the lazy dog; ".repeat(2000);
    vec![
        ("empty", Vec::new()),
        ("one byte", vec![42]),
        ("random", random),
        ("skewed", skewed),
        ("photo-like", photo_like),
        ("runs", runs),
        ("text", text),
    ]
}

/// zlib streams of `data` from two encoders at every level, and with fixed codes only.
fn streams(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = (0..=10)
        .map(|level| {
            (
                format!("miniz level {level}"),
                miniz_oxide::deflate::compress_to_vec_zlib(data, level),
            )
        })
        .collect();
    out.push(("fdeflate".into(), fdeflate::compress_to_vec(data)));
    let mut fixed = miniz_oxide::deflate::core::CompressorOxide::new(
        miniz_oxide::deflate::core::create_comp_flags_from_zip_params(6, 15, 0)
            | miniz_oxide::deflate::core::deflate_flags::TDEFL_FORCE_ALL_STATIC_BLOCKS,
    );
    let mut compressed = vec![0u8; data.len() * 2 + 1024];
    let (status, _, written) = miniz_oxide::deflate::core::compress(
        &mut fixed,
        data,
        &mut compressed,
        miniz_oxide::deflate::core::TDEFLFlush::Finish,
    );
    assert_eq!(status, miniz_oxide::deflate::core::TDEFLStatus::Done);
    compressed.truncate(written);
    out.push(("miniz fixed codes".into(), compressed));
    out
}

/// Inflates as the PNG reader does: a bounded buffer whose consumed part is dropped while the
/// last 32 KiB stay as the window.
fn streamed(input: &[u8], room: usize) -> Result<Vec<u8>, InflateError> {
    let mut inflater = Inflater::new(input);
    let mut buf = vec![0u8; room + MAX_MATCH + 1];
    let (mut at, mut handed) = (0, 0);
    let mut out = Vec::new();
    loop {
        let before = at;
        at = inflater.read(&mut buf, at)?;
        out.extend_from_slice(&buf[handed..at]);
        handed = at;
        if inflater.done() {
            return Ok(out);
        }
        if at == before && at < buf.len() - MAX_MATCH - 1 {
            panic!("no progress with room left");
        }
        let keep = at.saturating_sub(32 << 10);
        buf.copy_within(keep..at, 0);
        at -= keep;
        handed -= keep;
        if buf.len() - at < MAX_MATCH + 1 {
            buf.resize(at + room + MAX_MATCH + 1, 0);
        }
    }
}

#[test]
fn inflates_every_encoder_and_level_exactly_as_miniz_oxide_does() {
    let mut checked = 0;
    for (kind, data) in samples() {
        for (encoder, stream) in streams(&data) {
            let want = miniz_oxide::inflate::decompress_to_vec_zlib(&stream).unwrap();
            assert_eq!(want, data, "{kind} {encoder}: the reference round trip");
            let whole = inflate_bounded(&stream, 1 << 24).expect("inflates");
            assert!(whole == data, "{kind} {encoder}: whole");
            for room in [300, 40_000] {
                let got = streamed(&stream, room).unwrap();
                assert!(got == data, "{kind} {encoder}: streamed with room {room}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 80, "{checked}");
}

#[test]
fn a_cut_off_stream_is_truncated_not_corrupt_or_short() {
    let data = &samples()[4].1[..20_000];
    for (encoder, stream) in streams(data) {
        // The last four bytes are the Adler-32 trailer, which is not read.
        for cut in (0..stream.len() - 4).step_by(97) {
            assert_eq!(
                streamed(&stream[..cut], 5000).unwrap_err(),
                InflateError::Truncated,
                "{encoder} cut at {cut} of {}",
                stream.len()
            );
        }
    }
}

#[test]
fn damaged_streams_fail_or_decode_without_panicking() {
    let data = &samples()[4].1[..30_000];
    let stream = miniz_oxide::deflate::compress_to_vec_zlib(data, 6);
    let mut seed = 7u32;
    for _ in 0..3000 {
        let mut damaged = stream.clone();
        for _ in 0..1 + seed % 3 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let at = 2 + (seed >> 8) as usize % (damaged.len() - 2);
            damaged[at] ^= 1 << (seed % 8);
        }
        let _ = streamed(&damaged, 2000);
        let _ = inflate_bounded(&damaged, 1 << 20);
    }
}

#[test]
fn bad_headers_block_types_and_distances_are_corrupt() {
    let good = miniz_oxide::deflate::compress_to_vec_zlib(b"hello hello hello", 6);
    let mut not_deflate = good.clone();
    not_deflate[0] = 0x79; // compression method 9
    let mut dictionary = good.clone();
    dictionary[1] |= 0x20;
    // A final block of the reserved type 3.
    // (Zero bytes follow, so the decision is not made within reach of the input's end.)
    let reserved = [&[0x78, 0x9C, 0b0000_0111][..], &[0; 16]].concat();
    // A fixed block whose first symbol is a match: a distance before the start.
    let too_far = [&[0x78, 0x9C, 0b0000_0011, 0b0000_0010][..], &[0; 16]].concat();
    for (what, stream) in [
        ("method", not_deflate),
        ("dictionary", dictionary),
        ("reserved block", reserved),
        ("distance", too_far),
    ] {
        assert_eq!(
            streamed(&stream, 1000).unwrap_err(),
            InflateError::Corrupt,
            "{what}"
        );
    }
}

#[test]
fn the_bound_is_kept() {
    let stream = miniz_oxide::deflate::compress_to_vec_zlib(&[0u8; 100_000], 6);
    assert_eq!(inflate_bounded(&stream, 100_000).unwrap().len(), 100_000);
    assert!(inflate_bounded(&stream, 99_999).is_none());
}
