extension AsyncSequence {
    /// Groups values into consecutive, non-overlapping windows of `size` by their own timestamps,
    /// emitting each window when event time passes its end; failures pass at once.
    ///
    /// Windows are aligned to the timestamps' epoch: `[k·size, (k+1)·size)`. See
    /// `slidingWindows(of:every:allowedLateness:timestamp:)` for how event time advances and what happens
    /// to late values.
    /// - Parameters:
    ///   - size: The window span (at least 1 ns).
    ///   - allowedLateness: How far behind the newest timestamp a window stays open; zero by default.
    ///   - timestamp: A value's event time, as a duration since the epoch (e.g. `.milliseconds(entry.timestamp)`).
    /// - Returns: A sequence of windows (bounds as durations since the epoch), late values as failures, and failures.
    @inlinable
    public func tumblingWindows<Value: Sendable>(
        of size: Duration,
        allowedLateness: Duration = .zero,
        timestamp: @escaping @Sendable (Value) -> Duration
    ) -> EventTimeWindowSequence<Self, Value> where Element == StreamItem<Value>, Failure == Never {
        EventTimeWindowSequence(
            base: self,
            book: WindowBook(size: DurationMath.span(size), slide: DurationMath.span(size)),
            lateness: DurationMath.nonNegativeSpan(allowedLateness),
            timestamp: timestamp
        )
    }

    /// Groups values into overlapping windows of `size` starting every `slide`, by their own
    /// timestamps, emitting each window when event time passes its end; failures pass at once.
    ///
    /// Window starts are multiples of `slide` since the timestamps' epoch; a value joins every window
    /// covering its timestamp. Event time is the newest timestamp seen minus `allowedLateness` (the
    /// watermark): a window is emitted once the watermark reaches its end, so on an endless stream
    /// windows keep coming as long as values do (an idle stream holds its last window until the next
    /// value or the end). A value whose windows have all been emitted is late: it is delivered as a
    /// failure with ``ProcessingError/Code/lateItem`` that carries it, never dropped. Values may arrive
    /// out of order within the lateness. No task and no timer: it runs in the consuming task.
    /// - Parameters:
    ///   - size: The window span (at least 1 ns).
    ///   - slide: The distance between window starts, clamped to `1 ns...size`.
    ///   - allowedLateness: How far behind the newest timestamp a window stays open; zero by default.
    ///   - timestamp: A value's event time, as a duration since the epoch.
    /// - Returns: A sequence of windows, late values as failures, and failures.
    @inlinable
    public func slidingWindows<Value: Sendable>(
        of size: Duration,
        every slide: Duration,
        allowedLateness: Duration = .zero,
        timestamp: @escaping @Sendable (Value) -> Duration
    ) -> EventTimeWindowSequence<Self, Value> where Element == StreamItem<Value>, Failure == Never {
        EventTimeWindowSequence(
            base: self,
            book: WindowBook(size: DurationMath.span(size), slide: DurationMath.span(slide)),
            lateness: DurationMath.nonNegativeSpan(allowedLateness),
            timestamp: timestamp
        )
    }
}

/// The sequence returned by the event-time `tumblingWindows` and `slidingWindows`.
public struct EventTimeWindowSequence<Base: AsyncSequence, Value: Sendable>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never {
    public typealias Element = StreamItem<Window<Value, Duration>>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let book: WindowBook<Value>
    @usableFromInline let lateness: Int64
    @usableFromInline let timestamp: @Sendable (Value) -> Duration

    @inlinable
    init(base: Base, book: WindowBook<Value>, lateness: Int64, timestamp: @escaping @Sendable (Value) -> Duration) {
        self.base = base
        self.book = book
        self.lateness = lateness
        self.timestamp = timestamp
    }

    /// Creates an iterator with no open window.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), book: book, lateness: lateness, timestamp: timestamp)
    }

    /// Iterator of ``EventTimeWindowSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Window<Value, Duration>>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline var book: WindowBook<Value>
        @usableFromInline let lateness: Int64
        @usableFromInline let timestamp: @Sendable (Value) -> Duration
        @usableFromInline var newest: Int64 = .min
        @usableFromInline var ready = Ring<StreamItem<Window<Value, Duration>>>()
        @usableFromInline var finished = false

        @inlinable
        init(
            base: Base.AsyncIterator,
            book: WindowBook<Value>,
            lateness: Int64,
            timestamp: @escaping @Sendable (Value) -> Duration
        ) {
            self.base = base
            self.book = book
            self.lateness = lateness
            self.timestamp = timestamp
        }

        /// The next closed window, late value or failure.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Window<Value, Duration>>?
        {
            while true {
                if let window = ready.popFirst() { return window }
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
                guard book.insert(value, at: position) else {
                    let error = ProcessingError.lateItem(
                        timestamp: .nanoseconds(position),
                        watermark: .nanoseconds(book.closedThrough)
                    )
                    return StreamItem(
                        failure: ItemFailure(error, item: value, stage: "windows"),
                        metadata: item.metadata
                    )
                }
                newest = Swift.max(newest, position)
                emit(book.close(through: newest - lateness))
            }
        }

        /// The next closed window, late value or failure.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Window<Value, Duration>>? {
            await next(isolation: nil)
        }

        @inlinable
        mutating func emit(_ closed: [WindowBook<Value>.Closed]) {
            for window in closed {
                ready.append(
                    StreamItem(
                        Window(start: .nanoseconds(window.start), end: .nanoseconds(window.end), values: window.values)
                    )
                )
            }
        }
    }
}

// MARK: - Sendable

extension EventTimeWindowSequence: Sendable where Base: Sendable {}
