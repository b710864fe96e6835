#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The commit thread: takes batches of frames from producers, writes them to the WAL (one write and, per the
/// durability setting, one `fdatasync` per batch: group commit), acknowledges them, then moves their records
/// into log blocks and deletes WAL files the synced log covers.
final class CommitWorker: @unchecked Sendable {
    // Everything below is touched only by the commit thread, except `lock`/`state` (guarded by `lock`).
    let lock: ConditionLock
    let state: CommitState
    let configuration: LogConfiguration
    let wal: WALOutput
    let log: LogOutput
    let blocks: BlockBuilder
    let readIndex: ReadIndex
    private var spare: CommitBatch
    private var lastSync = monotonicNanoseconds()
    private let batchCapacity: Int

    init(
        lock: ConditionLock, state: CommitState, configuration: LogConfiguration, wal: WALOutput, log: LogOutput,
        blocks: BlockBuilder, readIndex: ReadIndex, batchCapacity: Int
    ) {
        self.lock = lock
        self.state = state
        self.configuration = configuration
        self.wal = wal
        self.log = log
        self.blocks = blocks
        self.readIndex = readIndex
        self.batchCapacity = batchCapacity
        self.spare = CommitBatch(capacity: batchCapacity)
    }

    func start() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let worker = Unmanaged<CommitWorker>.fromOpaque(raw!).takeRetainedValue()
            worker.run()
            return nil
        }, box.toOpaque())
        if rc != 0 {
            box.release()
            // Without a thread nothing can commit: fail every caller instead of hanging.
            lock.withLock {
                state.failure = .io("pthread_create", path: nil, errno: rc)
                state.finished = true
            }
        } else {
            pthread_detach(thread)
        }
    }

    private var intervalNanoseconds: Int64? {
        if case .interval(let ms) = configuration.durability { return Int64(max(ms, 1)) * 1_000_000 }
        return nil
    }

    private func run() {
        while true {
            var batch: CommitBatch?
            var checkpoints: [UnsafeContinuation<Void, any Error>] = []
            var closing = false
            lock.withLock {
                while state.pending.isEmpty && state.checkpointWaiters.isEmpty && !state.closing {
                    if let interval = intervalNanoseconds, wal.dirty {
                        let wait = interval - (monotonicNanoseconds() - lastSync)
                        if wait <= 0 { break }
                        lock.wait(nanoseconds: wait)
                    } else {
                        lock.wait()
                    }
                }
                if !state.pending.isEmpty {
                    batch = state.pending
                    state.pending = spare
                }
                checkpoints = state.checkpointWaiters
                state.checkpointWaiters.removeAll()
                closing = state.closing
            }
            if let batch {
                process(batch)
                batch.clear(trimTo: batchCapacity)
                spare = batch
            } else if intervalNanoseconds != nil {
                syncForInterval()
            }
            if !checkpoints.isEmpty || closing {
                let result: Result<Void, LogFilesError>
                do {
                    try checkpoint(closing: closing && batch == nil)
                    result = .success(())
                } catch {
                    let failure = LogFilesError.wrap(error)
                    poison(failure)
                    result = .failure(failure)
                }
                for waiter in checkpoints { waiter.resume(with: result.mapError { $0 as any Error }) }
            }
            if closing && batch == nil {
                finish()
                return
            }
            if lock.withLock({ state.failure != nil }) {
                // Stop committing; keep answering until close.
                drainAfterFailure()
                return
            }
        }
    }

    private func process(_ batch: CommitBatch) {
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
            let failure = LogFilesError.wrap(error)
            poison(failure)
            batch.fail(LogFilesError.writerFailed(failure))
            return
        }
        for waiter in batch.waiters { waiter.continuation.resume(returning: waiter.result) }
        batch.waiters.removeAll(keepingCapacity: true)

        do {
            for frame in batch.frames {
                let records = UnsafeRawBufferPointer(
                    start: batch.buffer.base + frame.offset + WALFrame.headerSize,
                    count: frame.length - WALFrame.headerSize)
                try blocks.add(records: records, position: frame.firstPosition, seal: seal)
            }
            try deleteCoveredWAL()
        } catch {
            poison(LogFilesError.wrap(error))
        }
    }

    private func seal(_ block: RawBuffer, _ header: BlockHeader, _ runs: [SegmentRun]) throws {
        let summary = try log.append(block: block, header: header, runs: runs, clock: configuration.clock)
        readIndex.publish(summary)
    }

    private func deleteCoveredWAL() throws {
        let sealedThrough = blocks.firstPosition &- 1
        guard wal.hasCovered(sealedThrough) else { return }
        try log.sync()
        try wal.deleteCovered(sealedThrough)
    }

    private func syncForInterval() {
        do {
            try wal.sync()
            lastSync = monotonicNanoseconds()
        } catch {
            poison(LogFilesError.wrap(error))
        }
    }

    /// Seals the open block, syncs the log, and rolls the WAL so that every older WAL file can go.
    private func checkpoint(closing: Bool) throws {
        try blocks.sealNow(seal)
        try log.sync()
        if closing {
            try log.close()
            try wal.removeAll()
        } else {
            if wal.lastPosition > 0 {
                try wal.roll(firstPosition: blocks.endPosition, durability: configuration.durability, clock: configuration.clock)
            }
            try wal.deleteCovered(blocks.endPosition &- 1)
        }
    }

    private func poison(_ error: LogFilesError) {
        configuration.logger.error("log writer stopped after an I/O failure: \(error)")
        lock.withLock {
            if state.failure == nil { state.failure = .writerFailed(error) }
        }
    }

    private func drainAfterFailure() {
        while true {
            var done = false
            lock.withLock {
                while state.pending.isEmpty && state.checkpointWaiters.isEmpty && !state.closing { lock.wait() }
                let failure = state.failure ?? .closed
                state.pending.fail(failure)
                state.pending.clear(trimTo: batchCapacity)
                for waiter in state.checkpointWaiters { waiter.resume(throwing: failure) }
                state.checkpointWaiters.removeAll()
                done = state.closing
            }
            if done {
                try? log.close()
                finish()
                return
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
