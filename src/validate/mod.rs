//! Spec → IR: resolve every name, check types, windows and cycles, and collect *every*
//! problem with its location instead of stopping at the first.

mod attributes;
mod conditions;
mod fact_aggregates;
mod formula;
mod formula_size;
mod formula_types;
mod kpis;
mod quintiles;
mod segment_size;
mod segments;
mod sources;
pub(crate) use conditions::article;
pub use sources::{KEY_COLUMN, SIGNUP_COLUMN, learned_time};

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::catalog::WarehouseType;
use crate::error::{Diagnostic, Error, Span, suggest};
use crate::ir::{
    Attribute, AttributeId, Duration, Kpi, Origin, Project, Segment, Source, SourceId, Window,
};
use crate::spec::{ProjectFiles, Spanned};

/// Column types learned from the warehouse's catalog while running (not written anywhere):
/// (source, project column name) → type.
pub type LearnedTypes = HashMap<(String, String), WarehouseType>;

/// Validates a loaded project. On failure the error carries every diagnostic.
pub fn validate(files: ProjectFiles) -> Result<Project, Error> {
    validate_with(files, &LearnedTypes::new(), TypeCheck::On(None))
}

/// Whether a column the project reads must have a known type (rule 15), and the target a
/// hint to refresh the snapshot names.
#[derive(Debug, Clone, Copy)]
pub enum TypeCheck<'t> {
    /// Every type must be known. With the target whose catalog gave the learned types (the
    /// run's), else the snapshot's target or the project's default is named.
    On(Option<&'t str>),
    /// A type not known yet is not an error: `run` reads it from this target's catalog once
    /// the project's other problems are fixed. Every other type check holds.
    Pending(&'t str),
    /// Columns may have no known type (for `segc sources`, which reads them).
    Off,
}

/// Validates a loaded project with types learned from the warehouse.
pub fn validate_with(
    files: ProjectFiles,
    learned: &LearnedTypes,
    types: TypeCheck,
) -> Result<Project, Error> {
    let mut validator = Validator::new(&files, learned, !matches!(types, TypeCheck::Off));
    validator.catalog_target = match types {
        TypeCheck::On(target) => target.map(str::to_string),
        TypeCheck::Pending(target) => Some(target.to_string()),
        TypeCheck::Off => None,
    };
    validator.types_pending = matches!(types, TypeCheck::Pending(_));
    let project = validator.run();
    let mut diagnostics = files.diagnostics.clone();
    diagnostics.append(&mut validator.diagnostics);
    if diagnostics.is_empty() {
        Ok(project)
    } else {
        diagnostics.sort_by_key(|d| d.span);
        diagnostics.dedup();
        Err(files.into_error(diagnostics))
    }
}

/// The sources whose catalog `run` and `explain` read before validating: those with a
/// column the project reads whose type is neither declared nor in the snapshot, and those
/// whose key's type is neither (wanted by a dialect whose `=` may fold case or pad).
/// None when the project has other problems: those are reported without connecting.
#[derive(Debug, Default)]
pub struct Untyped {
    pub columns: Vec<Source>,
    pub keys: Vec<Source>,
    /// Sources whose `time`, `signup_at`, `valid_from` or `valid_to` type is not known.
    pub times: Vec<Source>,
    /// The project has other problems: no catalog is read for it.
    pub problems: bool,
}

pub fn untyped_sources(files: &ProjectFiles, learned: &LearnedTypes) -> Untyped {
    let mut validator = Validator::new(files, learned, false);
    let project = validator.run();
    if !files.diagnostics.is_empty() || !validator.diagnostics.is_empty() {
        return Untyped {
            problems: true,
            ..Untyped::default()
        };
    }
    let mut columns: Vec<Source> = Vec::new();
    for id in &validator.untyped {
        if let Some(source) = project.sources.get(id.0)
            && !columns.iter().any(|s| s.name == source.name)
        {
            columns.push(source.clone());
        }
    }
    let keys = project
        .sources
        .iter()
        .filter(|s| s.key_type == crate::ir::KeyType::Unknown)
        .cloned()
        .collect();
    let times = validator
        .untimed
        .iter()
        .filter_map(|id| project.sources.get(id.0).cloned())
        .collect();
    Untyped {
        columns,
        keys,
        times,
        problems: false,
    }
}

/// Reads and validates the project in `root`.
pub fn load_and_validate(root: &std::path::Path) -> Result<Project, Error> {
    validate(crate::spec::load_project(root)?)
}

pub(crate) struct Validator<'a> {
    files: &'a ProjectFiles,
    pub(crate) diagnostics: Vec<Diagnostic>,
    sources: Vec<Source>,
    source_names: HashMap<String, SourceId>,
    attributes: Vec<Attribute>,
    attribute_names: HashMap<String, AttributeId>,
    segments: Vec<Segment>,
    kpis: Vec<Kpi>,
    activity_window: Window,
    /// Quintile attributes and the span of their base, checked once every kind is known.
    quintile_bases: Vec<(AttributeId, Span)>,
    /// Types learned from the warehouse while running.
    learned: &'a LearnedTypes,
    /// Whether a column read as a value must have a known type (rule 15).
    check_types: bool,
    /// A type not known is not an error yet: the run reads the catalog once the project's
    /// other problems are fixed.
    types_pending: bool,
    /// The target a hint to refresh the snapshot names, when the command has one.
    catalog_target: Option<String>,
    /// Where each source column is declared and where its type comes from.
    column_types: HashMap<(SourceId, String), sources::ColumnTyping>,
    /// What is being resolved (`attribute `x``, `segment `y``), for the type errors.
    user: String,
    /// Implicit attributes (columns of the user table and its dimensions) used by name, and by what.
    used_by_name: std::cell::RefCell<Vec<(AttributeId, String)>>,
    /// Source columns read as values: the source, the project column name, and what reads it.
    column_uses: Vec<(SourceId, String, String)>,
    /// Sources with a column read as a value whose type is unknown.
    untyped: Vec<SourceId>,
    /// Sources with a column that says when (`time`, `signup_at`, `valid_from`, `valid_to`)
    /// whose type neither a declaration nor the snapshot gives: read as timestamps unless
    /// `run` learns otherwise from the catalog.
    untimed: Vec<SourceId>,
}

