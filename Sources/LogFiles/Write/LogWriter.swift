import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The single writer of a store's files: appends transactions through the WAL with group commit, seals them
/// into LZ4-compressed log blocks, and serves sealed blocks to readers in the same process.
///
/// Open with ``open(directory:configuration:)``, which recovers the store first. Appends may come from any
/// number of concurrent tasks: each is encoded under a short lock into the pending batch, and a dedicated
/// commit thread writes the whole batch with one `write` and (per ``Durability``) one `fdatasync`.
///
/// After an I/O failure the writer stops (every later call throws `.writerFailed`); reopening the store
/// recovers every acknowledged transaction and nothing half-written.
public final class LogWriter: Sendable {
    /// The store's file layout.
    public let layout: StoreLayout
    /// The settings the writer runs with.
    public let configuration: LogConfiguration

    private let lock: ConditionLock
    private nonisolated(unsafe) let state: CommitState  // guarded by `lock`
    let readIndex: SealedBlocks
    /// The store's manifest as last written (or read at open); held while a drop writes it.
    let manifest: Mutex<StoreManifest>
    private let storeLock: StoreLock
    /// Held by the one compaction running (``compactDeletions(pace:)``); others find it taken and return.
    let compacting = Atomic<Bool>(false)
    private let worker: CommitWorker
    /// Whether appends may write the WAL themselves when it is idle (not with `.fsync`: a sync would block a
    /// cooperative thread for a quarter of a millisecond, and the WAL thread groups syncs better).
    private let inlineCommits: Bool

    /// A freshly opened writer and what recovery found.
    public struct Opened: Sendable {
        /// The writer.
        public var writer: LogWriter
        /// The blocks, the unsealed tail and the repair report.
        public var recovery: RecoveryResult
    }

    private init(
        layout: StoreLayout, configuration: LogConfiguration, lock: ConditionLock, state: CommitState,
        readIndex: SealedBlocks, storeLock: StoreLock, worker: CommitWorker, manifest: StoreManifest
    ) {
        self.manifest = Mutex(manifest)
        self.worker = worker
        self.inlineCommits = configuration.durability != .fsync
        self.layout = layout
        self.configuration = configuration
        self.lock = lock
        self.state = state
        self.readIndex = readIndex
        self.storeLock = storeLock
    }

    /// Opens (creating it if needed) the store directory for writing, after recovering it.
    ///
    /// - Parameters:
    ///   - directory: The store directory; created with `log/` and `wal/` when missing.
    ///   - configuration: Writer settings.
    /// - Returns: The writer and what recovery found.
    /// - Throws: `LogFilesError` — `.storeLocked` when another writer holds the store, `.corrupt` for damage
    ///   that is not a torn tail (unless the policy is `.truncate`), `.io` for system-call failures.
    public static func open(directory: String, configuration: LogConfiguration = .init()) throws -> Opened {
        let layout = StoreLayout(root: directory)
        let fs = configuration.fileSystem
        try fs.createDirectory(layout.root)
        try fs.createDirectory(layout.logDirectory)
        try fs.createDirectory(layout.walDirectory)
        let storeLock = try StoreLock(path: layout.lockPath)
        try LogCompaction.removeLeftovers(fileSystem: fs, layout: layout)
        let outcome = try Recovery(fileSystem: fs, layout: layout, configuration: configuration).run()

        let syncNames = configuration.durability != .none
        let metrics = LogMetrics(factory: configuration.metricsFactory)
        let log = LogOutput(
            fileSystem: fs, layout: layout, fileBytes: configuration.logFileBytes,
            writebackBytes: configuration.writebackBytes, syncNames: syncNames, metrics: metrics)
        if let last = outcome.lastLogFile {
            try log.resume(fileFirstPosition: last.firstPosition, size: last.size, indexSize: last.indexSize)
        }
        let readIndex = SealedBlocks(fileSystem: fs, layout: layout, blocks: outcome.blocks)
        let blocks = BlockBuilder(blockBytes: configuration.blockBytes, startPosition: outcome.tailFirstPosition)
        // The replayed tail's full blocks are sealed here, before the pipeline starts.
        let sealed = RawBuffer(capacity: CommitWorker.outputCapacity)
        try blocks.add(records: outcome.tailRecords.bytes, position: outcome.tailFirstPosition) { block in
            let header = block.seal(compress: configuration.compression, into: sealed)
            readIndex.publish(
                try log.append(block: sealed, header: header, runs: block.runs, clock: configuration.clock))
            return block.buffer
        }
        let wal = try WALOutput(
            fileSystem: fs, layout: layout, fileBytes: configuration.walFileBytes, syncNames: syncNames,
            nextFileID: outcome.nextWALFileID,
            nextPosition: outcome.nextPosition, older: outcome.olderWAL, metrics: metrics)

        // The unsealed tail as entries, for the caller's in-memory index.
        var tail: [Entry] = []
        tail.reserveCapacity(outcome.tailCount)
        var materializer = EntryMaterializer()
        BlockCodec.forEachRecord(outcome.tailRecords.bytes, firstPosition: outcome.tailFirstPosition) {
            view, position in
            if position >= blocks.firstPosition { tail.append(materializer.entry(view, position: position)) }
        }
        let sealedDuringOpen = readIndex.takeFresh()

        let batchCapacity = 1 << 20
        let lock = ConditionLock()
        let state = CommitState(
            pending: CommitBatch(capacity: batchCapacity), nextPosition: outcome.nextPosition,
            lastTimestamp: outcome.lastTimestamp)
        let worker = CommitWorker(
            lock: lock, state: state, configuration: configuration, wal: wal, log: log, blocks: blocks,
            readIndex: readIndex, batchCapacity: batchCapacity)
        worker.start()
        let writer = LogWriter(
            layout: layout, configuration: configuration, lock: lock, state: state, readIndex: readIndex,
            storeLock: storeLock, worker: worker, manifest: outcome.manifest)
        var report = outcome.report
        report.blocks += sealedDuringOpen.count
        configuration.logger.info(
            "store opened",
            metadata: [
                "store": "\(layout.root)", "blocks": "\(report.blocks)",
                "replayed_entries": "\(report.replayedEntries)",
                "recovery_ms": "\(report.durationNanoseconds / 1_000_000)",
            ])
        let recovery = RecoveryResult(
            blocks: outcome.blocks + sealedDuringOpen, tail: tail, nextPosition: outcome.nextPosition,
            lastTimestamp: outcome.lastTimestamp, report: report, manifest: outcome.manifest)
        return Opened(writer: writer, recovery: recovery)
    }

