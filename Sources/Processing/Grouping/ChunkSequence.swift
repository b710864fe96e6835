extension AsyncSequence {
    /// Groups consecutive values into arrays of `size`; failures bypass the chunk; a partial chunk is
    /// delivered when the sequence ends.
    ///
    /// A failure is delivered as soon as it arrives, ahead of the values collected so far, which stay in
    /// the chunk being filled. No timer and no extra task: for a size-or-latency trigger use `batch`.
    /// Each chunk is a new item with empty metadata.
    /// - Parameter size: The values per chunk; less than 1 counts as 1.
    /// - Returns: A sequence of chunks and failures.
    @inlinable
    public func chunk<Value: Sendable>(
        size: Int
    ) -> ChunkSequence<Self, Value> where Element == StreamItem<Value>, Failure == Never {
        ChunkSequence(base: self, size: Swift.max(1, size))
    }
}

/// The sequence returned by `chunk(size:)`.
public struct ChunkSequence<Base: AsyncSequence, Value: Sendable>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never {
    public typealias Element = StreamItem<[Value]>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let size: Int

    @inlinable
    init(base: Base, size: Int) {
        self.base = base
        self.size = size
    }

    /// Creates an iterator.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), size: size)
    }

    /// Iterator of ``ChunkSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<[Value]>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let size: Int
        @usableFromInline var pending: [Value] = []
        @usableFromInline var finished = false

        @inlinable
        init(base: Base.AsyncIterator, size: Int) {
            self.base = base
            self.size = size
        }

        /// The next full chunk, failure, or the final partial chunk.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<[Value]>? {
            guard !finished else { return nil }
            while let item = await base.next(isolation: actor) {
                switch item.outcome {
                case .success(let value):
                    if pending.isEmpty { pending.reserveCapacity(size) }
                    pending.append(value)
                    if pending.count >= size {
                        defer { pending = [] }
                        return StreamItem(pending)
                    }
                case .failure(let failure):
                    return StreamItem(failure: failure, metadata: item.metadata)
                }
            }
            finished = true
            guard !pending.isEmpty else { return nil }
            defer { pending = [] }
            return StreamItem(pending)
        }

        /// The next full chunk, failure, or the final partial chunk.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<[Value]>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension ChunkSequence: Sendable where Base: Sendable {}
