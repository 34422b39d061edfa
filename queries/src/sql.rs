//! Read-only SQL: one query statement, checked twice.
//!
//! 1. The text is parsed with DataFusion's parser and must hold exactly one statement that only
//!    reads: a query (`SELECT`, `WITH … SELECT`, `VALUES`, set operations), `SHOW …`, `DESCRIBE`,
//!    or `EXPLAIN` of one of these. DDL, DML, `COPY`, `CREATE EXTERNAL TABLE`, `SET`/`RESET` and
//!    several statements in one request are refused.
//! 2. The logical plan is verified with [`SQLOptions`] that forbid DDL, DML and statements, which
//!    also catches writes hidden inside a query (`SELECT … INTO`), before anything runs.

use datafusion::dataframe::DataFrame;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use puhui_warehouse::Warehouse;

use crate::error::{QueryError, Result};

/// Memory the operators of one query may hold (sorts, joins, aggregations).
pub const QUERY_MEMORY_BYTES: usize = 2 * 1024 * 1024 * 1024;

/// Longest SQL text accepted (planning recurses over the expression tree).
pub const MAX_SQL_BYTES: usize = 100 * 1024;

/// Plans one read-only query over the current tables of the warehouse.
pub async fn read_only_query(warehouse: &Warehouse, sql: &str) -> Result<DataFrame> {
    let ctx = warehouse.session_within(Some(QUERY_MEMORY_BYTES)).await?;
    plan_read_only(&ctx, sql).await
}

/// Plans one read-only query in an existing session (several queries can share one snapshot).
pub(crate) async fn plan_read_only(ctx: &SessionContext, sql: &str) -> Result<DataFrame> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(QueryError::BadBody(format!(
            "the SQL text has {} bytes; at most {MAX_SQL_BYTES} are accepted",
            sql.len()
        )));
    }
    check_statements(sql)?;
    let plan = ctx
        .state()
        .create_logical_plan(sql)
        .await
        .map_err(QueryError::Sql)?;
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(&plan)
        .map_err(|e| QueryError::Refused {
            what: format!("{} ({})", excerpt(sql), e.message()),
        })?;
    ctx.execute_logical_plan(plan)
        .await
        .map_err(QueryError::Sql)
}

/// Refuses anything but exactly one read-only statement.
fn check_statements(sql: &str) -> Result<()> {
    let statements = DFParser::parse_sql(sql).map_err(QueryError::Sql)?;
    match statements.len() {
        0 => Err(QueryError::Refused {
            what: "an empty query".into(),
        }),
        1 if is_read_only(&statements[0]) => Ok(()),
        1 => Err(QueryError::Refused {
            what: excerpt(&statements[0].to_string()),
        }),
        n => Err(QueryError::Refused {
            what: format!("{n} statements in one request"),
        }),
    }
}

fn is_read_only(statement: &Statement) -> bool {
    match statement {
        Statement::Statement(s) => matches!(
            **s,
            SqlStatement::Query(_)
                | SqlStatement::ShowTables { .. }
                | SqlStatement::ShowColumns { .. }
                | SqlStatement::ShowVariable { .. }
                | SqlStatement::ShowFunctions { .. }
                | SqlStatement::ShowCreate { .. }
                | SqlStatement::ExplainTable { .. }
        ),
        Statement::Explain(explain) => is_read_only(&explain.statement),
        Statement::CreateExternalTable(_) | Statement::CopyTo(_) | Statement::Reset(_) => false,
    }
}

/// The statement, quoted and cut to a readable length, for error messages.
fn excerpt(sql: &str) -> String {
    const MAX_CHARS: usize = 80;
    let text = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("`{}…`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str) -> bool {
        matches!(check_statements(sql), Err(QueryError::Refused { .. }))
    }

    #[test]
    fn accepts_queries() {
        for sql in [
            "SELECT 1",
            "WITH t AS (SELECT 1 AS a) SELECT a FROM t",
            "VALUES (1), (2)",
            "SELECT 1 UNION ALL SELECT 2",
            "SHOW TABLES",
            "SHOW COLUMNS FROM region_scorecards",
            "DESCRIBE region_scorecards",
            "EXPLAIN SELECT 1",
            "SELECT 1;",
        ] {
            check_statements(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    #[test]
    fn refuses_everything_else() {
        for sql in [
            "",
            "  ; ",
            "DROP TABLE region_scorecards",
            "INSERT INTO t VALUES (1)",
            "DELETE FROM t",
            "UPDATE t SET a = 1",
            "CREATE TABLE t (a INT)",
            "CREATE VIEW v AS SELECT 1",
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            "SET datafusion.execution.batch_size = 1",
            "RESET datafusion.execution.batch_size",
            "EXPLAIN INSERT INTO t VALUES (1)",
            "SELECT 1; DROP TABLE x",
            "SELECT 1; SELECT 2",
        ] {
            assert!(refused(sql), "not refused: {sql}");
        }
    }

    #[test]
    fn excerpts_are_short() {
        assert_eq!(excerpt("DROP\n  TABLE x"), "`DROP TABLE x`");
        let long = format!("SELECT {}", "1, ".repeat(100));
        assert_eq!(excerpt(&long).chars().count(), 80 + 3);
    }
}
