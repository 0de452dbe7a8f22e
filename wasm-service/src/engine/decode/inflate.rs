//! A zlib/deflate decoder (RFC 1950, RFC 1951) written for the interpreter OSC runs the module
//! in, used by the module's PNG reader.
//!
//! Why not a crate: under an interpreter every executed instruction costs, and the decoders
//! built for native speed execute 90–106 wasm instructions per output byte of a photo's PNG data
//! (wasmtime's fuel on coffee.png's 466 KB of IDAT, one wasm build, opt-level `s`: `fdeflate`
//! 76.5 M, `miniz_oxide` 65.2 M, `zune-inflate` 67.3 M; this decoder 48.2 M); inflating was
//! the largest share of a request. The inner loop is a table lookup and a few shifts a symbol:
//! - a 64-bit bit buffer, kept in locals, refilled 7 bytes at a time (libdeflate's branchless
//!   refill), so one refill check per symbol covers a whole length/distance pair (48 bits);
//! - one 1024-entry table per Huffman code that gives a symbol's meaning and code length in a
//!   single lookup (codes longer than 10 bits, rare by construction, are decoded bit by bit
//!   with puff's canonical decode);
//! - a short match that does not overlap itself is one 8-byte move; longer ones `copy_within`,
//!   overlapping ones in doubling spans.
//!
//! It decodes into a caller's buffer that holds the window (the last 32 KiB) before `at`, and
//! stops before a symbol could overflow it, so the PNG reader streams rows through a bounded
//! buffer. The Adler-32 trailer is not verified, as the `png` crate does not verify it
//! natively: both builds accept the same files (chunk CRCs guard the data).
//! Code sets follow zlib's rules: over-subscribed or incomplete codes are errors, except a
//! single one-bit code; a block may have no distance codes.

/// Why a stream cannot be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The input ends before the final block does.
    Truncated,
    /// Anything else: a bad header, block type, code set, code or distance.
    Corrupt,
}

/// Bits of a code looked up at once; longer codes take the bit-by-bit path.
const TABLE_BITS: u32 = 10;
const TABLE_SIZE: usize = 1 << TABLE_BITS;
/// Room a symbol may need: the longest match.
const MAX_MATCH: usize = 258;

// A table entry: bits 0–3 the code length (0: no code here), 4–7 the extra bits that follow,
// 8–9 the kind, 16–31 the literal byte or the base length/distance.
const LITERAL: u32 = 0;
const BASE: u32 = 1 << 8;
const END_OF_BLOCK: u32 = 2 << 8;
/// No code of up to `TABLE_BITS` bits: a longer code, or none (decided by the slow path).
const LONG: u32 = 3 << 8;
const KIND: u32 = 3 << 8;

/// Length codes 257..=285: base lengths and extra bits (RFC 1951, 3.2.5).
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Distance codes 0..=29: base distances and extra bits (RFC 1951, 3.2.5).
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order code length code lengths are sent in (RFC 1951, 3.2.7).
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// A canonical Huffman code: the lookup table, and what the slow path needs (codes per length,
/// symbols in code order, each symbol's entry).
struct Code {
    table: Box<[u32; TABLE_SIZE]>,
    counts: [u16; 16],
    sorted: Vec<u16>,
    entries: Vec<u32>,
}

impl Code {
    fn empty() -> Self {
        Code {
            table: Box::new([LONG; TABLE_SIZE]),
            counts: [0; 16],
            sorted: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Builds the code for `lengths` (one per symbol, 0: unused), where symbol `s` means
    /// `entry(s)` (kind, extra bits and value; the length is added here).
    fn build(&mut self, lengths: &[u8], entry: impl Fn(usize) -> u32) -> Result<(), InflateError> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let used: u16 = counts.iter().sum();
        // zlib's rules: over-subscribed never; incomplete only as a single one-bit code (or no
        // code at all, which only a distance code may be and which the caller allows).
        let mut left = 1i32;
        for &count in &counts[1..] {
            left = (left << 1) - i32::from(count);
            if left < 0 {
                return Err(InflateError::Corrupt);
            }
        }
        if left > 0 && !(used == 0 || (used == 1 && counts[1] == 1)) {
            return Err(InflateError::Corrupt);
        }
        // Symbols in canonical order, and the first code of each length.
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        self.sorted.clear();
        self.sorted.resize(usize::from(used), 0);
        self.entries.clear();
        self.entries.resize(lengths.len(), 0);
        let mut next_code = [0u32; 16];
        let mut code = 0u32;
        for len in 1..16 {
            code = (code + u32::from(counts[len - 1])) << 1;
            next_code[len] = code;
        }
        self.table.fill(LONG);
        for (symbol, &len) in lengths.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let len = u32::from(len);
            let e = entry(symbol) | len;
            self.entries[symbol] = e;
            let slot = &mut offsets[len as usize];
            self.sorted[usize::from(*slot)] = symbol as u16;
            *slot += 1;
            let code = next_code[len as usize];
            next_code[len as usize] += 1;
            if len <= TABLE_BITS {
                // Deflate sends codes most significant bit first; the buffer is read from its
                // low end, so the table is indexed by the reversed code, every suffix filled.
                let reversed = (code.reverse_bits() >> (32 - len)) as usize;
                for i in (reversed..TABLE_SIZE).step_by(1 << len) {
                    self.table[i] = e;
                }
            }
        }
        self.counts = counts;
        Ok(())
    }

