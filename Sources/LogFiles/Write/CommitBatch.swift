/// Frames encoded by producers and waiting for the WAL, plus who to tell when they are durable. Batches
/// circulate through a small pool: producers fill one while the WAL holder writes another, so steady-state
/// appends allocate nothing. Only touched under the commit lock or by the WAL holder after taking it.
final class CommitBatch {
    struct Frame {
        var offset: Int
        var length: Int
        var firstPosition: UInt64
        var count: Int
    }

    struct Waiter {
        let continuation: UnsafeContinuation<CommittedTransaction, any Error>
        let result: CommittedTransaction
    }

    let buffer: RawBuffer
    var frames: [Frame] = []
    var waiters: [Waiter] = []

    init(capacity: Int) {
        buffer = RawBuffer(capacity: capacity)
        frames.reserveCapacity(64)
        waiters.reserveCapacity(64)
    }

    var isEmpty: Bool { frames.isEmpty }

    func clear(trimTo capacity: Int) {
        buffer.count = 0
        buffer.trim(to: capacity)
        frames.removeAll(keepingCapacity: true)
        waiters.removeAll(keepingCapacity: true)
    }

    func fail(_ error: any Error) {
        for waiter in waiters { waiter.continuation.resume(throwing: error) }
        waiters.removeAll(keepingCapacity: true)
    }
}

/// State shared by producers and the commit thread; guarded by the writer's `ConditionLock`.
final class CommitState {
    var pending: CommitBatch
    /// Batches ready for producers (the pool: pending + the WAL holder's + spares).
    var free: [CommitBatch] = []
    /// Full blocks of acknowledged records, waiting for the sealer, oldest first.
    var sealQueue: [SealJob] = []
    /// Compressed-block buffers for the builder when it helps the sealer (returned once written).
    var freeOutputs: [RawBuffer] = []
    /// Empty block buffers for the builder (the pool: open block + queued + being sealed + these).
    var freeBlocks: [RawBuffer] = []
    var sealerBusy = false
    /// The WAL holder waits for free block buffers (see ``CommitWorker/resumeBlocks``).
    var builderWaiting = false
    /// Blocks the WAL holder compressed for the sealer while it waited (for tests and profiles).
    var builderCompressions = 0
    /// Someone (the WAL thread, or an appending task on the inline path) is using the WAL output.
    var walBusy = false
    /// The WAL thread owns the block builder and the log while this is set (checkpoint, close).
    var sealerPaused = false
    var sealerExit = false
    /// The log is synced through this position (set by the syncer).
    var logSyncedThrough: UInt64 = 0
    /// WAL files whose last position is at or below this can go: the synced log with `fsync`/`interval`;
    /// with `none` (no power-loss promise) the written log, so no sync is ever needed for it.
    var droppableThrough: UInt64 = 0
    /// Last position of the oldest older WAL file (`.max` when none): the sealer wakes the WAL thread when
    /// `droppableThrough` reaches it.
    var nextDropAt: UInt64 = .max
    /// The WAL thread asks for the log to be synced through this position (so a rolled WAL file can go).
    var wantLogSyncThrough: UInt64 = 0
    /// A log file for the syncer thread to `fdatasync`, and the last position it then makes durable.
    var syncRequest: (file: any StorageFile, through: UInt64)?
    var syncerBusy = false
    var syncerExit = false
    var nextPosition: UInt64
    var lastTimestamp: Int64
    var failure: LogFilesError?
    var closing = false
    var finished = false
    var checkpointWaiters: [UnsafeContinuation<Void, any Error>] = []
    /// A checkpoint waiter asked for the WAL to keep no written space for reuse (``LogWriter/checkpoint(scrub:)``).
    var scrubRequested = false
    var closeWaiters: [UnsafeContinuation<Void, Never>] = []

    init(pending: CommitBatch, nextPosition: UInt64, lastTimestamp: Int64) {
        self.pending = pending
        self.nextPosition = nextPosition
        self.lastTimestamp = lastTimestamp
    }
}