/// Names become SQL column aliases and JSON keys: letters, digits and `_`, not starting
/// with a digit, and not segc's own prefix.
/// Characters of a name that count when warehouses compare column names: PostgreSQL and
/// Redshift keep 63 bytes of a name, and segc adds prefixes and suffixes of up to 13
/// (`segc_in_`, `__change_pct`).
const COLUMN_NAME_CHARS: usize = 50;

/// Names that would become the same column somewhere: DuckDB, BigQuery and SQL Server compare
/// column names without case, PostgreSQL and Redshift cut them at 63 bytes. Names are checked
/// by `check_name` to be ASCII.
pub(crate) struct ColumnNames<'a> {
    what: &'a str,
    seen: std::collections::HashMap<String, String>,
}

impl<'a> ColumnNames<'a> {
    pub(crate) fn new(what: &'a str) -> Self {
        ColumnNames {
            what,
            seen: std::collections::HashMap::new(),
        }
    }

    /// Admits a new name: one already `taken` is a duplicate, reported at `name`; a new one is
    /// recorded as by [`ColumnNames::check`]. True when admitted.
    pub(crate) fn admit(
        &mut self,
        name: &Spanned<String>,
        taken: bool,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> bool {
        if taken {
            diagnostics.push(Diagnostic::new(
                format!("duplicate {} `{}`", self.what, name.value),
                name.span,
            ));
            return false;
        }
        self.check(name, diagnostics);
        true
    }

    /// Records `name`; a clash with an earlier, different name is reported at `name`.
    pub(crate) fn check(&mut self, name: &Spanned<String>, diagnostics: &mut Vec<Diagnostic>) {
        let key: String = name
            .value
            .to_ascii_lowercase()
            .chars()
            .take(COLUMN_NAME_CHARS)
            .collect();
        match self.seen.get(&key) {
            Some(earlier) if *earlier != name.value => diagnostics.push(
                Diagnostic::new(
                    format!(
                        "{} `{}` would be the same column as `{earlier}` on some warehouses",
                        self.what, name.value
                    ),
                    name.span,
                )
                .with_hint(format!(
                    "DuckDB, BigQuery and SQL Server ignore case in column names, and PostgreSQL and Redshift keep their first 63 bytes: names must differ in their first {COLUMN_NAME_CHARS} characters, ignoring case"
                )),
            ),
            Some(_) => {}
            None => {
                self.seen.insert(key, name.value.clone());
            }
        }
    }
}

/// A name of the warehouse (a table, schema or column) as written in a source: quoted for
/// each dialect when rendered, so most characters are fine. Refused are those that no
/// warehouse accepts in a name and some cannot quote safely: control characters (NUL,
/// newline, ESC, …), and the backslash and backtick, which BigQuery reads as an escape and as
/// the end of a quoted name (a project's names stay valid on every warehouse).
pub(crate) fn check_physical_name(
    name: &Spanned<String>,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let text = &name.value;
    let problem = if text.trim().is_empty() {
        Some("is empty".to_string())
    } else if let Some(c) = text.chars().find(|c| c.is_control()) {
        Some(format!("holds the control character U+{:04X}", c as u32))
    } else if let Some(c) = text.chars().find(|c| matches!(c, '\\' | '`')) {
        Some(match c {
            '`' => "holds a backtick (`` ` ``)".to_string(),
            _ => "holds a backslash (`\\`)".to_string(),
        })
    } else if text.len() > 1024 {
        Some(format!("is {} bytes long (at most 1024)", text.len()))
    } else {
        None
    };
    match problem {
        Some(problem) => {
            diagnostics.push(
                Diagnostic::new(format!("the {what} name {problem}"), name.span).with_hint(
                    "warehouse names are quoted exactly as written, but control characters, `\\` and `` ` `` cannot be quoted safely on every warehouse; rename the table or column, or create a view with a plain name",
                ),
            );
            false
        }
        None => true,
    }
}

pub(crate) fn check_name(
    name: &Spanned<String>,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let text = &name.value;
    let valid = !text.is_empty()
        && text.len() <= 60
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        // A name pasted by mistake can be megabytes long: quote its start.
        let message = match text.char_indices().nth(60) {
            Some((cut, _)) => format!(
                "invalid {what} name `{}…` ({} characters)",
                &text[..cut],
                text.chars().count()
            ),
            None => format!("invalid {what} name `{text}`"),
        };
        diagnostics.push(
            Diagnostic::new(message, name.span)
                .with_hint("names use letters, digits and `_`, start with a letter, and have at most 60 characters"),
        );
        return false;
    }
    if text.to_ascii_lowercase().starts_with("segc_") {
        diagnostics.push(Diagnostic::new(
            format!(
                "{what} name `{text}` uses the prefix `segc_`, which segc keeps for its own columns"
            ),
            name.span,
        ));
        return false;
    }
    true
}

