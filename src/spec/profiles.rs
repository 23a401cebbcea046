//! `profiles.yml`: connection targets, looked up in `--profiles-dir`, `$SEGC_PROFILES_DIR`,
//! the project folder, then `~/.segc/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Diagnostics, Error, FileId, MASK, SourceMap, Span, suggest};
use crate::events::Events;

use super::load::read_text_file;
use super::secrets;
use super::yaml::{self, Node, NodeKind};

pub const PROFILES_FILE: &str = "profiles.yml";

/// Fields whose values are secrets: never printed, only masked. `options` and
/// `connection_string` may carry a password among other things.
pub const SECRET_FIELDS: &[&str] = &[
    "password",
    "token",
    "access_token",
    "private_key",
    "keyfile_json",
    "client_secret",
    "connection_string",
    "options",
];

/// Parts of a key's name that make its value a secret, whatever the rest says
/// (`PASSWORD`, `passwd`, `db_pwd`, `api-key`, …), compared without case, `_` or `-`.
const SECRET_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "credential",
    "privatekey",
    "apikey",
    "accesskey",
    "keyfilejson",
    "connectionstring",
];

const POSTGRES_SETTINGS: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "database",
    "dbname",
    "options",
    "sslmode",
    "sslrootcert",
    "connect_timeout",
];

/// The settings each target type reads, besides `type`. Any other key is refused, so that a
/// misspelled `password` is reported where it was written instead of being ignored.
pub const TARGET_TYPES: &[(&str, &[&str])] = &[
    ("duckdb", &["path", "demo"]),
    ("postgres", POSTGRES_SETTINGS),
    ("redshift", POSTGRES_SETTINGS),
    (
        "bigquery",
        &[
            "project",
            "project_id",
            "dataset",
            "location",
            "endpoint",
            "maximum_bytes_billed",
            "page_size",
            "access_token",
            "keyfile_json",
            "keyfile",
        ],
    ),
    (
        "sqlserver",
        &[
            "connection_string",
            "host",
            "port",
            "instance",
            "database",
            "user",
            "password",
            "access_token",
            "encrypt",
            "trust_server_certificate",
            "ca_file",
            "command_timeout",
            "connect_timeout",
        ],
    ),
];

/// The settings a target type takes, or `None` for an unknown type.
pub fn settings_of(kind: &str) -> Option<&'static [&'static str]> {
    TARGET_TYPES
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|(_, settings)| *settings)
}

/// Whether a key's value is a secret: a known secret field, a name that says so, or a
/// misspelling of a secret field (`pasword`).
pub fn is_secret(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    let squeezed: String = lower.chars().filter(char::is_ascii_alphanumeric).collect();
    SECRET_FIELDS.contains(&lower.as_str())
        || SECRET_WORDS.iter().any(|w| squeezed.contains(w))
        || (!is_setting(&lower) && suggest(&lower, SECRET_FIELDS.iter().copied()).is_some())
}

/// Whether `key` is `type` or a setting of some target type.
pub fn is_setting(key: &str) -> bool {
    key == "type"
        || TARGET_TYPES
            .iter()
            .any(|(_, settings)| settings.contains(&key))
}

/// Whether `key` is a setting whose value may be shown (`host`, `port`, …).
pub fn is_plain_setting(key: &str) -> bool {
    is_setting(key) && !is_secret(key)
}

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

    /// The fields with every secret replaced by `****`, for display: secret fields whole,
    /// and the password of a URL or after `password=` in any other.
    pub fn masked_fields(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .map(|(key, value)| {
                let shown = if is_secret(key) {
                    MASK.to_string()
                } else {
                    secrets::mask_value(value)
                };
                (key.clone(), shown)
            })
            .collect()
    }

    /// `text` with every secret of this profile replaced by `****`: for messages built from
    /// what a driver or a server said, which should never repeat one but are not trusted to.
    pub fn redact(&self, text: &str) -> String {
        let mut redacted = text.to_string();
        for (key, value) in &self.fields {
            let mut found = secrets::hidden_parts(value);
            if is_secret(key) {
                found.push(value);
            }
            for secret in found {
                let secret = secret.trim();
                // Shorter values cannot be told from ordinary words.
                if secret.chars().count() >= 4 {
                    redacted = redacted.replace(secret, MASK);
                }
            }
        }
        redacted
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
    expand(value)
        .map_err(|problem| Error::Profile(format!("target `{target}`, `{field}`: {problem}")))
}

