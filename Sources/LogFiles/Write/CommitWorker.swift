import Logging

/// The commit pipeline:
///
/// * whoever holds the WAL (`state.walBusy`) writes a batch of transactions to it: the **WAL thread**, which
///   takes the batch producers filled, writes it with one `write` and (per the durability setting) one
///   `fdatasync` — group commit — and acknowledges every transaction in it; or, without sync waits, an
///   appending task that found the WAL idle (`commitInline`). The holder then copies the batch's records into
///   the open block (``BlockBuilder``) while they are still in its cache, and queues every full block;
/// * the **sealer thread** compresses and writes the queued blocks and their sidecar records, and asks the
///   syncer to sync the log when the WAL thread wants to drop a WAL file;
/// * the **syncer thread** runs those `fdatasync`s off both paths.
///
/// So compression never sits between a transaction and its acknowledgement, and the sealer — the busiest
/// thread on a small machine — does nothing but compress and write. Block buffers circulate through a small
/// pool (builder → sealer → free), which bounds memory: when the sealer falls behind, the WAL holder waits
/// for a free block buffer and producers queue behind it.
///
/// Ownership: `wal` and `blocks` belong to the WAL holder; `log` to the sealer, except while the sealer is
/// paused (`state.sealerPaused`, set by the WAL thread once the sealer is idle) for a checkpoint or close.
/// `state` is shared and only touched under `lock`.
final class CommitWorker: @unchecked Sendable {
    let lock: ConditionLock
    let state: CommitState
    let configuration: LogConfiguration
    let wal: WALOutput
    let log: LogOutput
    let blocks: BlockBuilder
    let readIndex: SealedBlocks
    private var lastSync = monotonicNanoseconds()
    private let batchCapacity: Int
    /// Compressed output of the block being written (sealer only).
    private let sealed = RawBuffer(capacity: CommitWorker.outputCapacity)
    static let poolSize = 4
    /// Block buffers in circulation (1 MiB with 64 KiB blocks): the open block plus up to this many minus one
    /// queued for the sealer.
    static let blockPoolSize = 16
    /// A builder that ran out of block buffers resumes once this many are free again, not at the first: it
    /// then sleeps and wakes once per several blocks rather than once per block (a cross-core wake-up costs
    /// microseconds, and far more when the hypervisor has descheduled the idle core).
    static let resumeBlocks = blockPoolSize / 2

    init(
        lock: ConditionLock, state: CommitState, configuration: LogConfiguration, wal: WALOutput, log: LogOutput,
        blocks: BlockBuilder, readIndex: SealedBlocks, batchCapacity: Int
    ) {
        self.lock = lock
        self.state = state
        self.configuration = configuration
        self.wal = wal
        self.log = log
        self.blocks = blocks
        self.readIndex = readIndex
        self.batchCapacity = batchCapacity
        state.free = (1..<Self.poolSize).map { _ in CommitBatch(capacity: batchCapacity) }
        state.freeBlocks = (1..<Self.blockPoolSize).map { _ in
            RawBuffer(capacity: BlockBuilder.bufferCapacity(configuration.blockBytes))
        }
    }

    func start() {
        var error = startThread(name: "sk-syncer") { [self] in runSyncer() }
        if error == 0 { error = startThread(name: "sk-sealer") { [self] in runSealer() } }
        let walError = error == 0 ? startThread(name: "sk-wal") { [self] in runWAL() } : error
        if walError != 0 {
            // Without threads nothing can commit: fail every caller instead of hanging.
            lock.withLock {
                state.failure = .io("pthread_create", path: nil, errno: walError)
                state.sealerExit = true
                state.syncerExit = true
                state.finished = true
            }
            lock.signal(.sealerWork)
            lock.signal(.syncerWork)
        }
    }

    private var intervalNanoseconds: Int64? {
        if case .interval(let ms) = configuration.durability { return Int64(max(ms, 1)) * 1_000_000 }
        return nil
    }

    // MARK: - WAL thread

