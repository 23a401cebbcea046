//! `segc validate`: parse and check the project.

use std::path::Path;

use crate::error::Error;

pub fn execute(root: &Path) -> Result<i32, Error> {
    let project = crate::validate::load_and_validate(root)?;
    let hidden = project.segments.iter().filter(|s| !s.visible).count();
    println!(
        "{}: valid — {} sources, {} attributes, {} segments ({} hidden), {} KPIs",
        crate::terminal::printable(&project.name),
        project.sources.len(),
        project.attributes.iter().filter(|a| !a.implicit).count(),
        project.segments.len(),
        hidden,
        project.kpis.len()
    );
    Ok(0)
}
