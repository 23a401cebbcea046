//! Reads a project's files from disk into a [`SourceMap`] and spec values.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Diagnostics, Error, SourceMap};

use super::{Definitions, ProjectSpec, read_definitions, read_project, yaml};

/// The project file name looked up in the project folder.
pub const PROJECT_FILE: &str = "segc_project.yml";
/// The definitions folder when the project file does not name one.
pub const DEFAULT_DEFINITIONS: &str = "segment-defs";

/// A project as read from disk, before validation.
#[derive(Debug, Clone)]
pub struct ProjectFiles {
    pub root: PathBuf,
    pub sources: SourceMap,
    pub project: ProjectSpec,
    pub definitions: Definitions,
    /// Problems with the shapes of the files; validation adds its own.
    pub diagnostics: Vec<Diagnostic>,
}

/// Files larger than this are refused: definitions are text written by people, and a
/// mistaken path (a log, a dump, a device) must not be read into memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The definitions files of a project hold at most this much in all.
pub const MAX_DEFINITIONS_BYTES: u64 = 64 * 1024 * 1024;

/// The files and folders segc looks at under the definitions folder, at most (`definitions:
/// /` would walk the whole file system).
pub const MAX_FOLDER_ENTRIES: usize = 100_000;

/// Reads `segc_project.yml` and every `*.yml` / `*.yaml` file under the definitions folder
/// (sorted by path, so the order of declarations is stable). A definitions file that cannot
/// be read is a diagnostic, so that every such problem is reported at once.
pub fn load_project(root: &Path) -> Result<ProjectFiles, Error> {
    let project_path = root.join(PROJECT_FILE);
    // `symlink_metadata` sees a dangling link, which `read_text_file` then explains.
    if std::fs::symlink_metadata(&project_path).is_err() {
        let problem = if root.is_dir() {
            format!("no {PROJECT_FILE} in {}", root.display())
        } else if root.exists() {
            format!(
                "the project folder {} is a file, not a folder; name the folder that holds {PROJECT_FILE}",
                root.display()
            )
        } else {
            format!("the project folder {} does not exist", root.display())
        };
        return Err(Error::Request(crate::error::BadRequest::NoProject(problem)));
    }
    let mut sources = SourceMap::default();
    let mut diagnostics = Vec::new();
    let mut budget = yaml::Budget::default();
    let text = read_text_file(&project_path).map_err(|source| Error::Io {
        path: project_path.clone(),
        source,
    })?;
    let file = sources.add(PROJECT_FILE, text);
    let project = match yaml::parse_within(file, sources.text(file), &mut budget) {
        Ok(Some(node)) => read_project(&node, &mut diagnostics),
        Ok(None) => ProjectSpec::default(),
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            ProjectSpec::default()
        }
    };

    let folder = project
        .definitions
        .as_ref()
        .map(|d| d.value.clone())
        .unwrap_or_else(|| DEFAULT_DEFINITIONS.to_string());
    let definitions_dir = root.join(&folder);
    let mut definitions = Definitions::default();
    if !definitions_dir.is_dir() {
        let message = if definitions_dir.exists() {
            format!("the definitions folder `{folder}` is a file, not a folder")
        } else {
            format!("the definitions folder `{folder}` does not exist")
        };
        diagnostics.push(match &project.definitions {
            Some(spanned) => Diagnostic::new(message, spanned.span)
                .with_hint("name the folder that holds the definitions files"),
            None => Diagnostic::without_location(message)
                .with_hint("create it, or set `definitions:` in segc_project.yml"),
        });
    } else {
        let mut files = walk_definitions(root, &definitions_dir, &mut diagnostics);
        files.sort();
        // Refuse too much before reading any of it (a file's own size is checked as it is read).
        let total: u64 = files
            .iter()
            .filter_map(|path| std::fs::metadata(path).ok())
            .filter(|metadata| metadata.is_file())
            .map(|metadata| metadata.len())
            .sum();
        if total > MAX_DEFINITIONS_BYTES {
            diagnostics.push(
                Diagnostic::without_location(format!(
                    "the definitions files hold {total} bytes, more than the {} MiB segc reads in all",
                    MAX_DEFINITIONS_BYTES >> 20
                ))
                .with_hint("point `definitions:` at the folder of definitions only, without generated files or data"),
            );
            files.clear();
        }
        let mut total: u64 = 0;
        let settings = settings_files(root, None);
        for path in files {
            let display = shown(root, &path);
            let named = named(root, &path);
            // Settings are not definitions, and their errors would quote them (a password of
            // profiles.yml): the project's own are skipped where the definitions folder is
            // the project folder; any other way to them (a link, a hard link) or another
            // project's (`definitions: ..`) is refused unread.
            let own = settings.iter().find(|(_, kept)| same_file(&path, kept));
            let named_so = path.file_name().and_then(|f| f.to_str()).filter(|f| {
                f.eq_ignore_ascii_case(PROJECT_FILE)
                    || f.eq_ignore_ascii_case(crate::spec::profiles::PROFILES_FILE)
            });
            if let Some((_, kept)) = own
                && path.file_name() == kept.file_name()
                && path
                    .parent()
                    .and_then(|p| std::fs::canonicalize(p).ok())
                    .as_deref()
                    == kept.parent()
            {
                continue;
            }
            if own.is_some() || named_so.is_some() {
                let what = match own {
                    Some((name, kept)) => format!("is {name} ({})", kept.display()),
                    None => format!("is named {}", named_so.unwrap_or_default()),
                };
                diagnostics.push(
                    Diagnostic::without_location(format!(
                        "{named} {what}, which holds settings, not definitions; segc does not read it as definitions"
                    ))
                    .with_hint("remove the link, or point `definitions:` at the folder of definitions only"),
                );
                continue;
            }
            let text = match read_text_file(&path) {
                Ok(text) => text,
                Err(error) => {
                    diagnostics.push(Diagnostic::without_location(format!(
                        "cannot read {named}: {error}"
                    )));
                    continue;
                }
            };
            total += text.len() as u64;
            if total > MAX_DEFINITIONS_BYTES {
                diagnostics.push(
                    Diagnostic::without_location(format!(
                        "the definitions files hold more than {} MiB in all (they grew while read); segc stopped reading at {named}",
                        MAX_DEFINITIONS_BYTES >> 20
                    ))
                    .with_hint("point `definitions:` at the folder of definitions only, without generated files or data"),
                );
                break;
            }
            let file = sources.add(display, text);
            match yaml::parse_within(file, sources.text(file), &mut budget) {
                Ok(Some(node)) => read_definitions(&node, &mut definitions, &mut diagnostics),
                Ok(None) => {}
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
    }
    Ok(ProjectFiles {
        root: root.to_path_buf(),
        sources,
        project,
        definitions,
        diagnostics,
    })
}

impl ProjectFiles {
    /// Turns the collected diagnostics into an error.
    pub fn into_error(self, items: Vec<Diagnostic>) -> Error {
        Error::Invalid(Box::new(Diagnostics {
            sources: self.sources,
            items,
        }))
    }
}

/// The files that hold settings rather than definitions, canonical: `segc_project.yml` and
/// each `profiles.yml` on the search path. The definitions walk leaves `--profiles-dir` out
/// (its secrets are masked all the same); `run --out` takes it.
pub fn settings_files(root: &Path, profiles_dir: Option<&Path>) -> Vec<(&'static str, PathBuf)> {
    let profiles = crate::spec::profiles::search_path(profiles_dir, root)
        .into_iter()
        .map(|folder| {
            (
                crate::spec::profiles::PROFILES_FILE,
                folder.join(crate::spec::profiles::PROFILES_FILE),
            )
        });
    std::iter::once((PROJECT_FILE, root.join(PROJECT_FILE)))
        .chain(profiles)
        .filter_map(|(name, path)| Some((name, std::fs::canonicalize(path).ok()?)))
        .collect()
}

/// The definitions folder of the project in `root` (as `definitions:` names it) and the files
/// the definitions walk finds under it, for commands that must not write over them (`run
/// --out`). None when the project file cannot be read.
pub fn definitions_place(root: &Path) -> Option<(PathBuf, Vec<PathBuf>)> {
    let text = read_text_file(root.join(PROJECT_FILE)).ok()?;
    let mut sources = SourceMap::default();
    let mut diagnostics = Vec::new();
    let file = sources.add(PROJECT_FILE, text);
    let project = match yaml::parse_within(file, sources.text(file), &mut yaml::Budget::default()) {
        Ok(Some(node)) => read_project(&node, &mut diagnostics),
        _ => ProjectSpec::default(),
    };
    let folder = project
        .definitions
        .map(|d| d.value)
        .unwrap_or_else(|| DEFAULT_DEFINITIONS.to_string());
    let dir = root.join(folder);
    let files = match dir.is_dir() {
        true => walk_definitions(root, &dir, &mut diagnostics),
        false => Vec::new(),
    };
    Some((dir, files))
}

/// The YAML files under the definitions folder `dir`, as found (not sorted); what is refused
/// on the way goes to `diagnostics`.
fn walk_definitions(root: &Path, dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut walk = Walk {
        root,
        files: Vec::new(),
        visited: HashMap::new(),
        entries: 0,
        diagnostics,
    };
    walk.folder(dir, None, &mut Vec::new());
    walk.files
}

/// Whether `a` and `b` are one file: the same device and inode on Unix (a hard link
/// too), the same canonical path elsewhere.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// [`shown`], escaped for a message: a line end in a name must not start a line that looks
/// like another message (the source map keeps the name as it is).
fn named(root: &Path, path: &Path) -> String {
    crate::terminal::printable(&shown(root, path)).into_owned()
}

/// `path` as the user knows it: relative to the project folder, with `/`.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Reads a project file (definitions, `segc_project.yml`, `profiles.yml`) as UTF-8 text.
/// Only regular files are read, through symbolic links too: a named pipe would block
/// forever and a device might never end. Files over [`MAX_FILE_BYTES`] are refused. The
/// error says what is wrong and what to do; callers add the path.
pub fn read_text_file(path: impl AsRef<Path>) -> std::io::Result<String> {
    use std::io::{Error as IoError, ErrorKind, Read};
    let path = path.as_ref();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err(match std::fs::read_link(path) {
                Ok(target) => IoError::new(
                    ErrorKind::NotFound,
                    format!(
                        "it is a symbolic link to {}, which does not exist; fix or remove the link",
                        target.display()
                    ),
                ),
                Err(_) => error,
            });
        }
        Err(error) => return Err(explain(error)),
    };
    if !metadata.is_file() {
        return Err(IoError::new(
            ErrorKind::InvalidInput,
            format!(
                "it is {}, not a regular file; remove it, or rename it so that it does not end in .yml",
                file_kind(&metadata.file_type())
            ),
        ));
    }
    // /proc and /sys show the kernel's state as files (/proc/self/environ holds every
    // environment variable): no project file is one, and an error would quote its lines.
    if let Ok(canonical) = std::fs::canonicalize(path)
        && let Some(system) = kernel_file_system(&canonical)
    {
        return Err(IoError::new(
            ErrorKind::InvalidInput,
            format!(
                "it is {}, a file of the kernel's {system} file system, not a regular file; remove the link",
                canonical.display()
            ),
        ));
    }
    let too_big = |size: u64| {
        IoError::new(
            ErrorKind::InvalidData,
            format!(
                "it holds {size} bytes, and segc reads at most {} MiB from one file; split it, or move what is not a definition elsewhere",
                MAX_FILE_BYTES >> 20
            ),
        )
    };
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_big(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The file may grow between the check and the read: read one byte past the limit.
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(explain)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        // `valid` is UTF-8 up to the first bad byte: count lines and characters in it.
        let text = std::str::from_utf8(valid).unwrap_or_default();
        let line = text.matches('\n').count() + 1;
        let column = text.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        IoError::new(
            ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (the first invalid byte is at line {line}, column {column}); save it as UTF-8"
            ),
        )
    })
}