/// The one interpolation profiles take, read by hand: a template engine's errors quote the
/// template, and here the template may be a password. `{%` and `{#` are plain text; `{{`
/// must start an `env_var` call. Errors never quote the value.
fn expand(value: &str) -> Result<String, String> {
    let mut expanded = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(open) = rest.find("{{") {
        expanded.push_str(&rest[..open]);
        let (call, length) = env_var_call(&rest[open + 2..]).ok_or_else(|| {
            "`{{` must start `{{ env_var('NAME') }}` or `{{ env_var('NAME', 'default') }}` \
             (the value is not shown; a value holding `{{` itself can come from an environment \
             variable)"
                .to_string()
        })?;
        match (std::env::var(call.name), call.default) {
            (Ok(found), _) => expanded.push_str(&found),
            (Err(std::env::VarError::NotUnicode(_)), _) => {
                return Err(format!(
                    "the environment variable {} is not valid Unicode",
                    call.name
                ));
            }
            (Err(std::env::VarError::NotPresent), Some(default)) => expanded.push_str(default),
            (Err(std::env::VarError::NotPresent), None) => {
                return Err(format!("the environment variable {} is not set", call.name));
            }
        }
        rest = &rest[open + 2 + length..];
    }
    expanded.push_str(rest);
    Ok(expanded)
}

/// `env_var('NAME')` or `env_var('NAME', 'default')` and the closing `}}`.
struct EnvVarCall<'v> {
    name: &'v str,
    default: Option<&'v str>,
}

/// Reads an `env_var` call and its closing `}}` at the start of `text` (just after `{{`);
/// returns it and the length read.
fn env_var_call(text: &str) -> Option<(EnvVarCall<'_>, usize)> {
    fn blank(text: &str) -> &str {
        text.trim_start_matches([' ', '\t'])
    }
    fn quoted(text: &str) -> Option<(&str, &str)> {
        let quote = text.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
        let (inside, rest) = text[1..].split_once(quote)?;
        Some((inside, rest))
    }
    let rest = blank(text).strip_prefix("env_var")?;
    let rest = blank(rest).strip_prefix('(')?;
    let (name, rest) = quoted(blank(rest))?;
    // std::env::var panics on these.
    if name.is_empty() || name.contains(['=', '\0']) {
        return None;
    }
    let rest = blank(rest);
    let (default, rest) = match rest.strip_prefix(',') {
        Some(rest) => {
            let (default, rest) = quoted(blank(rest))?;
            (Some(default), blank(rest))
        }
        None => (None, rest),
    };
    let rest = blank(blank(rest).strip_prefix(')')?).strip_prefix("}}")?;
    Some((EnvVarCall { name, default }, text.len() - rest.len()))
}

/// A `profiles.yml`, parsed, with its text kept for diagnostics with every secret masked.
struct ProfilesFile {
    path: PathBuf,
    folder: PathBuf,
    sources: SourceMap,
    /// `None` for an empty file.
    root: Option<Node>,
}

