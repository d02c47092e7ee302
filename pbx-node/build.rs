//! Sets up linking for a Node.js native module.
fn main() {
    napi_build::setup();
}
