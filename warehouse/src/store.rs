//! The store: Delta Lake tables under one root location.
//!
//! A local directory by default; every table is `<root>/<table name>/` with its `_delta_log`.
//! Tables are created on first use with the schema their owner gives. Appends and replacements are
//! single Delta commits (atomic: a reader sees all of a batch or none of it).

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::StructType;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableBuilder};
use object_store::path::Path as StorePath;
use object_store::ObjectStore;
use url::Url;

use crate::error::{Result, WarehouseError};

/// Handle on the warehouse root. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Warehouse {
    root: Url,
    dir: PathBuf,
    listing: Arc<dyn ObjectStore>,
}

impl Warehouse {
    /// Opens (and creates if missing) a warehouse in a local directory.
    pub fn open_local(dir: impl AsRef<FsPath>) -> Result<Self> {
        let dir = dir.as_ref();
        let bad = |e: String| WarehouseError::BadLocation(dir.display().to_string(), e);
        std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
        let dir = dir.canonicalize().map_err(|e| bad(e.to_string()))?;
        let root = Url::from_directory_path(&dir).map_err(|()| bad("not an absolute path".into()))?;
        let listing = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| bad(e.to_string()))?;
        Ok(Warehouse { root, dir, listing: Arc::new(listing) })
    }

    /// The local directory of the warehouse.
    pub fn dir(&self) -> &FsPath {
        &self.dir
    }

    fn table_url(&self, name: &str) -> Result<Url> {
        self.root
            .join(&format!("{name}/"))
            .map_err(|e| WarehouseError::BadLocation(name.to_string(), e.to_string()))
    }

    fn delta_err(name: &str) -> impl Fn(deltalake::DeltaTableError) -> WarehouseError + '_ {
        move |source| WarehouseError::Delta { table: name.to_string(), source }
    }

    /// Whether a table has a Delta log.
    async fn exists(&self, name: &str) -> bool {
        let log = StorePath::from(format!("{name}/_delta_log"));
        self.listing.list_with_delimiter(Some(&log)).await.is_ok_and(|l| !l.objects.is_empty())
    }

    /// Opens a table, or `None` if it does not exist yet.
    pub async fn open_table(&self, name: &str) -> Result<Option<DeltaTable>> {
        if !self.exists(name).await {
            return Ok(None);
        }
        let table = DeltaTable::try_from_url(self.table_url(name)?)
            .await
            .map_err(Self::delta_err(name))?;
        Ok(table.version().is_some().then_some(table))
    }

    /// The current version of a table, or `None` if it does not exist yet.
    pub async fn version(&self, name: &str) -> Result<Option<i64>> {
        Ok(self.open_table(name).await?.and_then(|t| t.version()).map(|v| v as i64))
    }

    /// Opens a table, creating it empty with this schema and partitioning if it does not exist.
    pub async fn ensure_table(
        &self,
        name: &str,
        schema: &SchemaRef,
        partition_columns: &[&str],
    ) -> Result<DeltaTable> {
        if let Some(table) = self.open_table(name).await? {
            return Ok(table);
        }
        let delta_schema: StructType = schema.as_ref().try_into_kernel()?;
        let location = self.dir.join(name);
        std::fs::create_dir_all(&location)
            .map_err(|e| WarehouseError::BadLocation(location.display().to_string(), e.to_string()))?;
        // Built without loading: the location has no log yet.
        let table = DeltaTableBuilder::from_url(self.table_url(name)?)
            .and_then(|b| b.build())
            .map_err(Self::delta_err(name))?;
        let created = table
            .create()
            .with_table_name(name)
            .with_columns(delta_schema.fields().cloned())
            .with_partition_columns(partition_columns.iter().map(|c| c.to_string()))
            .with_save_mode(SaveMode::Ignore)
            .await
            .map_err(Self::delta_err(name))?;
        Ok(created)
    }

    /// Appends batches in one commit; returns the new table version.
    pub async fn append(
        &self,
        name: &str,
        schema: &SchemaRef,
        partition_columns: &[&str],
        batches: Vec<RecordBatch>,
    ) -> Result<i64> {
        self.write(name, schema, partition_columns, batches, SaveMode::Append).await
    }

    /// Replaces the whole content of a table in one commit; returns the new table version.
    pub async fn replace(
        &self,
        name: &str,
        schema: &SchemaRef,
        partition_columns: &[&str],
        batches: Vec<RecordBatch>,
    ) -> Result<i64> {
        self.write(name, schema, partition_columns, batches, SaveMode::Overwrite).await
    }

    async fn write(
        &self,
        name: &str,
        schema: &SchemaRef,
        partition_columns: &[&str],
        batches: Vec<RecordBatch>,
        mode: SaveMode,
    ) -> Result<i64> {
        let table = self.ensure_table(name, schema, partition_columns).await?;
        let batches: Vec<RecordBatch> = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
        if batches.is_empty() && mode == SaveMode::Append {
            return Ok(table.version().unwrap_or(0) as i64);
        }
        let batches = if batches.is_empty() { vec![RecordBatch::new_empty(schema.clone())] } else { batches };
        let written = table
            .write(batches)
            .with_save_mode(mode)
            .with_partition_columns(partition_columns.iter().map(|c| c.to_string()))
            .await
            .map_err(Self::delta_err(name))?;
        Ok(written.version().unwrap_or(0) as i64)
    }

    /// Names of the tables that exist, sorted.
    pub async fn table_names(&self) -> Result<Vec<String>> {
        let listing = self
            .listing
            .list_with_delimiter(None)
            .await
            .map_err(|e| WarehouseError::BadLocation(self.root.to_string(), e.to_string()))?;
        let mut names = Vec::new();
        for prefix in listing.common_prefixes {
            let name = prefix.as_ref().to_string();
            if self.exists(&name).await {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// The current version of every existing table.
    pub async fn table_versions(&self) -> Result<BTreeMap<String, i64>> {
        let mut versions = BTreeMap::new();
        for name in self.table_names().await? {
            if let Some(table) = self.open_table(&name).await? {
                versions.insert(name, table.version().unwrap_or(0) as i64);
            }
        }
        Ok(versions)
    }

    /// A DataFusion session with every existing table registered under its name, read-only.
    pub async fn session(&self) -> Result<SessionContext> {
        self.session_within(None).await
    }

    /// The same, with the memory its operators may hold limited to `memory_limit` bytes (a query
    /// that needs more fails with a resources-exhausted error instead of taking the process down).
    pub async fn session_within(&self, memory_limit: Option<usize>) -> Result<SessionContext> {
        let config = SessionConfig::new().with_information_schema(true);
        let mut runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new();
        if let Some(limit) = memory_limit {
            runtime = runtime.with_memory_limit(limit, 1.0);
        }
        let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc()?);
        for name in self.table_names().await? {
            let Some(table) = self.open_table(&name).await? else { continue };
            table.update_datafusion_session(&ctx.state()).map_err(Self::delta_err(&name))?;
            let provider = table
                .table_provider()
                .await
                .map_err(|source| WarehouseError::Provider { table: name.clone(), source })?;
            ctx.register_table(name.as_str(), provider)?;
        }
        Ok(ctx)
    }

    /// Runs one SQL query over the current tables and collects the result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let ctx = self.session().await?;
        Ok(ctx.sql(sql).await?.collect().await?)
    }
}

