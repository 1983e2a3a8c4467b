//! Build script of both server binaries (`build = "../scripts/symbol-order.rs"` in
//! runtime-smol and runtime-std): the linker places the functions a serving relay runs first,
//! in the order `scripts/symbol-order.txt` lists them (made by `scripts/symbol-order.sh`,
//! which says why: fewer code pages resident at start).
//!
//! Only release builds for x86_64 Linux, where rustc links with lld, which reads the file;
//! `IORELAY_SYMBOL_ORDER=off` leaves it out (the profiling build that makes the list).

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=IORELAY_SYMBOL_ORDER");
    let list = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("../scripts/symbol-order.txt");
    println!("cargo:rerun-if-changed={}", list.display());
    let wanted = env::var("PROFILE").is_ok_and(|p| p == "release")
        && env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu")
        && env::var("IORELAY_SYMBOL_ORDER").as_deref() != Ok("off");
    if wanted && list.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        // A list made before the code changed names functions that are gone: skip them.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
