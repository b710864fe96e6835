import StreamKitLogFiles

/// The entries of one or more spaces in commit order (log order), streamed in batches, resuming after
/// per-space offsets.
///
/// Commit order is a total order across the store, so several spaces merge exactly: no ties, no clock
/// skew. Offsets are exclusive; every entry carries ``StreamKitLogFiles/Entry/offset`` to resume from. Readers
/// see a prefix of the commits (never a later commit before an earlier one), including commits made while they
/// run, until they catch up, then finish.
public struct SpaceEntries: AsyncSequence, Sendable {
    public typealias Element = Entry

    let store: Store
    let offsets: [String: Offset]
    let minTimestamp: Int64
    let maxTimestamp: Int64
    let limit: Int

    public func makeAsyncIterator() -> Iterator { Iterator(self) }

    /// Iterates a space read.
    ///
    /// As ``SegmentEntries/Iterator``, entries go out of a window: a stretch of a decoded block shared with the
    /// block cache when the block holds only the spaces read, or a batch collected from the tail or from blocks
    /// shared with other spaces.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Failure = any Error

        private let read: SpaceEntries
        /// The entries being handed out.
        @usableFromInline var window = EntryWindow()
        /// Last position examined.
        private var cursor: UInt64
        /// Entries at or before this position may be before their space's offset; after it, none are.
        private let lastOffset: UInt64
        private var remaining: Int
        private var validated = false
        private var done = false
        /// A failure met after some entries of the batch were read: thrown once they are handed out.
        private var failure: StreamKitError?

        init(_ read: SpaceEntries) {
            self.read = read
            cursor = read.offsets.values.map(\.position).min() ?? 0
            lastOffset = read.offsets.values.map(\.position).max() ?? 0
            remaining = read.limit > 0 ? read.limit : .max
            done = read.offsets.isEmpty
        }

        /// The next entry, or nil when the read has caught up.
        /// - Throws: `StreamKitError` — `.invalidOffset` for an offset this store did not issue; `.corrupt` or
        ///   `.storage` when a block cannot be read. An error in any of several spaces ends the whole read.
        @inlinable
        public mutating func next() async throws -> Entry? {
            if let entry = window.next() { return entry }
            return try await refill()
        }

