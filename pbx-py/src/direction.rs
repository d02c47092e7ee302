//! `pbx.classify` and `pbx.Classification` over `pbx_core::direction`.

use pyo3::prelude::*;

use crate::call::MapperArg;
use crate::cdr::PyCdr;
use crate::convert::{repr_opt, repr_str};

/// How a call was classified: `direction` (`"INBOUND"`, `"OUTBOUND"`, `"INTERNAL"` or
/// `"UNKNOWN"`), `rule` (the deciding rule, explained as in Rust's `Display`), `rule_code`
/// (`"FROM_TYPE_EXTERNAL"`, …), `explanation` (the same text as `rule`), `owner` (the owning extension) and
/// `counterpart` (the other party's number, without an `Ext.` prefix).
#[pyclass(name = "Classification", module = "pbx", frozen, get_all)]
pub(crate) struct PyClassification {
    /// `"INBOUND"`, `"OUTBOUND"`, `"INTERNAL"` or `"UNKNOWN"`.
    direction: String,
    /// The rule that decided, explained (Rust's `Display` of the rule).
    rule: String,
    /// The rule as a code, e.g. `"FROM_TYPE_EXTERNAL"` (`pbx_core::direction::Rule::code`,
    /// as the Node binding spells it).
    rule_code: String,
    /// The rule in words: the same text as `rule` (the Node binding's `explanation`).
    explanation: String,
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
pub(crate) fn classify(
    #[pyo3(from_py_with = crate::arg::cdr)] cdr: PyRef<'_, PyCdr>,
    #[pyo3(from_py_with = crate::arg::config)] config: MapperArg<'_>,
) -> PyClassification {
    classify_with(config.mapper(), &cdr)
}

/// `classify` with a core mapper (also `CallMapper.classify`).
pub(crate) fn classify_with(mapper: &pbx_core::call::CallMapper, cdr: &PyCdr) -> PyClassification {
    let c = mapper.classify(&cdr.inner);
    PyClassification {
        direction: c.direction.code().to_owned(),
        rule: c.rule.to_string(),
        explanation: c.rule.to_string(),
        rule_code: c.rule.code().to_owned(),
        owner: c.owner,
        counterpart: c.counterpart.map(|n| n.as_str().to_owned()),
    }
}
