//! Type words pbx does not recognise, counted so an operator sees them.
//!
//! A `from-type`, `to-type` or `final-type` holding a word 3CX does not write (`External`,
//! `Internal` — a spreadsheet's re-save, a site's own export) is treated as absent by the
//! direction rules ([`crate::cdr::PartyType::is_recognised`]): trunk DNs and number patterns
//! decide instead. The adapter records each record's unrecognised words
//! ([`unrecognised_type_words`]) here; the tracker counts the records per word and names the
//! words seen for the first time, so the adapter warns once per word.
//!
//! ```
//! use pbx_core::unknown_types::UnknownTypeWords;
//! let mut words = UnknownTypeWords::default();
//! assert_eq!(words.record(["External", "Internal"]), ["External", "Internal"]);
//! assert!(words.record(["Internal"]).is_empty()); // already warned about
//! assert_eq!(words.get("Internal"), Some(2));
//! assert_eq!(words.records(), 2);
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cdr::{CallRecord, PartyType};

/// How many distinct words are tracked one by one; records holding only further words are
/// counted in [`UnknownTypeWords::records`] alone (memory stays bounded whatever the records
/// say).
pub const MAX_TRACKED: usize = 64;

/// The longest word kept, in characters; a longer one is cut (and tracked as cut).
pub const MAX_WORD_CHARS: usize = 40;

/// The distinct unrecognised words in a record's type fields (`from-type`, `to-type`,
/// `final-type`, in that order), each once. Empty for a record whose type fields are absent
/// or hold words 3CX writes.
///
/// ```
/// use pbx_core::cdr::{Cdr, PartyType};
/// use pbx_core::unknown_types::unrecognised_type_words;
/// let cdr = Cdr { from_type: Some(PartyType::parse("External")),
///     to_type: Some(PartyType::parse("Internal")), final_type: Some(PartyType::parse("Internal")),
///     ..Cdr::default() };
/// assert_eq!(unrecognised_type_words(&cdr), ["External", "Internal"]);
/// let v20 = Cdr { from_type: Some(PartyType::parse("inbound_routing")), ..Cdr::default() };
/// assert!(unrecognised_type_words(&v20).is_empty());
/// ```
pub fn unrecognised_type_words<R: CallRecord + ?Sized>(cdr: &R) -> Vec<&str> {
    let mut words: Vec<&str> = Vec::new();
    for t in [cdr.from_type(), cdr.to_type(), cdr.final_type()]
        .into_iter()
        .flatten()
    {
        if let PartyType::Other(word) = t
            && !t.is_recognised()
            && !words.contains(&word.as_str())
        {
            words.push(word);
        }
    }
    words
}

/// Word → records holding it, and how many records held any. Serializes as
/// `{"records": N, "words": {"External": n, …}}` (for `/status`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UnknownTypeWords {
    records: u64,
    words: BTreeMap<String, u64>,
}

impl UnknownTypeWords {
    /// Records one record's unrecognised words (as [`unrecognised_type_words`] gives them;
    /// nothing to do for an empty list). Returns the words seen for the first time — warn
    /// about those — in the order given; empty otherwise.
    pub fn record<'w>(&mut self, words: impl IntoIterator<Item = &'w str>) -> Vec<String> {
        let mut new = Vec::new();
        let mut any = false;
        for word in words {
            any = true;
            let word: String = word.chars().take(MAX_WORD_CHARS).collect();
            let tracked = self.words.len();
            match self.words.get_mut(&word) {
                Some(n) => *n = n.saturating_add(1),
                None if tracked < MAX_TRACKED => {
                    self.words.insert(word.clone(), 1);
                    new.push(word);
                }
                None => {}
            }
        }
        if any {
            self.records = self.records.saturating_add(1);
        }
        new
    }

    /// Records that held the word.
    pub fn get(&self, word: &str) -> Option<u64> {
        self.words.get(word).copied()
    }

    /// Every tracked word with its record count, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.words.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Records that held at least one unrecognised type word.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Whether no record held one.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Appends the Prometheus counters `pbx_records_unknown_type_total` (records holding any
    /// unrecognised type word) and `pbx_unknown_type_words_total` (one sample per word, label
    /// `word`), in the text exposition format.
    ///
    /// ```
    /// let mut w = pbx_core::unknown_types::UnknownTypeWords::default();
    /// w.record(["Ext\"ernal"]);
    /// let mut out = String::new();
    /// w.write_metrics(&mut out);
    /// assert!(out.contains("pbx_records_unknown_type_total 1\n"));
    /// assert!(out.contains("pbx_unknown_type_words_total{word=\"Ext\\\"ernal\"} 1\n"));
    /// ```
    pub fn write_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "# HELP pbx_records_unknown_type_total Records whose type fields hold words 3CX does not write (treated as absent).\n\
             # TYPE pbx_records_unknown_type_total counter\npbx_records_unknown_type_total {}",
            self.records
        );
        let name = "pbx_unknown_type_words_total";
        let _ = writeln!(
            out,
            "# HELP {name} Records holding each unrecognised type word.\n# TYPE {name} counter"
        );
        for (word, n) in &self.words {
            let label = crate::unmapped::label_value(word);
            let _ = writeln!(out, "{name}{{word=\"{label}\"}} {n}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_beyond_the_bound_are_counted_in_records_only() {
        let mut w = UnknownTypeWords::default();
        for i in 0..MAX_TRACKED + 10 {
            let word = format!("w{i}");
            assert_eq!(
                w.record([word.as_str()]).len(),
                usize::from(i < MAX_TRACKED)
            );
        }
        assert_eq!(w.iter().count(), MAX_TRACKED);
        assert_eq!(w.records(), (MAX_TRACKED + 10) as u64);
    }

    #[test]
    fn a_long_word_is_cut() {
        let mut w = UnknownTypeWords::default();
        let long = "x".repeat(1000);
        let new = w.record([long.as_str()]);
        assert_eq!(new[0].chars().count(), MAX_WORD_CHARS);
        assert!(w.record([long.as_str()]).is_empty());
        assert_eq!(w.get(&new[0]), Some(2));
    }

    #[test]
    fn an_empty_list_is_no_record() {
        let mut w = UnknownTypeWords::default();
        assert!(w.record(std::iter::empty()).is_empty());
        assert!(w.is_empty());
    }
}
