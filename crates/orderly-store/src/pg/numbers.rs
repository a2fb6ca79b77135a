//! Order numbers on PostgreSQL: each channel has a sequence that counts in blocks of
//! `NUMBER_BLOCK`, and a process numbers its orders from the blocks it drew, without a
//! round trip per order.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Mutex, PoisonError};

/// How many order numbers one `nextval` hands to this process: its channel sequence
/// counts in steps of this size, and the process numbers orders from its block without
/// a round trip. Unique across processes; a restart leaves the rest of a block unused.
pub(crate) const NUMBER_BLOCK: i64 = 20;

/// What is left of each channel's blocks of order numbers in this process. Two commands
/// can find the blocks empty at once and each draw one: both blocks are kept.
#[derive(Debug, Default)]
pub(crate) struct NumberBlocks {
    free: Mutex<HashMap<String, Vec<Range<i64>>>>,
}

impl NumberBlocks {
    /// The next number of `channel` from this process's blocks, if any is left.
    pub(crate) fn take(&self, channel: &str) -> Option<i64> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let blocks = free.get_mut(channel)?;
        while let Some(block) = blocks.first_mut() {
            if let Some(n) = block.next() {
                return Some(n);
            }
            blocks.remove(0);
        }
        None
    }

    /// Makes `n`, taken by a run that did not commit, the next number handed out.
    pub(crate) fn give_back(&self, channel: &str, n: i64) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        free.entry(channel.to_owned())
            .or_default()
            .insert(0, n..n + 1);
    }

    /// Keeps a new block that starts at `first`, and takes its first number. Blocks are
    /// kept in order, so that of two drawn at once the lower is used first.
    pub(crate) fn start(&self, channel: &str, first: i64) -> i64 {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let blocks = free.entry(channel.to_owned()).or_default();
        let at = blocks.partition_point(|b| b.start < first);
        blocks.insert(at, first + 1..first + NUMBER_BLOCK);
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_drawn_at_once_are_both_used() {
        let blocks = NumberBlocks::default();
        assert_eq!(blocks.take("web"), None);
        // Two commands found nothing left and drew a block each.
        assert_eq!(blocks.start("web", 1001), 1001);
        assert_eq!(blocks.start("web", 1021), 1021);
        let rest: Vec<i64> = std::iter::from_fn(|| blocks.take("web")).collect();
        let expected: Vec<i64> = (1002..1021).chain(1022..1041).collect();
        assert_eq!(rest, expected, "every number of both blocks, once");
        assert_eq!(blocks.take("marketplace"), None);
        // The higher block's draw finished first: the lower one is still used first.
        assert_eq!(blocks.start("mkt", 1061), 1061);
        assert_eq!(blocks.start("mkt", 1041), 1041);
        assert_eq!(blocks.take("mkt"), Some(1042));
        blocks.give_back("web", 1040);
        assert_eq!(blocks.take("web"), Some(1040));
        assert_eq!(blocks.take("web"), None);
    }
}
