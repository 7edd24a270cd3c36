//! Names the commit the game is built from (`CATCHMIND_COMMIT`: the 12-digit hash of `HEAD`,
//! with `dirty` when the sources differ from it; else the environment's `CATCHMIND_COMMIT`, as a
//! Docker build without `.git` passes it; else `unknown commit`), so two builds can tell each
//! other apart. With the `agones` feature, also compiles the server side of the Agones SDK
//! service from the copies in `proto/agones` for the fake SDK server the tests run (the game
//! uses the `agones` crate's client).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto/agones");
    println!("cargo:rustc-env=CATCHMIND_COMMIT={}", commit());
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

/// The commit, from git when the sources are a git checkout.
fn commit() -> String {
    println!("cargo:rerun-if-env-changed=CATCHMIND_COMMIT");
    let from_git = || -> Option<String> {
        let top = git(&["rev-parse", "--show-toplevel"])?;
        let git_dir = git(&["rev-parse", "--absolute-git-dir"])?;
        let manifest = std::env::var("CARGO_MANIFEST_DIR").ok()?;
        // Only our own checkout: a crate unpacked inside someone else's repository is not it.
        if std::fs::canonicalize(&top).ok()? != std::fs::canonicalize(&manifest).ok()? {
            return None;
        }
        // Again when the commit, the index or the sources change.
        for path in ["HEAD", "index", "refs", "packed-refs"] {
            println!("cargo:rerun-if-changed={git_dir}/{path}");
        }
        for path in ["src", "assets", "Cargo.toml", "Cargo.lock"] {
            println!("cargo:rerun-if-changed={path}");
        }
        let hash = git(&["rev-parse", "--short=12", "HEAD"])?;
        let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty();
        Some(if dirty { format!("{hash}, dirty") } else { hash })
    };
    from_git()
        .or_else(|| {
            std::env::var("CATCHMIND_COMMIT")
                .ok()
                .filter(|c| !c.trim().is_empty())
        })
        .unwrap_or_else(|| "unknown commit".into())
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
