//! Reads a project's files from disk into a [`SourceMap`] and spec values.

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

/// Reads `segc_project.yml` and every `*.yml` / `*.yaml` file under the definitions folder
/// (sorted by path, so the order of declarations is stable).
pub fn load_project(root: &Path) -> Result<ProjectFiles, Error> {
    let project_path = root.join(PROJECT_FILE);
    if !project_path.is_file() {
        return Err(Error::Usage(format!(
            "no {PROJECT_FILE} in {}: run segc inside a project folder, pass --project DIR, or create one with `segc init DIR`",
            root.display()
        )));
    }
    let mut sources = SourceMap::default();
    let mut diagnostics = Vec::new();
    let text = read(&project_path)?;
    let file = sources.add(PROJECT_FILE, text.clone());
    let project = match yaml::parse(file, &text) {
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
        let message = format!("the definitions folder `{folder}` does not exist");
        diagnostics.push(match &project.definitions {
            Some(spanned) => Diagnostic::new(message, spanned.span),
            None => Diagnostic::without_location(message)
                .with_hint("create it, or set `definitions:` in segc_project.yml"),
        });
    } else {
        let mut files = Vec::new();
        collect_yaml_files(&definitions_dir, &mut files)?;
        files.sort();
        for path in files {
            let text = read(&path)?;
            let display = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let file = sources.add(display, text.clone());
            match yaml::parse(file, &text) {
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

fn read(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ),
    })
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_yaml_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}
