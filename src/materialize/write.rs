//! Writing a report: the results table checked (created when missing), then one transaction
//! that takes the table's lock, deletes the rows the run replaces and inserts the new ones
//! from the statement computing them.

use crate::driver::Driver;
use crate::driver::gate::{self, Write, WriteTarget};
use crate::error::Error;
use crate::events::EventSink;
use crate::plan::Reports;
use crate::session::Target;

use super::{
    ResultsTable, TableColumn, column_names, create_sql, results_columns, schema_problems,
};

/// Which rows of its key a run replaces: all of them, or (with `-s`/`-k`) only those of the
/// segments and KPIs it reports.
#[derive(Debug, Clone, Default)]
pub struct Only {
    pub segments: Option<Vec<String>>,
    pub kpis: Option<Vec<String>>,
}

/// What a written run left in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub table: String,
    pub run_id: String,
    /// The run's rows found in the table after the commit.
    pub rows: u64,
    /// The rows the run computed: periods × reported rows × KPIs.
    pub computed: u64,
    /// Whether this run created the table.
    pub created: bool,
}

/// What to write and where.
pub struct Request<'a> {
    pub table: &'a ResultsTable,
    pub run_id: &'a str,
    /// The statement computing and inserting the rows ([`crate::render::render_write`]).
    pub insert: &'a str,
    pub only: Only,
}

/// Writes `reports` into the results table through `driver`, in one transaction; a rerun for
/// the same key replaces the rows it wrote before.
pub fn materialize(
    driver: &mut dyn Driver,
    target: &Target,
    reports: &Reports<'_>,
    request: &Request<'_>,
    events: &EventSink,
) -> Result<Written, Error> {
    let dialect = &target.dialect;
    let table = request.table;
    let columns = column_names();
    let write_target = WriteTarget {
        table: &table.parts,
        columns: &columns,
    };
    let insert = request.insert;
    let replaced = crate::render::render_replaced(reports, dialect, &request.only)?;
    let delete = crate::render::render_delete(dialect, &table.parts, &replaced);
    let lock = dialect
        .write
        .lock
        .as_ref()
        .map(|lock| lock.replace("{table}", &table.quoted(dialect)));
    let mut statements = Vec::new();
    if let Some(lock) = &lock {
        statements.push(gate::admit_write(lock, dialect, Write::Lock, write_target)?);
    }
    statements.push(gate::admit_write(
        &delete,
        dialect,
        Write::Delete,
        write_target,
    )?);
    statements.push(gate::admit_write(
        insert,
        dialect,
        Write::Insert,
        write_target,
    )?);
    // Checked by the gate first: a refused statement creates no table.
    let created = ensure_table(driver, target, table, &results_columns(), events)?;
    let earlier = earlier_runs(driver, target, table, &replaced)?;
    driver.write(&statements)?;
    let count = format!(
        "SELECT COUNT(*) AS {} FROM {} WHERE {} = {}",
        dialect.quote_identifier("segc_rows"),
        table.quoted(dialect),
        dialect.quote_identifier("run_id"),
        dialect.string_literal(request.run_id)
    );
    let rows = count_rows(driver, &count)?;
    left_behind(driver, target, table, &replaced, &earlier)?;
    Ok(Written {
        table: table.display(),
        run_id: request.run_id.to_string(),
        rows,
        computed: computed_rows(reports),
        created,
    })
}

/// The runs whose rows the write replaces, read before it (at most 1,000).
fn earlier_runs(
    driver: &mut dyn Driver,
    target: &Target,
    table: &ResultsTable,
    replaced: &str,
) -> Result<Vec<String>, Error> {
    let dialect = &target.dialect;
    let run = dialect.quote_identifier("run_id");
    let query = format!(
        "SELECT DISTINCT {run} AS {run} FROM {} WHERE {replaced}",
        table.quoted(dialect)
    );
    let result = driver.query(&query)?;
    Ok(result
        .rows
        .iter()
        .filter_map(|row| match row.first() {
            Some(crate::driver::Cell::Text(run_id)) => Some(run_id.clone()),
            _ => None,
        })
        .take(1000)
        .collect())
}

