/// The bytes of an entry's payload: a read-only, zero-based collection of `UInt8`.
///
/// Entries read from the log share the decompressed block they came from (no copy per entry); holding one
/// payload keeps that block (up to 64 KiB by default) in memory, so copy it (`Array(payload)`) to keep it
/// for long. Entries that never left memory share the producer's array.
public struct Payload: RandomAccessCollection, Sendable, Hashable, ExpressibleByArrayLiteral, CustomStringConvertible {
    @usableFromInline let storage: [UInt8]
    @usableFromInline let offset: Int
    /// Number of bytes.
    public let count: Int

    /// Wraps an array (no copy).
    @inlinable
    public init(_ bytes: [UInt8]) {
        storage = bytes
        offset = 0
        count = bytes.count
    }

    /// Copies a byte sequence.
    public init(_ bytes: some Sequence<UInt8>) { self.init(Array(bytes)) }

    public init(arrayLiteral elements: UInt8...) { self.init(elements) }

    /// A view of `range` within `storage` (no copy).
    init(storage: [UInt8], range: Range<Int>) {
        self.storage = storage
        self.offset = range.lowerBound
        self.count = range.count
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { count }

    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "payload index out of range")
        return storage[offset + position]
    }

    /// The bytes as an array (no copy when the payload is a whole array).
    public var bytes: [UInt8] {
        offset == 0 && count == storage.count ? storage : Array(storage[offset..<(offset + count)])
    }

    /// Calls `body` with the bytes in contiguous memory.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)]))
        }
    }

    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try storage.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[offset..<(offset + count)]))
        }
    }

    public static func == (lhs: Payload, rhs: Payload) -> Bool {
        lhs.count == rhs.count && lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in a.elementsEqual(b) } }
    }

    /// Compares with a byte array.
    public static func == (lhs: Payload, rhs: [UInt8]) -> Bool {
        lhs.count == rhs.count && lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in a.elementsEqual(b) } }
    }

    /// Compares with a byte array.
    public static func == (lhs: [UInt8], rhs: Payload) -> Bool { rhs == lhs }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public var description: String { "Payload(\(count) bytes)" }
}
