extension AsyncSequence where Element: Sendable {
    /// Lifts the sequence into ``StreamItem``s, the element type every processing operator works on.
    ///
    /// Each element becomes a successful item. If the sequence throws, the error becomes one last
    /// failed item (stage `stage`, no item) and the lifted sequence ends; if it throws because the
    /// consuming task was cancelled, the lifted sequence just ends.
    ///
    /// ```swift
    /// for await item in numbers.items().mapValues({ $0 * 2 }) { print(item) }
    /// ```
    /// - Parameters:
    ///   - stage: The stage name recorded when the sequence throws; `"source"` by default.
    ///   - metadata: Computes each item's metadata from its element; `nil` (the default) gives empty metadata.
    /// - Returns: A sequence of items that never throws.
    @inlinable
    public func items(
        stage: String = "source",
        metadata: (@Sendable (Element) -> Metadata)? = nil
    ) -> StreamItemsSequence<Self> {
        StreamItemsSequence(base: self, stage: stage, metadata: metadata)
    }
}

/// The sequence returned by `items()`: elements lifted into ``StreamItem``s; a thrown error becomes a
/// final failed item.
public struct StreamItemsSequence<Base: AsyncSequence>: AsyncSequence where Base.Element: Sendable {
    public typealias Element = StreamItem<Base.Element>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let stage: String
    @usableFromInline let metadata: (@Sendable (Base.Element) -> Metadata)?

    @inlinable
    init(base: Base, stage: String, metadata: (@Sendable (Base.Element) -> Metadata)?) {
        self.base = base
        self.stage = stage
        self.metadata = metadata
    }

    /// Creates an iterator over the lifted elements.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), stage: stage, metadata: metadata)
    }

    /// Iterator of ``StreamItemsSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Base.Element>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let stage: String
        @usableFromInline let metadata: (@Sendable (Base.Element) -> Metadata)?
        @usableFromInline var finished = false

        @inlinable
        init(base: Base.AsyncIterator, stage: String, metadata: (@Sendable (Base.Element) -> Metadata)?) {
            self.base = base
            self.stage = stage
            self.metadata = metadata
        }

        /// The next item; `nil` after the base ends, throws or the task is cancelled.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Base.Element>? {
            guard !finished else { return nil }
            do {
                guard let element = try await base.next(isolation: actor) else {
                    finished = true
                    return nil
                }
                return StreamItem(element, metadata: metadata?(element) ?? Metadata())
            } catch {
                finished = true
                if Task.isCancelled { return nil }
                return StreamItem(failure: ItemFailure(error, stage: stage))
            }
        }

        /// The next item; see ``next(isolation:)``.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Base.Element>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension StreamItemsSequence: Sendable where Base: Sendable {}
