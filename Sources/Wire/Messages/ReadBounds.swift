/// The optional bounds of a read request; 0 means "no bound" for each field, as in the store's read calls.
public struct ReadBounds: Hashable, Sendable {
    /// First sequence (inclusive); segment reads only.
    public var minSequence: UInt64
    /// Last sequence (inclusive); segment reads only.
    public var maxSequence: UInt64
    /// Only entries committed after this (exclusive), nanoseconds since the Unix epoch.
    public var minTimestamp: Int64
    /// Only entries committed at or before this (inclusive).
    public var maxTimestamp: Int64

    /// No bounds.
    public static let none = ReadBounds()

    /// Creates bounds.
    ///
    /// - Parameters:
    ///   - minSequence: First sequence (inclusive; 0 = from the start). Ignored by space reads.
    ///   - maxSequence: Last sequence (inclusive; 0 = no bound). Ignored by space reads.
    ///   - minTimestamp: Exclusive lower commit-time bound (0 = none).
    ///   - maxTimestamp: Inclusive upper commit-time bound (0 = none).
    public init(minSequence: UInt64 = 0, maxSequence: UInt64 = 0, minTimestamp: Int64 = 0, maxTimestamp: Int64 = 0) {
        self.minSequence = minSequence
        self.maxSequence = maxSequence
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
    }
}
