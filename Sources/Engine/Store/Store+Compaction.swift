import Logging
import Metrics
public import StreamKitLogFiles

extension Store {
    /// Erases the entries that deletions cover from the store's files (``deleteSegment(space:segment:)``,
    /// ``truncateSegment(space:segment:before:)``): each log file holding one is rewritten with the entry's
    /// record erased (its position kept; docs/format.md), so its bytes are gone from the disk, and a deletion
    /// no file holds any more is dropped from the manifest (a segment with no entry left keeps its last sequence
    /// there). Reads go on meanwhile and see the same entries before and after. The log file being appended to
    /// is left for a later pass, once the log rolls past it.
    ///
    /// Runs on a thread of its own (blocking I/O), at most `bytesPerSecond` read and written (nil: no bound);
    /// cancelling the calling task stops it between two blocks (a file half rewritten stays as it was).
    /// ``close()`` waits for it. With ``RetentionConfiguration`` it runs in the background every interval.
    ///
    /// - Returns: What was done; nil when there was nothing to erase or finish (or the storage keeps nothing on
    ///   disk).
    /// - Throws: `StreamKitError` — `.storeClosing`, `.storage` or `.corrupt` when a file cannot be rewritten (it
    ///   stays as it was; deleted entries stay hidden), `CancellationError`.
    @discardableResult
    public func compact(bytesPerSecond: Int64? = nil) async throws -> LogCompaction.Outcome? {
        try await compact(bytesPerSecond: bytesPerSecond, finishing: true)
    }

    /// How often background compaction finishes deletions at most: finishing scrubs the WAL (a checkpoint that
    /// gives up the WAL space kept for reuse), which a pass every few hundred milliseconds should not pay each
    /// time. The entries are erased from the log files at every pass all the same.
    static let finishingInterval: Duration = .seconds(1)

    /// ``compact(bytesPerSecond:)``; with `finishing` false the deletions that no log file holds any more stay
    /// recorded until a later pass.
    @discardableResult
    func compact(bytesPerSecond: Int64?, finishing: Bool) async throws -> LogCompaction.Outcome? {
        guard !closing else { throw storeClosing }
        inFlight += 1
        defer { finishedCall() }
        let started = ContinuousClock.now
        let pass: LogWriter.CompactionPass
        do {
            pass = try await Self.compactStorage(reads.storage, bytesPerSecond: bytesPerSecond)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw StreamKitError.storage(error, storeID: id)
        }
        // Rewritten blocks are read again (cached copies held the erased bytes) and never handed out whole.
        if !pass.rewritten.isEmpty {
            reads.cache.evict(pass.rewritten.map(\.indexes))
            for file in pass.rewritten {
                reads.directory.replace(from: file.indexes.lowerBound, with: file.runs)
            }
        }
        let finished = finishing ? pass.outcome.finishedDeletions : []
        if !finished.isEmpty {
            lastFinishedDeletions = .now
            var retired: [StoreManifest.RetiredSegment] = []
            for deletion in finished {
                let key = SegmentKey(space: deletion.space, segment: deletion.segment)
                guard let slot = segments[key], let head = await slot.actor.headIfEmpty else { continue }
                retired.append(
                    StoreManifest.RetiredSegment(
                        space: key.space, segment: key.segment, lastSequence: head.lastSequence,
                        lastTransactionNumber: head.lastTransactionNumber, lastTimestamp: head.lastTimestamp))
            }
            do {
                // Blocking I/O too (a checkpoint, the manifest written and synced).
                let storage = reads.storage
                try await withTaskExecutorPreference(Self.compactionExecutor) {
                    try await storage.finishDeletions(finished, retired: retired)
                }
            } catch {
                throw StreamKitError.storage(error, storeID: id)
            }
            // Over a shared log other nodes may have rewritten rows this node holds decoded: it keeps hiding what the
            // deletions covered until it reopens.
            if reads.storage.follower == nil { reads.deleted.forget(finished, tailStart: reads.tail.startPosition) }
        } else {
            reads.deleted.prune(before: reads.tail.startPosition)
        }
        var outcome = pass.outcome
        outcome.finishedDeletions = finished
        guard outcome.rewrittenFiles > 0 || !finished.isEmpty else { return nil }
        let metrics = configuration.metricsFactory ?? MetricsSystem.factory
        Counter(label: "streamkit_storage_compaction_erased_entries_total", factory: metrics).increment(
            by: outcome.erasedEntries)
        Counter(label: "streamkit_storage_compaction_rewritten_files_total", factory: metrics)
            .increment(by: outcome.rewrittenFiles)
        Counter(label: "streamkit_storage_compaction_reclaimed_bytes_total", factory: metrics)
            .increment(by: Int(max(0, outcome.reclaimedBytes)))
        Metrics.Timer(label: "streamkit_storage_compaction_duration_seconds", factory: metrics)
            .recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        configuration.logger.info(
            "compaction erased deleted entries", metadata: outcome.logMetadata.merging(["store": "\(id)"]) { $1 })
        return outcome
    }

    /// Runs the storage's compaction on a thread that may block, paced.
    private nonisolated static func compactStorage(
        _ storage: any StoreStorage, bytesPerSecond: Int64?
    ) async throws
        -> LogWriter.CompactionPass
    {
        try await withTaskExecutorPreference(compactionExecutor) { () async throws -> LogWriter.CompactionPass in
            var pacer = CompactionPacer(bytesPerSecond: bytesPerSecond)
            return try await storage.compactDeletions { try pacer.pace($0) }
        }
    }

    /// Where compactions run: blocking file I/O, off the cooperative pool.
    private static let compactionExecutor = BlockingIOExecutor(label: "streamkit.compaction")
}
