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
    public struct Iterator: AsyncIteratorProtocol {
        private let read: SegmentEntries
        private var segment: Segment?
        private var buffer: [Entry] = []
        private var index = 0
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
        public mutating func next() async throws -> Entry? {
            if index < buffer.count {
                defer { index += 1 }
                return buffer[index]
            }
            return try await refill()
        }

        private mutating func refill() async throws -> Entry? {
            while !done {
                buffer.removeAll(keepingCapacity: true)
                index = 0
                if segment == nil {
                    segment = await read.store.existingSegment(read.key)
                    if segment == nil { done = true; return nil }
                }
                let maxSequence = read.maxSequence == 0 ? UInt64.max : read.maxSequence
                guard nextSequence <= maxSequence, remaining > 0, let segment else { done = true; return nil }
                let batch = Swift.min(read.store.configuration.readBatchSize, remaining)
                let runs = await segment.runs(from: nextSequence, maxEntries: batch)
                let (key, from, reads) = (read.key, nextSequence, read.store.reads)
                // The batch buffer moves into the closure's variable and back, keeping its capacity.
                var gathered: [Entry] = []
                swap(&gathered, &buffer)
                do {
                    try await reads.loading(canRetry: { gathered.isEmpty }) {
                        try SegmentEntries.collect(
                            runs: runs, key: key, from: from, through: maxSequence, reads: reads, maxCount: batch,
                            into: &gathered)
                    }
                    swap(&buffer, &gathered)
                } catch is BlockNotLoaded {
                    swap(&buffer, &gathered)  // delivered now; the next batch loads the block
                } catch {
                    swap(&buffer, &gathered)
                    done = true
                    // The entries read before a damaged block go out first; the failure follows them.
                    guard !buffer.isEmpty else { throw StreamKitError.storage(error) }
                    failure = StreamKitError.storage(error)
                }
                guard let last = buffer.last else { done = true; return nil }
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
                    index = 1
                    return buffer[0]
                }
            }
            if let failure {
                self.failure = nil
                throw failure
            }
            return nil
        }

        private func hasMore(after sequence: UInt64) async -> Bool {
            guard let status = await read.store.status(space: read.key.space, segment: read.key.segment) else { return false }
            return status.lastSequence > sequence
        }
    }

    /// Reads the entries of `key` with sequences `from...through` that `runs` locate, in sequence order, up to
    /// `maxCount`, stopping at the first one not visible yet.
    static func collect(
        runs: [Segment.IndexRun], key: SegmentKey, from: UInt64, through: UInt64, reads: StoreReadContext, maxCount: Int,
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
