//! Links the firmware examples for bare-metal targets; does nothing for the host.

use std::{env, fs, io, path::PathBuf};

fn main() -> io::Result<()> {
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        let out = PathBuf::from(env::var_os("OUT_DIR").ok_or(io::ErrorKind::NotFound)?);
        fs::write(out.join("memory.x"), include_bytes!("memory.x"))?;
        // `-examples`: only this package's examples link against memory.x; the flags
        // never reach crates that depend on the library.
        println!("cargo:rustc-link-arg-examples=-L{}", out.display());
        println!("cargo:rustc-link-arg-examples=-Tlink.x");
    }
    Ok(())
}
