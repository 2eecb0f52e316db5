//! Bytes ↔ text as latin-1, the wire's text encoding.
//!
//! Latin-1 maps every byte to the character with the same number, so decoding
//! never fails: a backend that sends a stray non-UTF-8 byte is still heard.

use std::fmt;

/// Decodes bytes as latin-1; the common all-ASCII case is a plain copy.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if bytes.is_ascii() => text.to_owned(),
        _ => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Encodes text as latin-1, refusing a character the wire cannot carry.
///
/// Text typed by a person (in a feature file, the console, the command line)
/// may hold characters beyond latin-1; naming the first one beats sending
/// bytes the backend would read as something else.
pub fn encode(text: &str) -> Result<Vec<u8>, NotLatin1> {
    text.chars()
        .enumerate()
        .map(|(column, c)| {
            u8::try_from(u32::from(c)).map_err(|_| NotLatin1 {
                character: c,
                column: column + 1,
            })
        })
        .collect()
}

/// A character that has no single-byte latin-1 form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLatin1 {
    /// The offending character.
    pub character: char,
    /// Its position in the text, counting characters from 1.
    pub column: usize,
}

impl fmt::Display for NotLatin1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "character {:?} (U+{:04X}) at column {} is not latin-1, the protocol's byte encoding",
            self.character, self.character as u32, self.column
        )
    }
}

impl std::error::Error for NotLatin1 {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(encode(&decode(&all)).unwrap(), all);
    }

    #[test]
    fn characters_beyond_latin1_are_named() {
        let err = encode("ab\u{20ac}").unwrap_err();
        assert_eq!(err.column, 3);
        assert!(err.to_string().contains("U+20AC"), "{err}");
    }
}
