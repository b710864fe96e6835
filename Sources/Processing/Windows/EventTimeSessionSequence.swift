extension AsyncSequence {
    /// Groups values per key into sessions by their own timestamps: a session closes once event time
    /// passes its last value plus `gap`; failures pass at once.
    ///
    /// Event time is the newest timestamp seen minus `allowedLateness` (the watermark). A value joins
    /// the sessions of its key it comes within `gap` of (merging them if it bridges two), else starts a
    /// new one; a session is emitted once the watermark reaches its last value plus `gap`. A value whose
    /// session would already be closed is delivered as a failure with ``ProcessingError/Code/lateItem``
    /// that carries it. At most `maxSessions` sessions are open at once (beyond that the one ending
    /// soonest is emitted early). Open sessions are emitted when the input ends. No task and no timer.
    /// - Parameters:
    ///   - gap: The inactivity, in event time, that closes a session (at least 1 ns).
    ///   - maxSessions: The most open sessions; 10,000 by default; at least 1.
    ///   - allowedLateness: How far behind the newest timestamp sessions stay open; zero by default.
    ///   - timestamp: A value's event time, as a duration since the epoch.
    ///   - key: The session key of a value.
    /// - Returns: A sequence of keyed session windows, late values as failures, and failures.
    @inlinable
    public func sessionWindows<Value: Sendable, Key: Hashable & Sendable>(
        gap: Duration,
        maxSessions: Int = 10_000,
        allowedLateness: Duration = .zero,
        timestamp: @escaping @Sendable (Value) -> Duration,
        by key: @escaping @Sendable (Value) -> Key
    ) -> EventTimeSessionSequence<Self, Value, Key> where Element == StreamItem<Value>, Failure == Never {
        EventTimeSessionSequence(
            base: self,
            book: SessionBook(gap: DurationMath.span(gap), maxSessions: maxSessions),
            lateness: DurationMath.nonNegativeSpan(allowedLateness),
            timestamp: timestamp,
            key: key
        )
    }
}

/// The sequence returned by the event-time `sessionWindows`.
public struct EventTimeSessionSequence<Base: AsyncSequence, Value: Sendable, Key: Hashable & Sendable>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never {
    public typealias Element = StreamItem<KeyedWindow<Key, Value, Duration>>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let book: SessionBook<Key, Value>
    @usableFromInline let lateness: Int64
    @usableFromInline let timestamp: @Sendable (Value) -> Duration
    @usableFromInline let key: @Sendable (Value) -> Key

    @inlinable
    init(
        base: Base,
        book: SessionBook<Key, Value>,
        lateness: Int64,
        timestamp: @escaping @Sendable (Value) -> Duration,
        key: @escaping @Sendable (Value) -> Key
    ) {
        self.base = base
        self.book = book
        self.lateness = lateness
        self.timestamp = timestamp
        self.key = key
    }

    /// Creates an iterator with no open session.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), sequence: self)
    }

    /// Iterator of ``EventTimeSessionSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<KeyedWindow<Key, Value, Duration>>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline var book: SessionBook<Key, Value>
        @usableFromInline let lateness: Int64
        @usableFromInline let timestamp: @Sendable (Value) -> Duration
        @usableFromInline let key: @Sendable (Value) -> Key
        @usableFromInline var newest: Int64 = .min
        @usableFromInline var ready = Ring<StreamItem<KeyedWindow<Key, Value, Duration>>>()
        @usableFromInline var finished = false

        @inlinable
        init(base: Base.AsyncIterator, sequence: EventTimeSessionSequence) {
            self.base = base
            book = sequence.book
            lateness = sequence.lateness
            timestamp = sequence.timestamp
            key = sequence.key
        }

        /// The next closed session, late value or failure.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(
            isolation actor: isolated (any Actor)?
        ) async -> StreamItem<KeyedWindow<Key, Value, Duration>>? {
            while true {
                if let session = ready.popFirst() { return session }
                if finished { return nil }
                guard let item = await base.next(isolation: actor) else {
                    finished = true
                    emit(book.closeAll())
                    continue
                }
                let value: Value
                switch item.outcome {
                case .success(let success): value = success
                case .failure(let failure): return StreamItem(failure: failure, metadata: item.metadata)
                }
                let position = DurationMath.position(timestamp(value))
                guard let evicted = book.insert(value, key: key(value), at: position) else {
                    let error = ProcessingError.lateItem(
                        timestamp: .nanoseconds(position),
                        watermark: .nanoseconds(book.closedThrough)
                    )
                    return StreamItem(
                        failure: ItemFailure(error, item: value, stage: "sessionWindows"),
                        metadata: item.metadata
                    )
                }
                emit(evicted)
                newest = Swift.max(newest, position)
                emit(book.close(through: newest - lateness))
            }
        }

        /// The next closed session, late value or failure.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<KeyedWindow<Key, Value, Duration>>? {
            await next(isolation: nil)
        }

        @inlinable
        mutating func emit(_ closed: [SessionBook<Key, Value>.Closed]) {
            for session in closed {
                ready.append(
                    StreamItem(
                        KeyedWindow(
                            key: session.key,
                            window: Window(
                                start: .nanoseconds(session.start),
                                end: .nanoseconds(session.end),
                                values: session.values
                            )
                        )
                    )
                )
            }
        }
    }
}

// MARK: - Sendable

extension EventTimeSessionSequence: Sendable where Base: Sendable {}
