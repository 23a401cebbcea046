//! `profiles.yml`: connection targets, looked up in `--profiles-dir`, `$SEGC_PROFILES_DIR`,
//! the project folder, then `~/.segc/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Diagnostics, Error, SourceMap, suggest};

use super::load::read_text_file;
use super::yaml::{self, NodeKind};

pub const PROFILES_FILE: &str = "profiles.yml";

/// Fields whose values are secrets: never printed, only masked.
pub const SECRET_FIELDS: &[&str] = &[
    "password",
    "token",
    "access_token",
    "private_key",
    "keyfile_json",
    "client_secret",
    "connection_string",
];

/// One target of `profiles.yml`. `Debug` masks secrets.
#[derive(Clone)]
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

    /// The fields with every secret replaced by `****`, for display.
    pub fn masked_fields(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .map(|(key, value)| {
                let shown = if SECRET_FIELDS.contains(&key.as_str()) {
                    "****".to_string()
                } else {
                    value.clone()
                };
                (key.clone(), shown)
            })
            .collect()
    }
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("fields", &self.masked_fields())
            .finish()
    }
}

/// Expands `{{ env_var('NAME') }}` and `{{ env_var('NAME', 'default') }}` in a profile value.
/// A missing variable without a default is an error naming the variable (never its value).
pub fn interpolate(value: &str, target: &str, field: &str) -> Result<String, Error> {
    if !value.contains("{{") && !value.contains("{%") {
        return Ok(value.to_string());
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_function(
        "env_var",
        |name: String, default: Option<String>| -> Result<String, minijinja::Error> {
            match (std::env::var(&name), default) {
                (Ok(value), _) => Ok(value),
                (Err(_), Some(default)) => Ok(default),
                (Err(_), None) => Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("the environment variable {name} is not set"),
                )),
            }
        },
    );
    env.render_str(value, ()).map_err(|e| {
        let detail = e
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| e.kind().to_string());
        Error::Profile(format!("target `{target}`, field `{field}`: {detail}"))
    })
}

/// Every target of the first `profiles.yml` on the search path, values interpolated.
pub fn load_all(
    profiles_dir: Option<&Path>,
    project_root: &Path,
) -> Result<Vec<Result<Profile, Error>>, Error> {
    let folders = search_path(profiles_dir, project_root);
    let Some(folder) = folders.iter().find(|f| f.join(PROFILES_FILE).is_file()) else {
        return Ok(Vec::new());
    };
    let text = read_text_file(folder.join(PROFILES_FILE)).map_err(|source| Error::Io {
        path: folder.join(PROFILES_FILE),
        source,
    })?;
    let mut sources = SourceMap::default();
    let file = sources.add(
        folder.join(PROFILES_FILE).display().to_string(),
        text.clone(),
    );
    let names: Vec<String> = match yaml::parse(file, &text) {
        Ok(Some(root)) => root
            .as_mapping()
            .unwrap_or(&[])
            .iter()
            .filter_map(|(k, _)| k.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Ok(names
        .iter()
        .map(|name| load_profile(profiles_dir, project_root, name))
        .collect())
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
    let text = read_text_file(&path).map_err(|source| Error::Io {
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
        let value = interpolate(value, name, key)?;
        if key == "type" {
            kind = Some(value);
        } else {
            fields.insert(key.to_string(), value);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_vars_interpolate_with_defaults_and_missing_ones_are_named() {
        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var("SEGC_TEST_PROFILE_HOST", "db.internal") };
        assert_eq!(
            interpolate("{{ env_var('SEGC_TEST_PROFILE_HOST') }}", "t", "host").unwrap(),
            "db.internal"
        );
        assert_eq!(
            interpolate(
                "{{ env_var('SEGC_TEST_PROFILE_UNSET_1', 'fallback') }}",
                "t",
                "host"
            )
            .unwrap(),
            "fallback"
        );
        let error = interpolate(
            "{{ env_var('SEGC_TEST_PROFILE_UNSET_2') }}",
            "pg",
            "password",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("SEGC_TEST_PROFILE_UNSET_2")
                && error.contains("`pg`")
                && error.contains("`password`"),
            "{error}"
        );
        assert_eq!(interpolate("plain", "t", "host").unwrap(), "plain");
    }

    #[test]
    fn secrets_are_masked_in_debug_output_and_listings() {
        let profile = Profile {
            name: "pg".into(),
            kind: "postgres".into(),
            fields: [
                ("password".to_string(), "hunter2".to_string()),
                ("host".to_string(), "h".to_string()),
            ]
            .into_iter()
            .collect(),
            folder: PathBuf::new(),
        };
        let shown = format!("{profile:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("****"),
            "{shown}"
        );
        assert_eq!(profile.masked_fields()["host"], "h");
        assert_eq!(profile.masked_fields()["password"], "****");
    }
}
