//! Properties of the wire format that tables can't cover.

use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use discos_acceptance::protocol::{Code, Kind, LineCodec, Message, parse};

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,20}"
}

/// Any latin-1 text but a line feed, which the grammar cannot carry.
fn argument() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            // Weight the characters that need escaping or could confuse a parser.
            3 => prop::sample::select(vec!['\\', ',', '\t', '\r', ' ', '?', '!', '\0']),
            5 => (0u8..=255).prop_filter("no line feed", |b| *b != b'\n').prop_map(char::from),
        ],
        0..30,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn message() -> impl Strategy<Value = Message> {
    let kind = prop_oneof![
        Just(Kind::Request),
        Just(Kind::Reply(Code::Ok)),
        Just(Kind::Reply(Code::Fail)),
        Just(Kind::Reply(Code::Invalid)),
    ];
    (kind, name(), prop::collection::vec(argument(), 0..8)).prop_map(|(kind, name, arguments)| {
        Message {
            kind,
            name,
            arguments,
        }
    })
}

proptest! {
    #[test]
    fn parse_inverts_serialise(message in message()) {
        prop_assert_eq!(parse(&message.to_bytes()), Ok(message));
    }

    #[test]
    fn the_codec_frames_what_serialise_writes(messages in prop::collection::vec(message(), 1..10), split in 0usize..1000) {
        let mut wire = BytesMut::new();
        for message in &messages {
            message.write_to(&mut wire);
        }
        // Deliver the bytes in two reads, cut anywhere.
        let split = split.min(wire.len());
        let mut codec = LineCodec::default();
        let mut buf = BytesMut::from(&wire[..split]);
        let mut decoded = Vec::new();
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            decoded.push(frame.unwrap());
        }
        buf.extend_from_slice(&wire[split..]);
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            decoded.push(frame.unwrap());
        }
        prop_assert_eq!(decoded, messages);
    }

    #[test]
    fn no_bytes_make_the_codec_panic_or_hoard(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20)) {
        let mut codec = LineCodec::new(64);
        let mut buf = BytesMut::new();
        for chunk in chunks {
            buf.extend_from_slice(&chunk);
            while codec.decode(&mut buf).unwrap().is_some() {}
            // A pending line never exceeds the limit plus a CR and one read.
            prop_assert!(buf.len() <= 64 + 1);
        }
        while codec.decode_eof(&mut buf).unwrap().is_some() {}
        prop_assert!(buf.is_empty());
    }
}
