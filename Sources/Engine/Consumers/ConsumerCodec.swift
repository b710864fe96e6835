/// The binary encoding of durable consumers, in a file store's `consumers` file and a PostgreSQL store's
/// `streamkit_consumers` rows (`docs/format.md`, "Consumers"). Little-endian; strings are `u16` length + UTF-8.
///
/// One consumer: name; `u8` target kind (0 spaces: `u16` count + names; 1 segment: space, segment); `u64`
/// acknowledged sequence; `u16` offset count + per offset space, `u64` position, `i64` timestamp; `u64` fencing
/// token; `i64` created at; `i64` updated at. A table: `u32` count + consumers.
package enum ConsumerCodec {
    /// The file's magic and format version.
    package static let magic = "SKCONSUM"
    package static let version: UInt32 = 1

    package static func encode(_ consumers: [Consumer]) -> [UInt8] {
        var out: [UInt8] = []
        append(UInt32(consumers.count), to: &out)
        for consumer in consumers { encode(consumer, into: &out) }
        return out
    }

    package static func encode(_ consumer: Consumer) -> [UInt8] {
        var out: [UInt8] = []
        encode(consumer, into: &out)
        return out
    }

    package static func decodeTable(_ bytes: [UInt8]) throws(ConsumerDecodingError) -> [Consumer] {
        var reader = Reader(bytes: bytes)
        let count = Int(try reader.read(UInt32.self))
        guard count <= ConsumerTable.maxConsumers * 16 else { throw ConsumerDecodingError(offset: 0) }
        var out: [Consumer] = []
        for _ in 0..<count { out.append(try decode(&reader)) }
        guard reader.offset == bytes.count else { throw ConsumerDecodingError(offset: reader.offset) }
        return out
    }

    package static func decode(_ bytes: [UInt8]) throws(ConsumerDecodingError) -> Consumer {
        var reader = Reader(bytes: bytes)
        let consumer = try decode(&reader)
        guard reader.offset == bytes.count else { throw ConsumerDecodingError(offset: reader.offset) }
        return consumer
    }

    private static func encode(_ consumer: Consumer, into out: inout [UInt8]) {
        append(consumer.name, to: &out)
        switch consumer.target {
        case .spaces(let spaces):
            out.append(0)
            append(UInt16(truncatingIfNeeded: spaces.count), to: &out)
            for space in spaces { append(space, to: &out) }
        case .segment(let space, let segment):
            out.append(1)
            append(space, to: &out)
            append(segment, to: &out)
        }
        append(consumer.position.sequence, to: &out)
        let offsets = consumer.position.offsets.sorted { $0.key < $1.key }
        append(UInt16(truncatingIfNeeded: offsets.count), to: &out)
        for (space, offset) in offsets {
            append(space, to: &out)
            append(offset.position, to: &out)
            append(UInt64(bitPattern: offset.timestamp), to: &out)
        }
        append(consumer.fencingToken, to: &out)
        append(UInt64(bitPattern: consumer.createdAt), to: &out)
        append(UInt64(bitPattern: consumer.updatedAt), to: &out)
    }

    private static func decode(_ reader: inout Reader) throws(ConsumerDecodingError) -> Consumer {
        let name = try reader.string()
        let target: ConsumerTarget
        switch try reader.read(UInt8.self) {
        case 0:
            let count = Int(try reader.read(UInt16.self))
            var spaces: [String] = []
            for _ in 0..<count { spaces.append(try reader.string()) }
            target = .spaces(spaces)
        case 1:
            target = .segment(space: try reader.string(), segment: try reader.string())
        default:
            throw ConsumerDecodingError(offset: reader.offset - 1)
        }
        let sequence = try reader.read(UInt64.self)
        let count = Int(try reader.read(UInt16.self))
        var offsets: [String: Offset] = [:]
        for _ in 0..<count {
            let space = try reader.string()
            let position = try reader.read(UInt64.self)
            offsets[space] = Offset(position: position, timestamp: Int64(bitPattern: try reader.read(UInt64.self)))
        }
        let token = try reader.read(UInt64.self)
        let createdAt = Int64(bitPattern: try reader.read(UInt64.self))
        let updatedAt = Int64(bitPattern: try reader.read(UInt64.self))
        guard !name.isEmpty else { throw ConsumerDecodingError(offset: reader.offset) }
        return Consumer(
            name: name, target: target, position: ConsumerPosition(offsets: offsets, sequence: sequence),
            fencingToken: token, createdAt: createdAt, updatedAt: updatedAt)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        let bytes = Array(text.utf8.prefix(Int(UInt16.max)))
        append(UInt16(bytes.count), to: &out)
        out += bytes
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func read<T: FixedWidthInteger>(_: T.Type) throws(ConsumerDecodingError) -> T {
            let size = MemoryLayout<T>.size
            guard offset + size <= bytes.count else { throw ConsumerDecodingError(offset: offset) }
            let value = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
            offset += size
            return value
        }

        mutating func string() throws(ConsumerDecodingError) -> String {
            let count = Int(try read(UInt16.self))
            guard offset + count <= bytes.count else { throw ConsumerDecodingError(offset: offset) }
            defer { offset += count }
            return String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
        }
    }
}

/// Encoded consumers that do not decode: damage at `offset` of the body.
package struct ConsumerDecodingError: Error, Sendable {
    package var offset: Int
}
