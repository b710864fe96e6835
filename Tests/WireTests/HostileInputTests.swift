import StreamKitEngine
import StreamKitWire
import Testing

/// Truncated, oversized, garbage and hostile input ends in a typed `WireError`, never a trap.
struct HostileInputTests {
    private static let names = WireMessageKind.names.rawValue
    private static let entries = WireMessageKind.entries.rawValue
    private static let records = WireMessageKind.records.rawValue

    // MARK: - Frame header

    @Test("empty input is truncated")
    func emptyInputIsTruncated() {
        #expect(WireFixtures.decodeError([])?.code == .truncated)
    }

    @Test("reserved flag bits are malformed")
    func reservedFlagBitsAreMalformed() {
        let error = WireFixtures.decodeError(
            WireFixtures.frame(kind: WireMessageKind.empty.rawValue, flags: 0x02, body: []))
        #expect(error?.code == .malformed)
        #expect(error?.offset == 0)
    }

    @Test("an unknown kind is refused with unknownKind", arguments: [0, 0x05, 0x7F, 200, 255] as [UInt8])
    func unknownKindIsRefused(kind: UInt8) {
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: kind, body: []))?.code == .unknownKind)
    }

    @Test("a huge kind varint is refused with unknownKind")
    func hugeKindIsRefused() {
        #expect(WireFixtures.decodeError([0] + WireFixtures.varint(.max) + [0])?.code == .unknownKind)
    }

    @Test("a declared frame length over the limit is refused from the header alone")
    func oversizedFrameIsRefusedEarly() throws {
        let header: [UInt8] = [0, Self.names] + WireFixtures.varint(UInt64(1) << 40)
        #expect(WireFixtures.decodeError(header)?.code == .tooLarge)
        #expect(throws: WireError.self) { try header.withUnsafeBytes { try WireDecoder().frameSize(in: $0) } }
        let small = WireLimits(maxFrameBytes: 100)
        let frame = try WireFixtures.encode(.names([String(repeating: "x", count: 200)]))
        #expect(WireFixtures.decodeError(frame, limits: small)?.code == .tooLarge)
    }

    @Test("a declared decompressed size over the limit is refused before allocating")
    func oversizedDecompressedSizeIsRefused() {
        let frame = WireFixtures.frame(kind: Self.names, flags: 1, body: [0x10, 0, 0], rawLength: 1 << 30)
        #expect(WireFixtures.decodeError(frame)?.code == .tooLarge)
    }

    @Test("a decompressed size no LZ4 body could reach is refused before allocating")
    func impossibleRatioIsRefused() {
        let frame = WireFixtures.frame(kind: Self.names, flags: 1, body: [0x10, 0, 0], rawLength: 4 << 20)
        #expect(WireFixtures.decodeError(frame)?.code == .compression)
    }

    @Test("a corrupt LZ4 body is a compression error")
    func corruptCompressedBodyIsRefused() throws {
        var frame = try WireFixtures.encode(.records([Record(sequence: 1, payload: WireFixtures.compressible(10_000))]))
        #expect(frame[0] == 1)
        for index in 8..<min(frame.count, 40) { frame[index] = 0xFF }
        let error = WireFixtures.decodeError(frame)
        #expect(error?.code == .compression || error?.code == .malformed || error?.code == .truncated)
    }

    @Test("a compressed body that decompresses to fewer bytes than declared is a compression error")
    func shortDecompressionIsRefused() throws {
        let frame = try WireFixtures.encode(.records([Record(sequence: 1, payload: WireFixtures.compressible(10_000))]))
        #expect(frame[0] == 1)
        // Header: flags, kind, length varint, raw-length varint; keep the body, declare a larger raw length.
        var index = 2
        var length = 0
        var shift = 0
        while true {
            length |= Int(frame[index] & 0x7F) << shift
            shift += 7
            index += 1
            if frame[index - 1] < 0x80 { break }
        }
        while frame[index] >= 0x80 { index += 1 }
        index += 1
        let body = Array(frame[index...])
        #expect(body.count == length)
        let forged = WireFixtures.frame(kind: Self.records, flags: 1, body: body, rawLength: 10_050)
        #expect(WireFixtures.decodeError(forged)?.code == .compression)
    }

    @Test("a frame cut anywhere is truncated", arguments: WireFixtures.everyKind)
    func cutFramesAreTruncated(message: WireMessage) throws {
        let frame = try WireFixtures.encode(message)
        for cut in 0..<frame.count {
            let error = WireFixtures.decodeError(Array(frame[0..<cut]))
            #expect(error?.code == .truncated, "cut at \(cut) of \(frame.count): \(String(describing: error))")
        }
    }

    @Test("bytes after a frame are malformed")
    func trailingBytesAreMalformed() throws {
        let frame = try WireFixtures.encode(.ack(true))
        #expect(WireFixtures.decodeError(frame + [0])?.code == .malformed)
    }

    @Test("bytes after the last field of a body are malformed")
    func trailingBodyBytesAreMalformed() {
        #expect(
            WireFixtures.decodeError(WireFixtures.frame(kind: WireMessageKind.ack.rawValue, body: [1, 0]))?.code
                == .malformed)
    }

    @Test("a retention bound past Int64 is malformed, not wrapped into a negative one")
    func retentionBoundPastInt64IsMalformed() {
        let huge: [UInt8] = [UInt8](repeating: 0xFF, count: 9) + [0x01]  // 2^64 - 1
        let body: [UInt8] = [1, 0, 1] + huge + [0]  // Present policy; no age; a size of 2^64 - 1; no count.
        #expect(
            WireFixtures.decodeError(WireFixtures.frame(kind: WireMessageKind.setRetention.rawValue, body: body))?.code
                == .malformed)
    }

    @Test("a consumer target of an unknown kind, or a position naming a space twice, is malformed")
    func badConsumerTargetsAndPositionsAreMalformed() {
        let name: [UInt8] = [1, 0x63]  // "c"
        let badKind = name + [7] + [0]  // Target kind 7; start at head false.
        // Sequence 0; "s" twice; token 0; deferred.
        let twice = name + [0] + [2, 1, 0x73, 1, 2, 1, 0x73, 3, 4] + [0, 0]
        #expect(
            WireFixtures.decodeError(WireFixtures.frame(kind: WireMessageKind.consumerCreate.rawValue, body: badKind))?
                .code
                == .malformed)
        #expect(
            WireFixtures.decodeError(WireFixtures.frame(kind: WireMessageKind.consumerAck.rawValue, body: twice))?.code
                == .malformed)
    }

    @Test("frameSize says nil for an incomplete header and the whole size for an incomplete body")
    func frameSizeHandlesPartialInput() throws {
        let frame = try WireFixtures.encode(.names(["a", "b"]))
        let decoder = WireDecoder()
        #expect(try [UInt8]().withUnsafeBytes { try decoder.frameSize(in: $0) } == nil)
        #expect(try Array(frame[0..<2]).withUnsafeBytes { try decoder.frameSize(in: $0) } == nil)
        #expect(try Array(frame[0..<4]).withUnsafeBytes { try decoder.frameSize(in: $0) } == frame.count)
    }

    // MARK: - Varints

    @Test("a varint longer than 10 bytes is malformed")
    func overlongVarintIsMalformed() {
        let body = [UInt8](repeating: 0x80, count: 11) + [0]
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.names, body: body))?.code == .malformed)
    }

    @Test("a 10-byte varint that overflows 64 bits is malformed")
    func overflowingVarintIsMalformed() {
        let body = [UInt8](repeating: 0xFF, count: 9) + [0x02]
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.names, body: body))?.code == .malformed)
    }

    @Test("a varint with redundant zero groups is malformed")
    func nonMinimalVarintIsMalformed() {
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.names, body: [0x80, 0x00]))?.code == .malformed)
    }

    @Test("the largest varint decodes")
    func largestVarintDecodes() throws {
        let body = WireFixtures.string("w") + WireFixtures.varint(.max)
        let message = try WireDecoder().decode(
            frame: WireFixtures.frame(kind: WireMessageKind.workerHeartbeat.rawValue, body: body))
        #expect(message == .workerHeartbeat(workerID: "w", generation: .max))
    }

    // MARK: - Lengths, counts and strings

    @Test("a string length over the limit is tooLarge")
    func oversizedStringIsRefused() {
        let body = [1] + WireFixtures.varint(1 << 20) + [UInt8](repeating: 0x41, count: 10)
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.names, body: body))?.code == .tooLarge)
    }

    @Test("a string length past the end is truncated")
    func stringPastEndIsTruncated() {
        let body: [UInt8] = [1, 50, 0x41, 0x41]
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.names, body: body))?.code == .truncated)
    }

    @Test("a count over the limit is tooLarge and one past the remaining bytes is truncated")
    func hostileCountsAreRefused() {
        let huge = WireFixtures.varint(UInt64.max >> 1)
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.entries, body: huge))?.code == .tooLarge)
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.names, body: huge))?.code == .tooLarge)
        let many = WireFixtures.varint(9_000) + [UInt8](repeating: 0, count: 100)
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.records, body: many))?.code == .truncated)
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.names, body: many))?.code == .truncated)
    }

    @Test("batch and metadata limits are settings")
    func limitsAreSettings() throws {
        let records = (1...5).map { Record(sequence: UInt64($0), payload: [], metadata: ["a": "1", "b": "2"]) }
        let frame = try WireFixtures.encode(.records(records))
        #expect(WireFixtures.decodeError(frame, limits: WireLimits(maxBatchCount: 4))?.code == .tooLarge)
        #expect(WireFixtures.decodeError(frame, limits: WireLimits(maxMetadataPairs: 1))?.code == .tooLarge)
        #expect(WireFixtures.decodeError(frame, limits: WireLimits(maxBatchCount: 5, maxMetadataPairs: 2)) == nil)
    }

    @Test(
        "invalid UTF-8 in a name is invalidUTF8 with its offset",
        arguments: [
            [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x41, 0xC0, 0xAF],
        ] as [[UInt8]])
    func invalidUTF8IsRefused(bytes: [UInt8]) {
        let body = [UInt8(bytes.count)] + bytes + WireFixtures.string("segment")
        let error = WireFixtures.decodeError(WireFixtures.frame(kind: WireMessageKind.peek.rawValue, body: body))
        #expect(error?.code == .invalidUTF8)
        #expect(error?.offset == 4)
    }

    @Test("a boolean or presence byte other than 0 or 1 is malformed")
    func nonBinaryBooleansAreMalformed() {
        #expect(
            WireFixtures.decodeError(WireFixtures.frame(kind: WireMessageKind.ack.rawValue, body: [2]))?.code
                == .malformed)
        #expect(
            WireFixtures.decodeError(WireFixtures.frame(kind: WireMessageKind.leaseResult.rawValue, body: [7]))?.code
                == .malformed)
    }

    @Test("duplicate metadata keys and duplicate spaces are malformed")
    func duplicateKeysAreMalformed() {
        let pair = WireFixtures.string("k") + WireFixtures.string("v")
        let record: [UInt8] = [1, 2, 0, 2] + pair + pair
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.records, body: record))?.code == .malformed)
        let space = WireFixtures.string("s") + [1, 1]
        let consume: [UInt8] = [2] + space + space + [0, 0, 0, 0, 0]
        #expect(
            WireFixtures.decodeError(WireFixtures.frame(kind: WireMessageKind.consume.rawValue, body: consume))?.code
                == .malformed)
    }

    @Test("a first entry that refers to a previous one is malformed")
    func firstEntryMustBeComplete() {
        let body: [UInt8] = [1, 0x01, 2, 2, 2, 2, 0]
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.entries, body: body))?.code == .malformed)
    }

    @Test("unknown entry flag bits are malformed")
    func unknownEntryFlagsAreMalformed() {
        let body: [UInt8] = [1, 0x2E, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(WireFixtures.decodeError(WireFixtures.frame(kind: Self.entries, body: body))?.code == .malformed)
    }

    // MARK: - Encoder limits

    @Test("the encoder refuses what a peer with the same limits would refuse")
    func encoderRespectsLimits() {
        let limits = WireLimits(
            maxMessageBytes: 1000, maxBatchCount: 2, maxStringBytes: 8, maxMetadataPairs: 1, maxListCount: 2)
        let refused: [WireMessage] = [
            .names(["a", "b", "c"]),
            .segments(space: "123456789"),
            .records([
                Record(sequence: 1, payload: []), Record(sequence: 2, payload: []), Record(sequence: 3, payload: []),
            ]),
            .publish(space: "s", segment: "g", payload: [], metadata: ["a": "1", "b": "2"]),
            .publish(space: "s", segment: "g", payload: [UInt8](repeating: 1, count: 2000), metadata: [:]),
        ]
        for message in refused {
            #expect(throws: WireError.self, "\(message.kind)") { try WireFixtures.encode(message, limits: limits) }
        }
    }
}
