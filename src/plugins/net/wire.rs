//! What the network layer itself puts on the wire, and the registry of the plugins' message
//! types.
//!
//! A frame's payload is a varint tag followed by one bincode value. Tags below
//! [`FIRST_TAG`] are the layer's own control frames (handshake, ping, leave, closing); each
//! plugin registers its message types ([`WireMessage`]) and they get the following tags in
//! registration order. The handshake carries a fingerprint of every registered type's wire name
//! and version, so two builds that registered differently refuse each other.

use std::any::Any;
use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use thiserror::Error;

use crate::codec::{self, CodecError, MAX_FRAME_LEN};

/// Bumped when the layer's own framing or control frames change. 6: `Refusal::BuildMismatch`;
/// 7: `CloseReason::Kicked`.
pub const PROTOCOL_VERSION: u16 = 7;

/// The first protocol whose clients read [`Refusal::BuildMismatch`]; older ones are refused
/// with `VersionMismatch`, which every protocol reads.
pub const FIRST_WITH_BUILD_MISMATCH: u16 = 6;

/// The first tag a registered message type gets; the ones below are control frames.
pub const FIRST_TAG: u32 = 8;

/// A type that travels on the wire. Its `NAME` is stable across builds; bump `VERSION` when
/// its encoded layout changes (a test compares every type's layout with a snapshot).
pub trait WireMessage: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static {
    const NAME: &'static str;
    const VERSION: u16;
}

/// The client's control frames. `Hello` must stay variant 0 with `version` first, so a server
/// can read the version of any past or future client and say what went wrong.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ClientControl {
    Hello {
        version: u16,
        fingerprint: u64,
    },
    Ping,
    /// Leaving on purpose (so the others see "left", not "lost connection").
    Leave,
}

/// The server's control frames.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ServerControl {
    Ping,
    /// The last frame before the server closes the connection.
    Closing(CloseReason),
    /// The handshake was accepted: the plugins' messages may flow.
    Ready,
}

/// Why the server is closing a connection. `Refused` stays variant 0 and `VersionMismatch`
/// variant 0 inside it, as in protocol 2, so older clients still read why they cannot join.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Error)]
pub enum CloseReason {
    #[error("{0}")]
    Refused(Refusal),
    #[error("the server was stopped")]
    ServerShutdown,
    #[error("no message for too long (timed out)")]
    TimedOut,
    #[error("not reading fast enough (send queue full)")]
    TooSlow,
    #[error("sending too many messages")]
    Flooding,
    #[error("protocol violation: {0}")]
    ProtocolViolation(Violation),
    /// A dedicated server is restarting (stopped by its service manager after a drain): the
    /// seats died with the process, so a reconnect token is no use; join again by hand.
    #[error("the server is restarting")]
    ServerRestarting,
    /// The game removed the player from its room (a moderation decision, whose own message,
    /// saying who decided, came just before). Not a refusal at the door: the player was in.
    #[error("removed from the room")]
    Kicked,
}

/// Why a connection was turned away at the door.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The protocol versions differ, or (same version) the registered messages do.
    #[error("{}", version_mismatch(*.server, *.client))]
    VersionMismatch { server: u16, client: u16 },
    #[error("the server is full")]
    ServerFull,
    /// The game refused the player; its own message with the reason came just before.
    #[error("refused by the game")]
    ByTheGame,
    #[error("too many connections from your address; try again in a minute")]
    TooManyFromAddress,
    /// The server is finishing its games before it stops or restarts.
    #[error("the server is restarting; try again in a minute")]
    Draining,
    /// Another build (another protocol, or the same protocol with other messages), with the
    /// server's build, for a client of protocol 6 or later (variants stay in this order).
    #[error(
        "version mismatch: this server runs {server_build} (protocol {server}), the client protocol {client}"
    )]
    BuildMismatch {
        server: u16,
        client: u16,
        server_build: String,
    },
}

