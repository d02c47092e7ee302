//! Node.js bindings for pbx. Each function converts types and errors and calls `pbx-core`;
//! no logic lives here.

use napi_derive::napi;

/// The package version.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The field names of a CDR template: `"20"`, `"27"` or a comma list of 3CX field names.
/// Throws an `Error` (code `InvalidArg`) naming the unknown field or the problem.
#[napi]
pub fn template_fields(template: String) -> napi::Result<Vec<String>> {
    let t: pbx_core::cdr::FieldTemplate = template
        .parse()
        .map_err(|e: pbx_core::Error| napi::Error::new(napi::Status::InvalidArg, e.to_string()))?;
    Ok(t.fields().iter().map(|f| f.name().to_owned()).collect())
}
