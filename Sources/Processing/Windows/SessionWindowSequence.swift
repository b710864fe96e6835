extension AsyncSequence {
    /// Groups values per key into sessions that close after `gap` of processing-time inactivity,
    /// emitting each session when it closes; failures pass at once.
    ///
    /// A session starts with a key's first value and goes on while the next value of that key comes
    /// within `gap`; a timer task closes it exactly when `gap` has passed since its last value (no
    /// polling lag), so sessions come out on endless streams. At most `maxSessions` sessions are open
    /// at once: beyond that the one ending soonest is emitted early, keeping memory bounded. Open
    /// sessions are emitted when the input ends. Cancelling the consuming task, or releasing its
    /// iterator, stops the background tasks.
    /// - Parameters:
    ///   - gap: The inactivity that closes a session (at least 1 ns).
    ///   - maxSessions: The most open sessions; 10,000 by default; at least 1.
    ///   - clock: The processing-time clock; `ContinuousClock` by default.
    ///   - key: The session key of a value.
    /// - Returns: A sequence of keyed session windows and failures.
    @inlinable
    public func sessionWindows<Value: Sendable, Key: Hashable & Sendable, C: Clock>(
        gap: Duration,
        maxSessions: Int = 10_000,
        clock: C = ContinuousClock(),
        by key: @escaping @Sendable (Value) -> Key
    ) -> SessionWindowSequence<Self, Value, Key, C>
    where Self: Sendable, Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        SessionWindowSequence(base: self, gap: DurationMath.span(gap), maxSessions: maxSessions, clock: clock, key: key)
    }
}

/// The sequence returned by `sessionWindows(gap:maxSessions:clock:by:)`.
public struct SessionWindowSequence<
    Base: AsyncSequence & Sendable,
    Value: Sendable,
    Key: Hashable & Sendable,
    C: Clock
>:
    AsyncSequence, Sendable
where Base.Element == StreamItem<Value>, Base.Failure == Never, C.Duration == Duration {
    public typealias Element = StreamItem<KeyedWindow<Key, Value, C.Instant>>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let gap: Int64
    @usableFromInline let maxSessions: Int
    @usableFromInline let clock: C
    @usableFromInline let key: @Sendable (Value) -> Key

    @inlinable
    init(base: Base, gap: Int64, maxSessions: Int, clock: C, key: @escaping @Sendable (Value) -> Key) {
        self.base = base
        self.gap = gap
        self.maxSessions = maxSessions
        self.clock = clock
        self.key = key
    }

    /// Creates an iterator; its background tasks start with the first call to `next()`.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        let (gap, maxSessions, clock, key) = (gap, maxSessions, clock, key)
        return Iterator(
            driver: TimedDriver(base: base, clock: clock, capacity: 2) {
                SessionCore(book: SessionBook(gap: gap, maxSessions: maxSessions), clock: clock, key: key)
            }
        )
    }

    /// Iterator of ``SessionWindowSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<KeyedWindow<Key, Value, C.Instant>>
        public typealias Failure = Never

        @usableFromInline var driver: TimedDriver<Base, SessionCore<Value, Key, C>, C>

        @inlinable
        init(driver: TimedDriver<Base, SessionCore<Value, Key, C>, C>) {
            self.driver = driver
        }

        /// The next closed session or failure.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<KeyedWindow<Key, Value, C.Instant>>? {
            await driver.next()
        }
    }
}

/// The state of one processing-time session iterator.
@usableFromInline
struct SessionCore<Value: Sendable, Key: Hashable & Sendable, C: Clock>: TimedCore where C.Duration == Duration {
    @usableFromInline typealias Output = StreamItem<KeyedWindow<Key, Value, C.Instant>>

    @usableFromInline var book: SessionBook<Key, Value>
    @usableFromInline let clock: C
    @usableFromInline let origin: C.Instant
    @usableFromInline let key: @Sendable (Value) -> Key

    @inlinable
    init(book: SessionBook<Key, Value>, clock: C, key: @escaping @Sendable (Value) -> Key) {
        self.book = book
        self.clock = clock
        self.key = key
        origin = clock.now
    }

    @inlinable
    var deadline: C.Instant? {
        book.nextEnd.map { origin.advanced(by: .nanoseconds($0)) }
    }

    @inlinable
    mutating func receive(_ input: StreamItem<Value>, into output: inout Ring<Output>) {
        switch input.outcome {
        case .success(let value):
            // Processing time only moves forward, so a value is never late here.
            emit(book.insert(value, key: key(value), at: position(clock.now)) ?? [], into: &output)
        case .failure(let failure):
            output.append(StreamItem(failure: failure, metadata: input.metadata))
        }
    }

    @inlinable
    mutating func fire(into output: inout Ring<Output>) {
        emit(book.close(through: position(clock.now)), into: &output)
    }

    @inlinable
    mutating func flush(into output: inout Ring<Output>) {
        emit(book.closeAll(), into: &output)
    }

    @inlinable
    func position(_ instant: C.Instant) -> Int64 {
        DurationMath.position(origin.duration(to: instant))
    }

    @inlinable
    func emit(_ closed: [SessionBook<Key, Value>.Closed], into output: inout Ring<Output>) {
        for session in closed {
            output.append(
                StreamItem(
                    KeyedWindow(
                        key: session.key,
                        window: Window(
                            start: origin.advanced(by: .nanoseconds(session.start)),
                            end: origin.advanced(by: .nanoseconds(session.end)),
                            values: session.values
                        )
                    )
                )
            )
        }
    }
}
