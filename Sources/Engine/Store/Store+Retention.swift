import Logging
import Metrics
public import StreamKitLogFiles

extension Store {
    /// The background retention loop: applies the policy (when it has a bound) and compacts every interval until
    /// cancelled or the store is gone.
    static func retain(_ started: AsyncStream<WeakStore>, configuration: RetentionConfiguration) async {
        var handedOver: WeakStore?
        for await reference in started {
            handedOver = reference
            break
        }
        guard let handedOver else { return }
        while (try? await Task.sleep(for: configuration.interval)) != nil {
            guard let store = handedOver.store else { return }
            do {
                try await store.retentionPass(configuration)
            } catch let error as StreamKitError where error.code == .storeClosing {
                return
            } catch is CancellationError {
                return
            } catch {
                store.configuration.logger.error(
                    "retention or compaction failed; retrying at the next interval",
                    metadata: ["store": "\(store.id)", "error": "\(error)"])
            }
        }
    }
    /// One pass of the background loop: the store's own policy (or else the configured one) when it has a bound,
    /// then compaction when configured and the storage keeps files.
    func retentionPass(_ configuration: RetentionConfiguration) async throws {
        let policy = try await retentionPolicy() ?? configuration.policy
        if policy.hasBounds { try await applyRetention(policy) }
        if configuration.compacts && reads.storage.compactsDeletions {
            let finishing = lastFinishedDeletions.map { ContinuousClock.now - $0 >= Self.finishingInterval } ?? true
            try await compact(bytesPerSecond: configuration.compactionBytesPerSecond, finishing: finishing)
        }
    }

    /// The store's own retention policy, kept with its log (in the manifest of a file store, in
    /// `streamkit_stores` over PostgreSQL); nil when it has none and the configured default
    /// (``RetentionConfiguration/policy``) applies.
    ///
    /// - Throws: `StreamKitError` — `.storeClosing`, `.storage` when it cannot be read.
    public func retentionPolicy() async throws -> LogRetention.Policy? {
        guard !closing else { throw storeClosing }
        do {
            return try await reads.storage.retentionPolicy()
        } catch {
            throw StreamKitError.storage(error, storeID: id)
        }
    }

    /// The deletions recorded with the store's log whose entries compaction has not erased yet (the
    /// tombstones): each segment's bound and the last position it covers. Empty for a storage that records none.
    ///
    /// - Throws: `StreamKitError` — `.storeClosing`, `.storage` when they cannot be read.
    public func pendingDeletions() async throws -> [StoreManifest.Deletion] {
        guard !closing else { throw storeClosing }
        do {
            return try await reads.storage.deletions()
        } catch {
            throw StreamKitError.storage(error, storeID: id)
        }
    }

    /// Gives the store a retention policy of its own, which replaces the configured default whole (a bound it
    /// leaves nil is not bounded, whatever the default says); nil goes back to the default. Recorded durably with
    /// the log before returning, so it holds after a restart, in backups, and on every node over PostgreSQL.
    ///
    /// The background loop applies it from its next pass on (every ``RetentionConfiguration/interval``); call
    /// ``applyRetention(_:)`` to apply it at once.
    ///
    /// - Throws: `StreamKitError` — `.invalidArgument` for a negative or zero bound, `.unsupported` for a storage
    ///   that cannot keep one, `.storeClosing`, `.storage` when it cannot be written (then nothing changed).
    public func setRetentionPolicy(_ policy: LogRetention.Policy?) async throws {
        guard !closing else { throw storeClosing }
        if let problem = policy?.invalidBound {
            throw StreamKitError(code: .invalidArgument, message: problem, storeID: id)
        }
        do {
            try await reads.storage.recordRetentionPolicy(policy)
        } catch let error as StreamKitError {
            throw error
        } catch {
            throw StreamKitError.storage(error, storeID: id)
        }
        configuration.logger.info(
            "retention policy set", metadata: ["store": "\(id)", "policy": "\(policy?.description ?? "the default")"])
    }

    /// Drops the oldest entries that `policy` lets go, while the store runs: a file store drops whole log files,
    /// oldest first, never the newest, past the age and size bounds (other storages keep them); with
    /// `maxEntriesPerSegment`, every segment with more entries is truncated to its newest ones (a deletion, as
    /// ``truncateSegment(space:segment:before:)``, whose bytes compaction then erases).
    ///
    /// After it returns, reads that start find only what is left: a segment read from before a segment's first
    /// entry left starts at it, a space read from an offset into the dropped range resumes at the first entry
    /// left, `status` reports the first sequence left, and a segment with no entry left is no longer listed
    /// (producing to it continues after its last sequence, also after a restart). Reads already running may
    /// still deliver entries of the blocks they were reading. Positions and sequences are never reused.
    ///
    /// - Parameter policy: What may go (age against the store's clock, size of the log files, entries per
    ///   segment).
    /// - Returns: What was dropped; nil when nothing was.
    /// - Throws: `StreamKitError` — `.storeClosing`, `.storage` when the storage fails to write its manifest (then
    ///   nothing was dropped), `.unsupported` for `maxEntriesPerSegment` on a storage that cannot delete.
    @discardableResult
    public func applyRetention(_ policy: LogRetention.Policy) async throws -> LogRetention.Outcome? {
        guard !closing else { throw StreamKitError.storeClosing }
        var outcome = try await dropFiles(policy) ?? LogRetention.Outcome()
        if let limit = policy.maxEntriesPerSegment {
            outcome.expiredEntries = try await truncateSegments(keeping: limit)
            if outcome.expiredEntries > 0 {
                let metrics = configuration.metricsFactory ?? MetricsSystem.factory
                Counter(label: "streamkit_storage_retention_expired_entries_total", factory: metrics)
                    .increment(by: outcome.expiredEntries)
            }
        }
        return outcome.droppedFiles > 0 || outcome.expiredEntries > 0 ? outcome : nil
    }

