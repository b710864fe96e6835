extension AsyncSequence {
    /// Decouples the producer from the consumer with a bounded buffer filled by a background task.
    ///
    /// The task pulls the input ahead of the consumer into a buffer of `policy.capacity` items. When the
    /// buffer is full, `.block` stops pulling until the consumer takes an item (backpressure, nothing
    /// lost); `.dropNewest` drops the incoming item; `.dropOldest` drops the oldest buffered one. Every
    /// dropped item, value or failure, is counted in `dropped`. Cancelling the consuming task, or
    /// releasing its iterator, cancels the background task.
    /// - Parameters:
    ///   - policy: Capacity and overflow behaviour.
    ///   - dropped: Counts the items dropped by a drop policy.
    /// - Returns: The same items, buffered.
    @inlinable
    public func buffer<Value: Sendable>(
        _ policy: BufferPolicy,
        dropped: ItemCounter? = nil
    ) -> BufferSequence<Self, Value> where Self: Sendable, Element == StreamItem<Value>, Failure == Never {
        BufferSequence(base: self, policy: policy, dropped: dropped)
    }
}

/// The sequence returned by `buffer(_:dropped:)`.
public struct BufferSequence<Base: AsyncSequence & Sendable, Value: Sendable>: AsyncSequence, Sendable
where Base.Element == StreamItem<Value>, Base.Failure == Never {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let policy: BufferPolicy
    @usableFromInline let dropped: ItemCounter?

    @inlinable
    init(base: Base, policy: BufferPolicy, dropped: ItemCounter?) {
        self.base = base
        self.policy = policy
        self.dropped = dropped
    }

    /// Creates an iterator; its background task starts with the first call to `next()`.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(sequence: self)
    }

    /// Iterator of ``BufferSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline let sequence: BufferSequence
        @usableFromInline var handle: RelayHandle<StreamItem<Value>, PassThroughCore>?

        @inlinable
        init(sequence: BufferSequence) {
            self.sequence = sequence
        }

        /// The next buffered item.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            if let handle { return await handle.relay.next() }
            if Task.isCancelled { return nil }
            let relay = Relay<StreamItem<Value>, PassThroughCore>(
                capacity: sequence.policy.capacity,
                core: PassThroughCore()
            )
            handle = RelayHandle(relay)
            let (base, dropped) = (sequence.base, sequence.dropped)
            let overflow = Relay<StreamItem<Value>, PassThroughCore>.Overflow(sequence.policy.overflow)
            relay.attach(
                Task {
                    var iterator = base.makeAsyncIterator()
                    while let item = await iterator.next(isolation: nil) {
                        var result = relay.trySend(item, overflow: overflow)
                        if result == nil { result = await relay.send(item, overflow: overflow) }
                        switch result {
                        case .enqueued: continue
                        case .dropped: dropped?.increment()
                        case .terminated, nil: return
                        }
                    }
                    relay.finish()
                }
            )
            return await relay.next()
        }
    }
}
