import StreamKitEngine
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Every message decodes to what was encoded.
struct RoundTripTests {
    // MARK: - Every kind

    @Test("every message kind round-trips", arguments: WireFixtures.everyKind)
    func everyKindRoundTrips(message: WireMessage) throws {
        #expect(try WireFixtures.roundTrip(message) == message)
    }

    @Test("the fixtures cover every message kind")
    func fixturesCoverEveryKind() {
        let covered = Set(WireFixtures.everyKind.map(\.kind))
        #expect(covered == Set(WireMessageKind.allCases))
    }

    @Test("a frame's kind byte is the message's kind tag")
    func frameCarriesKindTag() throws {
        for message in WireFixtures.everyKind {
            let frame = try WireFixtures.encode(message)
            #expect(frame[0] == 0)
            #expect(frame[1] == message.kind.rawValue)
        }
    }

    // MARK: - Boundary values

    @Test("entries with extreme numbers, empty and unicode names and changing fields round-trip")
    func mixedEntriesRoundTrip() throws {
        let decoded = try WireFixtures.roundTrip(.entries(WireFixtures.mixedEntries))
        guard case .entries(let entries) = decoded else {
            Issue.record("decoded \(decoded.kind), not entries")
            return
        }
        #expect(entries == WireFixtures.mixedEntries)
        #expect(entries.map(\.metadata) == WireFixtures.mixedEntries.map(\.metadata))
        #expect(entries.map { Array($0.payload) } == WireFixtures.mixedEntries.map { Array($0.payload) })
    }

