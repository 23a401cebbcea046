//! `profiles.yml`: connection targets, looked up in `--profiles-dir`, `$SEGC_PROFILES_DIR`,
//! the project folder, then `~/.segc/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Diagnostics, Error, SourceMap, suggest};

use super::yaml::{self, NodeKind};

pub const PROFILES_FILE: &str = "profiles.yml";

/// One target of `profiles.yml`.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub kind: String,
    /// Every other field, as text.
    pub fields: BTreeMap<String, String>,
    /// The folder the profiles file was found in.
    pub folder: PathBuf,
}

impl Profile {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Where to look for `profiles.yml`, in order.
pub fn search_path(profiles_dir: Option<&Path>, project_root: &Path) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    if let Some(dir) = profiles_dir {
        folders.push(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("SEGC_PROFILES_DIR").filter(|d| !d.is_empty()) {
        folders.push(PathBuf::from(dir));
    }
    folders.push(project_root.to_path_buf());
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        folders.push(Path::new(&home).join(".segc"));
    }
    folders
}

/// Reads the first `profiles.yml` on the search path and returns target `name`.
pub fn load_profile(
    profiles_dir: Option<&Path>,
    project_root: &Path,
    name: &str,
) -> Result<Profile, Error> {
    let folders = search_path(profiles_dir, project_root);
    let Some(folder) = folders.iter().find(|f| f.join(PROFILES_FILE).is_file()) else {
        let looked: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
        return Err(Error::Profile(format!(
            "no {PROFILES_FILE} found (looked in: {}); create one, or preview SQL without a profile with `segc compile --dialect duckdb`",
            looked.join(", ")
        )));
    };
    let path = folder.join(PROFILES_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let mut sources = SourceMap::default();
    let file = sources.add(path.display().to_string(), text.clone());
    let invalid = |sources: SourceMap, items: Vec<Diagnostic>| {
        Error::Invalid(Box::new(Diagnostics { sources, items }))
    };
    let root = match yaml::parse(file, &text) {
        Ok(Some(root)) => root,
        Ok(None) => return Err(Error::Profile(format!("{} is empty", path.display()))),
        Err(diagnostic) => return Err(invalid(sources, vec![diagnostic])),
    };
    let Some(entries) = root.as_mapping() else {
        return Err(invalid(
            sources,
            vec![Diagnostic::new(
                "profiles.yml must map target names to settings",
                root.span,
            )],
        ));
    };
    let names: Vec<&str> = entries.iter().filter_map(|(k, _)| k.as_str()).collect();
    let Some((_, body)) = entries.iter().find(|(k, _)| k.as_str() == Some(name)) else {
        let hint = suggest(name, names.iter().copied())
            .unwrap_or_else(|| format!("targets: {}", names.join(", ")));
        return Err(Error::Profile(format!(
            "no target `{name}` in {}; {hint}",
            path.display()
        )));
    };
    let Some(settings) = body.as_mapping() else {
        return Err(invalid(
            sources,
            vec![Diagnostic::new(
                format!("target `{name}` must be a mapping of settings"),
                body.span,
            )],
        ));
    };
    let mut fields = BTreeMap::new();
    let mut kind = None;
    for (key, value) in settings {
        let (Some(key), NodeKind::Scalar { value, .. }) = (key.as_str(), &value.kind) else {
            return Err(invalid(
                sources,
                vec![Diagnostic::new(
                    "profile settings are single values",
                    value.span,
                )],
            ));
        };
        if key == "type" {
            kind = Some(value.clone());
        } else {
            fields.insert(key.to_string(), value.clone());
        }
    }
    let Some(kind) = kind else {
        return Err(invalid(
            sources,
            vec![
                Diagnostic::new(format!("target `{name}` has no `type`"), body.span)
                    .with_hint("one of: duckdb, postgres, redshift, bigquery, sqlserver"),
            ],
        ));
    };
    Ok(Profile {
        name: name.to_string(),
        kind,
        fields,
        folder: folder.clone(),
    })
}
