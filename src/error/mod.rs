//! Diagnostics that point into the user's files, and the library's error type.

use std::fmt;
use std::path::PathBuf;

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A position in a file: 1-based line and column (in characters), plus the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub byte: usize,
}

/// A range of text in one of the project's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: Position,
    pub end: Position,
}

impl Span {
    /// A span inside this one, `from..to` characters after its start, on the same line.
    /// Used to point at part of a formula; falls back to the whole span when the scalar
    /// does not sit on one line.
    pub fn narrow(&self, from: usize, to: usize) -> Span {
        if self.start.line != self.end.line {
            return *self;
        }
        let width = self.end.column.saturating_sub(self.start.column);
        if to > width || from >= to {
            return *self;
        }
        let mut span = *self;
        span.start.column = self.start.column + from;
        span.end.column = self.start.column + to;
        span
    }
}

/// The text of every file read for a project, so diagnostics can quote it.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    display: String,
    text: String,
    /// The byte offset of each line's start, so that quoting a line does not rescan the
    /// file (a generated file can have many thousands of diagnostics).
    line_starts: Vec<usize>,
    /// Secrets replaced by [`MASK`] in `text`, in order; columns refer to the original text.
    masks: Vec<Mask>,
}

/// What a secret reads as in a quoted source line.
pub const MASK: &str = "****";

/// A secret hidden in a line: the characters `from..to` (0-based columns of the original
/// line `line`) were replaced by [`MASK`].
#[derive(Debug, Clone, Copy)]
struct Mask {
    line: usize,
    from: usize,
    to: usize,
}

/// Where each line of `text` starts: after a line feed, or after a carriage return that no
/// line feed follows (YAML's line breaks, as the parser counts lines).
fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    std::iter::once(0)
        .chain(bytes.iter().enumerate().filter_map(|(at, byte)| {
            let ends = *byte == b'\n' || (*byte == b'\r' && bytes.get(at + 1) != Some(&b'\n'));
            ends.then_some(at + 1)
        }))
        .collect()
}

impl SourceMap {
    pub fn add(&mut self, display: impl Into<String>, text: impl Into<String>) -> FileId {
        let text = text.into();
        let line_starts = line_starts(&text);
        self.files.push(SourceFile {
            display: display.into(),
            text,
            line_starts,
            masks: Vec::new(),
        });
        FileId((self.files.len() - 1) as u32)
    }

    /// Adds a file whose `secrets` (byte ranges of `text`) must never be quoted: the stored
    /// text has each secret replaced by [`MASK`], line by line, so line numbers stay the same
    /// and underlines are moved to match.
    pub fn add_masked(
        &mut self,
        display: impl Into<String>,
        text: &str,
        secrets: &[std::ops::Range<usize>],
    ) -> FileId {
        let mut secrets: Vec<std::ops::Range<usize>> = secrets.to_vec();
        secrets.sort_by_key(|range| range.start);
        // Whether byte `at` is secret; asked in increasing order, so `next` only moves on.
        let mut next = 0;
        let mut is_secret = |at: usize| {
            while next < secrets.len() && secrets[next].end <= at {
                next += 1;
            }
            secrets[next..]
                .iter()
                .take_while(|range| range.start <= at)
                .any(|range| range.contains(&at))
        };
        let mut masked = String::with_capacity(text.len());
        let mut masks = Vec::new();
        let mut line_start = 0;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let characters: Vec<(usize, char)> = line.char_indices().collect();
            let flags: Vec<bool> = characters
                .iter()
                .map(|&(byte, character)| character != '\n' && is_secret(line_start + byte))
                .collect();
            let hidden = |at: usize| flags[at];
            let mut at = 0;
            while at < characters.len() {
                if !hidden(at) {
                    masked.push(characters[at].1);
                    at += 1;
                    continue;
                }
                let mut to = at;
                while to < characters.len() && hidden(to) {
                    to += 1;
                }
                // Whitespace at the edges of a secret stays, so indentation does.
                let from = (at..to)
                    .find(|&c| !characters[c].1.is_whitespace())
                    .unwrap_or(to);
                let until = (from..to)
                    .rfind(|&c| !characters[c].1.is_whitespace())
                    .map_or(from, |c| c + 1);
                masked.extend(characters[at..from].iter().map(|(_, c)| c));
                if from < until {
                    masked.push_str(MASK);
                    masks.push(Mask {
                        line: index + 1,
                        from,
                        to: until,
                    });
                }
                masked.extend(characters[until..to].iter().map(|(_, c)| c));
                at = to;
            }
            line_start += line.len();
        }
        let line_starts = line_starts(&masked);
        self.files.push(SourceFile {
            display: display.into(),
            text: masked,
            line_starts,
            masks,
        });
        FileId((self.files.len() - 1) as u32)
    }

    /// Where column `column` (0-based, of the original line) of `line` is in the text as
    /// stored: moved by the masks before it; inside a mask, at its start (or its end, for
    /// the end of an underline).
    fn stored_column(&self, file: FileId, line: usize, column: usize, end: bool) -> usize {
        let Some(source) = self.files.get(file.0 as usize) else {
            return column;
        };
        let mut shifted = column;
        for mask in source.masks.iter().filter(|m| m.line == line) {
            let width = mask.to - mask.from;
            if column >= mask.to {
                shifted = shifted + MASK.len() - width;
            } else if column > mask.from {
                let start = shifted - (column - mask.from);
                return if end { start + MASK.len() } else { start };
            } else {
                break;
            }
        }
        shifted
    }

    /// Line `number` (1-based) of a file, without its line break.
    pub fn line(&self, file: FileId, number: usize) -> Option<&str> {
        let source = self.files.get(file.0 as usize)?;
        let start = *source.line_starts.get(number.checked_sub(1)?)?;
        let end = source
            .line_starts
            .get(number)
            .copied()
            .unwrap_or(source.text.len());
        if start >= source.text.len() {
            return None;
        }
        let line = &source.text[start..end];
        let line = line.strip_suffix('\n').unwrap_or(line);
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    pub fn display(&self, file: FileId) -> &str {
        self.files
            .get(file.0 as usize)
            .map(|f| f.display.as_str())
            .unwrap_or("<unknown>")
    }

    /// The file's text as stored: for a file added with [`SourceMap::add_masked`], with its
    /// secrets masked.
    pub fn text(&self, file: FileId) -> &str {
        self.files
            .get(file.0 as usize)
            .map(|f| f.text.as_str())
            .unwrap_or("")
    }

    /// `file:line:col` of a span's start.
    pub fn location(&self, span: &Span) -> String {
        format!(
            "{}:{}:{}",
            self.display(span.file),
            span.start.line,
            span.start.column
        )
    }
}

