import StreamKitEngine

/// Wire layout of a `StreamKitError`: code name, message, retryable flag, a presence mask, then the present
/// optional fields in mask-bit order.
extension StreamKitError {
    private enum Field {
        static let storeID: UInt8 = 0x01
        static let expectedSequence: UInt8 = 0x02
        static let gotSequence: UInt8 = 0x04
        static let limit: UInt8 = 0x08
        static let value: UInt8 = 0x10
        static let all: UInt8 = 0x1F
    }

    func encodeWire(into buffer: inout WireBuffer, limits: WireLimits) throws(WireError) {
        try buffer.writeString(code.name, limit: limits.maxStringBytes)
        // Messages are for people: cut one that is over the limit (at a character boundary) rather than fail.
        try buffer.writeString(Self.clipped(message, to: limits.maxStringBytes), limit: limits.maxStringBytes)
        buffer.writeBool(isRetryable)
        var mask: UInt8 = 0
        if storeID != nil { mask |= Field.storeID }
        if expectedSequence != nil { mask |= Field.expectedSequence }
        if gotSequence != nil { mask |= Field.gotSequence }
        if limit != nil { mask |= Field.limit }
        if value != nil { mask |= Field.value }
        buffer.writeByte(mask)
        if let storeID { buffer.writeUUID(storeID) }
        if let expectedSequence { buffer.writeVarint(expectedSequence) }
        if let gotSequence { buffer.writeVarint(gotSequence) }
        if let limit { buffer.writeZigZag(limit) }
        if let value { buffer.writeZigZag(value) }
    }

    /// Rebuilds the error. A code name this build does not know becomes `internalError` with the name kept at
    /// the front of the message; the retryable flag is read but the code decides `isRetryable`.
    static func decodeWire(from reader: inout WireReader) throws(WireError) -> StreamKitError {
        let name = try reader.string("an error code")
        var message = try reader.string("an error message")
        _ = try reader.bool()
        let maskOffset = reader.position
        let mask = try reader.byte("an error field mask")
        guard mask & ~Field.all == 0 else {
            throw .malformed(at: maskOffset, "unknown error field bits \(mask & ~Field.all)")
        }
        let code = Code(name: name)
        if code.name != name { message = "\(name): \(message)" }
        var error = StreamKitError(code: code, message: message)
        if mask & Field.storeID != 0 { error.storeID = try reader.uuid() }
        if mask & Field.expectedSequence != 0 { error.expectedSequence = try reader.varint() }
        if mask & Field.gotSequence != 0 { error.gotSequence = try reader.varint() }
        if mask & Field.limit != 0 { error.limit = try reader.int() }
        if mask & Field.value != 0 { error.value = try reader.int() }
        return error
    }

    private static func clipped(_ message: String, to limit: Int) -> String {
        guard message.utf8.count > limit else { return message }
        var result = ""
        var bytes = 0
        for character in message {
            let size = character.utf8.count
            if bytes + size > limit { break }
            result.append(character)
            bytes += size
        }
        return result
    }
}
