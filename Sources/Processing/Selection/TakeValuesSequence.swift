extension AsyncSequence {
    /// Delivers the first `count` values, then ends; failures before the end pass through and do not count.
    ///
    /// Ending stops the upstream: the base iterator is released, which cancels any background stage.
    /// - Parameter count: How many values to deliver; 0 or less ends at once.
    /// - Returns: A sequence of at most `count` values plus the failures among them.
    @inlinable
    public func take<Value: Sendable>(
        _ count: Int
    ) -> TakeValuesSequence<Self, Value> where Element == StreamItem<Value>, Failure == Never {
        TakeValuesSequence(base: self, count: count)
    }
}

/// The sequence returned by `take(_:)`.
public struct TakeValuesSequence<Base: AsyncSequence, Value: Sendable>: AsyncSequence
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
        Iterator(base: count > 0 ? base.makeAsyncIterator() : nil, remaining: count)
    }

    /// Iterator of ``TakeValuesSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator?
        @usableFromInline var remaining: Int

        @inlinable
        init(base: Base.AsyncIterator?, remaining: Int) {
            self.base = base
            self.remaining = remaining
        }

        /// The next item while values remain.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            guard remaining > 0, var iterator = base else { return nil }
            let item = await iterator.next(isolation: actor)
            guard let item else {
                base = nil
                return nil
            }
            if item.isSuccess {
                remaining -= 1
            }
            // Release the upstream as soon as the last value is out, so background stages stop.
            base = remaining > 0 ? iterator : nil
            return item
        }

        /// The next item while values remain.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension TakeValuesSequence: Sendable where Base: Sendable {}
