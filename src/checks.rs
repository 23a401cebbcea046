//! `segc sources --check`: the data a report would count wrong, found in the warehouse.
//!
//! segc counts and joins rows and trusts keys to be keys (README, Sources). A user table
//! holding a key twice counts that user twice, a dimension holding a key twice joins each of
//! its users twice, and every warehouse then gives the same wrong numbers. One read-only
//! statement ([`crate::render::render_checks`]) counts, per source, what would do that, and
//! what a report leaves out: facts without a user key, and facts whose user is not in the
//! user table. A key that repeats fails the check (exit 1); the rest are told.

use serde::Serialize;

use crate::driver::{Cell, ResultSet};
use crate::error::Error;
use crate::ir::Project;
use crate::render::{CHECK_KEYS, CHECK_NAME, CHECK_ROWS, CHECK_SOURCE};

/// What one check counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Keys of the user table or of a dimension held by more than one row.
    #[serde(rename = "repeated_key")]
    Repeated,
    /// The same, for a source keeping history: more than one row valid at the as-of instant.
    #[serde(rename = "repeated_key_at_as_of")]
    RepeatedAtAsOf,
    /// Rows of the user table or of a dimension whose key is NULL.
    NullKey,
    /// Facts whose user key is NULL.
    NullUserKey,
    /// Facts whose user key is in no row of the user table.
    UnknownUser,
}

const CHECKS: [Check; 5] = [
    Check::Repeated,
    Check::RepeatedAtAsOf,
    Check::NullKey,
    Check::NullUserKey,
    Check::UnknownUser,
];

impl Check {
    /// Its name in the statement's rows and in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Check::Repeated => "repeated_key",
            Check::RepeatedAtAsOf => "repeated_key_at_as_of",
            Check::NullKey => "null_key",
            Check::NullUserKey => "null_user_key",
            Check::UnknownUser => "unknown_user",
        }
    }

    fn from_code(code: &str) -> Option<Check> {
        CHECKS.into_iter().find(|check| check.code() == code)
    }

    /// Whether finding anything makes the report's numbers wrong (the check fails), rather
    /// than leaving rows out as documented.
    pub fn fails(self) -> bool {
        matches!(self, Check::Repeated | Check::RepeatedAtAsOf)
    }
}

/// One check of one source, with what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub source: String,
    /// The table as the target names it.
    pub table: String,
    /// The key column checked (`key` or `user_key`).
    pub column: String,
    /// For a repeated key: the query listing the keys and their rows, as the check counted
    /// them (exactly, not NULL, valid at the as-of day's end for a source keeping history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_query: Option<String>,
    pub check: Check,
    /// Keys found (for the repeated keys; 0 otherwise).
    pub keys: u64,
    /// Rows found.
    pub rows: u64,
}

impl Finding {
    pub fn failed(&self) -> bool {
        self.check.fails() && self.rows > 0
    }

    /// What was checked, in words.
    pub fn what(&self) -> String {
        match self.check {
            Check::Repeated => format!("key {} held by more than one row", self.column),
            Check::RepeatedAtAsOf => format!(
                "key {} held by more than one row valid at the as-of day's end",
                self.column
            ),
            Check::NullKey => format!("key {} is NULL", self.column),
            Check::NullUserKey => format!("user key {} is NULL", self.column),
            Check::UnknownUser => format!("user key {} in no row of the user table", self.column),
        }
    }

    /// What was found, in words.
    pub fn found(&self) -> String {
        let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        match (self.rows, self.check) {
            (0, _) => "none".into(),
            (_, Check::Repeated | Check::RepeatedAtAsOf) => format!(
                "{} on {}",
                plural(self.keys, "key"),
                plural(self.rows, "row")
            ),
            (rows, _) => plural(rows, "row"),
        }
    }

    /// The verdict: `ok`, `FAIL`, or what a report does with the rows found.
    pub fn verdict(&self, users: &str) -> String {
        if self.rows == 0 {
            return "ok".into();
        }
        match self.check {
            Check::Repeated | Check::RepeatedAtAsOf => "FAIL".into(),
            Check::NullKey if self.source == users => "users without facts".into(),
            Check::NullKey => "never joined".into(),
            Check::NullUserKey | Check::UnknownUser => "not counted".into(),
        }
    }

    /// For a failed check: why the numbers are wrong and the query that lists the keys.
    pub fn explanation(&self, users: &str) -> String {
        let consequence = if self.source == users {
            "a report counts each of their users once per row, with the user's facts each time"
        } else {
            "a report joins each of their users once per row, so every KPI counts those users, and their facts, more than once"
        };
        let list = match &self.list_query {
            Some(query) => format!(". List them:\n  {query}"),
            None => String::new(),
        };
        format!(
            "{}: {} {}: {consequence}{list}",
            self.source,
            self.found(),
            match self.check {
                Check::RepeatedAtAsOf => "repeat among the rows valid at the as-of day's end",
                _ => "repeat",
            },
        )
    }
}

