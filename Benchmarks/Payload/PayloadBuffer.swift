/// `count` payloads of exactly `payloadBytes` bytes each, stored back to back in one array
/// (record `i` starts at `i * payloadBytes`), with the event timestamp of each record.
struct PayloadBuffer: Sendable {
    let payloadBytes: Int
    let count: Int
    /// `count * payloadBytes` bytes.
    let bytes: [UInt8]
    /// Event time of each record, milliseconds since 1970, non-decreasing.
    let timestamps: [Int64]

    var totalBytes: Int { bytes.count }

    /// Record `index` as a slice of `bytes` (no copy).
    func record(_ index: Int) -> ArraySlice<UInt8> {
        bytes[(index * payloadBytes)..<((index + 1) * payloadBytes)]
    }

    /// Every record as its own array (copies; build it before timing).
    func records() -> [[UInt8]] {
        (0..<count).map { Array(record($0)) }
    }

    /// The contiguous bytes for the duration of `body`: one call per timed run, then pointer arithmetic.
    func withUnsafeBytes<Value, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        try bytes.withUnsafeBytesTyped(body)
    }
}
