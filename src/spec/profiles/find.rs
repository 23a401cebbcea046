//! Finding `profiles.yml` on the search path and reading a target from it.

use std::path::{Path, PathBuf};

use super::{PROFILES_FILE, Profile, ProfilesFile};
use crate::error::Error;
use crate::events::Events;
use crate::spec::load::read_text_file;

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
    let Some(folder) = holding_profiles(&folders) else {
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

/// Registers every secret of the first `profiles.yml` on the search path for masking
/// ([`crate::error::redact`]), before anything else is read: a definitions file, a link or a
/// message may quote it before any target is chosen (`validate`, a project whose definitions
/// folder holds the profiles). Every target is read, so their values are interpolated;
/// where the file is not valid YAML, the raw text's secret-looking values and the
/// environment variables they name are registered instead. Nothing is reported: the command
/// reports the file's problems when it reads it.
pub fn register_secrets(profiles_dir: Option<&Path>, project_root: &Path) {
    let folders = search_path(profiles_dir, project_root);
    let Some(folder) = holding_profiles(&folders) else {
        return;
    };
    let Ok(text) = read_text_file(folder.join(PROFILES_FILE)) else {
        return;
    };
    // Each valid target registers its secrets, interpolated, as it is read. A target with a
    // problem does not get that far: the values the tree hides (secret and unknown keys') are
    // registered as written. Where the file is not YAML, the raw reading's are, which hide
    // comments too. Plain words (`true`, numbers), which messages need, are left.
    let ranges = match ProfilesFile::parse(folder, &text) {
        Ok(file) => {
            for (name, _) in file.targets() {
                if let Some(name) = name.as_str() {
                    let _ = file.target(name);
                }
            }
            match &file.root {
                Some(root) => super::secrets::tree_secrets(root, super::settings_of),
                None => Vec::new(),
            }
        }
        Err(_) => super::secrets::raw_secrets(&text),
    };
    for range in ranges {
        let value = &text[range];
        let value = value.trim().trim_matches(['\'', '"']);
        if !super::plain_setting_value(value) {
            crate::error::register_secret(value);
        }
        for name in super::env::named_variables(value) {
            if let Ok(found) = std::env::var(name) {
                crate::error::register_secret(&found);
            }
        }
    }
}

/// The first of `folders` that holds a `profiles.yml`: the one segc reads.
fn holding_profiles(folders: &[PathBuf]) -> Option<&PathBuf> {
    folders.iter().find(|f| f.join(PROFILES_FILE).is_file())
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
    let Some(folder) = holding_profiles(&folders) else {
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