/// Fails when rows of the runs read before the write ([`earlier_runs`]) are still there
/// after it, beside this run's: a row-level security policy that lets the user read and
/// insert but not delete, a rule or a trigger made the DELETE remove nothing, and the table
/// would hold two runs' values for one day, silently. (A run that wrote after this one is
/// none of these, so it is not taken for one.)
fn left_behind(
    driver: &mut dyn Driver,
    target: &Target,
    table: &ResultsTable,
    replaced: &str,
    earlier: &[String],
) -> Result<(), Error> {
    if earlier.is_empty() {
        return Ok(());
    }
    let dialect = &target.dialect;
    let runs: Vec<String> = earlier
        .iter()
        .map(|run| dialect.string_literal(run))
        .collect();
    let check = format!(
        "SELECT COUNT(*) AS {} FROM {} WHERE ({replaced})\n  AND {} IN ({})",
        dialect.quote_identifier("segc_rows"),
        table.quoted(dialect),
        dialect.quote_identifier("run_id"),
        runs.join(", ")
    );
    let kept = count_rows(driver, &check)?;
    if kept == 0 {
        return Ok(());
    }
    Err(Error::Query(format!(
        "target `{}`: the results table {} still holds {kept} row{} of earlier runs that this \
         run replaces: its DELETE did not remove them (a row-level security policy without \
         DELETE, a rule or a trigger on the table?), so the table now holds both runs' values \
         for the same days. Let this user delete them, then run again",
        target.target,
        table.display(),
        if kept == 1 { "" } else { "s" }
    )))
}

/// The count a `SELECT COUNT(*) …` of the results table answers (0 without a row).
fn count_rows(driver: &mut dyn Driver, query: &str) -> Result<u64, Error> {
    Ok(
        match driver.query(query)?.rows.first().and_then(|r| r.first()) {
            Some(cell) => cell.as_f64().unwrap_or_default() as u64,
            None => 0,
        },
    )
}

/// Periods × reported rows × KPIs.
fn computed_rows(reports: &Reports<'_>) -> u64 {
    let (periods, plan) = match reports {
        Reports::Single(plan) => (1, &**plan),
        Reports::Series(periods, _) => (periods.len(), &periods[0].1),
    };
    (periods * plan.rows.len() * plan.kpis.len()) as u64
}

/// Creates `table` with `columns` when the catalog has none; an existing one must fit (it is
/// never altered). Returns whether it was created here.
pub fn ensure_table(
    driver: &mut dyn Driver,
    target: &Target,
    table: &ResultsTable,
    columns: &[TableColumn],
    events: &EventSink,
) -> Result<bool, Error> {
    let dialect = &target.dialect;
    let names: Vec<&str> = columns.iter().map(|(name, _, _)| *name).collect();
    let write_target = WriteTarget {
        table: &table.parts,
        columns: &names,
    };
    let catalog = crate::catalog::catalog_query(dialect, std::slice::from_ref(&table.parts));
    let read = |driver: &mut dyn Driver| -> Result<Option<Vec<String>>, Error> {
        let rows = crate::catalog::catalog_rows(&driver.query(&catalog)?)?;
        Ok(schema_problems(dialect, table, columns, &rows))
    };
    let misfit = |problems: Vec<String>| {
        Error::Query(format!(
            "target `{}`: the table {} ({}) does not fit what segc writes: {}. segc never \
             alters a table: rename or drop it, or name another one in profiles.yml or \
             segc_project.yml",
            target.target,
            table.display(),
            table.origin,
            problems.join("; ")
        ))
    };
    match read(driver)? {
        Some(problems) if problems.is_empty() => Ok(false),
        Some(problems) => Err(misfit(problems)),
        None => {
            let create = create_sql(dialect, table, columns);
            let admitted = gate::admit_write(&create, dialect, Write::Create, write_target)?;
            events.progress(&format!("creating the table {}", table.display()));
            match driver.write(&[admitted]) {
                Ok(()) => Ok(true),
                // Another run may have created it meanwhile: use it if it fits.
                Err(error) => match read(driver)? {
                    Some(problems) if problems.is_empty() => Ok(false),
                    Some(problems) => Err(misfit(problems)),
                    // Still not in the catalog: missing, or there and hidden from this user
                    // (PostgreSQL's catalog lists only the columns a user has a privilege
                    // on), so that creating it fails.
                    None => Err(Error::Query(format!(
                        "{error}\n  = help: segc found no table {} ({}) in the catalog and could not create it; if it exists, this user may use none of its columns: grant it SELECT, INSERT and DELETE on the table, or name another table in profiles.yml or segc_project.yml",
                        table.display(),
                        table.origin
                    ))),
                },
            }
        }
    }
}