    /// Decodes a code longer than the table's bits (or a missing one) from `bits` (at least 15
    /// valid bits, low first): the entry and its code length, per puff's canonical decode.
    #[cold]
    fn decode_slow(&self, bits: u64) -> Result<u32, InflateError> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= ((bits >> (len - 1)) & 1) as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                let symbol = self.sorted[(index + code - first) as usize];
                return Ok(self.entries[usize::from(symbol)]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(InflateError::Corrupt)
    }

    /// [`Code::decode_slow`], refusing symbols that may have a code but never occur in valid
    /// data (literal/length 286 and 287, distance 30 and 31).
    #[cold]
    fn decode_long(&self, bits: u64) -> Result<u32, InflateError> {
        match self.decode_slow(bits)? {
            e if e & KIND == LONG => Err(InflateError::Corrupt),
            e => Ok(e),
        }
    }
}

fn literal_length_entry(symbol: usize) -> u32 {
    match symbol {
        0..=255 => LITERAL | (symbol as u32) << 16,
        256 => END_OF_BLOCK,
        257..=285 => {
            let i = symbol - 257;
            BASE | u32::from(LENGTH_EXTRA[i]) << 4 | u32::from(LENGTH_BASE[i]) << 16
        }
        // 286 and 287 take part in the fixed code but never occur in valid data.
        _ => LONG,
    }
}

fn distance_entry(symbol: usize) -> u32 {
    match symbol {
        0..=29 => {
            BASE | u32::from(DISTANCE_EXTRA[symbol]) << 4 | u32::from(DISTANCE_BASE[symbol]) << 16
        }
        _ => LONG,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the two-byte zlib header.
    Header,
    /// Before a block header.
    Block,
    /// Inside a stored block: bytes left to copy.
    Stored(usize),
    /// Inside a Huffman-coded block.
    Coded,
    /// After the final block.
    Done,
}

/// A zlib stream being inflated; see the module docs.
pub(crate) struct Inflater<'a> {
    input: &'a [u8],
    /// Next input byte to load into `bitbuf`.
    pos: usize,
    /// Bits not yet consumed, low first. Bits above `bits` may hold the next input bits too.
    bitbuf: u64,
    bits: u32,
    /// Zero bits added past the input's end (consuming any of them means it was cut off).
    padding: u32,
    state: State,
    last_block: bool,
    literal_length: Code,
    distance: Code,
}

impl<'a> Inflater<'a> {
    /// An inflater over a whole zlib stream.
    pub fn new(input: &'a [u8]) -> Self {
        Inflater {
            input,
            pos: 0,
            bitbuf: 0,
            bits: 0,
            padding: 0,
            state: State::Header,
            last_block: false,
            literal_length: Code::empty(),
            distance: Code::empty(),
        }
    }

    /// Whether the final block has been decoded.
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// [`refill`] on the inflater's own bit buffer.
    #[inline(always)]
    fn refill(&mut self) -> Result<(), InflateError> {
        refill(
            self.input,
            &mut self.pos,
            &mut self.bitbuf,
            &mut self.bits,
            &mut self.padding,
        )
    }

    /// Takes `n` (0..=32) bits; the caller has made sure `bits >= n`.
    #[inline(always)]
    fn take(&mut self, n: u32) -> u32 {
        let v = (self.bitbuf & ((1u64 << n) - 1)) as u32;
        self.bitbuf >>= n;
        self.bits -= n;
        v
    }

