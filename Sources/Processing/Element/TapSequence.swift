extension AsyncSequence {
    /// Calls `observe` with every item, values and failures, and passes the item on unchanged.
    ///
    /// Use it for logging and metrics. `observe` cannot throw, so it cannot end or alter the pipeline
    /// (Swift has no panics to recover: a trap in `observe` stops the process, as anywhere else).
    /// - Parameter observe: Called once per item, in order, in the consuming task.
    /// - Returns: The same items.
    @inlinable
    public func tap<Value: Sendable>(
        _ observe: @escaping @Sendable (StreamItem<Value>) -> Void
    ) -> TapSequence<Self, Value> where Element == StreamItem<Value>, Failure == Never {
        TapSequence(base: self, observe: observe)
    }
}

/// The sequence returned by `tap(_:)`.
public struct TapSequence<Base: AsyncSequence, Value: Sendable>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let observe: @Sendable (StreamItem<Value>) -> Void

    @inlinable
    init(base: Base, observe: @escaping @Sendable (StreamItem<Value>) -> Void) {
        self.base = base
        self.observe = observe
    }

    /// Creates an iterator.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), observe: observe)
    }

    /// Iterator of ``TapSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let observe: @Sendable (StreamItem<Value>) -> Void

        @inlinable
        init(base: Base.AsyncIterator, observe: @escaping @Sendable (StreamItem<Value>) -> Void) {
            self.base = base
            self.observe = observe
        }

        /// The next item, after `observe` has seen it.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            guard let item = await base.next(isolation: actor) else { return nil }
            observe(item)
            return item
        }

        /// The next item, after `observe` has seen it.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension TapSequence: Sendable where Base: Sendable {}
