//! Datagram sequence tracking per agent and sub-agent: a gap in the
//! sequence numbers counts the datagrams lost in between.

use core::net::IpAddr;
use foldhash::fast::FixedState;
use hashbrown::HashMap;

/// A datagram this far behind the last one seen is a late (reordered)
/// arrival; further behind, or with a sequence number this small, the agent
/// restarted.
pub const REORDER_WINDOW: u32 = 64;

/// The last datagram sequence number per (agent, sub-agent), at most
/// `max_agents` of them: when a new one would exceed that, all are
/// forgotten (and tracking starts over, see [`SflowSequences::resets`]).
#[derive(Debug, Clone)]
pub struct SflowSequences {
    last: HashMap<(IpAddr, u32), u32, FixedState>,
    max_agents: usize,
    lost: u64,
    resets: u64,
}

impl SflowSequences {
    pub fn new(max_agents: usize) -> Self {
        SflowSequences { last: HashMap::with_hasher(FixedState::default()), max_agents, lost: 0, resets: 0 }
    }

    /// Records a datagram and returns how many were lost since the previous
    /// one of the same agent and sub-agent: 0 on first sight, for the next
    /// number, a duplicate, a late arrival (up to [`REORDER_WINDOW`] behind;
    /// it was counted lost when the gap was seen) and a restart (further
    /// behind, or a number up to `REORDER_WINDOW`). Numbers wrap at 2^32.
    pub fn observe(&mut self, agent: IpAddr, sub_agent: u32, sequence: u32) -> u32 {
        let key = (agent, sub_agent);
        let Some(last) = self.last.get_mut(&key) else {
            if self.max_agents == 0 {
                return 0;
            }
            if self.last.len() >= self.max_agents {
                self.last.clear();
                self.resets += 1;
            }
            self.last.insert(key, sequence);
            return 0;
        };
        let ahead = sequence.wrapping_sub(*last);
        if ahead == 0 {
            return 0;
        }
        if ahead < 1 << 31 {
            *last = sequence;
            self.lost += u64::from(ahead - 1);
            return ahead - 1;
        }
        let behind = last.wrapping_sub(sequence);
        if behind > REORDER_WINDOW || sequence <= REORDER_WINDOW {
            *last = sequence;
        }
        0
    }

    /// Datagrams lost in all, over all agents.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Agents and sub-agents tracked now.
    pub fn tracked(&self) -> usize {
        self.last.len()
    }

    /// Times the table was full and forgotten.
    pub fn resets(&self) -> u64 {
        self.resets
    }
}
