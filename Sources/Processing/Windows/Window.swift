/// The values that fell into one window, with the window's bounds.
///
/// `Time` is the clock's `Instant` for processing-time windows and a `Duration` since the epoch of your
/// timestamps for event-time windows. `start` is inclusive and `end` exclusive. A window is emitted once,
/// when it closes (or when the input ends), with the values in arrival order.
public struct Window<Value: Sendable, Time: Sendable>: Sendable {
    /// The first instant of the window.
    public var start: Time
    /// The instant the window closes (exclusive).
    public var end: Time
    /// The values, in arrival order.
    public var values: [Value]

    /// Creates a window.
    /// - Parameters:
    ///   - start: The first instant.
    ///   - end: The closing instant (exclusive).
    ///   - values: The values in arrival order.
    @inlinable
    public init(start: Time, end: Time, values: [Value]) {
        self.start = start
        self.end = end
        self.values = values
    }

    /// The number of values.
    @inlinable
    public var count: Int { values.count }

    /// Count, sum, minimum, maximum and average of a measure of the values.
    /// - Parameter measure: The number to aggregate for each value.
    /// - Returns: The aggregate of this window.
    @inlinable
    public func aggregate(_ measure: (Value) -> Double) -> WindowAggregate<Time> {
        var sum = 0.0
        var minimum: Double?
        var maximum: Double?
        for value in values {
            let x = measure(value)
            sum += x
            minimum = Swift.min(minimum ?? x, x)
            maximum = Swift.max(maximum ?? x, x)
        }
        return WindowAggregate(
            start: start,
            end: end,
            count: values.count,
            sum: sum,
            min: minimum,
            max: maximum,
            average: values.isEmpty ? nil : sum / Double(values.count)
        )
    }
}

// MARK: - Equatable

extension Window: Equatable where Value: Equatable, Time: Equatable {}

// MARK: - Aggregation of windowed sequences

extension AsyncSequence {
    /// Replaces each window with the count, sum, minimum, maximum and average of `measure` over its values.
    /// - Parameter measure: The number to aggregate for each value.
    /// - Returns: A sequence of aggregates; failures pass through.
    @inlinable
    public func aggregate<Value: Sendable, Time: Sendable>(
        _ measure: @escaping @Sendable (Value) -> Double
    ) -> MapValuesSequence<Self, Window<Value, Time>, WindowAggregate<Time>>
    where Element == StreamItem<Window<Value, Time>>, Failure == Never {
        mapValues(stage: "aggregate") { $0.aggregate(measure) }
    }
}
