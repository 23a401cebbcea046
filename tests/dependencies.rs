//! The build compiles one crypto library: aws-lc (the TLS provider every driver uses), for
//! every feature and build script. Cargo.lock may still name others as optional
//! dependencies of a package; `cargo tree` shows what the build compiles.

fn tree_inverted(package: &str) -> String {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--all-features",
            "-e",
            "normal,build",
            "-i",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_build_compiles_one_crypto_library() {
    assert!(
        tree_inverted("aws-lc-rs").contains("segc"),
        "aws-lc-rs is the provider, reached from segc"
    );
    for other in ["ring", "openssl"] {
        let tree = tree_inverted(other);
        assert!(
            tree.trim().is_empty(),
            "`{other}` is compiled, a second crypto library:\n{tree}"
        );
    }
}
