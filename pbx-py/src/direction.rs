//! `pbx.classify` and `pbx.Classification` over `pbx_core::direction`.

use pyo3::prelude::*;

use crate::call::MapperArg;
use crate::cdr::PyCdr;
use crate::convert::{repr_opt, repr_str};

/// How a call was classified: `direction` (`"INBOUND"`, `"OUTBOUND"`, `"INTERNAL"` or
/// `"UNKNOWN"`), `rule` (the deciding rule, explained as in Rust's `Display`), `rule_code`
/// (`"FROM_TYPE_EXTERNAL"`, …), `owner` (the owning extension) and
/// `counterpart` (the other party's number, without an `Ext.` prefix).
#[pyclass(name = "Classification", module = "pbx", frozen, get_all)]
pub(crate) struct PyClassification {
    /// `"INBOUND"`, `"OUTBOUND"`, `"INTERNAL"` or `"UNKNOWN"`.
    direction: String,
    /// The rule that decided, explained (Rust's `Display` of the rule).
    rule: String,
    /// The rule as a code, e.g. `"FROM_TYPE_EXTERNAL"` (its Rust name in SCREAMING_SNAKE_CASE,
    /// as the Node binding spells it).
    rule_code: String,
    /// The extension that owns the call (inbound: the one that answered), or None.
    owner: Option<String>,
    /// The other party's number, without an `Ext.` prefix, or None.
    counterpart: Option<String>,
}

#[pymethods]
impl PyClassification {
    fn __repr__(&self) -> String {
        format!(
            "Classification(direction={}, rule_code={}, owner={}, counterpart={})",
            repr_str(&self.direction),
            repr_str(&self.rule_code),
            repr_opt(self.owner.as_deref()),
            repr_opt(self.counterpart.as_deref())
        )
    }
}

/// Classifies a call's direction with the settings of `config` (a `Config` or
/// `CallMapper`): type fields first, then configured trunk DNs, then number patterns.
#[pyfunction]
pub(crate) fn classify(cdr: PyRef<'_, PyCdr>, config: MapperArg<'_>) -> PyClassification {
    classify_with(config.mapper(), &cdr)
}

/// `classify` with a core mapper (also `CallMapper.classify`).
pub(crate) fn classify_with(mapper: &pbx_core::call::CallMapper, cdr: &PyCdr) -> PyClassification {
    let c = mapper.classify(&cdr.inner);
    PyClassification {
        direction: c.direction.to_string(),
        rule: c.rule.to_string(),
        rule_code: screaming_snake(&format!("{:?}", c.rule)),
        owner: c.owner,
        counterpart: c.counterpart.map(|n| n.as_str().to_owned()),
    }
}

/// `FromTypeExternal` → `FROM_TYPE_EXTERNAL`.
fn screaming_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in name.chars().enumerate() {
        if i > 0 && ch.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}
