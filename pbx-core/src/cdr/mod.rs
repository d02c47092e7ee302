//! 3CX call detail records: the text line format (file, socket) with its field template, and
//! the database row models (`cdroutput` legs grouped into calls; a site's own CDR table).
//!
//! ```
//! use pbx_core::cdr::{CdrParser, FieldTemplate};
//! let parser = CdrParser::new(FieldTemplate::v16_20());
//! let cdr = parser.parse_line(1, "Call 23219,00000172FF3328E8_4479,,2020/06/29 08:30:42,,\
//!     2020/06/29 08:30:50,Failed_Cancelled,Ext.195,Ext.196,195,196,196,,,,,,,,")?;
//! assert!(!cdr.is_answered());
//! # Ok::<(), pbx_core::Error>(())
//! ```

mod borrowed;
mod field;
mod format;
mod leg;
mod lines;
mod parser;
mod record;
mod site;
mod value;

pub use borrowed::{CallRecord, CdrRef};
pub use field::{Field, FieldTemplate};
pub use format::format_line;
pub use leg::{CallLegs, CdrLeg, LegParty, LegSummary, assemble_call, group_legs};
pub use lines::Lines;
pub use parser::{CdrParser, DEFAULT_MAX_LINE_LEN, MAX_FIELDS, parse_lines, split_lines};
pub use record::{Cdr, FieldValue};
pub use site::{
    MAX_IDENTIFIER_LEN, SiteColumn, SiteField, SiteTable, SiteValue, TableMapping,
    check_identifier, is_plain_identifier,
};
pub(crate) use value::trim;
pub use value::{
    Chain, ChangeReason, PartyNumber, PartyNumberRef, PartyType, TerminationReason,
    format_duration, format_timestamp, parse_chain, parse_duration, parse_timestamp,
};
