//! `segc list [PATTERN]`: the project's segments, KPIs and attributes with their labels,
//! where each is defined, and their descriptions.

use std::path::Path;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::error::Error;
use crate::ir::Project;
use crate::terminal::printable;

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Only names and labels matching this, without case: a part of the text (`active`), or a
    /// glob over the whole name or label when it holds `*` or `?` (`*_30d`).
    pub pattern: Option<String>,
    /// How to print the list.
    #[arg(long, short = 'o', value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

/// One listed definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub label: String,
    /// `file:line` of its definition.
    pub defined_at: String,
    pub description: Option<String>,
}

/// Does `pattern` match `text`? Without case; a glob (`*` any run of characters, `?` one
/// character) over the whole text when it holds `*` or `?`, else a part of the text.
pub fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    if !pattern.iter().any(|c| matches!(c, '*' | '?')) {
        return pattern.is_empty() || text.windows(pattern.len()).any(|w| w == pattern);
    }
    // Iterative glob matching with one backtracking point (the last `*`): linear in practice.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// The project's segments, KPIs and attributes (declared ones, then the columns usable by
/// name), each kind in file order, that `pattern` matches by name or label.
pub fn entries(project: &Project, pattern: Option<&str>) -> (Vec<Entry>, Vec<Entry>, Vec<Entry>) {
    let keep =
        |entry: &Entry| pattern.is_none_or(|p| matches(p, &entry.name) || matches(p, &entry.label));
    let segments = project.segments.iter().map(|s| Entry {
        name: s.name.clone(),
        label: s.label.clone(),
        defined_at: s.origin.to_string(),
        description: s.description.clone(),
    });
    let kpis = project.kpis.iter().map(|k| Entry {
        name: k.name.clone(),
        label: k.label.clone(),
        defined_at: k.origin.to_string(),
        description: k.description.clone(),
    });
    let declared = project.attributes.iter().filter(|a| !a.implicit);
    let implicit = project.attributes.iter().filter(|a| a.implicit);
    let attributes = declared.chain(implicit).map(|a| Entry {
        name: a.name.clone(),
        label: a.name.clone(),
        defined_at: a.origin.to_string(),
        description: a.description.clone().or_else(|| match &a.kind {
            crate::ir::AttributeKind::Column { source, .. } if a.implicit => Some(format!(
                "column of source `{}`, usable by name",
                project.source(*source).name
            )),
            _ => None,
        }),
    });
    (
        segments.filter(keep).collect(),
        kpis.filter(keep).collect(),
        attributes.filter(keep).collect(),
    )
}

fn table(kinds: &[(&str, &[Entry])]) -> String {
    let mut out = String::new();
    for (kind, entries) in kinds {
        if entries.is_empty() {
            continue;
        }
        out.push_str(&format!("{kind}:\n"));
        let width = |f: fn(&Entry) -> &str| {
            entries
                .iter()
                .map(|e| printable(f(e)).chars().count())
                .max()
                .unwrap_or(0)
        };
        let (name_width, label_width) = (width(|e| &e.name), width(|e| &e.label));
        for entry in entries.iter() {
            let line = format!(
                "  {:<name_width$}  {:<label_width$}  {}",
                printable(&entry.name),
                printable(&entry.label),
                printable(&entry.defined_at)
            );
            out.push_str(line.trim_end());
            out.push('\n');
            if let Some(description) = &entry.description {
                for text in description.trim().lines() {
                    out.push_str(&format!("      {}\n", printable(text.trim_end())));
                }
            }
        }
    }
    out
}

fn json_list(entries: &[Entry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| {
                json!({
                    "name": e.name,
                    "label": e.label,
                    "defined_at": e.defined_at,
                    "description": e.description,
                })
            })
            .collect(),
    )
}

pub fn execute(root: &Path, args: &ListArgs) -> Result<i32, Error> {
    // Offline: a column whose type only the warehouse knows is no reason not to list.
    let files = crate::spec::load_project(root)?;
    let project = crate::validate::validate_with(
        files,
        &crate::validate::LearnedTypes::new(),
        crate::validate::TypeCheck::Off,
    )?;
    let (segments, kpis, attributes) = entries(&project, args.pattern.as_deref());
    match args.output {
        ListFormat::Json => {
            let value = json!({
                "segments": json_list(&segments),
                "kpis": json_list(&kpis),
                "attributes": json_list(&attributes),
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        }
        ListFormat::Table => {
            if segments.is_empty() && kpis.is_empty() && attributes.is_empty() {
                let pattern = args.pattern.as_deref().unwrap_or_default();
                eprintln!(
                    "no segment, KPI or attribute matches `{}`",
                    printable(pattern)
                );
                return Ok(1);
            }
            print!(
                "{}",
                table(&[
                    ("segments", &segments),
                    ("kpis", &kpis),
                    ("attributes", &attributes)
                ])
            );
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn a_pattern_without_wildcards_matches_a_part_without_case() {
        assert!(matches("ACT", "inactive_users"));
        assert!(matches("", "anything"));
        assert!(!matches("paying", "pay"));
    }

    #[test]
    fn a_glob_matches_the_whole_text() {
        assert!(matches("*_30d", "logins_30d"));
        assert!(!matches("*_30d", "logins_30d_prev"));
        assert!(matches("a?t*", "Active"));
        assert!(!matches("a?t", "active"));
        assert!(matches("*", ""));
        assert!(matches("*a*b*", "xxaxxbxx"));
        assert!(!matches("*a*b", "xxbxxa"));
    }
}
