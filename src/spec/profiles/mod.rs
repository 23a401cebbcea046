//! `profiles.yml`: connection targets, looked up in `--profiles-dir`, `$SEGC_PROFILES_DIR`,
//! the project folder, then `~/.segc/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Diagnostics, Error, FileId, MASK, SourceMap, Span, suggest};
use crate::events::Events;

use super::secrets;
use super::yaml::{self, Node, NodeKind};

mod env;
mod find;

use env::expand;
pub use env::interpolate;
pub use find::{
    load_all, load_all_with, load_profile, load_profile_with, register_secrets, search_path,
};

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
    "results_table",
    "history_table",
];

/// The settings each target type reads, besides `type`. Any other key is refused, so that a
/// misspelled `password` is reported where it was written instead of being ignored.
pub const TARGET_TYPES: &[(&str, &[&str])] = &[
    (
        "duckdb",
        &["path", "demo", "results_table", "history_table"],
    ),
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
            "results_table",
            "history_table",
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
            "results_table",
            "history_table",
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
                // A secret repeated in another setting is masked there too.
                let shown = if is_secret(key) {
                    MASK.to_string()
                } else {
                    // And every form a message would hide (case, URL encoding, another
                    // target's secret: the secrets registered for this process).
                    crate::error::redact(&self.redact(&secrets::mask_value(value)))
                };
                (key.clone(), shown)
            })
            .collect()
    }

    /// `text` with every secret of this profile replaced by `****`: for messages built from
    /// what a driver or a server said, which should never repeat one but are not trusted to.
    /// Credentials minted at run time are masked by their shape too
    /// ([`crate::error::redact_shapes`]).
    pub fn redact(&self, text: &str) -> String {
        let mut secrets = self.secret_parts();
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        let mut redacted = text.to_string();
        for secret in secrets {
            redacted = redacted.replace(&secret, MASK);
        }
        crate::error::redact_shapes(&redacted)
    }

    /// Every text of this profile that [`Profile::masked_fields`] hides, and its parts, as
    /// a message may quote them: a secret field's whole value; each value of `options`
    /// (`-c name=value`, read as the server reads it: a server refusing a setting quotes its
    /// value; its name is shown), but numbers and `on`/`off`/`true`/`false`; and the
    /// password of a URL or after `password=` or `pwd=` in any field (a connection string's). Texts shorter than
    /// [`crate::error::SHORTEST_SECRET`] characters are left out: they cannot be told from
    /// ordinary words.
    pub fn secret_parts(&self) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for (key, value) in &self.fields {
            found.extend(secrets::hidden_parts(value).into_iter().map(str::to_string));
            // An endpoint's query and fragment, whatever their names (signed URLs call theirs
            // `X-Amz-Signature`, `sv`, `jwt`…); segc refuses such an endpoint, and masks it.
            if key.eq_ignore_ascii_case("endpoint") {
                found.extend(secrets::query_values(value).into_iter().map(str::to_string));
            }
            if !is_secret(key) {
                continue;
            }
            found.push(value.clone());
            // A connection string's password is a hidden part already; its other values
            // (`true`, a database's name) are words messages need. In `options` (`-c
            // name=value`, `--name=value`) the values are hidden, not the settings' names,
            // which a message about a setting must show (`permission denied to set parameter
            // "lc_messages"`).
            if key.eq_ignore_ascii_case("options") {
                found.extend(
                    option_words(value)
                        .into_iter()
                        .map(|word| match word.split_once('=') {
                            Some((_, value)) => value.to_string(),
                            // `-cname:value`, `--name`: what follows the switch.
                            None => word
                                .strip_prefix("-c")
                                .or_else(|| word.strip_prefix("--"))
                                .unwrap_or(&word)
                                .to_string(),
                        })
                        .filter(|word| !plain_setting_value(word)),
                );
            }
        }
        found
            .into_iter()
            .map(|secret| {
                secret
                    .trim()
                    .trim_matches(['\'', '"', '{', '}'])
                    .to_string()
            })
            .filter(|secret| secret.chars().count() >= crate::error::SHORTEST_SECRET)
            .collect()
    }
}

