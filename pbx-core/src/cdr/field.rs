//! The 27 CDR field names and the field template (which fields, in which order).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// One of the 27 fields a 3CX CDR text record may contain.
///
/// Names follow 3CX's own spelling (`time-start`, `from-no`, …). Parsing a name with
/// [`str::parse`] ignores case, `-`, `_` and spaces, so `TimeStart`, `time_start` and
/// `time-start` all name [`Field::TimeStart`].
///
/// ```
/// use pbx_core::cdr::Field;
/// let f: Field = "Time_Answered".parse()?;
/// assert_eq!(f, Field::TimeAnswered);
/// assert_eq!(f.name(), "time-answered");
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[allow(missing_docs)] // each variant is named exactly as the 3CX field it stands for
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    HistoryId,
    CallId,
    Duration,
    TimeStart,
    TimeAnswered,
    TimeEnd,
    ReasonTerminated,
    FromNo,
    ToNo,
    FromDn,
    ToDn,
    DialNo,
    ReasonChanged,
    FinalNumber,
    FinalDn,
    BillCode,
    BillRate,
    BillCost,
    BillName,
    Chain,
    FromType,
    ToType,
    FinalType,
    FromDispname,
    ToDispname,
    FinalDispname,
    MissedQueueCalls,
}

impl Field {
    /// All 27 fields, in 3CX's common order (the 27-field preset).
    pub const ALL: [Field; 27] = [
        Field::HistoryId,
        Field::CallId,
        Field::Duration,
        Field::TimeStart,
        Field::TimeAnswered,
        Field::TimeEnd,
        Field::ReasonTerminated,
        Field::FromNo,
        Field::ToNo,
        Field::FromDn,
        Field::ToDn,
        Field::DialNo,
        Field::ReasonChanged,
        Field::FinalNumber,
        Field::FinalDn,
        Field::BillCode,
        Field::BillRate,
        Field::BillCost,
        Field::BillName,
        Field::Chain,
        Field::FromType,
        Field::ToType,
        Field::FinalType,
        Field::FromDispname,
        Field::ToDispname,
        Field::FinalDispname,
        Field::MissedQueueCalls,
    ];

    /// The field's 3CX name, e.g. `"time-start"`.
    ///
    /// ```
    /// assert_eq!(pbx_core::cdr::Field::MissedQueueCalls.name(), "missed-queue-calls");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Field::HistoryId => "historyid",
            Field::CallId => "callid",
            Field::Duration => "duration",
            Field::TimeStart => "time-start",
            Field::TimeAnswered => "time-answered",
            Field::TimeEnd => "time-end",
            Field::ReasonTerminated => "reason-terminated",
            Field::FromNo => "from-no",
            Field::ToNo => "to-no",
            Field::FromDn => "from-dn",
            Field::ToDn => "to-dn",
            Field::DialNo => "dial-no",
            Field::ReasonChanged => "reason-changed",
            Field::FinalNumber => "final-number",
            Field::FinalDn => "final-dn",
            Field::BillCode => "bill-code",
            Field::BillRate => "bill-rate",
            Field::BillCost => "bill-cost",
            Field::BillName => "bill-name",
            Field::Chain => "chain",
            Field::FromType => "from-type",
            Field::ToType => "to-type",
            Field::FinalType => "final-type",
            Field::FromDispname => "from-dispname",
            Field::ToDispname => "to-dispname",
            Field::FinalDispname => "final-dispname",
            Field::MissedQueueCalls => "missed-queue-calls",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Field {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Field::ALL
            .into_iter()
            .find(|f| f.name().replace('-', "") == key)
            .ok_or_else(|| Error::UnknownField {
                name: s.trim().to_owned(),
            })
    }
}

/// Why a template without `historyid` and `callid` is refused, naming the 3CX setting to change.
const MISSING_IDENTITY: &str = "the template has neither `historyid` nor `callid`, so no \
    call could be identified; in the 3CX management console's CDR settings, add `historyid` \
    and `callid` to the CDR output's enabled fields (XAPI CDRSettings.EnabledFields), then \
    list them in pbx.cdr_template in the same order";

