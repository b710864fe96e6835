import StreamKitLogFiles

/// The entries of one segment in sequence order, streamed in batches: an `AsyncSequence` whose iterator
/// hands out entries from an in-memory batch and goes back to the store only when the batch runs out.
///
/// Bounds: sequences `minSequence...maxSequence` (inclusive; `maxSequence` 0 = no bound), timestamps
/// after `minTimestamp` (exclusive; 0 = no bound) up to `maxTimestamp` (inclusive; 0 = no bound), at most
/// `limit` entries (0 = no limit). The read sees entries committed while it runs until it catches up with
/// the segment's head, then finishes.
public struct SegmentEntries: AsyncSequence, Sendable {
    public typealias Element = Entry

    let store: Store
    let key: SegmentKey
    let minSequence: UInt64
    let maxSequence: UInt64
    let minTimestamp: Int64
    let maxTimestamp: Int64
    let limit: Int

    public func makeAsyncIterator() -> Iterator { Iterator(self) }

    /// Iterates a segment read.
    ///
    /// Entries go out of a window: a stretch of a decoded block shared with the block cache (the common case:
    /// a segment's transactions lie in the log as exact runs), or a batch collected from the tail or from
    /// blocks where the segment interleaves with others. Handing out an entry of the window is inlined into
    /// the caller's loop: no copy into a batch, no suspension.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Failure = any Error

        private let read: SegmentEntries
        private var segment: Segment?
        /// The entries being handed out.
        @usableFromInline var window = EntryWindow()
        /// Index runs of the segment from ``nextSequence`` on, as last fetched from the segment.
        private var runs: [Segment.IndexRun] = []
        private var nextSequence: UInt64
        private var remaining: Int
        private var done = false
        /// A failure met after some entries of the batch were read: thrown once they are handed out.
        private var failure: StreamKitError?

        init(_ read: SegmentEntries) {
            self.read = read
            nextSequence = Swift.max(read.minSequence, 1)
            remaining = read.limit > 0 ? read.limit : .max
        }

        /// The next entry, or nil when the read is complete.
        /// - Throws: `StreamKitError` (`.corrupt`, `.storage`) when a block cannot be read.
        @inlinable
        public mutating func next() async throws -> Entry? {
            if let entry = window.next() { return entry }
            return try await refill()
        }

