extension AsyncSequence {
    /// Delivers the elements of each value (an array, a chunk, a batch) one by one; failures pass.
    ///
    /// Each element gets a copy of its container's metadata. An empty container yields nothing.
    /// - Returns: A sequence of the contained elements and every failure.
    @inlinable
    public func flatten<Value: Sequence & Sendable>() -> FlattenSequence<Self, Value>
    where Element == StreamItem<Value>, Failure == Never, Value.Element: Sendable {
        FlattenSequence(base: self)
    }
}

/// The sequence returned by `flatten()`.
public struct FlattenSequence<Base: AsyncSequence, Value: Sequence & Sendable>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never, Value.Element: Sendable {
    public typealias Element = StreamItem<Value.Element>
    public typealias Failure = Never

    @usableFromInline let base: Base

    @inlinable
    init(base: Base) {
        self.base = base
    }

    /// Creates an iterator.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator())
    }

    /// Iterator of ``FlattenSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value.Element>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline var inner: Value.Iterator?
        @usableFromInline var metadata = Metadata()

        @inlinable
        init(base: Base.AsyncIterator) {
            self.base = base
        }

        /// The next contained element or failure.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value.Element>? {
            while true {
                if inner != nil {
                    if let element = inner?.next() { return StreamItem(element, metadata: metadata) }
                    inner = nil
                }
                guard let item = await base.next(isolation: actor) else { return nil }
                switch item.outcome {
                case .success(let container):
                    inner = container.makeIterator()
                    metadata = item.metadata
                case .failure(let failure):
                    return StreamItem(failure: failure, metadata: item.metadata)
                }
            }
        }

        /// The next contained element or failure.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Value.Element>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension FlattenSequence: Sendable where Base: Sendable {}
