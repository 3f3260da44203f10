//! The operator's rules (dns_chain, cidr_chain, re_chain, pcap_chain and
//! the rest of the application settings), replaced as a whole on SIGHUP
//! when the configuration file changed. Workers look at the generation
//! between batches and take the new settings into their pipeline
//! (`Pipeline::replace_app`: counters and flow templates kept).

use sensor::app::AppConfig;
use sensor::config::Config;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

struct Current {
    generation: u64,
    app: AppConfig,
    /// The configuration's text, to tell a changed file from a SIGHUP
    /// meant for the feeds.
    text: Option<String>,
}

pub struct RulesSlot {
    /// Read without the lock between batches; equal to `current.generation`.
    generation: AtomicU64,
    current: Mutex<Current>,
}

impl RulesSlot {
    pub fn new(app: AppConfig, config_path: Option<&Path>) -> RulesSlot {
        let text = config_path.and_then(|p| std::fs::read_to_string(p).ok());
        RulesSlot { generation: AtomicU64::new(1), current: Mutex::new(Current { generation: 1, app, text }) }
    }

    /// The settings and their generation, read together.
    pub fn current(&self) -> (u64, AppConfig) {
        let c = self.current.lock().unwrap_or_else(|p| p.into_inner());
        (c.generation, c.app.clone())
    }

    /// The settings, when newer than `held`.
    pub fn newer(&self, held: u64) -> Option<(u64, AppConfig)> {
        if self.generation.load(Ordering::Acquire) == held {
            return None;
        }
        Some(self.current())
    }

    /// Reads the configuration again: Some(new generation), or None when the
    /// file is unchanged. On any error the settings in use stay.
    pub fn reload(&self, path: &Path) -> anyhow::Result<Option<u64>> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{file}: cannot read the configuration: {e}"))?;
        if self.current.lock().unwrap_or_else(|p| p.into_inner()).text.as_deref() == Some(text.as_str()) {
            return Ok(None);
        }
        let config = Config::parse(&file, &text)?;
        let app = config.app_config(&file)?;
        let mut c = self.current.lock().unwrap_or_else(|p| p.into_inner());
        c.generation += 1;
        c.app = app;
        c.text = Some(text);
        self.generation.store(c.generation, Ordering::Release);
        Ok(Some(c.generation))
    }
}
