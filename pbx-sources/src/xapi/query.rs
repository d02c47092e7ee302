//! OData query options: `$select`, `$expand`, `$filter`, `$orderby`, `$top`, `$skip`.

/// The OData options of one XAPI request.
///
/// ```
/// use pbx_sources::xapi::{Query, odata_string};
/// let q = Query::new()
///     .select(["Id", "Number", "Name"])
///     .expand("Members")
///     .filter(format!("Number eq {}", odata_string("800")))
///     .top(100)
///     .skip(200);
/// assert_eq!(q.pairs(), vec![
///     ("$select", "Id,Number,Name".to_owned()),
///     ("$expand", "Members".to_owned()),
///     ("$filter", "Number eq '800'".to_owned()),
///     ("$top", "100".to_owned()),
///     ("$skip", "200".to_owned()),
/// ]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    select: Vec<String>,
    expand: Vec<String>,
    filter: Option<String>,
    orderby: Option<String>,
    top: Option<u64>,
    skip: Option<u64>,
}

impl Query {
    /// No options.
    ///
    /// ```
    /// assert!(pbx_sources::xapi::Query::new().pairs().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds properties to `$select`.
    ///
    /// ```
    /// let q = pbx_sources::xapi::Query::new().select(["Id"]).select(["Number"]);
    /// assert_eq!(q.pairs(), vec![("$select", "Id,Number".to_owned())]);
    /// ```
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select.extend(fields.into_iter().map(Into::into));
        self
    }

    /// Adds a navigation property to `$expand` (it may carry nested options, e.g.
    /// `Members($select=Number)`).
    ///
    /// ```
    /// let q = pbx_sources::xapi::Query::new().expand("Agents");
    /// assert_eq!(q.pairs(), vec![("$expand", "Agents".to_owned())]);
    /// ```
    pub fn expand(mut self, property: impl Into<String>) -> Self {
        self.expand.push(property.into());
        self
    }

    /// Sets `$filter` (quote string literals with [`odata_string`]).
    ///
    /// ```
    /// let q = pbx_sources::xapi::Query::new().filter("Number eq '101'");
    /// assert_eq!(q.pairs(), vec![("$filter", "Number eq '101'".to_owned())]);
    /// ```
    pub fn filter(mut self, expression: impl Into<String>) -> Self {
        self.filter = Some(expression.into());
        self
    }

    /// Sets `$orderby`.
    ///
    /// ```
    /// let q = pbx_sources::xapi::Query::new().orderby("Id");
    /// assert_eq!(q.pairs(), vec![("$orderby", "Id".to_owned())]);
    /// ```
    pub fn orderby(mut self, expression: impl Into<String>) -> Self {
        self.orderby = Some(expression.into());
        self
    }

    /// Sets `$top`.
    ///
    /// ```
    /// let q = pbx_sources::xapi::Query::new().top(50);
    /// assert_eq!(q.pairs(), vec![("$top", "50".to_owned())]);
    /// ```
    pub fn top(mut self, n: u64) -> Self {
        self.top = Some(n);
        self
    }

    /// Sets `$skip`.
    ///
    /// ```
    /// let q = pbx_sources::xapi::Query::new().skip(100);
    /// assert_eq!(q.pairs(), vec![("$skip", "100".to_owned())]);
    /// ```
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = Some(n);
        self
    }

    /// The options as query-string pairs, in a fixed order (`$select`, `$expand`, `$filter`,
    /// `$orderby`, `$top`, `$skip`), not yet percent-encoded.
    ///
    /// ```
    /// let q = pbx_sources::xapi::Query::new().skip(3).top(3);
    /// assert_eq!(q.pairs(), vec![("$top", "3".to_owned()), ("$skip", "3".to_owned())]);
    /// ```
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !self.select.is_empty() {
            out.push(("$select", self.select.join(",")));
        }
        if !self.expand.is_empty() {
            out.push(("$expand", self.expand.join(",")));
        }
        if let Some(f) = &self.filter {
            out.push(("$filter", f.clone()));
        }
        if let Some(o) = &self.orderby {
            out.push(("$orderby", o.clone()));
        }
        if let Some(n) = self.top {
            out.push(("$top", n.to_string()));
        }
        if let Some(n) = self.skip {
            out.push(("$skip", n.to_string()));
        }
        out
    }
}

/// An OData string literal: `value` in single quotes, inner quotes doubled.
///
/// ```
/// assert_eq!(pbx_sources::xapi::odata_string("O'Brien"), "'O''Brien'");
/// ```
pub fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}
