import Logging
import StreamKitLogFiles

extension Store {
    /// Deletes every entry of a segment.
    ///
    /// Once it returns, no read started afterwards returns the deleted entries — segment and space reads,
    /// `peek`, `status`, listings, subscriptions' first statuses, and the tools reading the files (`dump`,
    /// `replay`, `inspect`) — also after the store reopens: the deletion is durable first (a file store records
    /// it in its manifest). A read already running may still hand out entries it had fetched. Producing to the
    /// segment again continues after its last sequence: sequences are never reused, so consumers' dedup keeps
    /// working. Offsets issued for deleted entries stay valid: a space read resumes at the next entry left.
    /// Their bytes stay in the log files until ``compact(bytesPerSecond:)`` erases them (in the background with
    /// ``RetentionConfiguration``) or retention drops those files.
    ///
    /// - Returns: How many entries were deleted (0 when none was left).
    /// - Throws: `StreamKitError` — `.invalidArgument` for a bad name, `.notFound` for a segment this store never
    ///   had, `.unsupported` when the storage cannot delete (a custom one), `.storage` when the deletion cannot
    ///   be recorded (then nothing was deleted), `.storeClosing`.
    @discardableResult
    public func deleteSegment(space: String, segment: String) async throws -> Int {
        try await delete(validate(space: space, segment: segment), before: .max)
    }

    /// Deletes the entries of a segment with sequences below `sequence` (all of them when `sequence` is past its
    /// last one), as ``deleteSegment(space:segment:)`` does.
    ///
    /// - Returns: How many entries were deleted (0 when none was left below `sequence`).
    /// - Throws: As ``deleteSegment(space:segment:)``; `.invalidArgument` for sequence 0.
    @discardableResult
    public func truncateSegment(space: String, segment: String, before sequence: UInt64) async throws -> Int {
        let key = try validate(space: space, segment: segment)
        guard sequence > 0 else { throw StreamKitError.invalidArgument("sequences start at 1: nothing is before 0") }
        return try await delete(key, before: sequence)
    }

    private func delete(_ key: SegmentKey, before: UInt64) async throws -> Int {
        guard !closing else { throw storeClosing }
        guard segments[key] != nil else {
            throw StreamKitError(
                code: .notFound, message: "no segment \(key.space)/\(key.segment) in this store", storeID: id)
        }
        inFlight += 1
        defer { finishedCall() }
        guard let planned = try await planDeletion(key, before: before) else { return 0 }
        try await applyDeletions([planned])
        return planned.count
    }

    /// A deletion of one segment's entries, planned: what to record and how many entries it deletes.
    struct PlannedDeletion {
        var key: SegmentKey
        var deletion: StoreManifest.Deletion
        var count: Int
    }

    /// Plans deleting the entries of `key` below `before` (clamped to one past its last committed sequence);
    /// nil when none is left below it.
    func planDeletion(_ key: SegmentKey, before: UInt64) async throws -> PlannedDeletion? {
        guard let slot = segments[key], let plan = await slot.actor.deletion(before: before) else { return nil }
        let run = plan.lastRun
        let through: UInt64
        if run.exact {
            through = run.startPosition + (min(run.lastSequence, plan.before - 1) - run.firstSequence)
        } else {
            // A block run's entries all lie in the block that starts at its start position.
            guard let index = reads.storage.blockIndex(containing: run.startPosition),
                let block = reads.storage.block(at: index)
            else {
                throw StreamKitError(
                    code: .internalError,
                    message: "no block holds position \(run.startPosition) of \(key.space)/\(key.segment)",
                    storeID: id)
            }
            through = block.lastPosition
        }
        return PlannedDeletion(
            key: key,
            deletion: StoreManifest.Deletion(
                space: key.space, segment: key.segment, before: plan.before, through: through),
            count: plan.count)
    }

    /// Records `planned` deletions durably (one write), then leaves their entries out of every read and trims the
    /// segments' indexes and visible heads.
    func applyDeletions(_ planned: [PlannedDeletion]) async throws {
        guard !planned.isEmpty else { return }
        do {
            try await reads.storage.recordDeletions(planned.map(\.deletion))
        } catch {
            throw StreamKitError.storage(error, storeID: id)
        }
        await hide(planned.map(\.deletion))
        for deletion in planned {
            configuration.logger.info(
                "entries deleted",
                metadata: [
                    "store": "\(id)", "space": "\(deletion.key.space)", "segment": "\(deletion.key.segment)",
                    "before": "\(deletion.deletion.before)", "entries": "\(deletion.count)",
                ])
        }
    }

    /// Leaves the entries `deletions` cover out of every read from now on (recorded already), then trims the
    /// segments' indexes and visible heads.
    func hide(_ deletions: [StoreManifest.Deletion]) async {
        for deletion in deletions { reads.deleted.add(deletion) }
        for deletion in deletions {
            let key = SegmentKey(space: deletion.space, segment: deletion.segment)
            guard let slot = segments[key] else { continue }
            let first = await slot.actor.dropIndex(beforeSequence: deletion.before)
            await lostEntries(key, firstLeft: first)
        }
    }

    /// Deletions another process recorded in a shared log (the follow loop): those not known yet, or with later
    /// bounds, are hidden as this process's own are.
    func applyFollowedDeletions(_ deletions: [StoreManifest.Deletion]) async {
        guard !closed else { return }
        let new = deletions.filter { deletion in
            guard let known = reads.deleted.deletion(of: SegmentKey(space: deletion.space, segment: deletion.segment))
            else {
                return true
            }
            return deletion.before > known.before || deletion.through > known.through
        }
        await hide(new)
    }

    /// After a segment's entries before `first` (the first sequence left; nil: none is) were dropped or
    /// deleted: its visible first sequence and timestamp follow, and a segment with nothing left is unlisted
    /// until it has entries again.
    func lostEntries(_ key: SegmentKey, firstLeft first: UInt64?) async {
        guard let slot = segments[key] else { return }
        guard let first else {
            if segments[key]?.visible != nil, await slot.actor.firstIndexedSequence == nil {
                segments[key]?.visible = nil
                spaceSegments[key.space]?.remove(key.segment)
                if spaceSegments[key.space]?.isEmpty == true { spaceSegments[key.space] = nil }
            }
            return
        }
        guard let visible = segments[key]?.visible, visible.firstSequence < first else { return }
        let firstEntry = try? await consumeSegment(space: key.space, segment: key.segment, limit: 1).first(where: { _ in
            true
        })
        guard let current = segments[key]?.visible, current.firstSequence < first else { return }
        segments[key]?.visible?.firstSequence = firstEntry?.sequence ?? first
        if let firstEntry { segments[key]?.visible?.firstTimestamp = firstEntry.timestamp }
        // Subscribers learn the segment's new first entry (its last one is unchanged).
        if let visible = segments[key]?.visible { notify(visible.status(key)) }
    }

    /// The timestamp of the first entry of `key` in `run` when it can be read now without waiting (opening a
    /// store with deletions); nil otherwise.
    nonisolated static func firstTimestamp(
        of key: SegmentKey, in run: Segment.IndexRun, reads: StoreReadContext
    ) -> Int64? {
        var found: [Entry] = []
        try? SegmentEntries.collect(
            runs: [run], key: key, from: run.firstSequence, through: run.firstSequence, reads: reads, maxCount: 1,
            into: &found)
        return found.first?.timestamp
    }
}
