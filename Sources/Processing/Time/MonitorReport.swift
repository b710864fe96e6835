/// What `monitor(every:clock:report:)` observed during one interval.
public struct MonitorReport: Sendable, Hashable {
    /// Items that passed (values and failures).
    public var count: Int
    /// Failed items among them.
    public var failures: Int
    /// The length of the interval (the last report of a finished sequence may be shorter).
    public var interval: Duration
    /// Items per second over the interval (0 for an empty interval).
    public var ratePerSecond: Double

    /// Creates a report.
    /// - Parameters:
    ///   - count: Items that passed.
    ///   - failures: Failed items among them.
    ///   - interval: The length of the interval.
    public init(count: Int, failures: Int, interval: Duration) {
        self.count = count
        self.failures = failures
        self.interval = interval
        let (seconds, attoseconds) = interval.components
        let length = Double(seconds) + Double(attoseconds) * 1e-18
        ratePerSecond = length > 0 ? Double(count) / length : 0
    }
}