/// One problem found in the user's project.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            message: message.into(),
            span: Some(span),
            hint: None,
        }
    }

    pub fn without_location(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            span: None,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_optional_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// Renders the diagnostic the way a compiler does: message, location, the line of
    /// text with the offending part underlined, and a hint.
    pub fn render(&self, sources: &SourceMap) -> String {
        // Messages quote names from the files, which may hold escape characters.
        let clean = |text: &str| -> String { crate::terminal::printable_lines(text).into_owned() };
        let mut out = format!("error: {}\n", clean(&self.message));
        if let Some(span) = &self.span {
            // A line end in a file's name is escaped: it must not start a line of its own.
            let location = sources.location(span);
            out.push_str(&format!(
                "  --> {}\n",
                crate::terminal::printable(&location)
            ));
            if let Some(line_text) = sources.line(span.file, span.start.line) {
                // Blanked before it is cut: a cut could split a secret where masking would
                // no longer find it.
                let line_text = &redact::blank_secrets(line_text);
                let number = span.start.line.to_string();
                let pad = " ".repeat(number.len());
                let line = span.start.line;
                let column = |position: &Position, end: bool| {
                    sources.stored_column(span.file, line, position.column.saturating_sub(1), end)
                };
                let start = column(&span.start, false);
                let end = if span.end.line == span.start.line {
                    column(&span.end, true)
                } else {
                    usize::MAX
                };
                let (shown, start, end) = excerpt(line_text, start, end);
                // The line is quoted with its control characters escaped, so the underline
                // is measured in escaped characters too.
                let escaped_width = |skip: usize, take: usize| {
                    let part: String = shown.chars().skip(skip).take(take).collect();
                    crate::terminal::printable(&part).chars().count()
                };
                let width = escaped_width(start, end.saturating_sub(start)).max(1);
                let start = escaped_width(0, start);
                out.push_str(&format!("{pad} |\n"));
                out.push_str(&format!(
                    "{number} | {}\n",
                    crate::terminal::printable(&shown)
                ));
                out.push_str(&format!(
                    "{pad} | {}{}\n",
                    " ".repeat(start),
                    "^".repeat(width)
                ));
            }
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("  = help: {}\n", clean(hint)));
        }
        out
    }
}

/// Characters of a quoted line shown before the span starts, and at most in all: a long
/// line (a generated one-line file) is cut around the span, with `…` where it was cut.
const EXCERPT_BEFORE: usize = 40;
const EXCERPT_WIDTH: usize = 120;