        /// The next entry, or nil when the read is complete (run on the caller's executor).
        /// - Throws: `StreamKitError` (`.corrupt`, `.storage`) when a block cannot be read.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Entry? {
            if let entry = window.next() { return entry }
            return try await refill()
        }

        @usableFromInline
        nonisolated(nonsending) mutating func refill() async throws -> Entry? {
            if !done, failure == nil, read.minTimestamp == 0, read.maxTimestamp == 0,
                let first = try await windowOfBlock()
            {
                return first
            }
            return try await refillBatch()
        }

        /// The segment read, looked up on first use (nil while it does not exist). A read that starts before the
        /// segment's first entry left in the log (the ones before were dropped) starts at that entry.
        private nonisolated(nonsending) mutating func resolvedSegment() async -> Segment? {
            if let segment { return segment }
            guard let found = await read.store.existingSegment(read.key) else { return nil }
            segment = found
            if let first = await found.firstIndexedSequence, first > nextSequence { nextSequence = first }
            return found
        }

        /// The positions of the segment's next sequences when they form an exact run in the log (up to the
        /// run's end, the read's last sequence or what is left of its limit); nil when they do not, or the read
        /// is complete.
        private nonisolated(nonsending) mutating func nextExactRun() async -> (from: UInt64, through: UInt64)? {
            let maxSequence = read.maxSequence == 0 ? UInt64.max : read.maxSequence
            guard nextSequence <= maxSequence, remaining > 0 else { return nil }
            guard let segment = await resolvedSegment() else { return nil }
            if !runs.contains(where: { $0.firstSequence <= nextSequence && nextSequence <= $0.lastSequence }) {
                runs = await segment.runs(from: nextSequence, maxEntries: read.store.configuration.readBatchSize)
            }
            guard let run = runs.first(where: { $0.firstSequence <= nextSequence && nextSequence <= $0.lastSequence }),
                run.exact
            else { return nil }
            let from = run.startPosition + (nextSequence - run.firstSequence)
            let last = run.startPosition + (Swift.min(run.lastSequence, maxSequence) - run.firstSequence)
            return (from, StoreReadContext.lastPosition(last, from: from, count: remaining))
        }

        /// The next stretch of the read as the stored block it lies in, when the segment's next sequences form
        /// an exact run in a sealed block of the file log no larger than `maxBytes` stored; else the next entry
        /// (nil at the end). For a sender that ships blocks as they are stored (the WebSocket server).
        /// - Throws: As ``next()``.
        package nonisolated(nonsending) mutating func nextChunk(maxBlockBytes: Int) async throws -> ReadChunk? {
            if let entry = window.next() { return .entry(entry) }
            if !done, failure == nil, read.minTimestamp == 0, read.maxTimestamp == 0, let run = await nextExactRun() {
                let found: (block: StoredBlock, range: Range<Int>)?
                do {
                    found = try read.store.reads.storedWindow(
                        from: run.from, through: run.through, maxBytes: maxBlockBytes)
                } catch {
                    done = true
                    throw StreamKitError.storage(error)
                }
                if let found {
                    let range = found.range
                    nextSequence += UInt64(range.count)
                    remaining -= range.count
                    read.store.reads.metrics.consumed(
                        count: range.count, ofBlockEntries: found.block.header.entryCount,
                        rawBytes: found.block.header.rawLength)
                    return .block(found.block, range)
                }
            }
            return try await refill().map(ReadChunk.entry)
        }

        /// Points the window at the next entries as they lie in a decoded block, when the segment's next
        /// sequences form an exact run of positions in a sealed block; nil when they do not (the batch path
        /// then reads them).
        private nonisolated(nonsending) mutating func windowOfBlock() async throws -> Entry? {
            guard let (from, through) = await nextExactRun() else { return nil }
            let reads = read.store.reads
            let found: StoreReadContext.BlockWindow?
            do {
                found = try await reads.window(from: from, through: through)
            } catch {
                done = true
                throw StreamKitError.storage(error)
            }
            guard let found else { return nil }
            let range = found.range
            // The index says where the run lies; the entries at both ends of the window confirm it.
            let first = found.entries[range.lowerBound]
            let last = found.entries[range.upperBound - 1]
            guard first.sequence == nextSequence, last.sequence == nextSequence + UInt64(range.count - 1),
                first.segment == read.key.segment, first.space == read.key.space, last.segment == read.key.segment,
                last.space == read.key.space
            else { return nil }
            nextSequence += UInt64(range.count)
            remaining -= range.count
            read.store.reads.metrics.consumed(found.entries, range)
            return window.start(found.entries, range)
        }

        /// Collects the next batch of entries (from the tail, from blocks shared with other segments, or with
        /// timestamp bounds) into the window.
        private nonisolated(nonsending) mutating func refillBatch() async throws -> Entry? {
            while !done {
                // The window's array may be a cached block: start a batch of our own.
                var buffer: [Entry] = []
                window.clear()
                guard let segment = await resolvedSegment() else {
                    done = true
                    return nil
                }
                let maxSequence = read.maxSequence == 0 ? UInt64.max : read.maxSequence
                guard nextSequence <= maxSequence, remaining > 0 else {
                    done = true
                    return nil
                }
                let batch = Swift.min(read.store.configuration.readBatchSize, remaining)
                let runs = await segment.runs(from: nextSequence, maxEntries: batch)
                let (key, from, reads) = (read.key, nextSequence, read.store.reads)
                do {
                    try await reads.loading(canRetry: { buffer.isEmpty }) {
                        try SegmentEntries.collect(
                            runs: runs, key: key, from: from, through: maxSequence, reads: reads, maxCount: batch,
                            into: &buffer)
                    }
                } catch is BlockNotLoaded {
                    // Delivered now; the next batch loads the block.
                } catch {
                    done = true
                    // The entries read before a damaged block go out first; the failure follows them.
                    guard !buffer.isEmpty else { throw StreamKitError.storage(error) }
                    failure = StreamKitError.storage(error)
                }
                guard let last = buffer.last else {
                    // Nothing where the read is: retention may have dropped it meanwhile (here, or on another node of a
                    // shared log, which readers may learn of first); go on from the first entry left instead of ending
                    // as if at the segment's end.
                    let logStart = read.store.reads.logStart
                    if failure == nil, logStart > 1, await segment.indexStarts(before: logStart) {
                        await read.store.forgetEntries(before: logStart)
                    }
                    if failure == nil, let first = await segment.firstIndexedSequence, first > nextSequence {
                        nextSequence = first
                        continue
                    }
                    done = true
                    return nil
                }
                let collected = buffer.count
                nextSequence = last.sequence + 1
                if read.maxTimestamp > 0, let cut = buffer.firstIndex(where: { $0.timestamp > read.maxTimestamp }) {
                    buffer.removeSubrange(cut...)
                    done = true
                    failure = nil  // Complete before the failure.
                }
                if read.minTimestamp > 0 {
                    let floor = read.minTimestamp
                    buffer.removeAll { $0.timestamp <= floor }
                }
                if buffer.count > remaining { buffer.removeLast(buffer.count - remaining) }
                remaining -= buffer.count
                if collected < batch && !done {
                    // Caught up with what is visible; one more look next time only if the head moved on.
                    done = last.sequence >= maxSequence
                    if !done { done = !(await hasMore(after: last.sequence)) }
                }
                if !buffer.isEmpty {
                    read.store.reads.metrics.consumed(buffer, buffer.indices)
                    return window.start(buffer, buffer.indices)
                }
            }
            if let failure {
                self.failure = nil
                throw failure
            }
            return nil
        }

        private nonisolated(nonsending) func hasMore(after sequence: UInt64) async -> Bool {
            guard let status = await read.store.status(space: read.key.space, segment: read.key.segment) else {
                return false
            }
            return status.lastSequence > sequence
        }
    }

    /// Reads the entries of `key` with sequences `from...through` that `runs` locate, in sequence order, up to
    /// `maxCount`, stopping at the first one not visible yet.
    static func collect(
        runs: [Segment.IndexRun], key: SegmentKey, from: UInt64, through: UInt64, reads: StoreReadContext,
        maxCount: Int,
        into out: inout [Entry]
    ) throws {
        var expected = from
        for run in runs {
            guard out.count < maxCount, expected <= through else { break }
            if run.lastSequence < expected { continue }
            if run.firstSequence > expected { break }  // a gap: the rest is not visible yet
            let wantLast = Swift.min(run.lastSequence, through)
            let start: UInt64
            let end: UInt64
            if run.exact {
                start = run.startPosition + (expected - run.firstSequence)
                end = run.startPosition + (wantLast - run.firstSequence)
            } else {
                // The run's entries interleave with other segments' inside one block.
                guard let blockIndex = reads.storage.blockIndex(containing: run.startPosition),
                    let block = reads.storage.block(at: blockIndex)
                else { break }
                start = run.startPosition
                end = block.lastPosition
            }
            _ = try reads.scan(from: start, through: end, maxCount: maxCount, into: &out) { entry in
                guard entry.sequence == expected, expected <= wantLast, entry.segment == key.segment,
                    entry.space == key.space
                else { return false }
                expected += 1
                return true
            }
            if expected <= wantLast && out.count < maxCount { break }  // not all of it is visible yet
        }
    }
}

extension Store {
    /// Reads one segment in sequence order.
    /// - Parameters:
    ///   - space: The space.
    ///   - segment: The segment.
    ///   - minSequence: First sequence (inclusive; 0 or 1 = from the start).
    ///   - maxSequence: Last sequence (inclusive; 0 = no bound).
    ///   - minTimestamp: Only entries committed after this (exclusive; 0 = no bound).
    ///   - maxTimestamp: Only entries committed at or before this (inclusive; 0 = no bound).
    ///   - limit: Most entries (0 = no limit).
    /// - Returns: A streaming sequence; an unknown segment gives an empty one.
    public nonisolated func consumeSegment(
        space: String, segment: String, minSequence: UInt64 = 0, maxSequence: UInt64 = 0, minTimestamp: Int64 = 0,
        maxTimestamp: Int64 = 0, limit: Int = 0
    ) -> SegmentEntries {
        SegmentEntries(
            store: self, key: SegmentKey(space: space, segment: segment), minSequence: minSequence,
            maxSequence: maxSequence, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp, limit: max(0, limit))
    }
}