impl ProfilesFile {
    /// Parses `text`, read from `folder`; a YAML error, or a file that does not map target
    /// names to settings, is an error pointing into it.
    fn parse(folder: &Path, text: &str) -> Result<ProfilesFile, Error> {
        let path = folder.join(PROFILES_FILE);
        // The first file of a new source map, so the spans parsed here point into it.
        let file = FileId(0);
        let parsed = yaml::parse(file, text);
        let mut hidden = secrets::raw_secrets(text);
        if let Ok(Some(root)) = &parsed {
            hidden.extend(secrets::tree_secrets(root, settings_of));
        }
        let mut sources = SourceMap::default();
        let added = sources.add_masked(path.display().to_string(), text, &hidden);
        debug_assert_eq!(added, file);
        let invalid = |sources: SourceMap, diagnostic: Diagnostic| {
            Error::Invalid(Box::new(Diagnostics {
                sources,
                items: vec![diagnostic],
            }))
        };
        let root = match parsed {
            Ok(root) => root,
            Err(mut diagnostic) => {
                // "unexpected character: `%'" would quote a character of a secret.
                let at = diagnostic.span.map(|span| span.start.byte);
                if at.is_some_and(|at| hidden.iter().any(|range| range.contains(&at)))
                    && let Some((message, _)) = diagnostic.message.split_once(": `")
                {
                    diagnostic.message = message.to_string();
                }
                return Err(invalid(sources, diagnostic));
            }
        };
        if let Some(root) = &root
            && root.as_mapping().is_none()
        {
            return Err(invalid(
                sources,
                Diagnostic::new("profiles.yml must map target names to settings", root.span),
            ));
        }
        Ok(ProfilesFile {
            path,
            folder: folder.to_path_buf(),
            sources,
            root,
        })
    }

    fn targets(&self) -> &[(Node, Node)] {
        self.root.as_ref().and_then(Node::as_mapping).unwrap_or(&[])
    }

    fn invalid(&self, items: Vec<Diagnostic>) -> Error {
        Error::Invalid(Box::new(Diagnostics {
            sources: self.sources.clone(),
            items,
        }))
    }

    /// Target `name`: its type and settings checked, its values interpolated.
    fn target(&self, name: &str) -> Result<Profile, Error> {
        if self.root.is_none() {
            return Err(Error::Profile(format!("{} is empty", self.path.display())));
        }
        let entries = self.targets();
        let names: Vec<&str> = entries.iter().filter_map(|(k, _)| k.as_str()).collect();
        let Some((_, body)) = entries.iter().find(|(k, _)| k.as_str() == Some(name)) else {
            let hint = suggest(name, names.iter().copied())
                .unwrap_or_else(|| format!("targets: {}", names.join(", ")));
            return Err(Error::Profile(format!(
                "no target `{name}` in {}; {hint}",
                self.path.display()
            )));
        };
        let Some(settings) = body.as_mapping() else {
            return Err(self.invalid(vec![Diagnostic::new(
                format!("target `{name}` must be a mapping of settings"),
                body.span,
            )]));
        };
        let mut problems = Vec::new();
        let mut values = Vec::new();
        for (key, value) in settings {
            let (Some(key_text), NodeKind::Scalar { value: text, .. }) =
                (key.as_str(), &value.kind)
            else {
                problems.push(Diagnostic::new(
                    format!(
                        "{} of target `{name}` must be a single value, found {}",
                        key_name(key.as_str().unwrap_or_default()),
                        value.describe()
                    ),
                    value.span,
                ));
                continue;
            };
            match expand(text) {
                Ok(expanded) => values.push((key_text, key.span, value.span, expanded)),
                Err(problem) => problems.push(Diagnostic::new(
                    format!("target `{name}`, {}: {problem}", key_name(key_text)),
                    value.span,
                )),
            }
        }
        let kind = values
            .iter()
            .find(|(key, ..)| *key == "type")
            .map(|(_, _, span, kind)| (kind.clone(), *span));
        let has_type = settings.iter().any(|(key, _)| key.as_str() == Some("type"));
        let allowed = match &kind {
            None if !has_type => {
                problems.push(
                    Diagnostic::new(format!("target `{name}` has no `type`"), body.span)
                        .with_hint(type_names()),
                );
                None
            }
            None => None,
            Some((kind, span)) => {
                let allowed = settings_of(kind);
                if allowed.is_none() {
                    problems.push(unknown_type(name, kind, *span));
                }
                allowed
            }
        };
        let mut fields = BTreeMap::new();
        for (key, key_span, _, value) in values {
            if key == "type" {
                continue;
            }
            if let (Some(allowed), Some((kind, _))) = (allowed, &kind)
                && !allowed.contains(&key)
            {
                problems.push(unknown_key(
                    name,
                    kind,
                    allowed,
                    key,
                    key_span,
                    value.is_empty(),
                ));
                continue;
            }
            fields.insert(key.to_string(), value);
        }
        if !problems.is_empty() {
            return Err(self.invalid(problems));
        }
        Ok(Profile {
            name: name.to_string(),
            kind: kind.map(|(kind, _)| kind).unwrap_or_default(),
            fields,
            folder: self.folder.clone(),
        })
    }