impl Refusal {
    /// The refusal of a client of protocol `client` (or of its messages) by this build: with
    /// this build named, when the client can read it.
    pub fn mismatch(client: u16) -> Self {
        if client >= FIRST_WITH_BUILD_MISMATCH {
            Refusal::BuildMismatch {
                server: PROTOCOL_VERSION,
                client,
                server_build: crate::version::BUILD.to_owned(),
            }
        } else {
            Refusal::VersionMismatch {
                server: PROTOCOL_VERSION,
                client,
            }
        }
    }
}

impl CloseReason {
    /// The connection was turned away at the door rather than cut off later.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Refused(_))
    }
}

fn version_mismatch(server: u16, client: u16) -> String {
    if server == client {
        format!("version mismatch: the server and this game speak protocol {server} with different messages")
    } else {
        format!("version mismatch: the server speaks protocol {server}, this game speaks {client}")
    }
}

/// How a peer broke the protocol.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum Violation {
    #[error("frame larger than {max} bytes")]
    FrameTooLarge { max: u32 },
    #[error("undecodable message")]
    Undecodable,
    #[error("unknown message type {0}")]
    UnknownTag(u32),
    #[error("expected a handshake first")]
    ExpectedHandshake,
    #[error("handshake sent twice")]
    HandshakeTwice,
    #[error("message not allowed now")]
    Unexpected,
}

impl Violation {
    pub fn frame_too_large() -> Self {
        Self::FrameTooLarge {
            max: MAX_FRAME_LEN as u32,
        }
    }
}

/// Why a connection ended, as told to the others in its room.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    Left,
    ConnectionLost,
    TimedOut,
    /// The server closed it, and why.
    Closed(CloseReason),
    ServerStopped,
}

impl fmt::Display for LeaveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaveReason::Left => f.write_str("left"),
            LeaveReason::ConnectionLost => f.write_str("lost connection"),
            LeaveReason::TimedOut => f.write_str("timed out"),
            LeaveReason::Closed(why) => write!(f, "was disconnected: {why}"),
            LeaveReason::ServerStopped => f.write_str("server stopped"),
        }
    }
}

impl From<&CloseReason> for LeaveReason {
    fn from(reason: &CloseReason) -> Self {
        match reason {
            CloseReason::ServerShutdown | CloseReason::ServerRestarting => LeaveReason::ServerStopped,
            CloseReason::TimedOut => LeaveReason::TimedOut,
            other => LeaveReason::Closed(other.clone()),
        }
    }
}

/// A decoded payload whose type only its registration knows.
pub(crate) type AnyMessage = Box<dyn Any + Send>;

/// Decodes one registered type's payload.
pub(crate) type Decoder = fn(&[u8]) -> Result<AnyMessage, CodecError>;

fn decode_any<T: WireMessage>(bytes: &[u8]) -> Result<AnyMessage, CodecError> {
    Ok(Box::new(codec::decode::<T>(bytes)?))
}

/// One registered type in one direction.
pub(crate) struct Registered<F> {
    pub(crate) name: &'static str,
    pub(crate) version: u16,
    pub(crate) decode: Decoder,
    /// What the ECS side does with this type (deliver or flush), set by the registering side.
    pub(crate) hook: F,
    /// Traces the type's layout, for the schema snapshot test; `nested` names the enums inside
    /// it whose variants are still to be explored.
    #[cfg(test)]
    pub(crate) trace: fn(&mut serde_reflection::Tracer, nested: &[String]) -> serde_reflection::Result<()>,
}

impl<F> Registered<F> {
    pub(crate) fn new<T: WireMessage>(hook: F) -> Self {
        Self {
            name: T::NAME,
            version: T::VERSION,
            decode: decode_any::<T>,
            hook,
            #[cfg(test)]
            // Each pass also takes the next unseen variant of every nested enum named.
            trace: |tracer, nested| {
                for _ in 0..64 {
                    tracer.trace_simple_type::<T>()?;
                    for name in nested {
                        tracer.check_incomplete_enum(name);
                    }
                }
                Ok(())
            },
        }
    }
}