    private func runWAL() {
        while true {
            var batch: CommitBatch?
            var checkpoints: [UnsafeContinuation<Void, any Error>] = []
            var scrub = false
            var closing = false
            var syncedThrough: UInt64 = 0
            var failed = false
            lock.withLock {
                while state.walBusy
                    || (state.pending.isEmpty && state.checkpointWaiters.isEmpty && !state.closing
                        && state.failure == nil && !wal.hasCovered(state.droppableThrough))
                {
                    if !state.walBusy, let interval = intervalNanoseconds, wal.dirty {
                        let wait = interval - (monotonicNanoseconds() - lastSync)
                        if wait <= 0 { break }
                        lock.wait(.walWork, nanoseconds: wait)
                    } else {
                        lock.wait(.walWork)
                    }
                }
                if state.failure != nil {
                    failed = true
                    return
                }
                if !state.pending.isEmpty {
                    while state.free.isEmpty && state.failure == nil { lock.wait(.sealerProgress) }
                    if let next = state.free.popLast() {
                        batch = state.pending
                        state.pending = next
                    }
                }
                checkpoints = state.checkpointWaiters
                state.checkpointWaiters.removeAll()
                scrub = state.scrubRequested
                state.scrubRequested = false
                closing = state.closing
                syncedThrough = state.droppableThrough
                state.walBusy = true
            }
            if failed { return drainAfterFailure() }
            defer { lock.withLock { state.walBusy = false } }
            if let batch {
                commit(batch)
            } else if intervalNanoseconds != nil && wal.dirty {
                do {
                    try wal.sync()
                    lastSync = monotonicNanoseconds()
                } catch {
                    poison(error)
                }
            }
            do {
                try wal.deleteCovered(syncedThrough)
            } catch {
                poison(error)
            }
            publishNextDrop()
            let closeNow = closing && batch == nil
            if !checkpoints.isEmpty || closeNow {
                let result: Result<Void, any Error>
                do {
                    try checkpoint(closing: closeNow, scrub: scrub)
                    result = .success(())
                } catch {
                    poison(error)
                    result = .failure(lock.withLock { state.failure } ?? LogFilesError.wrap(error))
                }
                for waiter in checkpoints { waiter.resume(with: result) }
            }
            if closeNow { return finish() }
        }
    }

    /// The inline path: an appending task that found the WAL idle writes its own batch (it holds `walBusy`).
    func commitInline(_ batch: CommitBatch) throws {
        do {
            try wal.write(batch, durability: configuration.durability, clock: configuration.clock)
            if case .interval(let ms) = configuration.durability,
                monotonicNanoseconds() - lastSync >= Int64(ms) * 1_000_000
            {
                try wal.sync()
                lastSync = monotonicNanoseconds()
            }
        } catch {
            poison(error)
            batch.clear(trimTo: batchCapacity)
            let failure = lock.withLock {
                state.walBusy = false
                state.free.append(batch)
                return state.failure
            }
            lock.signal(.walWork)
            throw failure ?? LogFilesError.wrap(error)
        }
        // Written to the WAL: the transaction is committed whatever happens next (a failure while building
        // blocks stops the writer, and reopening replays the WAL).
        assemble(batch)
        let wantSync = configuration.durability == .none ? 0 : wal.older.last?.lastPosition ?? 0
        let dropAt = wal.older.first?.lastPosition ?? .max
        let wakeWAL = lock.withLock {
            state.walBusy = false
            state.free.append(batch)
            if wantSync > state.wantLogSyncThrough { state.wantLogSyncThrough = wantSync }
            state.nextDropAt = dropAt
            return !state.pending.isEmpty || !state.checkpointWaiters.isEmpty || state.closing
                || wal.hasCovered(state.droppableThrough) || intervalNanoseconds != nil
        }
        if wakeWAL { lock.signal(.walWork) }
    }

    /// Copies the batch's records into the open block, queueing every block that fills, then empties the
    /// batch (WAL holder only). A failure here poisons the writer.
    private func assemble(_ batch: CommitBatch) {
        do {
            for frame in batch.frames {
                let records = UnsafeRawBufferPointer(
                    start: batch.buffer.base + frame.offset + WALFrame.headerSize,
                    count: frame.length - WALFrame.headerSize)
                try blocks.add(records: records, position: frame.firstPosition, oneSegment: true, emit: queueForSealer)
            }
        } catch {
            poison(error)
        }
        batch.clear(trimTo: batchCapacity)
    }

