//! Kinesis sequence numbers: decimal integers too long for any machine integer.

use std::cmp::Ordering;

use crate::{Result, StateError};

/// Validates a sequence number (non-empty, ASCII digits only) and returns it without
/// leading zeros (`"0"` for zero).
pub(crate) fn normalise(sequence: &str) -> Result<&str> {
    if sequence.is_empty() || !sequence.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StateError::InvalidSequence(sequence.to_owned()));
    }
    let trimmed = sequence.trim_start_matches('0');
    Ok(if trimmed.is_empty() { "0" } else { trimmed })
}

/// Compares two sequence numbers as decimal integers of any length.
pub fn compare_sequence_numbers(a: &str, b: &str) -> Result<Ordering> {
    let (a, b) = (normalise(a)?, normalise(b)?);
    Ok(a.len().cmp(&b.len()).then_with(|| a.cmp(b)))
}

/// Whether `new` moves a checkpoint currently at `stored`.
pub(crate) fn moves(stored: Option<&str>, new: &str) -> Result<bool> {
    normalise(new)?;
    Ok(match stored {
        None => true,
        Some(stored) => compare_sequence_numbers(new, stored)? == Ordering::Greater,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_as_big_integers() {
        let seq = "49590338271490256608559692538361571095921575989136588898";
        let next = "49590338271490256608559692538361571095921575989136588899";
        assert_eq!(compare_sequence_numbers(seq, next).unwrap(), Ordering::Less);
        assert_eq!(compare_sequence_numbers("9", "10").unwrap(), Ordering::Less);
        assert_eq!(
            compare_sequence_numbers("0010", "10").unwrap(),
            Ordering::Equal
        );
        assert_eq!(
            compare_sequence_numbers("0", "000").unwrap(),
            Ordering::Equal
        );
        assert!(compare_sequence_numbers("", "1").is_err());
        assert!(compare_sequence_numbers("12a", "1").is_err());
        assert!(compare_sequence_numbers("-1", "1").is_err());
    }
}
