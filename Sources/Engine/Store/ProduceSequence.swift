import StreamKitLogFiles

/// The acknowledgements of a streaming produce: one ``SegmentStatus`` per committed transaction.
///
/// Iterating drives the produce: each step pulls records from the upstream sequence until a transaction
/// is full (the store's record and byte limits) or the upstream ends, commits it, and returns its status
/// once it is durable and visible. Earlier transactions stay committed when a later one fails.
public struct ProduceSequence<Records: AsyncSequence & Sendable>: AsyncSequence, Sendable
where Records.Element == Record {
    public typealias Element = SegmentStatus

    let store: Store
    let space: String
    let segment: String
    let records: Records

    public func makeAsyncIterator() -> Iterator { Iterator(self) }

    /// Iterates a produce.
    public struct Iterator: AsyncIteratorProtocol {
        private let produce: ProduceSequence
        private var upstream: Records.AsyncIterator
        private var carried: Record?
        private var previousLast: UInt64?
        private var finished = false

        init(_ produce: ProduceSequence) {
            self.produce = produce
            self.upstream = produce.records.makeAsyncIterator()
        }

        /// Commits the next transaction and returns its status; nil when every record is committed.
        /// - Throws: `StreamKitError` — `.sequenceConflict`, `.invalidArgument`, `.limitExceeded`,
        ///   `.storeClosing`, `.storage`; or what the upstream sequence throws. The produce ends at the
        ///   first error.
        public mutating func next() async throws -> SegmentStatus? {
            guard !finished else { return nil }
            do {
                let configuration = produce.store.configuration
                let key = try produce.store.validate(space: produce.space, segment: produce.segment)
                var chunk: [Record] = []
                var bytes = 0
                if let carried {
                    chunk.append(carried)
                    bytes = carried.payload.count
                    self.carried = nil
                }
                while chunk.count < configuration.maxRecordsPerTransaction, let record = try await upstream.next() {
                    try produce.store.check(
                        record, after: chunk.last?.sequence ?? previousLast, space: produce.space,
                        segment: produce.segment)
                    if !chunk.isEmpty && bytes + record.payload.count > configuration.maxTransactionBytes {
                        carried = record
                        break
                    }
                    chunk.append(record)
                    bytes += record.payload.count
                }
                guard let last = chunk.last else {
                    finished = true
                    return nil
                }
                let status = try await produce.store.commit(key, chunk)
                previousLast = last.sequence
                return status
            } catch {
                finished = true
                throw error
            }
        }
    }
}

/// Records from an array, as an async sequence (for the array form of produce).
public struct RecordArraySequence: AsyncSequence, Sendable {
    public typealias Element = Record
    let records: [Record]

    public func makeAsyncIterator() -> Iterator { Iterator(records: records) }

    /// Iterates the array.
    public struct Iterator: AsyncIteratorProtocol {
        let records: [Record]
        var index = 0

        public mutating func next() async -> Record? {
            guard index < records.count else { return nil }
            defer { index += 1 }
            return records[index]
        }
    }
}

extension Store {
    /// The checks every produced record passes before it joins a transaction: a sequence of at least 1 that
    /// follows `previous`, and the payload and metadata limits.
    nonisolated func check(_ record: Record, after previous: UInt64?, space: String, segment: String) throws {
        if record.sequence == 0 { throw StreamKitError.invalidArgument("sequence 0: sequences start at 1") }
        if let previous, record.sequence != previous + 1 {
            throw StreamKitError.sequenceConflict(
                expected: previous + 1, got: record.sequence, space: space, segment: segment)
        }
        try validate(record)
    }

    /// Produces records to a segment as they arrive, cut into transactions.
    ///
    /// - Parameters:
    ///   - space: The space (created on first produce).
    ///   - segment: The segment (created on first produce).
    ///   - records: Records in sequence order; the first must be the segment's last sequence + 1.
    /// - Returns: The acknowledgements; iterate them to drive the produce.
    public nonisolated func produce<Records: AsyncSequence & Sendable>(
        space: String, segment: String, records: Records
    ) -> ProduceSequence<Records> where Records.Element == Record {
        ProduceSequence(store: self, space: space, segment: segment, records: records)
    }

    /// Produces an array of records, cut into transactions, and returns every acknowledgement.
    /// - Throws: The first failure; transactions acknowledged before it stay committed.
    @discardableResult
    public nonisolated func produce(space: String, segment: String, records: [Record]) async throws -> [SegmentStatus] {
        // The same cutting and checks as the streaming form, without an async step per record.
        let key = try validate(space: space, segment: segment)
        var statuses: [SegmentStatus] = []
        var start = 0
        while start < records.count {
            var end = start
            var bytes = 0
            while end < records.count && end - start < configuration.maxRecordsPerTransaction {
                let record = records[end]
                try check(record, after: end > 0 ? records[end - 1].sequence : nil, space: space, segment: segment)
                if end > start && bytes + record.payload.count > configuration.maxTransactionBytes { break }
                bytes += record.payload.count
                end += 1
            }
            let chunk = start == 0 && end == records.count ? records : Array(records[start..<end])
            statuses.append(try await commit(key, chunk))
            start = end
        }
        return statuses
    }
}
