//! The binding generator at the project's pinned UniFFI version (docs/mobile.md):
//! `cargo run -p gocua-mobile --features bindgen --bin uniffi-bindgen -- generate
//! --library <libgocua_mobile.so> --language kotlin|swift|python --out-dir DIR`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