    /// Takes `n` (at most 32) bits, refilling first.
    fn read_bits(&mut self, n: u32) -> Result<u32, InflateError> {
        if self.bits < n {
            self.refill()?;
        }
        Ok(self.take(n))
    }

    /// Decodes into `out` from `at` (the window, at least the last 32 KiB or everything so far,
    /// is `out[..at]`) until the stream ends or `out` has less than a longest match of room
    /// left; returns the new `at`. Call again with room made to go on.
    pub fn read(&mut self, out: &mut [u8], at: usize) -> Result<usize, InflateError> {
        self.read_blocks(out, at).map_err(|e| {
            // What goes wrong within a symbol's reach (48 bits) of the input's end is the end
            // itself: a cut-off stream, not bad data.
            if self.padding > 0 && self.bits < self.padding + 48 {
                InflateError::Truncated
            } else {
                e
            }
        })
    }

    fn read_blocks(&mut self, out: &mut [u8], mut at: usize) -> Result<usize, InflateError> {
        loop {
            match self.state {
                State::Done => return Ok(at),
                State::Header => {
                    let cmf = self.read_bits(8)?;
                    let flg = self.read_bits(8)?;
                    let dictionary = flg & 0x20 != 0;
                    if cmf & 0x0F != 8 || cmf >> 4 > 7 || (cmf << 8 | flg) % 31 != 0 || dictionary {
                        return Err(InflateError::Corrupt);
                    }
                    self.state = State::Block;
                }
                State::Block => {
                    if self.last_block {
                        self.state = State::Done;
                        return self.finish(at);
                    }
                    let header = self.read_bits(3)?;
                    self.last_block = header & 1 != 0;
                    self.state = match header >> 1 {
                        0 => self.stored_header()?,
                        1 => {
                            self.fixed_codes()?;
                            State::Coded
                        }
                        2 => {
                            self.dynamic_codes()?;
                            State::Coded
                        }
                        _ => return Err(InflateError::Corrupt),
                    };
                }
                State::Stored(left) => {
                    let n = left.min(out.len() - at);
                    let src = self
                        .input
                        .get(self.pos..self.pos + n)
                        .ok_or(InflateError::Truncated)?;
                    out[at..at + n].copy_from_slice(src);
                    self.pos += n;
                    at += n;
                    if n < left {
                        self.state = State::Stored(left - n);
                        return Ok(at);
                    }
                    self.state = State::Block;
                }
                State::Coded => {
                    at = self.coded(out, at)?;
                    if self.state == State::Coded {
                        return Ok(at);
                    }
                }
            }
        }
    }

    /// After the final block: a cut-off stream is an error even when it ended in padding.
    fn finish(&mut self, at: usize) -> Result<usize, InflateError> {
        if self.bits < self.padding {
            return Err(InflateError::Truncated);
        }
        Ok(at)
    }

    /// Reads LEN and NLEN of a stored block from the byte boundary.
    fn stored_header(&mut self) -> Result<State, InflateError> {
        // Drop the partial byte, then give the whole bytes still in the buffer back to the input.
        self.take(self.bits & 7);
        if self.bits < self.padding {
            return Err(InflateError::Truncated);
        }
        self.pos -= ((self.bits - self.padding) / 8) as usize;
        (self.bitbuf, self.bits, self.padding) = (0, 0, 0);
        let header = self
            .input
            .get(self.pos..self.pos + 4)
            .ok_or(InflateError::Truncated)?;
        let len = u16::from_le_bytes([header[0], header[1]]);
        let nlen = u16::from_le_bytes([header[2], header[3]]);
        if len != !nlen {
            return Err(InflateError::Corrupt);
        }
        self.pos += 4;
        Ok(State::Stored(usize::from(len)))
    }

    fn fixed_codes(&mut self) -> Result<(), InflateError> {
        let mut lengths = [0u8; 288 + 32];
        lengths[..144].fill(8);
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        lengths[280..288].fill(8);
        lengths[288..].fill(5);
        self.literal_length
            .build(&lengths[..288], literal_length_entry)?;
        self.distance.build(&lengths[288..], distance_entry)
    }

