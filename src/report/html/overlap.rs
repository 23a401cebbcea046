//! The segment overlap matrix: for every pair of reported segments, the users in both.

use super::super::Report;
use super::super::overlap::OverlapTable;
use super::escape::esc;

/// The section of the segment overlap matrix: empty when no overlap was computed for the run
/// (`overlap` is `None`), else a matrix with a row and a column per reported segment and, in
/// each cell, the users in both (blank where the table holds no count for the pair).
pub fn overlap_section(report: &Report, overlap: Option<&OverlapTable>) -> String {
    let Some(overlap) = overlap else {
        return String::new();
    };
    let mut out = String::from(
        "<section id=\"overlap\"><h2>Segment overlap</h2><p class=\"note\">Users in both segments.</p>\
         <div class=\"scroll\"><table class=\"overlap\"><thead><tr><th></th>",
    );
    for row in &report.rows {
        out.push_str(&format!(
            "<th title=\"{}\"><span>{}</span></th>",
            esc(&row.segment),
            esc(&row.label)
        ));
    }
    out.push_str("</tr></thead><tbody>");
    for first in &report.rows {
        out.push_str(&format!(
            "<tr data-segment=\"{}\"><th scope=\"row\">{}</th>",
            esc(&first.segment),
            esc(&first.label)
        ));
        for second in &report.rows {
            match overlap.users(&first.segment, &second.segment) {
                Some(users) => out.push_str(&format!(
                    "<td data-with=\"{}\" data-v=\"{users}\">{}</td>",
                    esc(&second.segment),
                    esc(&super::super::format_value(
                        &crate::driver::Cell::Integer(users),
                        crate::ir::Format::Integer,
                        ""
                    ))
                )),
                None => out.push_str(&format!("<td data-with=\"{}\"></td>", esc(&second.segment))),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>\n");
    out
}