/// Encodes a registered message under its tag.
pub(crate) fn encode_tagged<T: Serialize>(tag: u32, msg: &T) -> Result<Bytes, CodecError> {
    codec::encode(&(tag, msg)).map(Bytes::from)
}

/// Encodes a control frame (its variant index is its tag).
pub(crate) fn encode_control<T: Serialize>(msg: &T) -> Bytes {
    // Control frames are small and built by this layer.
    Bytes::from(codec::encode(msg).expect("control frames fit in a frame"))
}

/// What one frame holds, before the ECS side dispatches it.
pub(crate) enum Frame<C> {
    Control(C),
    Message { tag: u32, msg: AnyMessage },
}

/// Decodes a frame with the decoders of the direction it travels in.
pub(crate) fn decode_frame<C: DeserializeOwned>(
    bytes: &[u8],
    decoders: &[Decoder],
) -> Result<Frame<C>, Violation> {
    let (tag, used) = codec::decode_prefix::<u32>(bytes).map_err(|_| Violation::Undecodable)?;
    if tag < FIRST_TAG {
        return codec::decode::<C>(bytes)
            .map(Frame::Control)
            .map_err(|_| Violation::Undecodable);
    }
    let decode = decoders
        .get((tag - FIRST_TAG) as usize)
        .ok_or(Violation::UnknownTag(tag))?;
    let msg = decode(&bytes[used..]).map_err(|_| Violation::Undecodable)?;
    Ok(Frame::Message { tag, msg })
}

/// The 64-bit FNV-1a hash's starting value.
pub(crate) const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Continues a 64-bit FNV-1a hash over `bytes`.
pub(crate) fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A 64-bit FNV-1a hash over each registered type's direction, name and version, in order.
pub(crate) fn fingerprint<'a>(types: impl Iterator<Item = (char, &'a str, u16)>) -> u64 {
    let mut hash = FNV_START;
    let mut feed = |bytes: &[u8]| hash = fnv1a(hash, bytes);
    for (direction, name, version) in types {
        feed(&[direction as u8]);
        feed(name.as_bytes());
        feed(&version.to_le_bytes());
        feed(b";");
    }
    hash
}

impl crate::i18n::Describe for CloseReason {
    fn describe(&self) -> String {
        match self {
            CloseReason::Refused(why) => why.describe(),
            CloseReason::ServerShutdown => crate::t!("err-close-shutdown"),
            CloseReason::TimedOut => crate::t!("err-close-timed-out"),
            CloseReason::TooSlow => crate::t!("err-close-too-slow"),
            CloseReason::Flooding => crate::t!("err-close-flooding"),
            CloseReason::ProtocolViolation(v) => crate::t!("err-close-violation", what = v.to_string()),
            CloseReason::ServerRestarting => crate::t!("err-close-restarting"),
            CloseReason::Kicked => crate::t!("err-close-kicked"),
        }
    }
}

impl crate::i18n::Describe for Refusal {
    fn describe(&self) -> String {
        match self {
            Refusal::VersionMismatch { server, client } if server == client => {
                crate::t!(
                    "err-refused-fingerprint",
                    server = *server,
                    client = crate::version::BUILD
                )
            }
            Refusal::VersionMismatch { server, .. } => {
                crate::t!(
                    "err-refused-version",
                    server = *server,
                    client = crate::version::BUILD
                )
            }
            Refusal::BuildMismatch { server_build, .. } => crate::t!(
                "err-refused-build",
                server = crate::version::shown(server_build),
                client = crate::version::BUILD
            ),
            Refusal::ServerFull => crate::t!("err-refused-full"),
            Refusal::ByTheGame => crate::t!("err-refused-by-game"),
            Refusal::TooManyFromAddress => crate::t!("err-refused-address"),
            Refusal::Draining => crate::t!("err-refused-draining"),
        }
    }
}