impl<'a> Validator<'a> {
    fn new(files: &'a ProjectFiles, learned: &'a LearnedTypes, check_types: bool) -> Self {
        Validator {
            files,
            diagnostics: Vec::new(),
            sources: Vec::new(),
            source_names: HashMap::new(),
            attributes: Vec::new(),
            attribute_names: HashMap::new(),
            segments: Vec::new(),
            kpis: Vec::new(),
            activity_window: Window::Last(Duration::Days(30)),
            quintile_bases: Vec::new(),
            learned,
            check_types,
            types_pending: false,
            catalog_target: None,
            column_types: HashMap::new(),
            user: String::new(),
            used_by_name: std::cell::RefCell::new(Vec::new()),
            column_uses: Vec::new(),
            untyped: Vec::new(),
            untimed: Vec::new(),
        }
    }

    /// The target a hint to refresh the snapshot names: the command's, else the snapshot's,
    /// else the project's default.
    pub(crate) fn refresh_target(&self) -> Option<String> {
        self.catalog_target
            .clone()
            .or_else(|| {
                let schema = self.files.definitions.warehouse_schema.as_ref()?;
                schema.target.as_ref().map(|t| t.value.clone())
            })
            .or_else(|| {
                let target = self.files.project.default_target.as_ref()?;
                Some(target.value.clone())
            })
    }

