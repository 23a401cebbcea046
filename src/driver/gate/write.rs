//! The write shapes of the gate: the only statements that change data, and only the table
//! segc writes (`segc run --materialize`): creating it, taking its lock, deleting the rows a
//! run replaces (with a WHERE), and inserting a run's rows from a read-only query.

use std::ops::ControlFlow;

use sqlparser::ast::{
    FromTable, ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableFactor, TableObject,
    TableWithJoins, Visit,
};

use super::ReadOnly;

/// Which write a statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `CREATE TABLE <table> (<columns>)`, the columns exactly.
    Create,
    /// The lock two writers of the table wait on: `LOCK TABLE <table> …`, or a read of the
    /// table with table hints (T-SQL).
    Lock,
    /// `DELETE FROM <table> WHERE …`, the condition read-only.
    Delete,
    /// `INSERT INTO <table> (<columns>) <read-only query>` (T-SQL: `WITH … INSERT …`).
    Insert,
}

/// The table a write may touch and its columns, in order.
#[derive(Debug, Clone, Copy)]
pub struct WriteTarget<'a> {
    pub table: &'a [String],
    pub columns: &'a [&'a str],
}

/// Why `statement` is not the `kind` of write on `target`, if it is not.
pub(super) fn check(
    statement: &Statement,
    kind: Write,
    target: WriteTarget<'_>,
) -> Result<(), String> {
    match (kind, statement) {
        (Write::Create, Statement::CreateTable(create)) => {
            same_table(&create.name, target)?;
            if create.query.is_some()
                || create.or_replace
                || create.like.is_some()
                || create.clone.is_some()
            {
                return Err("it creates the table from something else".into());
            }
            let columns: Vec<&str> = create
                .columns
                .iter()
                .map(|c| c.name.value.as_str())
                .collect();
            same_columns(&columns, target)
        }
        (Write::Lock, Statement::Lock(lock)) => match lock.tables.as_slice() {
            [one] => same_table(&one.name, target),
            _ => Err("it locks more than the table".into()),
        },
        (Write::Lock, Statement::Query(query)) => lock_by_hints(query, target),
        (Write::Delete, Statement::Delete(delete)) => {
            let from = match &delete.from {
                FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => from,
            };
            match from.as_slice() {
                [one] => only_the_table(one, target)?,
                _ => return Err("it deletes from more than the table".into()),
            }
            if !delete.tables.is_empty()
                || delete.using.is_some()
                || delete.returning.is_some()
                || delete.output.is_some()
                || !delete.order_by.is_empty()
                || delete.limit.is_some()
            {
                return Err("it is not a plain DELETE … WHERE".into());
            }
            let Some(condition) = &delete.selection else {
                return Err("it deletes every row (no WHERE)".into());
            };
            read_only(condition)
        }
        (Write::Insert, Statement::Insert(insert)) => {
            let Some(source) = &insert.source else {
                return Err("it inserts no query".into());
            };
            plain_insert(insert, target)?;
            read_only(source.as_ref())
        }
        (Write::Insert, Statement::Query(query)) => {
            // T-SQL: `WITH … INSERT INTO … SELECT …`.
            let SetExpr::Insert(Statement::Insert(insert)) = query.body.as_ref() else {
                return Err("it is not an INSERT".into());
            };
            if query.order_by.is_some() || query.limit_clause.is_some() || !query.locks.is_empty() {
                return Err("it is not a plain INSERT".into());
            }
            let Some(source) = &insert.source else {
                return Err("it inserts no query".into());
            };
            plain_insert(insert, target)?;
            if let Some(with) = &query.with {
                for cte in &with.cte_tables {
                    read_only(cte.query.as_ref())?;
                }
            }
            read_only(source.as_ref())
        }
        (_, other) => Err(format!(
            "it is not the {} segc writes but {}",
            match kind {
                Write::Create => "CREATE TABLE",
                Write::Lock => "lock",
                Write::Delete => "DELETE",
                Write::Insert => "INSERT",
            },
            other
                .to_string()
                .split_whitespace()
                .next()
                .unwrap_or("another statement")
        )),
    }
}

/// Nothing in `node` but reading (see [`ReadOnly`]).
fn read_only<V: Visit>(node: &V) -> Result<(), String> {
    match node.visit(&mut ReadOnly) {
        ControlFlow::Break(why) => Err(why),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn plain_insert(insert: &sqlparser::ast::Insert, target: WriteTarget<'_>) -> Result<(), String> {
    let TableObject::TableName(name) = &insert.table else {
        return Err("it inserts into a table function".into());
    };
    same_table(name, target)?;
    if insert.on.is_some()
        || insert.returning.is_some()
        || insert.output.is_some()
        || insert.overwrite
        || insert.partitioned.is_some()
        || !insert.assignments.is_empty()
        || insert.or.is_some()
        || insert.replace_into
    {
        return Err("it is not a plain INSERT INTO … SELECT".into());
    }
    let columns: Vec<String> = insert.columns.iter().map(dotted).collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    same_columns(&columns, target)
}

/// T-SQL's lock: `SELECT … FROM <table> WITH (…)`, nothing else read.
fn lock_by_hints(query: &Query, target: WriteTarget<'_>) -> Result<(), String> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Err("it is not a lock".into());
    };
    match select.from.as_slice() {
        [one] if one.joins.is_empty() => match &one.relation {
            TableFactor::Table {
                name, with_hints, ..
            } if !with_hints.is_empty() => same_table(name, target),
            _ => Err("it is not a lock of the table".into()),
        },
        _ => Err("it is not a lock of the table".into()),
    }
}

/// `from` is the table alone, with no join, hint or function.
fn only_the_table(from: &TableWithJoins, target: WriteTarget<'_>) -> Result<(), String> {
    match &from.relation {
        TableFactor::Table {
            name,
            args: None,
            with_hints,
            ..
        } if from.joins.is_empty() && with_hints.is_empty() => same_table(name, target),
        _ => Err("it deletes from something else than the table".into()),
    }
}

fn dotted(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => ident.value.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn same_table(name: &ObjectName, target: WriteTarget<'_>) -> Result<(), String> {
    let written = dotted(name);
    if written == target.table.join(".") {
        Ok(())
    } else {
        Err(format!(
            "it writes `{written}`, not the results table `{}`",
            target.table.join(".")
        ))
    }
}

fn same_columns(columns: &[&str], target: WriteTarget<'_>) -> Result<(), String> {
    if columns == target.columns {
        Ok(())
    } else {
        Err(format!(
            "its columns ({}) are not the results table's ({})",
            columns.join(", "),
            target.columns.join(", ")
        ))
    }
}