    /// Warns, as ssh does for keys, when the file holds a secret written out and users
    /// other than its owner may read it.
    fn warn_if_readable_by_others(&self, events: &dyn Events) {
        #[cfg(not(unix))]
        let _ = events;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let Ok(metadata) = std::fs::metadata(&self.path) else {
                return;
            };
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 == 0 || !self.holds_literal_secret() {
                return;
            }
            let path = self.path.display();
            events.warn(&format!(
                "warning: {path} holds a password or key written out, and other users can read it \
                 (mode {mode:o}); make it private with `chmod 600 {path}`, or read the secret from \
                 the environment with {{{{ env_var('NAME') }}}}"
            ));
        }
    }

    fn holds_literal_secret(&self) -> bool {
        self.targets().iter().any(|(_, body)| {
            body.as_mapping().unwrap_or(&[]).iter().any(|(key, value)| {
                match (key.as_str(), value.as_str()) {
                    (Some(key), Some(value)) => secrets::holds_literal_secret(key, value),
                    _ => false,
                }
            })
        })
    }
}

/// A key as a message may name it: quoted when it reads as a name, else described (it may
/// be a secret that lost its `key:`).
fn key_name(key: &str) -> String {
    if secrets::plausible_name(key) {
        format!("`{key}`")
    } else {
        "a setting".to_string()
    }
}

/// The hint listing the target types.
fn type_names() -> String {
    let names: Vec<&str> = TARGET_TYPES.iter().map(|(name, _)| *name).collect();
    format!("one of: {}", names.join(", "))
}

fn unknown_type(target: &str, kind: &str, span: Span) -> Diagnostic {
    let names = TARGET_TYPES.iter().map(|(name, _)| *name);
    let hint = suggest(&kind.to_ascii_lowercase(), names).unwrap_or_else(type_names);
    let shown = if secrets::plausible_name(kind) {
        format!(" `{kind}`")
    } else {
        String::new()
    };
    Diagnostic::new(
        format!("target `{target}` has an unknown type{shown}"),
        span,
    )
    .with_hint(hint)
}

/// A key the target's type does not take. Its value is never shown, and neither is the key
/// when it does not read as a name or has no value: it may be a secret that lost its key.
fn unknown_key(
    target: &str,
    kind: &str,
    allowed: &[&str],
    key: &str,
    span: Span,
    empty: bool,
) -> Diagnostic {
    let shown = if secrets::plausible_name(key) && !empty {
        format!(" `{key}`")
    } else {
        String::new()
    };
    let hint = suggest(&key.to_ascii_lowercase(), allowed.iter().copied())
        .unwrap_or_else(|| format!("{kind} targets take: type, {}", allowed.join(", ")));
    Diagnostic::new(
        format!("unknown key{shown} in target `{target}` (type {kind})"),
        span,
    )
    .with_hint(hint)
}

/// Every target of the first `profiles.yml` on the search path, values interpolated, or
/// `None` when there is no such file. A file that cannot be read as YAML is an error.
pub fn load_all(
    profiles_dir: Option<&Path>,
    project_root: &Path,
) -> Result<Option<Vec<Result<Profile, Error>>>, Error> {
    load_all_with(profiles_dir, project_root, &crate::events::Silent)
}

