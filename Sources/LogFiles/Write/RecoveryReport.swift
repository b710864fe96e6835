/// What opening a store found and repaired.
public struct RecoveryReport: Sendable, Hashable {
    /// Log files found.
    public var logFiles = 0
    /// Sealed blocks in the log after recovery.
    public var blocks = 0
    /// Blocks whose summary came from the sidecar (no decompression needed).
    public var blocksFromIndex = 0
    /// WAL files found.
    public var walFiles = 0
    /// WAL transactions replayed (their entries were past the log's end).
    public var replayedTransactions = 0
    /// Entries replayed from the WAL.
    public var replayedEntries = 0
    /// Bytes cut from the end of log files (torn or damaged tails).
    public var cutLogBytes: Int64 = 0
    /// Bytes cut from the end of WAL files.
    public var cutWALBytes: Int64 = 0
    /// Entries in the log blocks that were cut (torn or damaged blocks and what followed them, as far as
    /// their headers could be read) and in a last transaction cut because it was incomplete. A torn block's
    /// entries usually come back from the WAL (``replayedEntries``); ``lostEntries`` says how many did not.
    public var cutEntries = 0
    /// Entries cut from the log that neither the rest of the log nor the WAL held, so the store no longer
    /// has them: an incomplete last transaction, or blocks cut with no WAL behind them (possible only after
    /// the machine went down with the `none` or `interval` durability, or for damage cut by the `truncate`
    /// policy).
    public var lostEntries = 0
    /// Log files before the manifest's log start removed on open: a drop (retention) interrupted between writing
    /// the manifest and unlinking them, finished. Not damage.
    public var droppedLogFiles = 0
    /// Damage in the middle of a file that was cut because the policy is `.truncate`.
    public var truncatedCorruption: [ScanProblem] = []
    /// Wall time of the recovery in nanoseconds.
    public var durationNanoseconds: Int64 = 0

    /// An empty report (nothing found, nothing cut).
    public init() {}

    /// Whether anything at all was cut.
    public var cutAnything: Bool {
        cutLogBytes > 0 || cutWALBytes > 0 || cutEntries > 0 || !truncatedCorruption.isEmpty
    }
}

/// What an opened store holds, for building an in-memory index.
public struct RecoveryResult: Sendable {
    /// Every sealed block, in log order, with its per-segment runs.
    public var blocks: [BlockSummary]
    /// Committed entries not yet sealed into a block (replayed from the WAL), in log order.
    public var tail: [Entry]
    /// Position the next appended entry gets.
    public var nextPosition: UInt64
    /// Timestamp of the last committed entry (0 for an empty store).
    public var lastTimestamp: Int64
    /// What was found and repaired.
    public var report: RecoveryReport
    /// Where the log starts and the heads of segments whose entries were all dropped.
    public var manifest: StoreManifest

    /// Creates a result.
    public init(
        blocks: [BlockSummary], tail: [Entry], nextPosition: UInt64, lastTimestamp: Int64, report: RecoveryReport,
        manifest: StoreManifest = StoreManifest()
    ) {
        self.blocks = blocks
        self.tail = tail
        self.nextPosition = nextPosition
        self.lastTimestamp = lastTimestamp
        self.report = report
        self.manifest = manifest
    }
}
