//! The state format both backends store: the snapshot file (the state plus the
//! generation that decides which journal belongs to it) and the journal as JSON lines.
//! One definition, so that a local directory and an S3 prefix hold the same bytes.

use serde::Deserialize;

use cairn_core::state::{JournalEntry, StackState, StateError, STATE_FORMAT_VERSION};

/// `snapshot.json`: the state and its generation.
#[derive(Deserialize)]
struct SnapshotFile {
    generation: u64,
    state: StackState,
}

/// Only the generation of a snapshot (the state is skipped, not built).
#[derive(Deserialize)]
pub(crate) struct SnapshotGeneration {
    pub(crate) generation: u64,
}

/// A stack that was never written: generation 0, empty state.
pub(crate) fn empty_snapshot() -> (u64, StackState) {
    (0, StackState { format_version: STATE_FORMAT_VERSION, ..StackState::default() })
}

/// Decode a snapshot into its generation and state. `what` names the file or object in
/// the error message, which the caller wraps as [`StateError::Corrupt`].
pub(crate) fn decode_snapshot(bytes: &[u8], what: &str) -> Result<(u64, StackState), String> {
    let snap: SnapshotFile = serde_json::from_slice(bytes).map_err(|e| format!("{what}: {e}"))?;
    if snap.state.format_version > STATE_FORMAT_VERSION {
        return Err(format!(
            "{what} has format version {}, this cairn reads up to {STATE_FORMAT_VERSION}: upgrade cairn",
            snap.state.format_version
        ));
    }
    Ok((snap.generation, snap.state))
}

/// The state as the JSON `compact` writes inside the snapshot.
pub(crate) fn encode_state(stack: &str, state: &StackState) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(state).map_err(|e| StateError::Io(format!("cannot encode the state of `{stack}`: {e}")))
}

/// Journal entries as JSON lines, one buffer for one write.
pub(crate) fn encode_entries(entries: &[JournalEntry]) -> Result<Vec<u8>, StateError> {
    let mut buf = Vec::with_capacity(256 * entries.len());
    for e in entries {
        serde_json::to_writer(&mut buf, e)
            .map_err(|e| StateError::Io(format!("cannot encode a journal entry: {e}")))?;
        buf.push(b'\n');
    }
    Ok(buf)
}