/// [`load_all`], warning `events` when the file holds a secret others can read.
pub fn load_all_with(
    profiles_dir: Option<&Path>,
    project_root: &Path,
    events: &dyn Events,
) -> Result<Option<Vec<Result<Profile, Error>>>, Error> {
    let folders = search_path(profiles_dir, project_root);
    let Some(folder) = folders.iter().find(|f| f.join(PROFILES_FILE).is_file()) else {
        return Ok(None);
    };
    let text = read_text_file(folder.join(PROFILES_FILE)).map_err(|source| Error::Io {
        path: folder.join(PROFILES_FILE),
        source,
    })?;
    let file = ProfilesFile::parse(folder, &text)?;
    file.warn_if_readable_by_others(events);
    Ok(Some(
        file.targets()
            .iter()
            .filter_map(|(name, _)| name.as_str())
            .map(|name| file.target(name))
            .collect(),
    ))
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
    load_profile_with(profiles_dir, project_root, name, &crate::events::Silent)
}

/// [`load_profile`], warning `events` when the file holds a secret others can read.
pub fn load_profile_with(
    profiles_dir: Option<&Path>,
    project_root: &Path,
    name: &str,
    events: &dyn Events,
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
    let file = ProfilesFile::parse(folder, &text)?;
    file.warn_if_readable_by_others(events);
    file.target(name)
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

    #[test]
    fn only_env_var_is_interpolated_and_errors_never_quote_the_value() {
        // SAFETY: no other test reads or writes these variables.
        unsafe { std::env::set_var("SEGC_TEST_PROFILE_BRACES", "{{ env_var('HOME') }}") };
        // An environment variable's value is taken as it is, never read again.
        assert_eq!(
            expand("{{env_var(\"SEGC_TEST_PROFILE_BRACES\")}}").unwrap(),
            "{{ env_var('HOME') }}"
        );
        assert_eq!(
            expand("a-{{ env_var('SEGC_TEST_PROFILE_UNSET_3', \"d\" ) }}-b").unwrap(),
            "a-d-b"
        );
        // `{%`, `{#` and a lone `}}` are text.
        for literal in ["Hunter{%2", "{# x #}", "a}}b", "{%- if x %}", "{ {"] {
            assert_eq!(expand(literal).unwrap(), literal);
        }
        for broken in [
            "Hunter{{2",
            "{{ Hunter2 }}",
            "{{ env_var(Hunter2) }}",
            "{{ env_var('X') | upper }}",
            "{{ env_var('X', 'Hunter2' }}",
            "{{ env_var('') }}",
            "{{ env_var('A=B') }}",
        ] {
            let error = interpolate(broken, "pg", "password")
                .unwrap_err()
                .to_string();
            assert!(!error.contains("Hunter2"), "{error}");
            assert!(error.contains("env_var('NAME')"), "{error}");
        }
    }

    #[test]
    fn secret_keys_are_known_by_name() {
        for key in [
            "password",
            "PASSWORD",
            "passwd",
            "pasword",
            "db_pwd",
            "api-key",
            "client_secret",
            "options",
            "Connection_String",
            "keyfile_json",
        ] {
            assert!(is_secret(key), "{key}");
        }
        for key in TARGET_TYPES
            .iter()
            .flat_map(|(_, settings)| settings.iter())
            .filter(|key| !SECRET_FIELDS.contains(key))
        {
            assert!(!is_secret(key), "{key}");
        }
        assert!(is_plain_setting("host") && !is_plain_setting("password"));
        assert!(!is_plain_setting("pasword"));
    }

    #[test]
    fn listings_and_messages_hide_secrets_inside_values_too() {
        let profile = Profile {
            name: "ms".into(),
            kind: "sqlserver".into(),
            fields: [
                ("options", "-c password=Hunter-1"),
                ("connection_string", "Server=db;Pwd=Hunter-2;"),
                ("endpoint", "https://u:Hunter-3@proxy:8443"),
                ("host", "db"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            folder: PathBuf::new(),
        };
        let listed = format!("{:?}", profile.masked_fields());
        assert!(!listed.contains("Hunter"), "{listed}");
        assert_eq!(profile.masked_fields()["options"], "****");
        assert_eq!(
            profile.masked_fields()["endpoint"],
            "https://u:****@proxy:8443"
        );
        let said = "login failed with Hunter-2 via Hunter-3 (Hunter-1) on db";
        assert_eq!(
            profile.redact(said),
            "login failed with **** via **** (****) on db"
        );
    }
}