/// Which fields a CDR line holds, and in which order.
///
/// 3CX lets the administrator choose the fields (XAPI `CDRSettings.EnabledFields`), so the
/// parser is driven by a template. Presets exist for the common layouts; any subset and order
/// of the 27 fields can be built from a comma list.
///
/// ```
/// use pbx_core::cdr::{Field, FieldTemplate};
/// let t: FieldTemplate = "historyid, callid, duration, time-start".parse()?;
/// assert_eq!(t.fields(), &[Field::HistoryId, Field::CallId, Field::Duration, Field::TimeStart]);
/// assert_eq!(FieldTemplate::v20_27().len(), 27);
/// assert_eq!(FieldTemplate::v16_20().len(), 20);
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldTemplate {
    fields: Vec<Field>,
}

impl FieldTemplate {
    /// A template from a list of fields.
    ///
    /// # Errors
    /// [`Error::InvalidTemplate`] when the list is empty, names a field twice, or holds
    /// neither `historyid` nor `callid` (the call's identity: without one, no line could be
    /// delivered, so the template is refused once at start rather than every line after).
    ///
    /// ```
    /// use pbx_core::cdr::{Field, FieldTemplate};
    /// assert!(FieldTemplate::new(vec![Field::CallId, Field::CallId]).is_err());
    /// let e = FieldTemplate::new(vec![Field::TimeStart, Field::FromNo]).unwrap_err();
    /// assert!(matches!(e, pbx_core::Error::InvalidTemplate { .. }));
    /// assert!(FieldTemplate::new(vec![Field::TimeStart, Field::CallId]).is_ok());
    /// ```
    pub fn new(fields: Vec<Field>) -> Result<Self, Error> {
        if fields.is_empty() {
            return Err(Error::InvalidTemplate {
                reason: "the template names no field".into(),
            });
        }
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].contains(f) {
                return Err(Error::InvalidTemplate {
                    reason: format!("field `{f}` appears more than once"),
                });
            }
        }
        if !fields.contains(&Field::HistoryId) && !fields.contains(&Field::CallId) {
            return Err(Error::InvalidTemplate {
                reason: MISSING_IDENTITY.to_owned(),
            });
        }
        Ok(FieldTemplate { fields })
    }

    /// The 27-field layout (v20's full list, in 3CX's common order). The default.
    pub fn v20_27() -> Self {
        FieldTemplate {
            fields: Field::ALL.to_vec(),
        }
    }

    /// The older 20-field layout: `historyid` through `chain`.
    pub fn v16_20() -> Self {
        FieldTemplate {
            fields: Field::ALL[..20].to_vec(),
        }
    }

    /// Builds a template from the names XAPI `CDRSettings.EnabledFields[].Name` lists, in order.
    ///
    /// # Errors
    /// As [`FieldTemplate::new`], and [`Error::UnknownField`] for a name that is not a CDR field.
    ///
    /// ```
    /// use pbx_core::cdr::FieldTemplate;
    /// let t = FieldTemplate::from_names(["historyid", "callid", "time-start"])?;
    /// assert_eq!(t.len(), 3);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn from_names<I, S>(names: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let fields = names
            .into_iter()
            .map(|n| n.as_ref().parse())
            .collect::<Result<Vec<Field>, Error>>()?;
        Self::new(fields)
    }

    /// The fields in order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The fields' 3CX names, in order (what the bindings publish as a template's fields).
    ///
    /// ```
    /// let t: pbx_core::cdr::FieldTemplate = "historyid,callid".parse()?;
    /// assert_eq!(t.names(), ["historyid", "callid"]);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name()).collect()
    }

    /// How many fields a line holds.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Always false: a template holds at least one field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Whether the template includes `field`.
    pub fn contains(&self, field: Field) -> bool {
        self.fields.contains(&field)
    }
}

impl Default for FieldTemplate {
    fn default() -> Self {
        Self::v20_27()
    }
}

/// Parses `20`, `27` (the presets) or a comma list of field names.
impl FromStr for FieldTemplate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "27" => Ok(Self::v20_27()),
            "20" => Ok(Self::v16_20()),
            list => Self::from_names(list.split(',').map(str::trim).filter(|n| !n.is_empty())),
        }
    }
}

impl fmt::Display for FieldTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(field.name())?;
        }
        Ok(())
    }
}
