//! `pbx.Classification` over `pbx_core::direction` (`pbx.classify` is the mapping's, in `call`).

use pbx_core::direction::Classification;
use pyo3::prelude::*;

use crate::convert::{methods, repr_opt, repr_str};

/// How a call was classified: its direction, the deciding rule, the owner and the other party.
#[pyclass(name = "Classification", module = "pbx", frozen)]
pub(crate) struct PyClassification(pub(crate) Classification);

methods! { PyClassification, |c| {
    direction -> &str = c.0.direction.code(),
        "`\"INBOUND\"`, `\"OUTBOUND\"`, `\"INTERNAL\"` or `\"UNKNOWN\"`.";
    rule -> String = c.0.rule.to_string(), "The rule that decided, explained (its `Display`).";
    rule_code -> &str = c.0.rule.code(), "The rule as a code, e.g. `\"FROM_TYPE_EXTERNAL\"`.";
    explanation -> String = c.0.rule.to_string(), "The rule in words: the same text as `rule`.";
    owner -> Option<&str> = c.0.owner.as_deref(),
        "The extension that owns the call (inbound: the one that answered), or None.";
    counterpart -> Option<&str> = c.0.counterpart.as_ref().map(|n| n.as_str()),
        "The other party's number, without an `Ext.` prefix, or None.";
}
    fn __repr__(&self) -> String {
        format!(
            "Classification(direction={}, rule_code={}, owner={}, counterpart={})",
            repr_str(self.direction()),
            repr_str(self.rule_code()),
            repr_opt(self.owner()),
            repr_opt(self.counterpart())
        )
    }
}
