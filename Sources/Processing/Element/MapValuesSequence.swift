extension AsyncSequence {
    /// Transforms each value, keeping each item's metadata; failures pass through unchanged.
    ///
    /// When `transform` throws, the item becomes a failure that carries the original value (readable
    /// with `failure.item(as:)`), the error and `stage`, and the sequence goes on. Runs in the
    /// consuming task with no buffering and no extra task. For asynchronous work use `concurrentMap`.
    /// - Parameters:
    ///   - stage: The name recorded in failures raised here; `"mapValues"` by default.
    ///   - transform: The transformation; it may throw.
    /// - Returns: A sequence of transformed items.
    @inlinable
    public func mapValues<Input: Sendable, Output: Sendable>(
        stage: String = "mapValues",
        _ transform: @escaping @Sendable (Input) throws -> Output
    ) -> MapValuesSequence<Self, Input, Output> where Element == StreamItem<Input>, Failure == Never {
        MapValuesSequence(base: self, stage: stage, transform: transform)
    }
}

/// The sequence returned by `mapValues(stage:_:)`.
public struct MapValuesSequence<Base: AsyncSequence, Input: Sendable, Output: Sendable>: AsyncSequence
where Base.Element == StreamItem<Input>, Base.Failure == Never {
    public typealias Element = StreamItem<Output>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let stage: String
    @usableFromInline let transform: @Sendable (Input) throws -> Output

    @inlinable
    init(base: Base, stage: String, transform: @escaping @Sendable (Input) throws -> Output) {
        self.base = base
        self.stage = stage
        self.transform = transform
    }

    /// Creates an iterator.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), stage: stage, transform: transform)
    }

    /// Iterator of ``MapValuesSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Output>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let stage: String
        @usableFromInline let transform: @Sendable (Input) throws -> Output

        @inlinable
        init(base: Base.AsyncIterator, stage: String, transform: @escaping @Sendable (Input) throws -> Output) {
            self.base = base
            self.stage = stage
            self.transform = transform
        }

        /// The next transformed item.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Output>? {
            guard let item = await base.next(isolation: actor) else { return nil }
            return item.mapValue(stage: stage, transform)
        }

        /// The next transformed item.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Output>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension MapValuesSequence: Sendable where Base: Sendable {}
