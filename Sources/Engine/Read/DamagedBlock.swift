/// A block of a store's log that failed its checks when it was read back: where it is, which positions it
/// held, and how the damage was found.
///
/// A store opens without reading every block (recovery checks the log's tail), so damage in the middle of
/// the log is found by the first reader that reaches the block or by the background scrub
/// (``ScrubConfiguration``). Either way it is logged at Error once, counted in the metric
/// `streamkit_storage_damaged_blocks_total`, and listed by ``Store/damagedBlocks``; reads that reach the
/// block fail with `corrupt`. Writes go on: entries appended after the damage are unaffected.
public struct DamagedBlock: Sendable, Hashable {
    /// How the damage was found.
    public enum Detection: String, Sendable, Hashable {
        /// A reader (a consume, a peek, a read-ahead) reached the block.
        case read
        /// The background scrub checked the block.
        case scrub
    }

    /// The log file holding the block, when the storage has files.
    public var path: String?
    /// Byte offset of the block's header in ``path``.
    public var offset: Int64?
    /// First log position the block holds, as indexed when the store opened.
    public var firstPosition: UInt64
    /// Last log position the block holds.
    public var lastPosition: UInt64
    /// What failed (checksum, decompression, framing …).
    public var reason: String
    /// Who found it first.
    public var foundBy: Detection
}
