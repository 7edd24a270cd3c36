//! With the `agones` feature: compiles the server side of the Agones SDK service from the
//! copies in `proto/agones` for the fake SDK server the tests run (the game uses the `agones`
//! crate's client). Without it, nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto/agones");
    #[cfg(feature = "agones")]
    tonic_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_protos(
            &["proto/agones/sdk/sdk.proto", "proto/agones/sdk/beta/beta.proto"],
            &[
                "proto/agones/googleapis",
                "proto/agones/grpc-gateway",
                "proto/agones/sdk",
                "proto/agones/sdk/beta",
            ],
        )
        .unwrap_or_else(|e| panic!("compiling the Agones SDK's protocol files (is protoc installed?): {e}"));
}