    fn dynamic_codes(&mut self) -> Result<(), InflateError> {
        let literal_lengths = self.read_bits(5)? as usize + 257;
        let distances = self.read_bits(5)? as usize + 1;
        let code_lengths = self.read_bits(4)? as usize + 4;
        if literal_lengths > 286 || distances > 30 {
            return Err(InflateError::Corrupt);
        }
        let mut order = [0u8; 19];
        for &symbol in &CODE_LENGTH_ORDER[..code_lengths] {
            order[symbol] = self.read_bits(3)? as u8;
        }
        let mut code = Code::empty();
        code.build(&order, |symbol| (symbol as u32) << 16)?;
        let mut lengths = [0u8; 286 + 30];
        let total = literal_lengths + distances;
        let mut i = 0;
        while i < total {
            let symbol = self.symbol(&code)? >> 16;
            let (value, repeat) = match symbol {
                0..=15 => (symbol as u8, 1),
                16 => {
                    let previous = *lengths[..i].last().ok_or(InflateError::Corrupt)?;
                    (previous, 3 + self.read_bits(2)? as usize)
                }
                17 => (0, 3 + self.read_bits(3)? as usize),
                _ => (0, 11 + self.read_bits(7)? as usize),
            };
            if i + repeat > total {
                return Err(InflateError::Corrupt);
            }
            lengths[i..i + repeat].fill(value);
            i += repeat;
        }
        if lengths[256] == 0 {
            // No end-of-block code: the block could never end.
            return Err(InflateError::Corrupt);
        }
        self.literal_length
            .build(&lengths[..literal_lengths], literal_length_entry)?;
        self.distance
            .build(&lengths[literal_lengths..total], distance_entry)
    }

    /// One symbol of `code`: its entry (length in the low bits already consumed).
    #[inline(always)]
    fn symbol(&mut self, code: &Code) -> Result<u32, InflateError> {
        if self.bits < 15 {
            self.refill()?;
        }
        let mut e = code.table[(self.bitbuf as usize) & (TABLE_SIZE - 1)];
        if e & KIND == LONG {
            e = code.decode_long(self.bitbuf)?;
        }
        self.take(e & 15);
        Ok(e)
    }

    /// The body of a Huffman-coded block, until its end or until `out` is nearly full.
    ///
    /// The bit buffer lives in locals here: kept in `self`, every symbol would store it back to
    /// memory, which an interpreter pays for at every step.
    fn coded(&mut self, out: &mut [u8], mut at: usize) -> Result<usize, InflateError> {
        let limit = out.len().saturating_sub(MAX_MATCH);
        let (mut bitbuf, mut bits, mut pos, mut padding) =
            (self.bitbuf, self.bits, self.pos, self.padding);
        let (input, literal_length, distance_code) =
            (self.input, &self.literal_length, &self.distance);
        let mut result = Ok(());
        while at < limit {
            // 48 bits cover a length code with its extra bits and a distance code with its.
            if bits < 48
                && let Err(error) = refill(input, &mut pos, &mut bitbuf, &mut bits, &mut padding)
            {
                result = Err(error);
                break;
            }
            let mut e = literal_length.table[(bitbuf as usize) & (TABLE_SIZE - 1)];
            if e & KIND == LONG {
                match literal_length.decode_long(bitbuf) {
                    Ok(long) => e = long,
                    Err(error) => {
                        result = Err(error);
                        break;
                    }
                }
            }
            let len = e & 15;
            bitbuf >>= len;
            bits -= len;
            if e & KIND == LITERAL {
                out[at] = (e >> 16) as u8;
                at += 1;
                // Photos are mostly literals: up to two more from the table without a refill
                // (33 bits are left, two codes take at most 30) or a room check (`limit`
                // leaves a longest match of room).
                for _ in 0..2 {
                    let e = literal_length.table[(bitbuf as usize) & (TABLE_SIZE - 1)];
                    if e & KIND != LITERAL {
                        break;
                    }
                    let len = e & 15;
                    bitbuf >>= len;
                    bits -= len;
                    out[at] = (e >> 16) as u8;
                    at += 1;
                }
                continue;
            }
            if e & KIND == END_OF_BLOCK {
                self.state = State::Block;
                break;
            }
            let mut length = (e >> 16) as usize;
            // Lengths 3 to 10 (nearly every match in image data) have no extra bits.
            let extra = (e >> 4) & 15;
            if extra != 0 {
                length += (bitbuf as u32 & low_bits(extra)) as usize;
                bitbuf >>= extra;
                bits -= extra;
            }
            let mut d = distance_code.table[(bitbuf as usize) & (TABLE_SIZE - 1)];
            if d & KIND == LONG {
                match distance_code.decode_long(bitbuf) {
                    Ok(long) => d = long,
                    Err(error) => {
                        result = Err(error);
                        break;
                    }
                }
            }
            let (len, extra) = (d & 15, (d >> 4) & 15);
            bitbuf >>= len;
            let distance = (d >> 16) as usize + (bitbuf as u32 & low_bits(extra)) as usize;
            bitbuf >>= extra;
            bits -= len + extra;
            if distance > at {
                result = Err(InflateError::Corrupt);
                break;
            }
            let from = at - distance;
            if length <= 8 && distance >= length {
                // Most matches in filtered image rows are 3 to 8 bytes: one 8-byte move. The
                // bytes past `length` are overwritten by what follows (`limit` leaves room).
                let word: [u8; 8] = out[from..from + 8].try_into().expect("8 bytes");
                out[at..at + 8].copy_from_slice(&word);
            } else {
                copy_match(out, at, distance, length);
            }
            at += length;
        }
        (self.bitbuf, self.bits, self.pos, self.padding) = (bitbuf, bits, pos, padding);
        result?;
        if self.bits < self.padding {
            return Err(InflateError::Truncated);
        }
        Ok(at)
    }
}