/// The findings of the check statement's rows, in the project's order of sources and the
/// statement's order of checks.
pub fn read(
    result: &ResultSet,
    project: &Project,
    dialect: &crate::dialect::Dialect,
    target: &str,
    lists: &[(String, String)],
) -> Result<Vec<Finding>, Error> {
    let source = result.column(CHECK_SOURCE, 0)?;
    let check = result.column(CHECK_NAME, 1)?;
    let keys = result.column(CHECK_KEYS, 2)?;
    let rows = result.column(CHECK_ROWS, 3)?;
    let count = |cell: Option<&Cell>| -> Result<u64, Error> {
        match cell {
            None | Some(Cell::Null) => Ok(0),
            Some(Cell::Integer(n)) if *n >= 0 => Ok(*n as u64),
            Some(Cell::Double(n)) if *n >= 0.0 && n.fract() == 0.0 => Ok(*n as u64),
            Some(Cell::Text(text)) => text.trim().parse().map_err(|_| {
                Error::Query(format!(
                    "the check returned a count that is not one: {text}"
                ))
            }),
            Some(other) => Err(Error::Query(format!(
                "the check returned a count that is not one: {other:?}"
            ))),
        }
    };
    let mut findings = Vec::new();
    for row in &result.rows {
        let text = |at: usize| match row.get(at) {
            Some(Cell::Text(text)) => Ok(text.clone()),
            other => Err(Error::Query(format!(
                "the check returned a name that is not text: {other:?}"
            ))),
        };
        let name = text(source)?;
        let code = text(check)?;
        let Some(found) = project.sources.iter().find(|s| s.name == name) else {
            return Err(Error::Query(format!(
                "the check returned an unknown source `{name}`"
            )));
        };
        let Some(kind) = Check::from_code(&code) else {
            return Err(Error::Query(format!(
                "the check returned an unknown check `{code}`"
            )));
        };
        let rows = count(row.get(rows))?;
        let list_query = match kind.fails() && rows > 0 {
            true => lists
                .iter()
                .find(|(source, _)| *source == name)
                .map(|(_, query)| query.clone()),
            false => None,
        };
        findings.push(Finding {
            table: found.table.resolve(Some(target), &dialect.name).join("."),
            column: found.key_column().to_string(),
            source: name,
            check: kind,
            keys: count(row.get(keys))?,
            rows,
            list_query,
        });
    }
    let position = |finding: &Finding| {
        (
            project
                .sources
                .iter()
                .position(|s| s.name == finding.source),
            CHECKS.iter().position(|c| *c == finding.check),
        )
    };
    findings.sort_by_key(position);
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(check: Check, keys: u64, rows: u64) -> Finding {
        Finding {
            source: "accounts".into(),
            table: "app.accounts".into(),
            column: "account_id".into(),
            list_query: (check.fails() && rows > 0).then(|| "SELECT …".to_string()),
            check,
            keys,
            rows,
        }
    }

    #[test]
    fn only_repeated_keys_fail_and_each_check_says_what_a_report_does() {
        assert!(finding(Check::Repeated, 2, 5).failed());
        assert!(finding(Check::RepeatedAtAsOf, 1, 2).failed());
        assert!(!finding(Check::Repeated, 0, 0).failed());
        assert!(!finding(Check::UnknownUser, 0, 12).failed());
        assert_eq!(finding(Check::Repeated, 2, 5).found(), "2 keys on 5 rows");
        assert_eq!(finding(Check::Repeated, 1, 2).found(), "1 key on 2 rows");
        assert_eq!(finding(Check::NullKey, 0, 1).found(), "1 row");
        assert_eq!(finding(Check::Repeated, 0, 0).verdict("users"), "ok");
        assert_eq!(finding(Check::Repeated, 2, 5).verdict("users"), "FAIL");
        assert_eq!(
            finding(Check::NullKey, 0, 3).verdict("users"),
            "never joined"
        );
        assert_eq!(
            finding(Check::UnknownUser, 0, 3).verdict("users"),
            "not counted"
        );
        let explained = finding(Check::Repeated, 2, 5).explanation("users");
        assert!(
            explained.ends_with(". List them:\n  SELECT …"),
            "{explained}"
        );
        assert!(explained.contains("more than once"), "{explained}");
        for check in CHECKS {
            assert_eq!(Check::from_code(check.code()), Some(check));
            // JSON names each check as the statement does.
            assert_eq!(serde_json::to_value(check).unwrap(), check.code());
        }
    }
}