/// `/proc` or `/sys` when a canonical path lies in one: the kernel's state shown as files
/// and folders (`/proc/self/environ` holds every environment variable, `/proc/self/cwd`
/// leads back anywhere), never a project's.
fn kernel_file_system(canonical: &Path) -> Option<&'static str> {
    ["/proc", "/sys"]
        .into_iter()
        .find(|system| canonical.starts_with(system))
}

/// An I/O error with what to do about it, where there is something to say.
fn explain(error: std::io::Error) -> std::io::Error {
    match error.kind() {
        std::io::ErrorKind::PermissionDenied => std::io::Error::new(
            error.kind(),
            format!("{error}; make it readable by this user, or move it out of the project"),
        ),
        _ => error,
    }
}

/// What a file that is not a regular file is, for messages.
fn file_kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// The walk of the definitions folder: the YAML files found, and each folder reached
/// (canonical path → the path it was reached by), so that a symbolic link back to a folder
/// being walked, or a second way to one already walked, is reported instead of followed.
struct Walk<'a> {
    root: &'a Path,
    files: Vec<PathBuf>,
    visited: HashMap<PathBuf, PathBuf>,
    /// Folder entries seen so far, against [`MAX_FOLDER_ENTRIES`].
    entries: usize,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Walk<'_> {
    /// Walks `dir`; `ancestors` are the canonical paths of the folders it is in, and `link`
    /// the last symbolic link followed to reach it.
    fn folder(&mut self, dir: &Path, link: Option<&Path>, ancestors: &mut Vec<PathBuf>) {
        let canonical = match std::fs::canonicalize(dir) {
            Ok(canonical) => canonical,
            Err(error) => return self.cannot_read(dir, explain(error)),
        };
        // /proc and /sys hold the kernel's state, not definitions (and /proc/self/cwd leads
        // back anywhere).
        if kernel_file_system(&canonical).is_some() {
            self.diagnostics.push(
                Diagnostic::without_location(format!(
                    "{} is {}, a folder of the kernel's file systems, not of definitions",
                    named(self.root, link.unwrap_or(dir)),
                    canonical.display()
                ))
                .with_hint("point `definitions:` at the folder of definitions, and remove links into /proc or /sys"),
            );
            return;
        }
        // A link to a folder that holds the one being walked (or is it) would lead back to it.
        if let Some(held) = ancestors.iter().find(|a| a.starts_with(&canonical)) {
            let target = match self.visited.get(&canonical) {
                Some(reached) => named(self.root, reached),
                None => canonical.display().to_string(),
            };
            let held = named(self.root, self.visited.get(held).map_or(held, |p| p));
            let holds = if target == held {
                "a folder that holds it".to_string()
            } else {
                format!("which holds {held}")
            };
            self.diagnostics.push(
                Diagnostic::without_location(format!(
                    "the symbolic link {} leads back to {target}, {holds}: a loop",
                    named(self.root, link.unwrap_or(dir)),
                ))
                .with_hint("remove the link, or point it at a folder outside the definitions"),
            );
            return;
        }
        if let Some(first) = self.visited.get(&canonical) {
            self.diagnostics.push(
                Diagnostic::without_location(format!(
                    "the symbolic link {} leads to the same folder as {}, whose files are read already",
                    named(self.root, link.unwrap_or(dir)),
                    named(self.root, first)
                ))
                .with_hint("remove one of the symbolic links, so that each file is read once"),
            );
            return;
        }
        self.visited.insert(canonical.clone(), dir.to_path_buf());
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => return self.cannot_read(dir, explain(error)),
        };
        let mut paths = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => paths.push(entry.path()),
                Err(error) => return self.cannot_read(dir, explain(error)),
            }
            self.entries += 1;
            if self.entries == MAX_FOLDER_ENTRIES + 1 {
                self.diagnostics.push(
                    Diagnostic::without_location(format!(
                        "the definitions folder holds more than {MAX_FOLDER_ENTRIES} files and folders; segc stopped looking at {}",
                        named(self.root, dir)
                    ))
                    .with_hint("point `definitions:` at the folder of definitions only, without generated files or data"),
                );
            }
            if self.entries > MAX_FOLDER_ENTRIES {
                return;
            }
        }
        paths.sort();
        ancestors.push(canonical);
        for path in paths {
            if path.is_dir() {
                let is_link = path.symlink_metadata().is_ok_and(|m| m.is_symlink());
                let link = if is_link { Some(path.as_path()) } else { link };
                self.folder(&path, link, ancestors);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                self.files.push(path);
            }
        }
        ancestors.pop();
    }

    fn cannot_read(&mut self, dir: &Path, error: std::io::Error) {
        self.diagnostics.push(Diagnostic::without_location(format!(
            "cannot read the folder {}: {error}",
            named(self.root, dir)
        )));
    }
}
