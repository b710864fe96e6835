#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A growable byte buffer over raw memory that encoders write into with plain stores and reuse without freeing,
/// so steady-state encoding allocates nothing.
///
/// Noncopyable: exactly one owner holds the memory and frees it in `deinit`.
struct WireBuffer: ~Copyable {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    /// Bytes written so far (including any reserved headroom).
    var count: Int = 0

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 64)
        self.base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// The written bytes.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Makes room for `additional` more bytes after `count`.
    @inline(__always)
    mutating func reserve(_ additional: Int) {
        let needed = count &+ additional
        if needed > capacity { grow(to: needed) }
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity = newCapacity &* 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Frees memory after one huge message: shrinks back to `target` bytes when the buffer grew past 4× that.
    mutating func trim(to target: Int) {
        guard capacity > 4 * target, count <= target else { return }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: target, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = target
    }

    // MARK: - Unchecked stores (the caller reserved room)

    @inline(__always)
    mutating func putByte(_ byte: UInt8) {
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    /// LEB128: 7 bits per byte, least significant group first, high bit set on all but the last byte.
    @inline(__always)
    mutating func putVarint(_ value: UInt64) {
        var value = value
        let pointer = base + count
        var index = 0
        while value >= 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: index, as: UInt8.self)
            value &>>= 7
            index &+= 1
        }
        pointer.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: index, as: UInt8.self)
        count &+= index &+ 1
    }

    @inline(__always)
    mutating func putRaw(_ source: UnsafeRawBufferPointer) {
        guard let start = source.baseAddress, source.count > 0 else { return }
        (base + count).copyMemory(from: start, byteCount: source.count)
        count &+= source.count
    }

    @inline(__always)
    mutating func putUUID(_ uuid: UUID) {
        withUnsafeBytes(of: uuid.uuid) { putRaw($0) }
    }

    // MARK: - Checked writes

    @inline(__always)
    mutating func writeByte(_ byte: UInt8) {
        reserve(1)
        putByte(byte)
    }

    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        reserve(10)
        putVarint(value)
    }

    @inline(__always)
    mutating func writeVarint(_ value: Int) { writeVarint(UInt64(truncatingIfNeeded: value)) }

    @inline(__always)
    mutating func writeZigZag(_ value: Int64) { writeVarint(ZigZag.encode(value)) }

    @inline(__always)
    mutating func writeZigZag(_ value: Int) { writeZigZag(Int64(value)) }

    @inline(__always)
    mutating func writeBool(_ value: Bool) { writeByte(value ? 1 : 0) }

    mutating func writeDouble(_ value: Double) {
        reserve(8)
        (base + count).storeBytes(of: value.bitPattern.littleEndian, as: UInt64.self)
        count &+= 8
    }

    mutating func writeUUID(_ uuid: UUID) {
        reserve(16)
        putUUID(uuid)
    }

    /// A varint length then the bytes.
    @inline(__always)
    mutating func writeBytes(_ source: UnsafeRawBufferPointer) {
        reserve(10 &+ source.count)
        putVarint(UInt64(source.count))
        putRaw(source)
    }
}

/// Zig-zag mapping of signed to unsigned integers (0, -1, 1, -2 … → 0, 1, 2, 3 …) so small magnitudes of either
/// sign make short varints.
enum ZigZag {
    @inline(__always)
    static func encode(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value &<< 1) ^ (value >> 63)) }

    @inline(__always)
    static func decode(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value &>> 1) ^ (0 &- Int64(bitPattern: value & 1))
    }
}

// MARK: - Strings and maps with limits

extension WireBuffer {
    /// Bytes reserved in front of a message body for the frame header, written last.
    static let headroom = 32

    /// The offset in the message body being built, for encoding errors.
    var bodyOffset: Int { count &- Self.headroom }

    /// A varint length then the string's UTF-8 bytes.
    /// - Throws: `tooLarge` when the string is over `limit` bytes.
    @inline(__always)
    mutating func writeString(_ string: String, limit: Int) throws(WireError) {
        let length = string.utf8.count
        guard length <= limit else {
            throw .tooLarge(at: bodyOffset, "a string", value: UInt64(length), limit: limit)
        }
        reserve(10 &+ length)
        putVarint(UInt64(length))
        if length == 0 { return }
        let done: Bool? = string.utf8.withContiguousStorageIfAvailable { utf8 in
            putRaw(UnsafeRawBufferPointer(utf8))
            return true
        }
        if done == nil {
            var copy = string
            copy.withUTF8 { putRaw(UnsafeRawBufferPointer($0)) }
        }
    }

    /// A count then key, value string pairs.
    mutating func writeMetadata(_ metadata: [String: String], limits: WireLimits) throws(WireError) {
        guard metadata.count <= limits.maxMetadataPairs else {
            throw .tooLarge(
                at: bodyOffset, "metadata pairs", value: UInt64(metadata.count), limit: limits.maxMetadataPairs)
        }
        writeVarint(metadata.count)
        for (key, value) in metadata {
            try writeString(key, limit: limits.maxStringBytes)
            try writeString(value, limit: limits.maxStringBytes)
        }
    }

    /// A count then the strings.
    mutating func writeStrings(_ strings: [String], limits: WireLimits) throws(WireError) {
        try writeCount(strings.count, "list elements", limit: limits.maxListCount)
        for string in strings { try writeString(string, limit: limits.maxStringBytes) }
    }

    /// A count checked against `limit`.
    @inline(__always)
    mutating func writeCount(_ count: Int, _ what: String, limit: Int) throws(WireError) {
        guard count <= limit else { throw .tooLarge(at: bodyOffset, what, value: UInt64(count), limit: limit) }
        writeVarint(count)
    }
}
