extension AsyncSequence {
    /// Groups values into consecutive, non-overlapping windows of `size` in processing time (`clock`),
    /// emitting each window when it closes; failures pass at once.
    ///
    /// Windows are aligned to the instant iteration starts (the first `next()`): `[t0, t0+size)`,
    /// `[t0+size, t0+2·size)`, … A timer task closes each window when the clock reaches its end, even if
    /// no value arrives, so windows come out on endless streams. Windows with no value are not emitted.
    /// When the input ends the open window is emitted early. A window holds every value of its span
    /// (memory grows with rate × size). See `slidingWindows(of:every:clock:)` for the rest.
    /// - Parameters:
    ///   - size: The window span (at least 1 ns).
    ///   - clock: The processing-time clock; `ContinuousClock` by default.
    /// - Returns: A sequence of windows and failures.
    @inlinable
    public func tumblingWindows<Value: Sendable, C: Clock>(
        of size: Duration,
        clock: C = ContinuousClock()
    ) -> WindowSequence<Self, Value, C>
    where Self: Sendable, Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        WindowSequence(base: self, size: DurationMath.span(size), slide: DurationMath.span(size), clock: clock)
    }

    /// Groups values into overlapping windows of `size` starting every `slide` in processing time
    /// (`clock`), emitting each window when it closes; failures pass at once.
    ///
    /// Window starts are `t0 + k·slide`, where `t0` is the instant iteration starts, and a value joins
    /// every window covering its arrival instant (so it appears in up to `size / slide` windows).
    /// A background task pulls the input and a timer task closes windows on time, so they come out on
    /// endless streams; at most two closed windows wait for a slow consumer, after which the input is no
    /// longer pulled. Windows with no value are not emitted; open windows are emitted when the input ends.
    /// Cancelling the consuming task, or releasing its iterator, stops both tasks. Each window is a new
    /// item with empty metadata.
    /// - Parameters:
    ///   - size: The window span (at least 1 ns).
    ///   - slide: The distance between window starts, clamped to `1 ns...size`.
    ///   - clock: The processing-time clock; `ContinuousClock` by default.
    /// - Returns: A sequence of windows and failures.
    @inlinable
    public func slidingWindows<Value: Sendable, C: Clock>(
        of size: Duration,
        every slide: Duration,
        clock: C = ContinuousClock()
    ) -> WindowSequence<Self, Value, C>
    where Self: Sendable, Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        WindowSequence(base: self, size: DurationMath.span(size), slide: DurationMath.span(slide), clock: clock)
    }
}

/// The sequence returned by `tumblingWindows(of:clock:)` and `slidingWindows(of:every:clock:)`.
public struct WindowSequence<Base: AsyncSequence & Sendable, Value: Sendable, C: Clock>: AsyncSequence, Sendable
where Base.Element == StreamItem<Value>, Base.Failure == Never, C.Duration == Duration {
    public typealias Element = StreamItem<Window<Value, C.Instant>>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let size: Int64
    @usableFromInline let slide: Int64
    @usableFromInline let clock: C

    @inlinable
    init(base: Base, size: Int64, slide: Int64, clock: C) {
        self.base = base
        self.size = size
        self.slide = slide
        self.clock = clock
    }

    /// Creates an iterator; windows are aligned to its first call to `next()`.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        let (size, slide, clock) = (size, slide, clock)
        return Iterator(
            driver: TimedDriver(base: base, clock: clock, capacity: 2) {
                WindowCore(book: WindowBook(size: size, slide: slide), clock: clock)
            }
        )
    }

    /// Iterator of ``WindowSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Window<Value, C.Instant>>
        public typealias Failure = Never

        @usableFromInline var driver: TimedDriver<Base, WindowCore<Value, C>, C>

        @inlinable
        init(driver: TimedDriver<Base, WindowCore<Value, C>, C>) {
            self.driver = driver
        }

        /// The next closed window or failure.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<Window<Value, C.Instant>>? {
            await driver.next()
        }
    }
}

/// The state of one processing-time window iterator.
@usableFromInline
struct WindowCore<Value: Sendable, C: Clock>: TimedCore where C.Duration == Duration {
    @usableFromInline var book: WindowBook<Value>
    @usableFromInline let clock: C
    @usableFromInline let origin: C.Instant

    @inlinable
    init(book: WindowBook<Value>, clock: C) {
        self.book = book
        self.clock = clock
        origin = clock.now
    }

    @inlinable
    var deadline: C.Instant? {
        book.nextEnd.map { origin.advanced(by: .nanoseconds($0)) }
    }

    @inlinable
    mutating func receive(_ input: StreamItem<Value>, into output: inout Ring<StreamItem<Window<Value, C.Instant>>>) {
        switch input.outcome {
        case .success(let value):
            // Processing time only moves forward, so the arrival instant's windows are always open.
            _ = book.insert(value, at: position(clock.now))
        case .failure(let failure):
            output.append(StreamItem(failure: failure, metadata: input.metadata))
        }
    }

    @inlinable
    mutating func fire(into output: inout Ring<StreamItem<Window<Value, C.Instant>>>) {
        emit(book.close(through: position(clock.now)), into: &output)
    }

    @inlinable
    mutating func flush(into output: inout Ring<StreamItem<Window<Value, C.Instant>>>) {
        emit(book.closeAll(), into: &output)
    }

    @inlinable
    func position(_ instant: C.Instant) -> Int64 {
        DurationMath.position(origin.duration(to: instant))
    }

    @inlinable
    func emit(_ closed: [WindowBook<Value>.Closed], into output: inout Ring<StreamItem<Window<Value, C.Instant>>>) {
        for window in closed {
            output.append(
                StreamItem(
                    Window(
                        start: origin.advanced(by: .nanoseconds(window.start)),
                        end: origin.advanced(by: .nanoseconds(window.end)),
                        values: window.values
                    )
                )
            )
        }
    }
}
