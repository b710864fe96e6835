/// A stream of results from a client operation (entries of a read, statuses of a produce), opened lazily on
/// the first call to `next()`.
///
/// Opening (reaching the store, or dialling a server) follows the client's ``RetryPolicy``; once the stream is
/// open, a failure ends it with that error and nothing is replayed — except that over the WebSocket transport a
/// read interrupted by a lost connection reopens after the last entry it delivered (see
/// ``WebSocketOptions/resumeReads``). Each iteration opens the
/// operation again, so iterate a stream once. Cancelling the iterating task ends the read.
///
/// ```swift
/// for try await entry in client.consumeSegment(store: id, space: "orders", segment: "o-1") {
///     print(entry.sequence)
/// }
/// ```
public struct ClientStream<Element: Sendable>: AsyncSequence, Sendable {
    let open: @Sendable () async throws -> Cursor<Element>

    init(open: @escaping @Sendable () async throws -> Cursor<Element>) {
        self.open = open
    }

    /// Creates an iterator; the operation is opened on its first `next()`.
    public func makeAsyncIterator() -> Iterator { Iterator(open: open) }

    /// Iterates a client stream.
    public struct Iterator: AsyncIteratorProtocol {
        private let open: @Sendable () async throws -> Cursor<Element>
        private var cursor: Cursor<Element>?
        private var finished = false
        /// Elements received and not handed out yet: `buffer[index...]`.
        @usableFromInline var buffer: [Element] = []
        @usableFromInline var index = 0

        init(open: @escaping @Sendable () async throws -> Cursor<Element>) {
            self.open = open
        }

        /// The next element, or nil at the end.
        ///
        /// - Throws: A `StreamKitError` (for instance `storeClosing` after the client closed, the store's
        ///   validation errors, `sequenceConflict` for a produce); the stream ends at the first error.
        @inlinable
        public mutating func next() async throws -> Element? {
            if index < buffer.count {
                defer { index &+= 1 }
                return buffer[index]
            }
            return try await refill()
        }

        /// The next element, or nil at the end (run on the caller's executor).
        ///
        /// - Throws: As ``next()``.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Element? {
            if index < buffer.count {
                defer { index &+= 1 }
                return buffer[index]
            }
            return try await refill()
        }

        @usableFromInline
        nonisolated(nonsending) mutating func refill() async throws -> Element? {
            buffer = []
            index = 0
            guard !finished else { return nil }
            do {
                let current: Cursor<Element>
                if let cursor {
                    current = cursor
                } else {
                    current = try await open()
                    cursor = current
                }
                while true {
                    guard let batch = try await current.nextBatch() else {
                        finish()
                        return nil
                    }
                    guard let first = batch.first else { continue }
                    buffer = batch
                    index = 1
                    return first
                }
            } catch {
                finish()
                throw error
            }
        }

        private mutating func finish() {
            finished = true
            cursor = nil
        }
    }
}
