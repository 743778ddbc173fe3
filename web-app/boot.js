// Starts the explorer: loads the wasm-bindgen module and its wasm, whose (hashed) URLs Trunk writes
// on this script's element (Trunk.toml `pattern_script`). A file, not an inline script, so the
// page's Content-Security-Policy can forbid inline script altogether.
const boot = document.getElementById("trunk-boot");
const { default: init } = await import(boot.dataset.js);
await init({ module_or_path: boot.dataset.wasm });