    /// Truncates every segment with more than `limit` entries to its newest `limit`, in one manifest write;
    /// returns how many entries were deleted.
    private func truncateSegments(keeping limit: Int) async throws -> Int {
        var planned: [PlannedDeletion] = []
        for (key, slot) in segments {
            guard let visible = slot.visible, visible.lastSequence - visible.firstSequence + 1 > UInt64(max(limit, 0))
            else {
                continue
            }
            let before = visible.lastSequence - UInt64(max(limit, 0)) + 1
            if let deletion = try await planDeletion(key, before: before) { planned.append(deletion) }
        }
        guard !closing else { throw StreamKitError.storeClosing }
        try await applyDeletions(planned)
        return planned.reduce(0) { $0 + $1.count }
    }

    /// After the log's entries before `start` were dropped (here, or by another process over a shared log):
    /// readers look from the new start on, then the index, the tail and the deletions forget what was before it.
    func forgetEntries(before start: UInt64) async {
        reads.advanceLogStart(to: start)
        if let firstBlock = reads.storage.blockIndex(containing: start) { reads.directory.drop(before: firstBlock) }
        reads.tail.drop(before: start)
        reads.deleted.forget(before: start)
        for (key, slot) in segments {
            await lostEntries(key, firstLeft: await slot.actor.dropIndex(before: start))
        }
    }

    /// The part of ``applyRetention(_:)`` that drops whole log files (rows over PostgreSQL).
    private func dropFiles(_ policy: LogRetention.Policy) async throws -> LogRetention.Outcome? {
        let storage = reads.storage
        let start: UInt64
        do {
            guard let found = try await storage.retentionStart(policy, now: configuration.log.clock()) else {
                return nil
            }
            start = found
        } catch {
            throw StreamKitError.storage(error, storeID: id)
        }
        let started = ContinuousClock.now

        // Which segments have no entry left at or after `start`. (Commits that land meanwhile are after it.)
        let snapshot = segments
        var retired: [StoreManifest.RetiredSegment] = []
        for (key, slot) in snapshot {
            guard let head = await slot.actor.headIfRetired(before: start) else { continue }
            retired.append(
                StoreManifest.RetiredSegment(
                    space: key.space, segment: key.segment, lastSequence: head.lastSequence,
                    lastTransactionNumber: head.lastTransactionNumber, lastTimestamp: head.lastTimestamp))
        }
        guard !closing else { throw StreamKitError.storeClosing }
        let outcome: LogRetention.Outcome
        do {
            outcome = try await storage.dropEntries(before: start, retired: retired)
        } catch {
            throw StreamKitError.storage(error, storeID: id)
        }
        guard outcome.droppedFiles > 0 else { return nil }

        await forgetEntries(before: start)
        let metrics = configuration.metricsFactory ?? MetricsSystem.factory
        Counter(label: "streamkit_storage_retention_dropped_files_total", factory: metrics).increment(
            by: outcome.droppedFiles)
        Counter(label: "streamkit_storage_retention_dropped_entries_total", factory: metrics)
            .increment(by: outcome.droppedEntries)
        Counter(label: "streamkit_storage_retention_reclaimed_bytes_total", factory: metrics)
            .increment(by: Int(outcome.reclaimedBytes))
        Metrics.Timer(label: "streamkit_storage_retention_duration_seconds", factory: metrics)
            .recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        configuration.logger.info(
            "retention dropped entries", metadata: outcome.logMetadata.merging(["store": "\(id)"]) { $1 })
        return outcome
    }
}

extension LogRetention.Policy {
    /// What is wrong with the policy's bounds (each must be positive), or nil when nothing is.
    package var invalidBound: String? {
        if let maxAge, maxAge <= .zero { return "a maximum age must be positive, not \(maxAge)" }
        if let maxBytes, maxBytes <= 0 { return "a maximum size must be positive, not \(maxBytes)" }
        if let maxEntriesPerSegment, maxEntriesPerSegment <= 0 {
            return "a maximum entry count must be positive, not \(maxEntriesPerSegment)"
        }
        return nil
    }
}