/// The low `n` (0..=15) bits set: one table load where computing it takes several operations.
#[inline(always)]
fn low_bits(n: u32) -> u32 {
    const MASKS: [u32; 16] = {
        let mut m = [0; 16];
        let mut n = 0;
        while n < 16 {
            m[n] = (1 << n) - 1;
            n += 1;
        }
        m
    };
    MASKS[n as usize]
}

/// Fills `bitbuf` to at least 56 bits: 8 bytes at a time while the input lasts, then byte by
/// byte, then with zero padding (noted, so reading into it is caught as a cut-off stream).
/// Both the inflater's fields and `coded`'s locals go through it.
#[inline(always)]
fn refill(
    input: &[u8],
    pos: &mut usize,
    bitbuf: &mut u64,
    bits: &mut u32,
    padding: &mut u32,
) -> Result<(), InflateError> {
    if let Some(word) = input.get(*pos..*pos + 8) {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        *bitbuf |= word << *bits;
        *pos += ((63 - *bits) >> 3) as usize;
        *bits |= 56;
        return Ok(());
    }
    refill_at_end(input, pos, bitbuf, bits, padding)
}

/// [`refill`] past the last whole word.
#[cold]
fn refill_at_end(
    input: &[u8],
    pos: &mut usize,
    bitbuf: &mut u64,
    bits: &mut u32,
    padding: &mut u32,
) -> Result<(), InflateError> {
    if *bits < *padding {
        return Err(InflateError::Truncated);
    }
    while *bits <= 56 {
        match input.get(*pos) {
            Some(&byte) => {
                *bitbuf |= u64::from(byte) << *bits;
                *pos += 1;
            }
            None => *padding += 8,
        }
        *bits += 8;
    }
    Ok(())
}

/// Copies `length` bytes from `distance` back to `at`; an overlapping match repeats its span,
/// copied in doubling pieces (a run of one byte is a few copies, not one step per byte).
#[inline(always)]
fn copy_match(out: &mut [u8], at: usize, distance: usize, length: usize) {
    let from = at - distance;
    if distance >= length {
        out.copy_within(from..from + length, at);
        return;
    }
    let mut span = distance;
    let mut done = 0;
    while done < length {
        let n = span.min(length - done);
        out.copy_within(from..from + n, at + done);
        done += n;
        span = at + done - from;
    }
}

/// Inflates a whole zlib stream into at most `limit` bytes (`None` when damaged, cut off or
/// larger).
pub(crate) fn inflate_bounded(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut inflater = Inflater::new(input);
    let mut out = vec![0u8; (input.len() * 4).clamp(MAX_MATCH * 2, limit + MAX_MATCH)];
    let mut at = 0;
    loop {
        at = inflater.read(&mut out, at).ok()?;
        if inflater.done() {
            out.truncate(at);
            return Some(out);
        }
        if at > limit {
            return None;
        }
        let grown = (out.len() * 2).min(limit + MAX_MATCH + 1);
        if grown <= out.len() {
            return None;
        }
        out.resize(grown, 0);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