    /// Queues a full block for the sealer and returns a free buffer for the next one (WAL holder only).
    ///
    /// When every buffer is in use the sealer is behind: rather than sleep until ``resumeBlocks`` buffers are
    /// free, the holder compresses queued blocks the sealer has not reached (from the back of the queue), so
    /// that on a small machine both cores share the compression, which is most of the pipeline's work.
    private func queueForSealer(_ block: RawBlock) throws -> RawBuffer {
        enum Step {
            case buffer(RawBuffer)
            case compress(SealJob, RawBuffer)
            case failed
        }
        let bufferCapacity = BlockBuilder.bufferCapacity(configuration.blockBytes)
        var queued: RawBlock? = block
        var helped: SealJob?
        while true {
            let step: Step = lock.withLock {
                if let block = queued {
                    state.sealQueue.append(SealJob(block: block))
                    queued = nil
                    lock.signal(.sealerWork)
                }
                if let job = helped {
                    job.compressed = true
                    state.freeBlocks.append(job.block.buffer)
                    helped = nil
                    lock.signal(.sealerWork)  // the sealer may be waiting for this very job
                }
                while true {
                    if state.failure != nil {
                        state.builderWaiting = false
                        return .failed
                    }
                    if builderMayGoOn(waiting: state.builderWaiting) {
                        state.builderWaiting = false
                        return .buffer(state.freeBlocks.removeLast())
                    }
                    state.builderWaiting = true
                    // The newest block nobody compresses yet, but not the one the sealer takes next.
                    if let index = state.sealQueue.lastIndex(where: { !$0.claimed }), index >= 1 {
                        let job = state.sealQueue[index]
                        job.claimed = true
                        state.builderCompressions += 1
                        return .compress(job, state.freeOutputs.popLast() ?? RawBuffer(capacity: Self.outputCapacity))
                    }
                    lock.wait(.blocksFreed)
                }
            }
            switch step {
            case .buffer(let buffer):
                return buffer
            case .failed:
                throw lock.withLock { state.failure } ?? LogFilesError.closed
            case .compress(let job, let output):
                job.header = job.block.seal(compress: configuration.compression, into: output)
                job.output = output
                job.block.buffer.count = 0
                job.block.buffer.trim(to: bufferCapacity)
                helped = job
            }
        }
    }

    /// Initial capacity of a compressed-block buffer (a 64 KiB block's LZ4 bound plus its header).
    static let outputCapacity = 80 << 10

    /// Whether the builder may take a free block buffer and go on (call under the lock): one is free — after
    /// a wait, ``resumeBlocks`` are — and fewer than ``blockPoolSize`` blocks wait for the sealer, which
    /// bounds the queue (and the compressed copies the builder made) when the sealer is stuck.
    private func builderMayGoOn(waiting: Bool) -> Bool {
        state.freeBlocks.count >= (waiting ? Self.resumeBlocks : 1) && state.sealQueue.count < Self.blockPoolSize
    }

    /// Writes, syncs and acknowledges one batch, then queues it for the sealer.
    private func commit(_ batch: CommitBatch) {
        do {
            try wal.write(batch, durability: configuration.durability, clock: configuration.clock)
            switch configuration.durability {
            case .fsync:
                try wal.sync()
                lastSync = monotonicNanoseconds()
            case .interval(let ms):
                if monotonicNanoseconds() - lastSync >= Int64(ms) * 1_000_000 {
                    try wal.sync()
                    lastSync = monotonicNanoseconds()
                }
            case .none:
                break
            }
        } catch {
            poison(error)
            batch.fail(lock.withLock { state.failure } ?? LogFilesError.wrap(error))
            batch.clear(trimTo: batchCapacity)
            lock.withLock { state.free.append(batch) }
            return
        }
        for waiter in batch.waiters { waiter.continuation.resume(returning: waiter.result) }
        batch.waiters.removeAll(keepingCapacity: true)
        assemble(batch)
        let wantSync = configuration.durability == .none ? 0 : wal.older.last?.lastPosition ?? 0
        let dropAt = wal.older.first?.lastPosition ?? .max
        lock.withLock {
            state.free.append(batch)
            if wantSync > state.wantLogSyncThrough { state.wantLogSyncThrough = wantSync }
            state.nextDropAt = dropAt
        }
    }

