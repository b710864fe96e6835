/// The open tumbling or sliding windows of one iterator, on integer nanosecond positions.
///
/// Windows start at multiples of `slide` (from position 0) and span `size`; tumbling windows have
/// `slide == size`. A value at position `p` joins every open window with `start <= p < start + size`.
/// ``close(through:)`` closes every window whose end is at or before a watermark; a value whose windows
/// are all closed is late. Open windows stay sorted by start, which is also the order of their ends.
@usableFromInline
struct WindowBook<Value: Sendable>: Sendable {
    @usableFromInline
    struct Closed: Sendable {
        @usableFromInline var start: Int64
        @usableFromInline var end: Int64
        @usableFromInline var values: [Value]

        @inlinable
        init(start: Int64, end: Int64, values: [Value]) {
            self.start = start
            self.end = end
            self.values = values
        }
    }

    @usableFromInline
    struct Open: Sendable {
        @usableFromInline var start: Int64
        @usableFromInline var values: [Value]

        @inlinable
        init(start: Int64, values: [Value]) {
            self.start = start
            self.values = values
        }
    }

    @usableFromInline let size: Int64
    @usableFromInline let slide: Int64
    @usableFromInline var open: [Open] = []
    /// Every window ending at or before this position is closed.
    @usableFromInline var closedThrough: Int64 = .min

    /// - Parameters:
    ///   - size: The window span in nanoseconds (at least 1).
    ///   - slide: The distance between window starts, clamped to `1...size`.
    @inlinable
    init(size: Int64, slide: Int64) {
        self.size = Swift.max(1, size)
        self.slide = Swift.min(self.size, Swift.max(1, slide))
    }

    /// The end of the earliest open window.
    @inlinable
    var nextEnd: Int64? { open.first.map { $0.start + size } }

    /// Adds `value` at `position` to each of its open windows; `false` when all of them are closed.
    @inlinable
    mutating func insert(_ value: Value, at position: Int64) -> Bool {
        var start = DurationMath.floorDivide(position, slide) * slide
        var accepted = false
        while start + size > position {
            if start + size > closedThrough {
                add(value, to: start)
                accepted = true
            }
            start -= slide
        }
        return accepted
    }

    /// Closes the windows that end at or before `watermark`, earliest first.
    @inlinable
    mutating func close(through watermark: Int64) -> [Closed] {
        closedThrough = Swift.max(closedThrough, watermark)
        var closed: [Closed] = []
        while let first = open.first, first.start + size <= closedThrough {
            closed.append(Closed(start: first.start, end: first.start + size, values: first.values))
            open.removeFirst()
        }
        return closed
    }

    /// Closes every window, earliest first.
    @inlinable
    mutating func closeAll() -> [Closed] {
        defer { open = [] }
        return open.map { Closed(start: $0.start, end: $0.start + size, values: $0.values) }
    }

    @inlinable
    mutating func add(_ value: Value, to start: Int64) {
        var index = open.count
        while index > 0, open[index - 1].start > start { index -= 1 }
        if index > 0, open[index - 1].start == start {
            open[index - 1].values.append(value)
        } else {
            open.insert(Open(start: start, values: [value]), at: index)
        }
    }
}
