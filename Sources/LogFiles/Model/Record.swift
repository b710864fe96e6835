/// One record a producer hands in: its segment sequence number, its payload, and string metadata.
public struct Record: Sendable, Hashable {
    /// The producer-assigned sequence number in its segment (1, 2, 3 …).
    public var sequence: UInt64
    /// Opaque payload bytes.
    public var payload: [UInt8]
    /// Free-form string metadata.
    public var metadata: [String: String]

    /// Creates a record.
    public init(sequence: UInt64, payload: [UInt8], metadata: [String: String] = [:]) {
        self.sequence = sequence
        self.payload = payload
        self.metadata = metadata
    }
}
