/// Count, sum, minimum, maximum and average of a measure over one window.
public struct WindowAggregate<Time: Sendable>: Sendable {
    /// The window's first instant.
    public var start: Time
    /// The window's closing instant (exclusive).
    public var end: Time
    /// The number of values.
    public var count: Int
    /// The sum of the measures (0 for no value).
    public var sum: Double
    /// The smallest measure, `nil` for no value.
    public var min: Double?
    /// The largest measure, `nil` for no value.
    public var max: Double?
    /// The mean measure, `nil` for no value.
    public var average: Double?

    @inlinable
    init(start: Time, end: Time, count: Int, sum: Double, min: Double?, max: Double?, average: Double?) {
        self.start = start
        self.end = end
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
        self.average = average
    }
}

// MARK: - Equatable

extension WindowAggregate: Equatable where Time: Equatable {}
