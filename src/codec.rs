//! The one place that turns protocol values into bytes and back.
//!
//! Everything a peer sends is decoded here, with an allocation limit (bincode 2's standard
//! configuration has none: a tiny frame with a huge length prefix would abort the process)
//! and no trailing bytes accepted.

use serde::{Serialize, de::DeserializeOwned};
use thiserror::Error;

/// The largest frame either side accepts, header excluded.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// bincode's standard (varint) encoding, limited so a decode can never allocate more than a
/// frame could hold.
const CONFIG: bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_FRAME_LEN>,
> = bincode::config::standard().with_limit::<MAX_FRAME_LEN>();

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("message too large to send ({0} bytes, limit {MAX_FRAME_LEN})")]
    TooLarge(usize),
    #[error("could not encode message: {0}")]
    Encode(String),
    #[error("undecodable message: {0}")]
    Decode(String),
    #[error("{0} unexpected trailing bytes after the message")]
    TrailingBytes(usize),
}

/// Encodes a message into one frame's payload.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let bytes =
        bincode::serde::encode_to_vec(value, CONFIG).map_err(|e| CodecError::Encode(e.to_string()))?;
    if bytes.len() > MAX_FRAME_LEN {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Decodes one frame's payload; the whole payload must be exactly one message.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, read) = decode_prefix(bytes)?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - read));
    }
    Ok(value)
}

/// Decodes a message from the start of `bytes`, returning it and how many bytes it used (the
/// rest is not looked at). For a frame read in parts: the tag in front of every message (the
/// body is decoded by its type's hooks), and the version at the start of a handshake that may
/// come from a newer client, whose body this build might not read.
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), CodecError> {
    if bytes.len() > MAX_FRAME_LEN {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    bincode::serde::decode_from_slice(bytes, CONFIG).map_err(|e| CodecError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Sample {
        Text(String),
        Points(Vec<(i16, i16)>),
        Flag(bool),
    }

    #[test]
    fn round_trips() {
        for value in [
            Sample::Text("안녕하세요 hello".into()),
            Sample::Points(vec![(1, -2), (300, 4000)]),
            Sample::Flag(true),
        ] {
            let bytes = encode(&value).unwrap();
            assert_eq!(decode::<Sample>(&bytes).unwrap(), value);
        }
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = encode(&Sample::Flag(false)).unwrap();
        bytes.push(0);
        assert_eq!(decode::<Sample>(&bytes), Err(CodecError::TrailingBytes(1)));
    }

    #[test]
    fn length_bomb_in_a_tiny_frame_is_an_error_not_an_abort() {
        // Variant 0 (Text), then a varint string length of u64::MAX (0xFD marker + u64).
        let bomb = [0u8, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(matches!(decode::<Sample>(&bomb), Err(CodecError::Decode(_))));
        // A vec length of 2^32 (0xFD marker + u64).
        let bomb = [1u8, 0xFD, 0, 0, 0, 0, 1, 0, 0, 0];
        assert!(matches!(decode::<Sample>(&bomb), Err(CodecError::Decode(_))));
    }

    #[test]
    fn rejects_bad_tags_bools_and_utf8() {
        assert!(decode::<Sample>(&[7]).is_err(), "unknown enum tag");
        assert!(decode::<Sample>(&[2, 2]).is_err(), "bool byte 2");
        assert!(decode::<Sample>(&[0, 2, 0xC3, 0x28]).is_err(), "invalid UTF-8");
        assert!(decode::<Sample>(&[]).is_err(), "empty payload");
    }

    #[test]
    fn refuses_to_encode_oversize_messages() {
        let big = Sample::Text("x".repeat(MAX_FRAME_LEN + 1));
        assert!(matches!(encode(&big), Err(CodecError::TooLarge(_))));
    }

    #[test]
    fn random_and_mutated_bytes_never_panic_and_what_decodes_round_trips() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let valid: Vec<Vec<u8>> = [
            Sample::Text("안녕하세요 hello".into()),
            Sample::Points(vec![(1, -2), (300, 4000), (-7, 9)]),
            Sample::Flag(true),
        ]
        .iter()
        .map(|s| encode(s).unwrap())
        .collect();
        let mut decoded = 0;
        for i in 0..20_000 {
            // Half pure noise, half a valid message with one byte changed (these decode often).
            let bytes: Vec<u8> = if i % 2 == 0 {
                let len = rng.random_range(0..64);
                (0..len).map(|_| rng.random()).collect()
            } else {
                let mut bytes = valid[i % valid.len()].clone();
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
                bytes
            };
            if let Ok(value) = decode::<Sample>(&bytes) {
                decoded += 1;
                let again = encode(&value).expect("a decoded value encodes");
                assert_eq!(decode::<Sample>(&again), Ok(value), "from {bytes:?}");
            }
        }
        assert!(
            decoded > 2_000,
            "the random inputs reach the decoder's success path ({decoded})"
        );
    }
}
