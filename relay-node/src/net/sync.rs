//! Block sync between relays (`/trustchain/sync/1`): final blocks from a height on.

use super::*;

/// Reads and answers one sync request from the store, within [`SYNC_LIMITS`] (see
/// [`SyncResponse::blocks_fitting`]).
pub fn answer_sync(store: &Store, req: SyncRequest) -> SyncResponse {
    let SyncRequest::Blocks { from, limit } = req;
    match store
        .read()
        .and_then(|v| v.final_blocks(from, u64::from(limit.min(MAX_SYNC_BLOCKS))))
    {
        Ok(blocks) => SyncResponse::blocks_fitting(blocks),
        Err(e) => SyncResponse::error(e.to_string()),
    }
}