        /// The next entry, or nil when the read has caught up (run on the caller's executor).
        /// - Throws: As ``next()``.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Entry? {
            if let entry = window.next() { return entry }
            return try await refill()
        }

        @usableFromInline
        nonisolated(nonsending) mutating func refill() async throws -> Entry? {
            let reads = read.store.reads
            if !validated {
                try await validateOffsets(reads)
                validated = true
            }
            if !done, failure == nil, remaining > 0, read.minTimestamp == 0, read.maxTimestamp == 0,
                let first = try await windowOfBlock(reads)
            {
                return first
            }
            return try await refillBatch(reads)
        }

        /// The next stretch of the read as the stored block it lies in, when that block (of the file log, at most
        /// `maxBlockBytes` stored) holds only the spaces read and every offset is behind; else the next entry (nil
        /// at the end). For a sender that ships blocks as they are stored (the WebSocket server).
        /// - Throws: As ``next()``.
        package nonisolated(nonsending) mutating func nextChunk(maxBlockBytes: Int) async throws -> ReadChunk? {
            if let entry = window.next() { return .entry(entry) }
            let reads = read.store.reads
            if validated, !done, failure == nil, remaining > 0, read.minTimestamp == 0, read.maxTimestamp == 0,
                cursor + 1 > lastOffset
            {
                let ids = reads.directory.ids(of: read.offsets.keys)
                let found: (block: StoredBlock, range: Range<Int>)?
                do {
                    let through = StoreReadContext.lastPosition(
                        reads.visibleThrough, from: cursor + 1, count: remaining)
                    found = try reads.storedWindow(from: cursor + 1, through: through, maxBytes: maxBlockBytes) {
                        reads.directory.block($0, holdsOnly: ids)
                    }
                } catch {
                    done = true
                    throw StreamKitError.storage(error)
                }
                if let found {
                    let range = found.range
                    cursor += UInt64(range.count)
                    remaining -= range.count
                    read.store.reads.metrics.consumed(
                        count: range.count, ofBlockEntries: found.block.header.entryCount,
                        rawBytes: found.block.header.rawLength)
                    return .block(found.block, range)
                }
            }
            return try await refill().map(ReadChunk.entry)
        }

        /// Points the window at the next entries as they lie in a decoded block, when that block holds only the
        /// spaces read and every offset is behind; nil otherwise (the batch path then reads them).
        private nonisolated(nonsending) mutating func windowOfBlock(_ reads: StoreReadContext) async throws -> Entry? {
            let from = cursor + 1
            guard from > lastOffset else { return nil }
            let ids = reads.directory.ids(of: read.offsets.keys)
            let found: StoreReadContext.BlockWindow?
            do {
                let through = StoreReadContext.lastPosition(reads.visibleThrough, from: from, count: remaining)
                found = try await reads.window(from: from, through: through) {
                    reads.directory.block($0, holdsOnly: ids)
                }
            } catch {
                done = true
                throw StreamKitError.storage(error)
            }
            guard let found else { return nil }
            let range = found.range
            let first = found.entries[range.lowerBound]
            guard first.position == from else { return nil }
            cursor += UInt64(range.count)
            remaining -= range.count
            read.store.reads.metrics.consumed(found.entries, range)
            return window.start(found.entries, range)
        }

        /// Collects the next batch of entries (from the tail, from blocks shared with other spaces, or with
        /// timestamp bounds) into the window.
        private nonisolated(nonsending) mutating func refillBatch(_ reads: StoreReadContext) async throws -> Entry? {
            while !done && remaining > 0 {
                // The window's array may be a cached block: start a batch of our own.
                var buffer: [Entry] = []
                window.clear()
                let visible = reads.visibleThrough
                guard cursor < visible else {
                    done = true
                    break
                }
                let ids = reads.directory.ids(of: read.offsets.keys)
                let offsets = read.offsets
                let minTimestamp = read.minTimestamp
                let maxTimestamp = read.maxTimestamp
                var past = false
                let batch = Swift.min(read.store.configuration.readBatchSize, remaining)
                var next: UInt64 = cursor + 1
                let from = cursor + 1
                do {
                    try await reads.loading(canRetry: { buffer.isEmpty }) {
                        next = try reads.scan(
                            from: from, through: visible, maxCount: batch, into: &buffer,
                            skip: { !reads.directory.block($0, mayHold: ids) }
                        ) { entry in
                            guard let offset = offsets[entry.space], entry.position > offset.position else {
                                return false
                            }
                            if maxTimestamp > 0 && entry.timestamp > maxTimestamp {
                                past = true
                                return false
                            }
                            return minTimestamp <= 0 || entry.timestamp > minTimestamp
                        }
                    }
                } catch is BlockNotLoaded {
                    // Deliver what was collected; the next batch loads the block.
                    next = (buffer.last?.position ?? cursor) + 1
                } catch {
                    done = true
                    // The entries read before a damaged block go out first; the failure follows them.
                    guard let last = buffer.last else { throw StreamKitError.storage(error) }
                    failure = StreamKitError.storage(error)
                    next = last.position + 1
                }
                cursor = next - 1
                if past {
                    // Timestamps rise with positions: nothing later can match.
                    if let cut = buffer.firstIndex(where: { $0.timestamp > maxTimestamp }) {
                        buffer.removeSubrange(cut...)
                    }
                    done = true
                    failure = nil  // Complete before the failure.
                }
                if buffer.count > remaining { buffer.removeLast(buffer.count - remaining) }
                remaining -= buffer.count
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

        private nonisolated(nonsending) func validateOffsets(_ reads: StoreReadContext) async throws {
            for (space, offset) in read.offsets where offset.position > 0 {
                let entry: Entry?
                do {
                    // An offset before the log's start was issued for an entry retention dropped since: the read
                    // resumes at the first entry left. (Timestamps rise with positions: it must be older than that.)
                    let logStart = reads.logStart
                    if offset.position < logStart {
                        let first = try await reads.entry(at: logStart)
                        if first.map({ offset.timestamp < $0.timestamp }) ?? true { continue }
                    }
                    entry = try await reads.entry(at: offset.position)
                } catch {
                    throw StreamKitError.storage(error)
                }
                // An erased entry (compaction removed it; no names) keeps its position and a time that is its entry's or
                // a lower bound of it (a block erased whole from its header).
                guard let entry,
                    entry.space.isEmpty
                        ? offset.timestamp >= entry.timestamp
                        : entry.timestamp == offset.timestamp && entry.space == space
                else {
                    throw StreamKitError(
                        code: .invalidOffset,
                        message: "offset \(offset) was not issued by this store for space \(space)",
                        storeID: read.store.id)
                }
            }
        }
    }
}

extension Store {
    /// Reads every segment of a space in commit order, after `offset`.
    /// - Parameters:
    ///   - space: The space.
    ///   - offset: Resume after this entry (exclusive); ``Offset/start`` for the beginning.
    ///   - minTimestamp: Only entries committed after this (exclusive; 0 = no bound).
    ///   - maxTimestamp: Only entries committed at or before this (inclusive; 0 = no bound).
    ///   - limit: Most entries (0 = no limit).
    public nonisolated func consumeSpace(
        space: String, offset: Offset = .start, minTimestamp: Int64 = 0, maxTimestamp: Int64 = 0, limit: Int = 0
    ) -> SpaceEntries {
        SpaceEntries(
            store: self, offsets: [space: offset], minTimestamp: minTimestamp, maxTimestamp: maxTimestamp,
            limit: max(0, limit))
    }

    /// Reads several spaces merged in commit order, each after its own offset.
    /// - Parameters:
    ///   - spaces: Each space to read and the offset to resume after (``Offset/start`` for the beginning).
    ///   - minTimestamp: Only entries committed after this (exclusive; 0 = no bound).
    ///   - maxTimestamp: Only entries committed at or before this (inclusive; 0 = no bound).
    ///   - limit: Most entries in total (0 = no limit).
    public nonisolated func consume(
        spaces: [String: Offset], minTimestamp: Int64 = 0, maxTimestamp: Int64 = 0, limit: Int = 0
    ) -> SpaceEntries {
        SpaceEntries(
            store: self, offsets: spaces, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp, limit: max(0, limit))
    }
}