/// A text column of a query result as a plain `StringArray`, whatever string type the engine chose
/// (Delta scans produce `Utf8View`, in-memory tables `Utf8`).
pub fn strings(column: &arrow::array::ArrayRef) -> arrow::array::StringArray {
    use arrow::array::AsArray;
    let cast = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8).expect("a text column");
    cast.as_string::<i32>().clone()
}

/// A query result batch cast to a table's stored schema (view types back to plain types).
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, false),
            Field::new("v", DataType::Int64, false),
        ]))
    }

    fn batch(keys: &[&str], values: &[i64]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(keys.to_vec())),
                Arc::new(Int64Array::from(values.to_vec())),
            ],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn append_replace_and_query() {
        let dir = std::env::temp_dir().join(format!("puhui-wh-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let wh = Warehouse::open_local(&dir).unwrap();
        assert!(wh.table_names().await.unwrap().is_empty());
        wh.ensure_table("t", &schema(), &[]).await.unwrap();
        let v1 = wh.append("t", &schema(), &[], vec![batch(&["a", "b"], &[1, 2])]).await.unwrap();
        let v2 = wh.append("t", &schema(), &[], vec![batch(&["c"], &[3])]).await.unwrap();
        assert!(v2 > v1);
        let out = wh.query("SELECT sum(v) AS s FROM t").await.unwrap();
        let s = out[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0);
        assert_eq!(s, 6);
        wh.replace("t", &schema(), &[], vec![batch(&["z"], &[10])]).await.unwrap();
        let out = wh.query("SELECT count(*) AS n, sum(v) AS s FROM t").await.unwrap();
        assert_eq!(out[0].column(1).as_any().downcast_ref::<Int64Array>().unwrap().value(0), 10);
        assert_eq!(wh.table_names().await.unwrap(), vec!["t".to_string()]);
        assert_eq!(wh.table_versions().await.unwrap()["t"], 3);
        use datafusion::execution::memory_pool::MemoryLimit;
        let limited = wh.session_within(Some(1 << 20)).await.unwrap();
        assert!(matches!(limited.runtime_env().memory_pool.memory_limit(), MemoryLimit::Finite(n) if n == 1 << 20));
        assert!(matches!(wh.session().await.unwrap().runtime_env().memory_pool.memory_limit(), MemoryLimit::Infinite));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
