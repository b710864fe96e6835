extension AsyncSequence {
    /// Keeps the values for which `isIncluded` returns `true`; failures always pass.
    ///
    /// A rejected value is dropped on purpose, which is what a filter is for. When `isIncluded` throws,
    /// the item becomes a failure that carries the value and `stage`. Metadata is kept unchanged.
    /// - Parameters:
    ///   - stage: The name recorded in failures raised here; `"filterValues"` by default.
    ///   - isIncluded: The predicate; it may throw.
    /// - Returns: A sequence of the kept items and every failure.
    @inlinable
    public func filterValues<Value: Sendable>(
        stage: String = "filterValues",
        _ isIncluded: @escaping @Sendable (Value) throws -> Bool
    ) -> FilterValuesSequence<Self, Value> where Element == StreamItem<Value>, Failure == Never {
        FilterValuesSequence(base: self, stage: stage, isIncluded: isIncluded)
    }
}

/// The sequence returned by `filterValues(stage:_:)`.
public struct FilterValuesSequence<Base: AsyncSequence, Value: Sendable>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let stage: String
    @usableFromInline let isIncluded: @Sendable (Value) throws -> Bool

    @inlinable
    init(base: Base, stage: String, isIncluded: @escaping @Sendable (Value) throws -> Bool) {
        self.base = base
        self.stage = stage
        self.isIncluded = isIncluded
    }

    /// Creates an iterator.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), stage: stage, isIncluded: isIncluded)
    }

    /// Iterator of ``FilterValuesSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let stage: String
        @usableFromInline let isIncluded: @Sendable (Value) throws -> Bool

        @inlinable
        init(base: Base.AsyncIterator, stage: String, isIncluded: @escaping @Sendable (Value) throws -> Bool) {
            self.base = base
            self.stage = stage
            self.isIncluded = isIncluded
        }

        /// The next kept item or failure.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            while let item = await base.next(isolation: actor) {
                guard case .success(let value) = item.outcome else { return item }
                do {
                    if try isIncluded(value) { return item }
                } catch {
                    return StreamItem(failure: ItemFailure(error, item: value, stage: stage), metadata: item.metadata)
                }
            }
            return nil
        }

        /// The next kept item or failure.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension FilterValuesSequence: Sendable where Base: Sendable {}
