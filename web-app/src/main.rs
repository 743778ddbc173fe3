//! The explorer's entry point: mounts the app (wasm32 only; see `lib.rs`).

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(trustchain_explorer::app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "trustchain-explorer is a web app: build it with `trunk build --release` from the \
         repository root (see web-app/README.md); the relay serves it at /explorer/."
    );
}
