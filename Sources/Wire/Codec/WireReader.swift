#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A bounds-checked cursor over one message body (or frame header) in contiguous memory.
///
/// Every read checks the remaining bytes first and throws a ``WireError`` instead of trapping; sizes and counts
/// are checked against the limits and the remaining bytes before anything is allocated.
struct WireReader {
    private let bytes: UnsafeRawBufferPointer
    /// Next byte to read.
    private(set) var offset: Int
    /// Added to `offset` in errors (where this buffer starts in the frame).
    let origin: Int
    let limits: WireLimits

    init(_ bytes: UnsafeRawBufferPointer, origin: Int = 0, limits: WireLimits) {
        self.bytes = bytes
        self.offset = 0
        self.origin = origin
        self.limits = limits
    }

    var remaining: Int { bytes.count &- offset }
    var isAtEnd: Bool { offset >= bytes.count }
    /// The absolute offset of the next byte, for errors.
    var position: Int { origin &+ offset }

    // MARK: - Scalars

    @inline(__always)
    mutating func byte(_ what: @autoclosure () -> String = "a byte") throws(WireError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(at: position, what()) }
        let value = bytes[offset]
        offset &+= 1
        return value
    }

    @inline(__always)
    mutating func bool() throws(WireError) -> Bool {
        let value = try byte("a boolean")
        guard value <= 1 else { throw .malformed(at: position &- 1, "a boolean must be 0 or 1, got \(value)") }
        return value == 1
    }

    /// An unsigned LEB128 varint: at most 10 bytes, minimal (no redundant trailing zero groups), within 64 bits.
    @inline(__always)
    mutating func varint() throws(WireError) -> UInt64 {
        if offset < bytes.count {
            let first = bytes[offset]
            if first < 0x80 {
                offset &+= 1
                return UInt64(first)
            }
        }
        return try varintSlow()
    }

    @inline(never)
    private mutating func varintSlow() throws(WireError) -> UInt64 {
        let start = position
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for index in 0..<10 {
            guard offset < bytes.count else { throw .truncated(at: start, "a varint") }
            let byte = bytes[offset]
            offset &+= 1
            if index == 9 && byte > 1 {
                throw .malformed(at: start, "a varint overflows 64 bits")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                if byte == 0 && index > 0 { throw .malformed(at: start, "a varint is not minimally encoded") }
                return value
            }
            shift &+= 7
        }
        throw .malformed(at: start, "a varint is longer than 10 bytes")
    }

    @inline(__always)
    mutating func zigZag() throws(WireError) -> Int64 { ZigZag.decode(try varint()) }

    /// A zig-zag varint that must fit in `Int`.
    mutating func int() throws(WireError) -> Int {
        let start = position
        let value = try zigZag()
        guard let int = Int(exactly: value) else { throw .malformed(at: start, "\(value) does not fit in Int") }
        return int
    }

    mutating func double() throws(WireError) -> Double {
        guard remaining >= 8 else { throw .truncated(at: position, "a float64") }
        let bits = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        offset &+= 8
        return Double(bitPattern: bits)
    }

    mutating func uuid() throws(WireError) -> UUID {
        guard remaining >= 16 else { throw .truncated(at: position, "a UUID") }
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &raw) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset &+ 16)]))
        }
        offset &+= 16
        return UUID(uuid: raw)
    }

    // MARK: - Sizes and counts

    /// A count of elements that each take at least `minimumBytes`, checked against `limit` and the remaining bytes.
    mutating func count(_ what: String, limit: Int, minimumBytes: Int) throws(WireError) -> Int {
        let start = position
        let value = try varint()
        guard value <= UInt64(limit) else { throw .tooLarge(at: start, what, value: value, limit: limit) }
        let count = Int(value)
        guard count <= remaining / Swift.max(1, minimumBytes) else {
            throw .truncated(at: start, "\(what) (\(count) declared, \(remaining) bytes left)")
        }
        return count
    }

    /// A byte length checked against `limit` and the remaining bytes.
    @inline(__always)
    mutating func length(_ what: String, limit: Int) throws(WireError) -> Int {
        let start = position
        let value = try varint()
        guard value <= UInt64(limit) else { throw .tooLarge(at: start, what, value: value, limit: limit) }
        let length = Int(value)
        guard length <= remaining else {
            throw .truncated(at: start, "\(what) (\(length) bytes declared, \(remaining) left)")
        }
        return length
    }

    /// The next `count` bytes (checked by the caller) without copying.
    @inline(__always)
    mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset &+ count)])
        offset &+= count
        return slice
    }

    // MARK: - Strings and byte strings

    /// A varint length then that many bytes of valid UTF-8.
    @inline(__always)
    mutating func string(_ what: String = "a string") throws(WireError) -> String {
        let length = try length(what, limit: limits.maxStringBytes)
        let start = position
        let raw = take(length)
        if length == 0 { return "" }
        guard let string = String(validating: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw WireError(code: .invalidUTF8, offset: start, message: "\(what) is not valid UTF-8")
        }
        return string
    }

    /// A varint length then that many bytes, copied into a new exactly-sized array.
    @inline(__always)
    mutating func byteArray(limit: Int) throws(WireError) -> [UInt8] {
        let length = try length("a payload", limit: limit)
        let raw = take(length)
        return [UInt8](unsafeUninitializedCapacity: length) { target, initialized in
            if let destination = target.baseAddress, let source = raw.baseAddress {
                UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: length)
            }
            initialized = length
        }
    }

    /// A metadata map: a count then key, value string pairs. Duplicate keys are malformed.
    mutating func metadata() throws(WireError) -> [String: String] {
        let pairs = try count("metadata pairs", limit: limits.maxMetadataPairs, minimumBytes: 2)
        if pairs == 0 { return [:] }
        var metadata = [String: String](minimumCapacity: pairs)
        for _ in 0..<pairs {
            let start = position
            let key = try string("a metadata key")
            let value = try string("a metadata value")
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw .malformed(at: start, "duplicate metadata key")
            }
        }
        return metadata
    }

    /// An optional's presence byte: 0 absent, 1 present.
    @inline(__always)
    mutating func presence() throws(WireError) -> Bool {
        let value = try byte("a presence byte")
        guard value <= 1 else { throw .malformed(at: position &- 1, "a presence byte must be 0 or 1, got \(value)") }
        return value == 1
    }

    /// Fails unless every byte was read.
    func expectEnd(_ what: String) throws(WireError) {
        guard isAtEnd else { throw .malformed(at: position, "\(remaining) bytes after the end of \(what)") }
    }
}