/// A character as quoted: control characters (an escape sequence in a file could drive the
/// terminal) become `�`, one column wide like the character they replace.
/// The part of `line` to quote, and the character range `start..end` to underline within
/// it (clamped to what is shown).
fn excerpt(line: &str, start: usize, end: usize) -> (String, usize, usize) {
    if line.chars().nth(EXCERPT_WIDTH).is_none() {
        let length = line.chars().count();
        let shown = line.to_string();
        return (shown, start.min(length), end.min(length));
    }
    let from = start.saturating_sub(EXCERPT_BEFORE);
    let mut shown: String = line.chars().skip(from).take(EXCERPT_WIDTH).collect();
    let length = shown.chars().count();
    let mut start = (start - from).min(length);
    let mut end = end.saturating_sub(from).min(length);
    if line.chars().nth(from + EXCERPT_WIDTH).is_some() {
        shown.push('…');
        if end == length {
            end += 1;
        }
    }
    if from > 0 {
        shown.insert(0, '…');
        start += 1;
        end += 1;
    }
    (shown, start, end)
}

/// Diagnostics printed at most: a generated file can have a million problems, and the
/// first few hundred say what is wrong.
pub const MAX_SHOWN_DIAGNOSTICS: usize = 200;

/// Every diagnostic of a project that failed to load or validate.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub sources: SourceMap,
    pub items: Vec<Diagnostic>,
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in self.items.iter().take(MAX_SHOWN_DIAGNOSTICS) {
            writeln!(f, "{}", item.render(&self.sources))?;
        }
        let count = self.items.len();
        if count > MAX_SHOWN_DIAGNOSTICS {
            writeln!(
                f,
                "… and {} more not shown; fix the first ones and run segc again\n",
                count - MAX_SHOWN_DIAGNOSTICS
            )?;
        }
        write!(
            f,
            "{count} problem{} found",
            if count == 1 { "" } else { "s" }
        )
    }
}

/// The library's error type. `Display` is for humans.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(Box<Diagnostics>),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write to {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A bad command line (the CLI's own checks).
    #[error("{0}")]
    Usage(String),
    /// What was asked for does not exist or cannot be done.
    #[error("{0}")]
    Request(BadRequest),
    #[error("{0}")]
    Render(String),
    #[error("{0}")]
    Query(String),
    #[error("{0}")]
    Profile(String),
    /// A statement ran longer than `--timeout` and was cancelled in the warehouse.
    #[error("{0}")]
    TimedOut(String),
    /// Ctrl-C or SIGTERM; the query was cancelled in the warehouse.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

/// What was asked for (a project folder, segments, KPIs, a dialect, a period) does not exist
/// or cannot be done; the command line maps it to its exit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    /// No project where one was expected: the problem and where.
    #[error(
        "{0}: run segc inside a project folder, pass --project DIR, or create one with `segc init DIR`"
    )]
    NoProject(String),
    #[error("--select names unknown segments: {}", .0.join(", "))]
    UnknownSegments(Vec<String>),
    #[error("--kpis names unknown KPIs: {}", .0.join(", "))]
    UnknownKpis(Vec<String>),
    #[error("unknown dialect `{name}`; known dialects: {}", .known.join(", "))]
    UnknownDialect { name: String, known: Vec<String> },
    #[error("unknown time zone `{0}`")]
    UnknownTimeZone(String),
    #[error("the period {0}..{1} ends before it starts")]
    PeriodReversed(chrono::NaiveDate, chrono::NaiveDate),
    #[error("--from {0} is after --to {1}")]
    MonthsReversed(String, String),
    #[error("--grain month covers at most {0} months in one run")]
    TooManyMonths(usize),
    #[error("a series needs at least one period")]
    NoPeriods,
    /// A time the report would write in its SQL (the as-of day's end, a window's start, a
    /// month's end) outside the years every warehouse holds.
    #[error(
        "the report needs the time {0}, outside 0001-01-01 to 9999-12-31, the only times \
         every warehouse holds (BigQuery and SQL Server hold no others): choose an as-of day, a \
         period or months whose windows stay within those years"
    )]
    TimeOutOfRange(String),
    #[error("no --target given and segc_project.yml sets no `default_target`")]
    NoTarget,
    /// `--target` names no target of profiles.yml: the whole message (where segc looked, the
    /// likely name or the names there are).
    #[error("{0}")]
    UnknownTarget(String),
    #[error("segment `{0}` has no conditions: it holds every user")]
    NothingToExplain(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `text` with its secrets masked ([`redact`]), then cut to at most `max` characters, with
/// what was left out counted: a warehouse's message or value quoted in an error stays
/// readable and bounded, however long it was, and a cut never leaves part of a secret.
pub fn clip(text: &str, max: usize) -> String {
    let text = redact(text);
    match text.char_indices().nth(max) {
        None => text,
        Some((at, _)) => format!(
            "{}… ({} more characters)",
            &text[..at],
            text[at..].chars().count()
        ),
    }
}

/// The closest of `candidates` to `name`, when it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(name, candidate);
        let limit = (name.chars().count().max(candidate.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current[j + 1] = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests;

mod redact;
pub use redact::{
    SHORTEST_SECRET, blank_secrets, redact, redact_json, redact_shapes, register_secret,
};