    /// Queues the open block, waits until the sealer is idle with nothing queued, then syncs the log and rolls
    /// the WAL so every older WAL file can go (or, when closing, removes the WAL and closes the log). With
    /// `scrub`, no written WAL space is kept for reuse (``WALOutput/scrub()``): the WAL then holds nothing
    /// written before the checkpoint.
    private func checkpoint(closing: Bool, scrub: Bool) throws {
        if lock.withLock({ state.failure }) == nil {
            do {
                try blocks.sealNow(queueForSealer)
            } catch {
                poison(error)
            }
        }
        lock.withLock {
            while (!state.sealQueue.isEmpty || state.sealerBusy || state.syncRequest != nil || state.syncerBusy)
                && state.failure == nil
            {
                lock.wait(.sealerProgress)
            }
            state.sealerPaused = true
        }
        defer {
            lock.withLock {
                state.sealerPaused = false
                if closing {
                    state.sealerExit = true
                    state.syncerExit = true
                }
            }
            lock.signal(.sealerWork)
            lock.signal(.syncerWork)
        }
        if let failure = lock.withLock({ state.failure }) { throw failure }
        try log.sync()
        if closing {
            try log.close()
            try wal.removeAll()
        } else {
            if scrub { try wal.scrub() }
            if wal.lastPosition > 0 {
                try wal.roll(
                    firstPosition: blocks.endPosition, durability: configuration.durability, clock: configuration.clock)
            }
            try wal.deleteCovered(blocks.endPosition &- 1, recycling: !scrub)
        }
    }

    /// Tells the sealer which position lets the oldest WAL file go (WAL thread only).
    private func publishNextDrop() {
        let dropAt = wal.older.first?.lastPosition ?? .max
        lock.withLock { state.nextDropAt = dropAt }
    }

    private func drainAfterFailure() {
        while true {
            var done = false
            lock.withLock {
                while state.pending.isEmpty && state.checkpointWaiters.isEmpty && !state.closing { lock.wait(.walWork) }
                let failure = state.failure ?? .closed
                state.pending.fail(failure)
                state.pending.clear(trimTo: batchCapacity)
                for waiter in state.checkpointWaiters { waiter.resume(throwing: failure) }
                state.checkpointWaiters.removeAll()
                done = state.closing
                if done {
                    state.sealerExit = true
                    state.syncerExit = true
                }
            }
            if done {
                lock.signal(.sealerWork)
                lock.signal(.syncerWork)
                return finish()
            }
        }
    }

    private func finish() {
        readIndex.closeFiles()
        lock.withLock {
            state.finished = true
            for waiter in state.closeWaiters { waiter.resume() }
            state.closeWaiters.removeAll()
        }
    }

    // MARK: - Sealer thread