/// The words of a PostgreSQL `options` value as the server reads them: split at whitespace
/// that no backslash escapes, each `\x` read as `x` (`-c work_mem=a\ b` sets `a b`, which a
/// message quotes so).
fn option_words(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut characters = value.chars();
    while let Some(c) = characters.next() {
        match c {
            '\\' => word.extend(characters.next()),
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Each key of `entries` written again, an error at the repetition naming the first.
fn repeated_keys(entries: &[(Node, Node)], within: &str, problems: &mut Vec<Diagnostic>) {
    use std::collections::hash_map::Entry;
    let mut seen = std::collections::HashMap::new();
    for (key, _) in entries {
        let Some(text) = key.as_str() else { continue };
        if let Entry::Occupied(first) = seen.entry(text) {
            let first: &Span = first.get();
            problems.push(
                Diagnostic::new(format!("`{text}` is written twice in {within}"), key.span)
                    .with_hint(format!(
                        "keep one: segc would not know which to use (the first is at line {})",
                        first.start.line
                    )),
            );
        } else {
            seen.insert(text, key.span);
        }
    }
}

/// A value of a server setting that is no secret and that messages use as a word: a number,
/// or a boolean's spelling.
fn plain_setting_value(word: &str) -> bool {
    word.chars().all(|c| c.is_ascii_digit() || c == '.')
        || ["on", "off", "true", "false", "yes", "no"]
            .iter()
            .any(|plain| plain.eq_ignore_ascii_case(word.trim_matches(['\'', '"'])))
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
        let invalid = |sources: SourceMap, items: Vec<Diagnostic>| {
            Error::Invalid(Box::new(Diagnostics { sources, items }))
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
                return Err(invalid(sources, vec![diagnostic]));
            }
        };
        if let Some(root) = &root
            && root.as_mapping().is_none()
        {
            return Err(invalid(
                sources,
                vec![Diagnostic::new(
                    "profiles.yml must map target names to settings",
                    root.span,
                )],
            ));
        }
        // A name written twice: one of the two would be dropped without a word.
        let mut twice = Vec::new();
        let entries = root.as_ref().and_then(Node::as_mapping).unwrap_or(&[]);
        repeated_keys(entries, "profiles.yml", &mut twice);
        for (name, body) in entries {
            if let (Some(name), Some(settings)) = (name.as_str(), body.as_mapping()) {
                repeated_keys(settings, &format!("target `{name}`"), &mut twice);
            }
        }
        if !twice.is_empty() {
            return Err(invalid(sources, twice));
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
            return Err(Error::Request(crate::error::BadRequest::UnknownTarget(
                format!("no target `{name}` in {}; {hint}", self.path.display()),
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
        let profile = Profile {
            name: name.to_string(),
            kind: kind.map(|(kind, _)| kind).unwrap_or_default(),
            fields,
            folder: self.folder.clone(),
        };
        // Whatever prints from now on is masked against them (crate::error::redact).
        for secret in profile.secret_parts() {
            crate::error::register_secret(&secret);
        }
        Ok(profile)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // The secret repeated in a setting that is not one.
        let mut reused = profile.clone();
        reused
            .fields
            .insert("sslrootcert".into(), "/etc/hunter2.pem".into());
        let shown = reused.masked_fields();
        assert_eq!(shown["sslrootcert"], "/etc/****.pem", "{shown:?}");
        // In other spellings too, as messages mask them: another case, URL encoding.
        crate::error::register_secret("p@ss-Word9");
        let mut spelled = profile.clone();
        spelled
            .fields
            .insert("password".into(), "p@ss-Word9".into());
        spelled
            .fields
            .insert("host".into(), "P@SS-WORD9.example".into());
        spelled
            .fields
            .insert("database".into(), "p%40ss-Word9".into());
        let shown = format!("{:?}", spelled.masked_fields());
        assert!(
            !shown.contains("SS-W") && !shown.contains("%40ss"),
            "{shown}"
        );
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
        // An endpoint's query and fragment, whatever their names.
        let mut fields = profile.fields.clone();
        fields.insert(
            "endpoint".into(),
            "https://h/x?X-Amz-Signature=Hunter-4&sv=Hunter-5#jwt=Hunter-6".into(),
        );
        let signed = Profile {
            fields,
            ..profile.clone()
        };
        let listed = signed.masked_fields()["endpoint"].clone();
        assert_eq!(listed, "https://h/x?X-Amz-Signature=****&sv=****#jwt=****");
        let said = "login failed with Hunter-2 via Hunter-3 (Hunter-1) on db";
        assert_eq!(
            profile.redact(said),
            "login failed with **** via **** (****) on db"
        );
    }

    #[test]
    fn messages_hide_the_values_of_options_but_keep_names_and_plain_values() {
        let profile = Profile {
            name: "pg".into(),
            kind: "postgres".into(),
            fields: [
                ("options", "-c statement_timeout=600000 -c zq_setting=on"),
                (
                    "connection_string",
                    "Server=db;Database=analytics;Pwd=Hunter-9;Encrypt=true",
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            folder: PathBuf::new(),
        };
        // A value with an escaped space is quoted by the server without the backslash, and
        // one written without `=` is masked whole.
        let mut escaped = profile.clone();
        escaped.fields.insert(
            "options".into(),
            "-c work_mem=Llama3Secret\\ x -cpassword:Zebra9Secret".into(),
        );
        assert_eq!(
            escaped.redact("invalid value for parameter \"work_mem\": \"Llama3Secret x\""),
            "invalid value for parameter \"work_mem\": \"****\""
        );
        assert_eq!(
            escaped.redact("-c password:Zebra9Secret requires a value"),
            "-c **** requires a value"
        );
        let said = "unrecognized configuration parameter \"zq_setting\"; Encrypt=true on \
                    analytics with Hunter-9 after 600000 ms";
        assert_eq!(
            profile.redact(said),
            "unrecognized configuration parameter \"zq_setting\"; Encrypt=true on analytics \
             with **** after 600000 ms"
        );
    }
}
