//! What the `wasmedge` CLI itself writes to stdout when a module traps, so a trapping module looks
//! locally as it does on OSC (`shared/osc-platform.md` §6).
//!
//! WasmEdge logs through spdlog's default logger, which writes to **stdout** with the pattern
//! `[%Y-%m-%d %H:%M:%S.%e] [%l] %v`. On a trap its interpreter logs the error code, the failing
//! instruction and the function being run, e.g. for `unreachable`:
//!
//! ```text
//! [2026-11-30 10:15:02.114] [error] execution failed: unreachable, Code: 0x40a
//! [2026-11-30 10:15:02.114] [error]     In instruction: unreachable (0x00) , Bytecode offset: 0x00006d86
//! [2026-11-30 10:15:02.114] [error]     When executing function name: "_start"
//! ```
//!
//! The runner sends those lines after whatever the module wrote, so a complete JSON answer
//! followed by a trap arrives with text after it. The codes and texts are WasmEdge's
//! (`include/common/enum.inc`, formatted `"{phase} failed: {text}, Code: 0x{code:03x}"`). Two
//! things this emulation cannot know are approximated: the bytecode offset (the interpreter here
//! does not report it; `0x00000000` is printed) and the instruction of traps other than
//! `unreachable` (that line is left out for them). The timestamp is UTC, as in OSC's containers.

use std::time::{SystemTime, UNIX_EPOCH};

use wasmi::TrapCode;

/// WasmEdge's stdout lines for a trap with `code` (`None`: a failure the interpreter here has no
/// code for), at time `now`, each ending in a line feed.
pub fn trap_lines(code: Option<TrapCode>, now: SystemTime) -> String {
    let stamp = format!("[{}] [error] ", timestamp(now));
    let (phase, text, number) = error_code(code);
    let mut out = format!("{stamp}{phase} failed: {text}, Code: 0x{number:03x}\n");
    if code == Some(TrapCode::UnreachableCodeReached) {
        out.push_str(&format!(
            "{stamp}    In instruction: unreachable (0x00) , Bytecode offset: 0x{:08x}\n",
            0
        ));
    }
    out.push_str(&format!(
        "{stamp}    When executing function name: \"_start\"\n"
    ));
    out
}

/// WasmEdge's phase, message and code for a wasmi trap code.
fn error_code(code: Option<TrapCode>) -> (&'static str, &'static str, u16) {
    let execution = |text, number| ("execution", text, number);
    match code {
        Some(TrapCode::UnreachableCodeReached) => execution("unreachable", 0x040A),
        Some(TrapCode::MemoryOutOfBounds) => execution("out of bounds memory access", 0x0408),
        Some(TrapCode::TableOutOfBounds) => execution("out of bounds table access", 0x0407),
        Some(TrapCode::IndirectCallToNull) => execution("uninitialized element", 0x040B),
        Some(TrapCode::IntegerDivisionByZero) => execution("integer divide by zero", 0x0404),
        Some(TrapCode::IntegerOverflow) => execution("integer overflow", 0x0405),
        Some(TrapCode::BadConversionToInteger) => {
            execution("invalid conversion to integer", 0x0406)
        }
        Some(TrapCode::BadSignature) => execution("indirect call type mismatch", 0x040D),
        _ => ("wasmedge runtime", "generic runtime error", 0x0002),
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in UTC (spdlog's `%Y-%m-%d %H:%M:%S.%e`).
fn timestamp(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rest = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn unreachable_gives_wasmedges_three_lines() {
        // 2026-11-30 10:15:02.114 UTC
        let at = UNIX_EPOCH + Duration::from_millis(1_796_033_702_114);
        assert_eq!(
            trap_lines(Some(TrapCode::UnreachableCodeReached), at),
            "[2026-11-30 10:15:02.114] [error] execution failed: unreachable, Code: 0x40a\n\
             [2026-11-30 10:15:02.114] [error]     In instruction: unreachable (0x00) , Bytecode offset: 0x00000000\n\
             [2026-11-30 10:15:02.114] [error]     When executing function name: \"_start\"\n"
        );
    }

    #[test]
    fn other_traps_name_wasmedges_error() {
        let text = trap_lines(Some(TrapCode::MemoryOutOfBounds), UNIX_EPOCH);
        assert!(text.starts_with(
            "[1970-01-01 00:00:00.000] [error] execution failed: out of bounds memory access, Code: 0x408\n"
        ));
        assert_eq!(text.lines().count(), 2);
        assert!(trap_lines(None, UNIX_EPOCH).contains("generic runtime error, Code: 0x002"));
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_787), (2026, 11, 30));
    }
}