    private func runSealer() {
        let bufferCapacity = BlockBuilder.bufferCapacity(configuration.blockBytes)
        while true {
            var job: SealJob?
            var wantSync: UInt64 = 0
            var skip = false
            lock.withLock {
                while true {
                    while (state.sealQueue.isEmpty || state.sealerPaused) && !state.sealerExit {
                        lock.wait(.sealerWork)
                    }
                    if state.sealerExit && state.sealQueue.isEmpty { return }
                    let front = state.sealQueue[0]
                    // The builder is compressing the next block: wait for it rather than write out of order.
                    if front.claimed && !front.compressed {
                        lock.wait(.sealerWork)
                        continue
                    }
                    front.claimed = true
                    job = state.sealQueue.removeFirst()
                    break
                }
                state.sealerBusy = true
                wantSync = state.wantLogSyncThrough
                skip = state.failure != nil
            }
            guard let job else { return }  // told to exit
            let block = job.block
            var request: (file: any StorageFile, through: UInt64)?
            var written = false
            if !skip {
                do {
                    if job.compressed, let header = job.header, let output = job.output {
                        try write(block, header: header, sealed: output)
                    } else {
                        try write(
                            block, header: block.seal(compress: configuration.compression, into: sealed), sealed: sealed
                        )
                    }
                    written = true
                    if wantSync > 0, let target = log.syncTarget, target.through >= wantSync { request = target }
                } catch {
                    poison(error)
                }
            }
            if !job.compressed {
                block.buffer.count = 0
                block.buffer.trim(to: bufferCapacity)
            }
            var wakeSyncer = false
            var wakeWAL = false
            var wakeBuilder = false
            let sealedThrough = block.lastPosition
            let unsynced = configuration.durability == .none
            lock.withLock {
                if job.compressed {
                    if let output = job.output { state.freeOutputs.append(output) }
                } else {
                    state.freeBlocks.append(block.buffer)
                }
                state.sealerBusy = false
                wakeBuilder = state.builderWaiting && builderMayGoOn(waiting: true)
                if unsynced && written && sealedThrough > state.droppableThrough {
                    state.droppableThrough = sealedThrough
                    wakeWAL = sealedThrough >= state.nextDropAt
                }
                // Only while a WAL file waits for the log to be durable, not after every block.
                if let request, state.syncRequest == nil, !state.syncerBusy,
                    state.wantLogSyncThrough > state.logSyncedThrough, request.through > state.logSyncedThrough
                {
                    state.syncRequest = request
                    wakeSyncer = true
                }
            }
            lock.broadcast(.sealerProgress)
            if wakeBuilder { lock.signal(.blocksFreed) }
            if wakeSyncer { lock.signal(.syncerWork) }
            if wakeWAL { lock.signal(.walWork) }
        }
    }

    /// Writes one sealed block (header + stored bytes in `sealed`) and its sidecar record, then lets readers
    /// see it (sealer only).
    private func write(_ block: RawBlock, header: BlockHeader, sealed: RawBuffer) throws {
        let summary = try log.append(block: sealed, header: header, runs: block.runs, clock: configuration.clock)
        readIndex.publish(summary)
    }

    // MARK: - Syncer thread

    /// Syncs the log off the commit path, so that dropping a WAL file never stalls acknowledgements or
    /// sealing; then tells the WAL thread how far the log is durable.
    private func runSyncer() {
        while true {
            var request: (file: any StorageFile, through: UInt64)?
            lock.withLock {
                while state.syncRequest == nil && !state.syncerExit { lock.wait(.syncerWork) }
                request = state.syncRequest
                state.syncRequest = nil
                if request != nil { state.syncerBusy = true }
            }
            guard let request else { return }  // told to exit
            var ok = true
            do {
                try LogMetrics.timed(log.metrics.logSync) { try request.file.sync() }
            } catch {
                ok = false
                poison(error)
            }
            lock.withLock {
                state.syncerBusy = false
                if ok && request.through > state.logSyncedThrough {
                    state.logSyncedThrough = request.through
                    state.droppableThrough = max(state.droppableThrough, request.through)
                }
            }
            lock.broadcast(.sealerProgress)
            lock.signal(.walWork)
        }
    }

    // MARK: - Failure

    private func poison(_ error: any Error) {
        let error = LogFilesError.wrap(error)
        configuration.logger.error("log writer stopped after an I/O failure: \(error)")
        lock.withLock {
            if state.failure == nil { state.failure = .writerFailed(error) }
        }
        lock.signal(.walWork)
        lock.broadcast(.sealerProgress)
        lock.broadcast(.blocksFreed)
    }
}

extension LogFilesError {
    /// Any error thrown inside LogFiles is a `LogFilesError`; this keeps the type without a forced cast.
    static func wrap(_ error: any Error) -> LogFilesError {
        if let error = error as? LogFilesError { return error }
        return LogFilesError(code: .io, message: "\(error)")
    }

    static func writerFailed(_ cause: LogFilesError) -> LogFilesError {
        if cause.code == .writerFailed { return cause }
        var error = cause
        error.code = .writerFailed
        error.message = "the writer stopped after an I/O failure; reopen the store (\(cause.message))"
        return error
    }
}