    // MARK: - Appending

    /// Appends one transaction and returns once it is committed per the durability setting.
    ///
    /// The transaction gets the next positions and consecutive timestamps `max(clock, last + 1) + i`.
    /// - Parameter transaction: Records of one segment; at least one.
    /// - Returns: The positions and timestamps assigned.
    /// - Throws: `LogFilesError` — `.invalidArgument` (no records, a name or field too long),
    ///   `.transactionTooLarge`, `.closed`, `.writerFailed` after an I/O failure (the transaction is then
    ///   not committed).
    @discardableResult
    public nonisolated(nonsending) func append(_ transaction: TransactionInput) async throws -> CommittedTransaction {
        let records = transaction.records
        guard !records.isEmpty else { throw LogFilesError.invalidArgument("a transaction needs at least one record") }
        var space = transaction.space
        var segment = transaction.segment
        let nameBytes = space.utf8.count + segment.utf8.count
        guard space.utf8.count <= RecordCodec.maxNameBytes, segment.utf8.count <= RecordCodec.maxNameBytes else {
            throw LogFilesError.invalidArgument(
                "space or segment name over \(RecordCodec.maxNameBytes) bytes", limit: RecordCodec.maxNameBytes)
        }
        var sizes = [Int]()
        sizes.reserveCapacity(records.count)
        var total = WALFrame.headerSize
        for record in records {
            let size = try RecordCodec.encodedSize(nameBytes: nameBytes, record: record)
            sizes.append(size)
            total += size
        }
        guard total - WALFrame.prefixSize <= configuration.maxTransactionBytes,
            total - WALFrame.prefixSize <= Int(UInt32.max)
        else {
            throw LogFilesError(
                code: .transactionTooLarge,
                message:
                    "transaction encodes to \(total) bytes, over the limit of \(configuration.maxTransactionBytes)",
                limit: configuration.maxTransactionBytes)
        }
        let frame = FrameDraft(
            records: records, sizes: sizes, total: total, transactionID: transaction.transactionID.uuid,
            transactionNumber: transaction.transactionNumber)

        // Fast path without sync waits: when the WAL is idle, this task writes its own frame (one `pwrite`, a
        // few microseconds) and copies its records into the open block, instead of handing them to the WAL
        // thread and waiting for a wake-up. When the sealer is behind, it waits for block buffers here (and
        // compresses queued blocks meanwhile): that is the backpressure on producers.
        if inlineCommits {
            let leader: (CommitBatch, CommittedTransaction)? = space.withUTF8 { spaceBytes in
                segment.withUTF8 { segmentBytes in
                    lock.withLock { () -> (CommitBatch, CommittedTransaction)? in
                        guard state.failure == nil, !state.closing, !state.walBusy, state.pending.isEmpty,
                            let batch = state.free.popLast()
                        else { return nil }
                        state.walBusy = true
                        let result = encode(frame, space: spaceBytes, segment: segmentBytes, into: batch)
                        return (batch, result)
                    }
                }
            }
            if let (batch, result) = leader {
                try worker.commitInline(batch)
                return result
            }
        }

        return try await withUnsafeThrowingContinuation { continuation in
            space.withUTF8 { spaceBytes in
                segment.withUTF8 { segmentBytes in
                    lock.withLock {
                        if let failure = state.failure { return continuation.resume(throwing: failure) }
                        if state.closing { return continuation.resume(throwing: LogFilesError.closed) }
                        let batch = state.pending
                        let result = encode(frame, space: spaceBytes, segment: segmentBytes, into: batch)
                        batch.waiters.append(.init(continuation: continuation, result: result))
                        if batch.frames.count == 1 { lock.signal(.walWork) }
                    }
                }
            }
        }
    }