    pub(crate) fn origin(&self, span: Span) -> Origin {
        Origin {
            file: self.files.sources.display(span.file).to_string(),
            line: span.start.line,
        }
    }

    pub(crate) fn error(&mut self, message: impl Into<String>, span: Span) {
        self.diagnostics.push(Diagnostic::new(message, span));
    }

    pub(crate) fn error_with_hint(
        &mut self,
        message: impl Into<String>,
        span: Span,
        hint: Option<String>,
    ) {
        self.diagnostics
            .push(Diagnostic::new(message, span).with_optional_hint(hint));
    }

    fn run(&mut self) -> Project {
        let spec = &self.files.project;
        let name = spec
            .name
            .as_ref()
            .map(|n| n.value.clone())
            .unwrap_or_else(|| "segc_project".into());
        let time_zone = match &spec.time_zone {
            Some(zone) => match chrono_tz::Tz::from_str(&zone.value) {
                Ok(_) => zone.value.clone(),
                Err(_) => {
                    let hint =
                        suggest(&zone.value, chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()))
                            .or_else(|| {
                                Some("use an IANA name such as UTC or Europe/Berlin".into())
                            });
                    self.error_with_hint(
                        format!("unknown time zone `{}`", zone.value),
                        zone.span,
                        hint,
                    );
                    "UTC".into()
                }
            },
            None => "UTC".into(),
        };
        if let Some(window) = &spec.activity_window {
            match Duration::parse(&window.value) {
                Some(length) => self.activity_window = Window::Last(length),
                None => self.error_with_hint(
                    format!("invalid activity window `{}`", window.value),
                    window.span,
                    Some("write a length such as 30d, 4w or 1m".into()),
                ),
            }
        }
        let default_as_of = spec
            .as_of
            .as_ref()
            .and_then(|as_of| match parse_date(&as_of.value) {
                Some(date) => Some(date),
                None => {
                    self.error(
                        format!(
                            "`as_of` must be a date YYYY-MM-DD from 0001-01-01 to 9999-12-31, \
                             found `{}`",
                            as_of.value
                        ),
                        as_of.span,
                    );
                    None
                }
            });

        self.read_sources();
        self.read_attributes();
        self.read_segments();
        self.read_kpis();
        self.check_column_types();

        Project {
            name,
            time_zone,
            activity_window: self.activity_window,
            default_as_of,
            default_target: spec.default_target.as_ref().map(|t| t.value.clone()),
            refresh_target: self.refresh_target(),
            currency_symbol: spec
                .currency_symbol
                .as_ref()
                .map(|c| c.value.clone())
                .unwrap_or_else(|| "$".into()),
            results_table: spec.results_table.as_ref().map(|t| t.value.clone()),
            history_table: spec.history_table.as_ref().map(|t| t.value.clone()),
            sources: std::mem::take(&mut self.sources),
            attributes: std::mem::take(&mut self.attributes),
            segments: std::mem::take(&mut self.segments),
            kpis: std::mem::take(&mut self.kpis),
        }
    }
}

/// `YYYY-MM-DD`, of the years every warehouse holds (0001 to 9999), as the JSON Schema says
/// (chrono alone also takes `2024-1-1` and `+2024-01-01`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    digits_shaped(text, "dddd-dd-dd")
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .filter(|date| crate::ir::time::within_years(*date))
}

/// Whether `text` has the `shape`'s length, a digit where it has `d` and its other
/// characters where they are.
pub fn digits_shaped(text: &str, shape: &str) -> bool {
    text.len() == shape.len()
        && text
            .bytes()
            .zip(shape.bytes())
            .all(|(got, want)| match want {
                b'd' => got.is_ascii_digit(),
                _ => got == want,
            })
}
