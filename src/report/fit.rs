//! A table made to fit a terminal's width.
//!
//! In this order: the table as it is; else transposed (its columns as rows), when that fits;
//! else its first column groups that fit (a group is a KPI with its compare columns, or one
//! month), every row kept, with a note saying how many are shown and how to see the others.
//! When not even one group fits, labels are cut with an ellipsis, and as a last resort every
//! line is: no line is ever wider than the terminal.

use comfy_table::{Cell as TableCell, CellAlignment, ContentArrangement, Table, presets};

use crate::terminal::{display_width, truncate, truncate_lines, wrap};

/// A table to print: a corner label, column labels, and rows of a label and cells (texts
/// already made printable).
#[derive(Debug, Clone)]
pub(super) struct Grid {
    pub corner: String,
    pub columns: Vec<String>,
    /// The group of each column, in order (0, 0, 0, 0, 1, …): a cut keeps a group whole.
    pub groups: Vec<usize>,
    pub rows: Vec<GridRow>,
    /// What a group is, in the plural, for the note on a cut table: `KPIs`, `months`.
    pub noun: &'static str,
    /// What to do to see the groups left out, for the same note.
    pub hint: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct GridRow {
    pub label: String,
    pub cells: Vec<String>,
}

impl Grid {
    /// One group per column.
    pub fn with_columns(corner: &str, columns: Vec<String>, rows: Vec<GridRow>) -> Grid {
        Grid {
            corner: corner.to_string(),
            groups: (0..columns.len()).collect(),
            columns,
            rows,
            noun: "columns",
            hint: "",
        }
    }

    /// The table with its borders; labels on the left, values on the right.
    pub fn render(&self) -> String {
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled);
        let mut header = vec![TableCell::new(&self.corner)];
        header.extend(self.columns.iter().map(TableCell::new));
        table.set_header(header);
        for row in &self.rows {
            let mut cells = vec![TableCell::new(&row.label)];
            cells.extend(
                row.cells
                    .iter()
                    .map(|cell| TableCell::new(cell).set_alignment(CellAlignment::Right)),
            );
            table.add_row(cells);
        }
        table.to_string()
    }

    /// Columns as rows and rows as columns, under `corner`.
    fn transposed(&self, corner: &str) -> Grid {
        let rows = self
            .columns
            .iter()
            .enumerate()
            .map(|(index, label)| GridRow {
                label: label.clone(),
                cells: self
                    .rows
                    .iter()
                    .map(|row| row.cells[index].clone())
                    .collect(),
            })
            .collect();
        Grid {
            corner: corner.to_string(),
            columns: self
                .rows
                .iter()
                .map(|row| row.label.trim().to_string())
                .collect(),
            groups: (0..self.rows.len()).collect(),
            rows,
            noun: self.noun,
            hint: self.hint,
        }
    }

    fn group_count(&self) -> usize {
        self.groups.last().map_or(0, |last| last + 1)
    }

    /// The columns of the first `count` groups.
    fn first_groups(&self, count: usize) -> Grid {
        let kept = self
            .groups
            .iter()
            .take_while(|group| **group < count)
            .count();
        Grid {
            columns: self.columns[..kept].to_vec(),
            groups: self.groups[..kept].to_vec(),
            rows: self
                .rows
                .iter()
                .map(|row| GridRow {
                    label: row.label.clone(),
                    cells: row.cells[..kept].to_vec(),
                })
                .collect(),
            ..self.clone()
        }
    }

    /// Every label (corner, columns, rows) cut to `columns` display columns.
    fn labels_cut_to(&self, columns: usize) -> Grid {
        let cut = |text: &String| truncate(text, columns).into_owned();
        Grid {
            corner: cut(&self.corner),
            columns: self.columns.iter().map(cut).collect(),
            rows: self
                .rows
                .iter()
                .map(|row| GridRow {
                    label: cut(&row.label),
                    cells: row.cells.clone(),
                })
                .collect(),
            ..self.clone()
        }
    }
}

/// The widest line of `text`, in display columns.
pub(super) fn widest(text: &str) -> usize {
    text.lines().map(display_width).max().unwrap_or(0)
}

/// `grid` as a table for a terminal `width` columns wide (in full when `width` is `None`),
/// with a note after it when groups were left out; `transposed_corner` labels the corner of
/// the transposed table (`KPI` when the grid's columns are KPIs), `None` when the grid is
/// not to be transposed. Ends in a line end.
pub(super) fn fit(grid: &Grid, width: Option<usize>, transposed_corner: Option<&str>) -> String {
    let full = grid.render();
    let Some(width) = width else {
        return format!("{full}\n");
    };
    if widest(&full) <= width || grid.columns.is_empty() {
        return format!("{}\n", truncate_lines(&full, width));
    }
    if let Some(corner) = transposed_corner {
        let transposed = grid.transposed(corner).render();
        if widest(&transposed) <= width {
            return format!("{transposed}\n");
        }
    }
    let groups = grid.group_count();
    let mut shown = None;
    for count in 1..groups {
        let table = grid.first_groups(count).render();
        if widest(&table) > width {
            break;
        }
        shown = Some((count, table));
    }
    let (count, table) = shown.unwrap_or_else(|| {
        // Not even one group fits: cut the labels, as little as fits.
        let one = grid.first_groups(1);
        let longest = std::iter::once(&one.corner)
            .chain(&one.columns)
            .chain(one.rows.iter().map(|row| &row.label))
            .map(|label| display_width(label))
            .max()
            .unwrap_or(0);
        let mut cap = longest.min(width);
        loop {
            let table = one.labels_cut_to(cap).render();
            if widest(&table) <= width || cap <= 2 {
                break (1, table);
            }
            cap -= 1;
        }
    });
    let table = truncate_lines(&table, width);
    if count >= groups {
        return format!("{table}\n");
    }
    let mut note = format!(
        "Showing {count} of {groups} {}, those that fit {width} columns",
        grid.noun
    );
    if !grid.hint.is_empty() {
        note = format!("{note}: {}", grid.hint);
    }
    format!("{table}\n{}\n", wrap(&note, width))
}
