extension AsyncSequence {
    /// Drops the first `count` values; failures always pass, including those among the skipped values.
    /// - Parameter count: How many values to skip; 0 or less skips nothing.
    /// - Returns: The items after the first `count` values, plus every failure.
    @inlinable
    public func skip<Value: Sendable>(
        _ count: Int
    ) -> SkipValuesSequence<Self, Value> where Element == StreamItem<Value>, Failure == Never {
        SkipValuesSequence(base: self, count: count)
    }
}

/// The sequence returned by `skip(_:)`.
public struct SkipValuesSequence<Base: AsyncSequence, Value: Sendable>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let count: Int

    @inlinable
    init(base: Base, count: Int) {
        self.base = base
        self.count = count
    }

    /// Creates an iterator.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), remaining: Swift.max(0, count))
    }

    /// Iterator of ``SkipValuesSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline var remaining: Int

        @inlinable
        init(base: Base.AsyncIterator, remaining: Int) {
            self.base = base
            self.remaining = remaining
        }

        /// The next item that is not skipped.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            while let item = await base.next(isolation: actor) {
                if remaining > 0, item.isSuccess {
                    remaining -= 1
                    continue
                }
                return item
            }
            return nil
        }

        /// The next item that is not skipped.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension SkipValuesSequence: Sendable where Base: Sendable {}
