//! The server's receive path: bytes off a socket through the frame codec (length prefix, size
//! cap) and every frame through the decoder of control frames and registered messages. Nothing
//! may panic, and no frame over the cap may come out.
#![no_main]

use std::sync::OnceLock;

use bytes::BytesMut;
use catchmind::plugins::net::{ClientFrames, WireRegistry, frame_codec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fn frames() -> &'static ClientFrames {
    static FRAMES: OnceLock<ClientFrames> = OnceLock::new();
    FRAMES.get_or_init(|| {
        // One app, once: the registry of every plugin's wire types, as the server has it.
        let app = catchmind::app::headless_client_app();
        app.world().resource::<WireRegistry>().client_frames()
    })
}

fuzz_target!(|data: &[u8]| {
    let decoder = frames();
    let mut codec = frame_codec();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        assert!(frame.len() <= catchmind::codec::MAX_FRAME_LEN);
        let _ = decoder.decode(&frame);
    }
});