    /// A transaction measured and checked, ready to encode.
    private struct FrameDraft {
        var records: [Record]
        var sizes: [Int]
        var total: Int
        var transactionID: uuid_t
        var transactionNumber: UInt64
    }

    /// Assigns positions and timestamps and encodes the frame into `batch`. Call only under `lock`.
    private func encode(
        _ frame: FrameDraft, space: UnsafeBufferPointer<UInt8>, segment: UnsafeBufferPointer<UInt8>,
        into batch: CommitBatch
    ) -> CommittedTransaction {
        let records = frame.records
        let first = state.nextPosition
        let timestamp = max(configuration.clock(), state.lastTimestamp + 1)
        let buffer = batch.buffer
        let offset = buffer.count
        buffer.reserve(frame.total)
        let p = buffer.base + offset
        p.storeLE(UInt32(frame.total - WALFrame.prefixSize), at: 0)
        p.storeLE(UInt32(0), at: 4)
        p.storeLE(UInt64(0), at: 8)
        p.storeLE(first, at: 16)
        p.storeLE(UInt32(records.count), at: 24)
        p.storeLE(UInt32(0), at: 28)
        var o = offset + WALFrame.headerSize
        let last = records.count - 1
        for i in 0...last {
            RecordCodec.encode(
                records[i], size: frame.sizes[i], at: buffer.base + o, space: UnsafeRawBufferPointer(space),
                segment: UnsafeRawBufferPointer(segment), timestamp: timestamp + Int64(i),
                transactionNumber: frame.transactionNumber, transactionID: frame.transactionID,
                endsTransaction: i == last)
            o += frame.sizes[i]
        }
        buffer.count = o
        state.nextPosition += UInt64(records.count)
        state.lastTimestamp = timestamp + Int64(last)
        batch.frames.append(.init(offset: offset, length: frame.total, firstPosition: first, count: records.count))
        return CommittedTransaction(firstPosition: first, count: records.count, firstTimestamp: timestamp)
    }

    /// Seals the open block, syncs the log and removes every WAL file it covers.
    ///
    /// - Parameter scrub: Also keep no written WAL space for reuse (the spare file, the part of a reused file
    ///   not written again): afterwards no file under the WAL directory holds a byte written before the call.
    ///   Compaction asks for it before it drops a deletion, so that the erased entries' WAL frames are gone too.
    /// - Throws: `LogFilesError` on I/O failure or when closed.
    public func checkpoint(scrub: Bool = false) async throws {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            lock.withLock {
                if let failure = state.failure { return continuation.resume(throwing: failure) }
                if state.closing { return continuation.resume(throwing: LogFilesError.closed) }
                state.checkpointWaiters.append(continuation)
                if scrub { state.scrubRequested = true }
                lock.signal(.walWork)
            }
        }
    }

    /// Commits what is pending, seals the open block, syncs, removes the WAL and releases the store lock.
    /// Later appends throw `.closed`. Calling it again does nothing.
    public func close() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            lock.withLock {
                if state.finished { return continuation.resume() }
                state.closing = true
                state.closeWaiters.append(continuation)
                lock.signal(.walWork)
            }
        }
        storeLock.release()
    }

    // MARK: - Reading

    /// The position the next appended entry gets.
    public var nextPosition: UInt64 { lock.withLock { state.nextPosition } }

    /// The sealed blocks, for reading while the writer appends (reads never go through the writer's lock).
    public var sealedBlocks: SealedBlocks { readIndex }

    /// Blocks the appending side compressed for the sealer while waiting for it (see `CommitWorker`).
    var builderCompressions: Int { lock.withLock { state.builderCompressions } }
}
