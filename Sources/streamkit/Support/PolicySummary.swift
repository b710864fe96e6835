import StreamKitLogFiles

/// A retention policy as `inspect` reports it (JSON: `max_age_seconds`, `max_bytes`, `max_entries_per_segment`,
/// each absent when not bounded; text: ``LogRetention/Policy/description``).
struct PolicySummary: Encodable, Equatable {
    var maxAgeSeconds: Double?
    var maxBytes: Int64?
    var maxEntriesPerSegment: Int?
    /// The bounds in words.
    let text: String

    init(_ policy: LogRetention.Policy) {
        maxAgeSeconds = policy.maxAge.map { Double($0.nanoseconds) / 1e9 }
        maxBytes = policy.maxBytes
        maxEntriesPerSegment = policy.maxEntriesPerSegment
        text = policy.description
    }

    private enum CodingKeys: String, CodingKey { case maxAgeSeconds, maxBytes, maxEntriesPerSegment }
}
