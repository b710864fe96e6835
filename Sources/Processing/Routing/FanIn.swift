/// Merges `sources` into one sequence, in arrival order; it ends when every source has ended.
///
/// One background task per source pulls it into a shared buffer of `capacity` items; a full buffer
/// makes every source wait (backpressure). Items keep their metadata; failures flow like values.
/// Cancelling the consuming task, or releasing its iterator, cancels every source's task.
///
/// ```swift
/// for await item in fanIn([orders.items(), refunds.items()]) { handle(item) }
/// ```
/// - Parameters:
///   - sources: The sequences to merge; an empty array gives an empty sequence.
///   - capacity: Items merged ahead of the consumer; 16 by default, at least 1.
/// - Returns: The merged sequence.
@inlinable
public func fanIn<Source: AsyncSequence & Sendable, Value: Sendable>(
    _ sources: [Source],
    capacity: Int = 16
) -> FanInSequence<Source, Value> where Source.Element == StreamItem<Value>, Source.Failure == Never {
    FanInSequence(sources: sources, capacity: Swift.max(1, capacity))
}

/// Merges `sources` into one sequence, in arrival order; see ``fanIn(_:capacity:)``.
/// - Parameter sources: The sequences to merge.
/// - Returns: The merged sequence.
@inlinable
public func fanIn<Source: AsyncSequence & Sendable, Value: Sendable>(
    _ sources: Source...
) -> FanInSequence<Source, Value> where Source.Element == StreamItem<Value>, Source.Failure == Never {
    FanInSequence(sources: sources, capacity: 16)
}

/// The sequence returned by `fanIn(_:capacity:)`.
public struct FanInSequence<Source: AsyncSequence & Sendable, Value: Sendable>: AsyncSequence, Sendable
where Source.Element == StreamItem<Value>, Source.Failure == Never {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let sources: [Source]
    @usableFromInline let capacity: Int

    @inlinable
    init(sources: [Source], capacity: Int) {
        self.sources = sources
        self.capacity = capacity
    }

    /// Creates an iterator; the sources' tasks start with the first call to `next()`.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(sequence: self)
    }

    /// Iterator of ``FanInSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline let sequence: FanInSequence
        @usableFromInline var handle: RelayHandle<StreamItem<Value>, PassThroughCore>?

        @inlinable
        init(sequence: FanInSequence) {
            self.sequence = sequence
        }

        /// The next item from any source.
        /// - Returns: The next item, or `nil` when every source has ended, or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            if let handle { return await handle.relay.next() }
            if Task.isCancelled { return nil }
            let relay = Relay<StreamItem<Value>, PassThroughCore>(capacity: sequence.capacity, core: PassThroughCore())
            handle = RelayHandle(relay)
            let sources = sequence.sources
            relay.attach(
                Task {
                    await withDiscardingTaskGroup { group in
                        for source in sources {
                            group.addTask {
                                var iterator = source.makeAsyncIterator()
                                while let item = await iterator.next(isolation: nil) {
                                    var result = relay.trySend(item, overflow: .wait)
                                    if result == nil { result = await relay.send(item, overflow: .wait) }
                                    guard case .enqueued = result else { return }
                                }
                            }
                        }
                    }
                    relay.finish()
                }
            )
            return await relay.next()
        }
    }
}
