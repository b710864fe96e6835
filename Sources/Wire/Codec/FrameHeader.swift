/// The header in front of every message body:
///
/// ```
/// u8     flags        bit 0: the body is LZ4-compressed; bits 1–7 reserved (0)
/// varint kind         WireMessageKind
/// varint length       bytes of body that follow the header (as carried)
/// varint rawLength    only when compressed: the body's size after decompression
/// ```
struct FrameHeader {
    static let compressedFlag: UInt8 = 0x01
    /// Most bytes a header can take: flags plus three 10-byte varints.
    static let maxBytes = 31

    var kind: WireMessageKind
    var isCompressed: Bool
    /// Body bytes as carried.
    var length: Int
    /// Body bytes after decompression (equal to `length` when not compressed).
    var rawLength: Int
    /// Header bytes.
    var size: Int

    /// Frame bytes: header plus body as carried.
    var frameSize: Int { size + length }

    /// Parses and checks a header at the start of `bytes`: reserved bits, kind, and both lengths against the
    /// limits (so nothing is allocated or awaited for an oversized frame).
    /// - Throws: `truncated` when `bytes` ends inside the header; `malformed`, `unknownKind`, `tooLarge`.
    static func parse(_ bytes: UnsafeRawBufferPointer, limits: WireLimits) throws(WireError) -> FrameHeader {
        var reader = WireReader(bytes, limits: limits)
        let flags = try reader.byte("the frame flags")
        guard flags & ~compressedFlag == 0 else {
            throw .malformed(at: 0, "reserved frame flag bits \(flags & ~compressedFlag) are set")
        }
        let kindOffset = reader.position
        let kindValue = try reader.varint()
        guard kindValue <= UInt64(UInt8.max), let kind = WireMessageKind(rawValue: UInt8(kindValue)) else {
            throw WireError(code: .unknownKind, offset: kindOffset, message: "unknown message kind \(kindValue)")
        }
        let lengthOffset = reader.position
        let length = try reader.varint()
        guard length <= UInt64(limits.maxFrameBytes) else {
            throw .tooLarge(at: lengthOffset, "a frame body", value: length, limit: limits.maxFrameBytes)
        }
        var rawLength = length
        let isCompressed = flags & compressedFlag != 0
        if isCompressed {
            let rawOffset = reader.position
            rawLength = try reader.varint()
            guard rawLength <= UInt64(limits.maxMessageBytes) else {
                throw .tooLarge(
                    at: rawOffset, "a decompressed message", value: rawLength, limit: limits.maxMessageBytes)
            }
            // LZ4 expands at most 255× (plus a little); anything more is a lie told to make us allocate.
            guard rawLength <= length &* 255 &+ 255 else {
                throw WireError(
                    code: .compression, offset: rawOffset,
                    message: "a compressed body of \(length) bytes cannot decompress to \(rawLength)")
            }
        } else {
            guard length <= UInt64(limits.maxMessageBytes) else {
                throw .tooLarge(at: lengthOffset, "a message", value: length, limit: limits.maxMessageBytes)
            }
        }
        return FrameHeader(
            kind: kind, isCompressed: isCompressed, length: Int(length), rawLength: Int(rawLength),
            size: reader.position)
    }

    /// Bytes `value` takes as a varint.
    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        let bits = 64 - value.leadingZeroBitCount
        return bits == 0 ? 1 : (bits + 6) / 7
    }

    /// Stores `value` as a varint at `pointer`; returns the bytes written.
    @inline(__always)
    static func storeVarint(_ value: UInt64, at pointer: UnsafeMutableRawPointer) -> Int {
        var value = value
        var index = 0
        while value >= 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: index, as: UInt8.self)
            value &>>= 7
            index &+= 1
        }
        pointer.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: index, as: UInt8.self)
        return index &+ 1
    }
}
