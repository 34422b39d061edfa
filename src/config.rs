//! Configuration: a TOML file (`--config`, `PUHUI_CONFIG`), every key overridable by a `PUHUI_*`
//! environment variable and a CLI flag (flag > environment > file > default), validated at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{CliError, Result};

/// The keys of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub secret: Option<String>,
    pub methodology: Option<PathBuf>,
}

/// Settings shared by the subcommands, after merging.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// The identity-hashing secret; `None` means the demo key (and a warning).
    pub secret: Option<String>,
    pub methodology: Option<PathBuf>,
}

pub const DEFAULT_DATA_DIR: &str = "./puhui-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Values given as flags or environment variables (clap reads both).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Configuration file (TOML with keys data_dir, listen, secret, methodology).
    #[arg(long, env = "PUHUI_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Warehouse directory [default: ./puhui-data].
    #[arg(long, env = "PUHUI_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Address `serve` and `demo` listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PUHUI_LISTEN", global = true)]
    pub listen: Option<String>,
    /// Secret key for hashing identities (HMAC-SHA256). Without it the demo key is used.
    #[arg(long, env = "PUHUI_SECRET", global = true, hide_env_values = true)]
    pub secret: Option<String>,
    /// Methodology file to compute the index with [default: the embedded v1].
    #[arg(long, env = "PUHUI_METHODOLOGY", global = true)]
    pub methodology: Option<PathBuf>,
}

impl Overrides {
    pub fn settings(&self) -> Result<Settings> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let listen_text = self.listen.clone().or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text
            .parse()
            .map_err(|_| CliError::Config(format!("listen address `{listen_text}` is not HOST:PORT (e.g. 127.0.0.1:8080)")))?;
        let secret = self.secret.clone().or(file.secret);
        if secret.as_deref().is_some_and(|s| s.len() < 16) {
            return Err(CliError::Config("the identity secret must be at least 16 characters".into()));
        }
        let methodology = self.methodology.clone().or(file.methodology);
        if let Some(m) = &methodology {
            if !m.is_file() {
                return Err(CliError::Config(format!("methodology file `{}` does not exist", m.display())));
            }
        }
        Ok(Settings {
            data_dir: self.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            listen,
            secret,
            methodology,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Config(format!("cannot read `{}`: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| CliError::Config(format!("`{}`: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_and_bad_values_are_named() {
        let dir = std::env::temp_dir().join(format!("puhui-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("puhui.toml");
        std::fs::write(&file, "data_dir = \"/from/file\"\nlisten = \"127.0.0.1:9000\"\n").unwrap();
        let o = Overrides { config: Some(file.clone()), data_dir: Some("/from/flag".into()), ..Default::default() };
        let s = o.settings().unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(s.listen.port(), 9000);
        let bad = Overrides { listen: Some("nowhere".into()), ..Default::default() };
        assert!(bad.settings().unwrap_err().to_string().contains("nowhere"));
        std::fs::write(&file, "datadir = 1\n").unwrap();
        let o = Overrides { config: Some(file), ..Default::default() };
        assert!(o.settings().unwrap_err().to_string().contains("unknown field"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