    @Test("metadata with many keys and unicode keys round-trips")
    func manyMetadataKeysRoundTrip() throws {
        var metadata: [String: String] = [:]
        for index in 0..<50 { metadata["key-\(index)-\(WireFixtures.unicode)"] = String(repeating: "v", count: index) }
        let record = Record(sequence: 1, payload: [1], metadata: metadata)
        let entry = WireFixtures.entry(position: 1, sequence: 1, timestamp: 1, metadata: metadata)
        #expect(try WireFixtures.roundTrip(.records([record])) == .records([record]))
        #expect(try WireFixtures.roundTrip(.entries([entry])) == .entries([entry]))
        #expect(
            try WireFixtures.roundTrip(.workerRegister(workerID: "w", metadata: metadata, heartbeatSeconds: 30))
                == .workerRegister(workerID: "w", metadata: metadata, heartbeatSeconds: 30))
    }

    @Test("a multi-space read with many spaces round-trips")
    func multiSpaceReadRoundTrips() throws {
        var spaces: [String: Offset] = [:]
        for index in 0..<200 { spaces["space-\(index)"] = Offset(position: UInt64(index), timestamp: Int64(-index)) }
        let message = WireMessage.consume(spaces: spaces, bounds: ReadBounds(maxTimestamp: -1), limit: .max)
        #expect(try WireFixtures.roundTrip(message) == message)
    }

    @Test("integer extremes round-trip in every signed and unsigned field")
    func integerExtremesRoundTrip() throws {
        for value: Int in [0, 1, -1, 63, -64, 64, .max, .min] {
            let message = WireMessage.consumeSegment(
                space: "s", segment: "g",
                bounds: ReadBounds(
                    minSequence: UInt64(bitPattern: Int64(value)), maxSequence: .max, minTimestamp: Int64(value),
                    maxTimestamp: .min),
                limit: value)
            #expect(try WireFixtures.roundTrip(message) == message)
            let error = StreamKitError(code: .limitExceeded, message: "", limit: value, value: value)
            #expect(try WireFixtures.roundTrip(.error(error)) == .error(error))
        }
    }

    @Test("a lease time to live keeps every bit of its Double")
    func leaseTTLKeepsBits() throws {
        for ttl in [0.0, -0.0, 1e-300, .infinity, -.infinity, .greatestFiniteMagnitude, .nan] {
            let decoded = try WireFixtures.roundTrip(.leaseAcquire(key: "k", holder: "h", ttlSeconds: ttl))
            guard case .leaseAcquire(_, _, let got) = decoded else {
                Issue.record("decoded \(decoded.kind)")
                continue
            }
            #expect(got.bitPattern == ttl.bitPattern)
        }
    }

    // MARK: - Compression

    @Test("a big compressible batch is sent LZ4-compressed and round-trips")
    func bigBatchIsCompressed() throws {
        let base: Int64 = 1_700_000_000_000_000_000
        let entries: [Entry] = (0..<100).map { (index: Int) -> Entry in
            let number = UInt64(index + 1)
            let timestamp: Int64 = base + Int64(index)
            return WireFixtures.entry(
                position: number, sequence: number, timestamp: timestamp, ends: index == 99,
                payload: WireFixtures.compressible(256))
        }
        let message = WireMessage.entries(entries)
        let frame = try WireFixtures.encode(message)
        let raw = try WireFixtures.encode(message, threshold: .max)
        #expect(frame[0] & 1 == 1)
        #expect(raw[0] & 1 == 0)
        #expect(frame.count < raw.count / 2)
        #expect(try WireDecoder().decode(frame: frame) == message)
        #expect(try WireDecoder().decode(frame: raw) == message)
    }

    @Test("a body just under the threshold is not compressed, one at it is")
    func thresholdDecidesCompression() throws {
        let payload = WireFixtures.compressible(5000)
        let message = WireMessage.publish(space: "s", segment: "g", payload: payload, metadata: [:])
        let size = try WireFixtures.encode(message, threshold: .max).count
        // The body is the frame minus its 1 + 1 + 2 header bytes.
        let body = size - 4
        #expect(try WireFixtures.encode(message, threshold: body + 1)[0] == 0)
        #expect(try WireFixtures.encode(message, threshold: body)[0] == 1)
        #expect(try WireFixtures.roundTrip(message, threshold: body) == message)
    }

    @Test("an incompressible body above the threshold is sent raw")
    func incompressibleBodyIsSentRaw() throws {
        let message = WireMessage.publish(
            space: "s", segment: "g", payload: WireFixtures.payload(64 << 10), metadata: [:])
        let frame = try WireFixtures.encode(message)
        #expect(frame[0] == 0)
        #expect(try WireDecoder().decode(frame: frame) == message)
    }

    @Test("a 4 MiB payload round-trips compressed and raw")
    func largePayloadRoundTrips() throws {
        let message = WireMessage.records([Record(sequence: 1, payload: WireFixtures.compressible(4 << 20))])
        #expect(try WireFixtures.roundTrip(message) == message)
        #expect(try WireFixtures.roundTrip(message, threshold: .max) == message)
    }

    // MARK: - Encoder reuse

    @Test("one encoder encodes many messages of different sizes correctly")
    func encoderIsReusable() throws {
        var encoder = WireEncoder()
        let decoder = WireDecoder()
        let big = WireMessage.records([Record(sequence: 1, payload: WireFixtures.compressible(3 << 20))])
        for message in WireFixtures.everyKind + [big] + WireFixtures.everyKind {
            #expect(try decoder.decode(frame: encoder.encode(message)) == message)
        }
    }

    @Test("frames appended to one buffer split with frameSize and decode in order")
    func concatenatedFramesSplit() throws {
        var encoder = WireEncoder()
        var stream: [UInt8] = []
        let messages = WireFixtures.everyKind
        for message in messages { try encoder.encode(message, appendingTo: &stream) }
        let decoder = WireDecoder()
        var decoded: [WireMessage] = []
        var start = 0
        while start < stream.count {
            let slice = Array(stream[start...])
            let size = try slice.withUnsafeBytes { try decoder.frameSize(in: $0) }
            guard let size else {
                Issue.record("header incomplete at \(start)")
                return
            }
            decoded.append(try decoder.decode(frame: Array(slice[0..<size])))
            start += size
        }
        #expect(decoded == messages)
    }
}