impl crate::i18n::Describe for LeaveReason {
    fn describe(&self) -> String {
        match self {
            LeaveReason::Left => crate::t!("leave-left"),
            LeaveReason::ConnectionLost => crate::t!("leave-lost"),
            LeaveReason::TimedOut => crate::t!("leave-timed-out"),
            LeaveReason::Closed(why) => crate::t!("leave-closed", why = why.describe()),
            LeaveReason::ServerStopped => crate::t!("leave-server-stopped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod receive_path {
        use std::sync::OnceLock;

        use bytes::BytesMut;
        use proptest::prelude::*;
        use tokio_util::codec::Decoder as _;

        use super::*;

        /// The decoders of every type clients send, as the game registers them.
        fn decoders() -> &'static [Decoder] {
            static DECODERS: OnceLock<Vec<Decoder>> = OnceLock::new();
            DECODERS.get_or_init(|| {
                let app = crate::app::headless_client_app();
                let registry = app.world().resource::<crate::plugins::net::WireRegistry>();
                registry.to_server.iter().map(|r| r.decode).collect()
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Any bytes: a frame of some kind or a violation, never a panic.
            #[test]
            fn any_payload_decodes_or_is_a_violation(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
                let _ = decode_frame::<ClientControl>(&bytes, decoders());
            }

            /// A valid tag with any body reaches each registered decoder.
            #[test]
            fn any_body_under_a_registered_tag_decodes_or_is_a_violation(
                offset in 0u32..12,
                body in prop::collection::vec(any::<u8>(), 0..600),
            ) {
                let mut bytes = codec::encode(&(FIRST_TAG + offset)).unwrap();
                bytes.extend_from_slice(&body);
                match decode_frame::<ClientControl>(&bytes, decoders()) {
                    Ok(Frame::Message { tag, .. }) => prop_assert_eq!(tag, FIRST_TAG + offset),
                    Ok(Frame::Control(_)) => prop_assert!(false, "a tag past the controls"),
                    Err(_) => {}
                }
            }

            /// Any byte stream through the frame codec: frames within the cap, or an error.
            #[test]
            fn any_stream_frames_within_the_cap(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8)) {
                let mut codec = crate::plugins::net::frame_codec();
                let mut buffer = BytesMut::new();
                for chunk in chunks {
                    buffer.extend_from_slice(&chunk);
                    while let Ok(Some(frame)) = codec.decode(&mut buffer) {
                        prop_assert!(frame.len() <= crate::codec::MAX_FRAME_LEN);
                    }
                }
            }
        }
    }

    #[test]
    fn hello_version_is_readable_as_a_prefix() {
        let hello = ClientControl::Hello {
            version: 9,
            fingerprint: 1,
        };
        let bytes = codec::encode(&hello).unwrap();
        let ((tag, version), _) = codec::decode_prefix::<(u32, u16)>(&bytes).unwrap();
        assert_eq!((tag, version), (0, 9));
    }

    #[test]
    fn control_frames_round_trip_and_stay_below_the_first_tag() {
        let msgs = [
            ServerControl::Ping,
            ServerControl::Closing(CloseReason::ProtocolViolation(Violation::frame_too_large())),
            ServerControl::Closing(CloseReason::Refused(Refusal::VersionMismatch {
                server: 3,
                client: 2,
            })),
        ];
        for msg in msgs {
            let bytes = encode_control(&msg);
            match decode_frame::<ServerControl>(&bytes, &[]) {
                Ok(Frame::Control(back)) => assert_eq!(back, msg),
                _ => panic!("not a control frame: {msg:?}"),
            }
        }
    }

    #[test]
    fn a_refused_client_is_told_both_builds_in_a_form_it_reads() {
        use crate::i18n::Describe;
        let Refusal::BuildMismatch { server_build, .. } = Refusal::mismatch(PROTOCOL_VERSION) else {
            panic!("a client of this protocol reads the build")
        };
        assert_eq!(server_build, crate::version::BUILD);
        assert!(matches!(
            Refusal::mismatch(5),
            Refusal::VersionMismatch {
                server: PROTOCOL_VERSION,
                client: 5
            }
        ));
        let en = |refusal: Refusal| crate::i18n::in_lang(crate::i18n::Lang::En, || refusal.describe());
        let told = en(Refusal::BuildMismatch {
            server: PROTOCOL_VERSION,
            client: PROTOCOL_VERSION,
            server_build: "0.1.0 (0123456789ab)".into(),
        });
        assert_eq!(
            told,
            format!(
                "version mismatch: this server runs 0.1.0 (0123456789ab), you run {}; use the same build",
                crate::version::BUILD
            )
        );
        // An older server names no build: its protocol, and ours.
        let told = en(Refusal::VersionMismatch {
            server: 5,
            client: PROTOCOL_VERSION,
        });
        assert!(
            told.contains("protocol 5") && told.contains(crate::version::BUILD),
            "{told}"
        );
        let bytes = encode_control(&ServerControl::Closing(CloseReason::Refused(Refusal::mismatch(
            PROTOCOL_VERSION,
        ))));
        assert!(matches!(
            decode_frame::<ServerControl>(&bytes, &[]),
            Ok(Frame::Control(ServerControl::Closing(CloseReason::Refused(
                Refusal::BuildMismatch { .. }
            ))))
        ));
    }

    #[test]
    fn a_protocol_2_client_reads_our_version_mismatch() {
        // What a protocol-2 client decodes a server frame as (its own types, cut down).
        #[derive(Deserialize, Debug, PartialEq)]
        enum OldServerMsg {
            Welcome,
            Closing(OldCloseReason),
        }
        #[derive(Deserialize, Debug, PartialEq)]
        enum OldCloseReason {
            Rejected(OldRejection),
        }
        #[derive(Deserialize, Debug, PartialEq)]
        enum OldRejection {
            VersionMismatch { server: u16, client: u16 },
        }
        let ours = encode_control(&ServerControl::Closing(CloseReason::Refused(Refusal::mismatch(
            2,
        ))));
        assert_eq!(
            codec::decode::<OldServerMsg>(&ours),
            Ok(OldServerMsg::Closing(OldCloseReason::Rejected(
                OldRejection::VersionMismatch {
                    server: PROTOCOL_VERSION,
                    client: 2
                }
            )))
        );
    }

    #[test]
    fn tagged_messages_decode_with_their_decoder_and_unknown_tags_are_violations() {
        #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
        struct Note(String);
        impl WireMessage for Note {
            const NAME: &'static str = "test.note";
            const VERSION: u16 = 1;
        }
        let decoders: [Decoder; 1] = [decode_any::<Note>];
        let bytes = encode_tagged(FIRST_TAG, &Note("안녕".into())).unwrap();
        let Ok(Frame::Message { tag, msg }) = decode_frame::<ClientControl>(&bytes, &decoders) else {
            panic!("a registered message");
        };
        assert_eq!(tag, FIRST_TAG);
        assert_eq!(*msg.downcast::<Note>().unwrap(), Note("안녕".into()));
        let unknown = encode_tagged(FIRST_TAG + 1, &Note("x".into())).unwrap();
        assert!(matches!(
            decode_frame::<ClientControl>(&unknown, &decoders),
            Err(Violation::UnknownTag(9))
        ));
        let mut trailing = bytes.to_vec();
        trailing.push(0);
        assert!(matches!(
            decode_frame::<ClientControl>(&trailing, &decoders),
            Err(Violation::Undecodable)
        ));
    }

    #[test]
    fn the_fingerprint_changes_with_names_versions_order_and_direction() {
        let base = [('c', "a", 1), ('s', "b", 1)];
        let fp = |types: &[(char, &str, u16)]| fingerprint(types.iter().copied());
        assert_eq!(fp(&base), fp(&base));
        assert_ne!(fp(&base), fp(&[('c', "a", 2), ('s', "b", 1)]));
        assert_ne!(fp(&base), fp(&[('s', "b", 1), ('c', "a", 1)]));
        assert_ne!(fp(&base), fp(&[('s', "a", 1), ('s', "b", 1)]));
        assert_ne!(fp(&base), fp(&[('c', "a", 1), ('s', "b", 1), ('s', "c", 1)]));
    }
}
