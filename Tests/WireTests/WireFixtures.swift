import StreamKitEngine
import StreamKitLogFiles
import StreamKitTestSupport
import StreamKitWire

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Messages with boundary values, used by the round-trip and mutation tests.
enum WireFixtures {
    static let transactionA = UUID(uuid: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))
    static let transactionB = UUID(uuid: (255, 254, 253, 252, 251, 250, 249, 248, 0, 0, 0, 0, 0, 0, 0, 1))
    static let unicode = "épicerie-🚀-中文-ü"

    /// Entries 2 and 3 (of 4) of a block, as a server sends a stretch of a sealed block.
    static let storedEntries: StoredEntries = {
        let records = (1...4).map {
            Record(sequence: $0, payload: compressible(300), metadata: $0 == 2 ? ["k": "v"] : [:])
        }
        let transaction = TransactionInput(
            space: "orders", segment: unicode, transactionID: transactionA, transactionNumber: 9, records: records)
        let batch = try! BatchCodec.encode([transaction])
        let header = BlockHeader(
            codec: BlockHeader.Codec(rawValue: batch.codec)!, rawLength: batch.rawLength,
            storedLength: batch.body.count,
            checksum: batch.checksum, entryCount: batch.entryCount, firstPosition: 41, minTimestamp: 0,
            maxTimestamp: Int64(batch.entryCount - 1))
        return StoredEntries(block: StoredBlock(header: header, body: batch.body), range: 1..<3)
    }()

    /// Every code `StreamKitError` has.
    static let allErrorCodes: [StreamKitError.Code] = [
        .sequenceConflict, .invalidArgument, .invalidOffset, .notFound, .storeClosing, .storeUnavailable,
        .limitExceeded, .leaseNotHeld, .storage, .corrupt, .unauthorized, .forbidden, .overloaded, .internalError,
        .unsupported,
    ]

    static func payload(_ count: Int, seed: UInt64 = 7) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// Bytes that compress well (repeating JSON-ish text).
    static func compressible(_ count: Int) -> [UInt8] {
        let text = Array(#"{"order":123456,"status":"shipped","city":"Lisbon","note":"leave at the door"} "#.utf8)
        return (0..<count).map { text[$0 % text.count] }
    }

    static func entry(
        position: UInt64, space: String = "orders", segment: String = "order-1", sequence: UInt64,
        timestamp: Int64, transaction: UUID = transactionA, number: UInt64 = 1, ends: Bool = false,
        payload: [UInt8] = [1, 2, 3], metadata: [String: String] = [:]
    ) -> Entry {
        Entry(
            position: position, space: space, segment: segment, sequence: sequence, timestamp: timestamp,
            transactionID: transaction, transactionNumber: number, endsTransaction: ends, payload: Payload(payload),
            metadata: metadata)
    }

    static let status = SegmentStatus(
        space: "orders", segment: unicode, firstSequence: 1, firstTimestamp: -1, lastSequence: .max,
        lastTimestamp: .max, isHeartbeat: true)
    static let lease = Lease(key: "leader", holder: unicode, fencingToken: .max, expiresAt: 0, ttl: 1_000_000_000)
    static let worker = WorkerInfo(
        workerID: "worker-1", metadata: ["zone": "eu-west"], heartbeatInterval: 30_000_000_000, registeredAt: 0,
        lastSeenAt: .max)
    static let inventory = WorkerInventory(
        workers: [
            worker, WorkerInfo(workerID: "", metadata: [:], heartbeatInterval: 0, registeredAt: 1, lastSeenAt: 2),
        ],
        version: 42)

    /// A batch that exercises every entry-field change: new space, segment and transaction mid-batch, numbers
    /// going down as well as up, extreme values, metadata on some entries.
    static let mixedEntries: [Entry] = [
        entry(position: 1, sequence: 1, timestamp: -5, ends: false),
        entry(position: 2, sequence: 2, timestamp: -4, ends: true, metadata: ["k": "v"]),
        entry(
            position: 3, space: unicode, segment: "", sequence: .max, timestamp: .max, transaction: transactionB,
            number: .max, ends: true, payload: []),
        entry(
            position: .max, space: "", segment: unicode, sequence: 0, timestamp: .min, transaction: transactionA,
            number: 0, ends: false, payload: [0], metadata: ["": ""]),
        entry(position: 0, sequence: 7, timestamp: 0, transaction: transactionB, payload: [255]),
    ]

    /// One message of every kind with ordinary values, each map with at most one key so the encoding (and the
    /// mutation test built on it) is the same on every run.
    static var everyKind: [WireMessage] {
        [
            .hello(WireHello(minVersion: 1, maxVersion: 3, features: ["trace-context", unicode])),
            .error(.sequenceConflict(expected: 5, got: 9, space: "orders", segment: "a")),
            .ack(true),
            .ack(false),
            .empty,
            .produceOpen(space: "orders", segment: unicode),
            .records([
                Record(sequence: 1, payload: [1, 2, 3]),
                Record(sequence: 2, payload: [], metadata: ["trace": "abc"]),
                Record(sequence: .max, payload: [0xFF]),
            ]),
            .produceEnd,
            .status(status),
            .publish(space: "orders", segment: "order-1", payload: [9, 8, 7], metadata: ["a": "b"]),
            .peek(space: "orders", segment: "order-1"),
            .getStatus(space: "", segment: ""),
            .consumeSegment(
                space: "orders", segment: "order-1",
                bounds: ReadBounds(minSequence: 1, maxSequence: .max, minTimestamp: -1, maxTimestamp: .max),
                limit: 100),
            .consumeSpace(
                space: unicode, offset: Offset(position: .max, timestamp: .min), bounds: .none, limit: -1),
            .consume(
                spaces: ["orders": Offset(position: 10, timestamp: 20)], bounds: ReadBounds(minTimestamp: 5), limit: 0),
            .entries(mixedEntries),
            .entries([]),
            .storedEntries(storedEntries),
            .spaces,
            .segments(space: "orders"),
            .names(["a", "", unicode]),
            .subscribe(space: "orders", segment: "*", heartbeatSeconds: 30),
            .subscribe(space: "orders", segment: "s", heartbeatSeconds: nil),
            .deleteEntries(space: "orders", segment: unicode, before: nil),
            .deleteEntries(space: "orders", segment: "s", before: .max),
            .deleted(count: 0),
            .deleted(count: 1_234_567),
            .getRetention,
            .setRetention(nil),
            .setRetention(LogRetention.Policy()),
            .setRetention(LogRetention.Policy(maxAge: .seconds(7 * 86_400), maxBytes: .max, maxEntriesPerSegment: 1)),
            .retention(StoreRetention(own: nil, configured: LogRetention.Policy(maxBytes: 1 << 30))),
            .retention(
                StoreRetention(own: LogRetention.Policy(maxEntriesPerSegment: 9), configured: LogRetention.Policy())),
            .consumerCreate(name: "billing", target: .spaces(["orders", unicode]), startAtHead: false),
            .consumerCreate(name: unicode, target: .segment(space: "orders", segment: "order-1"), startAtHead: true),
            .consumerQuery(name: nil),
            .consumerQuery(name: "billing"),
            .consumerAck(name: "billing", position: .start, fencingToken: 0, durable: false),
            .consumerAck(
                name: "billing",
                position: ConsumerPosition(
                    offsets: [
                        "orders": Offset(position: .max, timestamp: .min), unicode: Offset(position: 1, timestamp: 2),
                    ],
                    sequence: .max),
                fencingToken: .max, durable: true),
            .consumerDelete(name: "billing"),
            .consumers([]),
            .consumers([
                ConsumerStatus(
                    consumer: Consumer(
                        name: "billing", target: .spaces(["orders"]),
                        position: ConsumerPosition(offsets: ["orders": Offset(position: 7, timestamp: 8)]),
                        fencingToken: 3, createdAt: -1, updatedAt: .max),
                    lag: ConsumerLag(entries: 12, nanoseconds: -5)),
                ConsumerStatus(
                    consumer: Consumer(name: "x", target: .segment(space: "a", segment: "b")),
                    lag: ConsumerLag(entries: 0, nanoseconds: 0)),
            ]),
            .leaseAcquire(key: "leader", holder: "me", ttlSeconds: 10.5),
            .leaseRenew(lease, ttlSeconds: nil),
            .leaseRenew(lease, ttlSeconds: -0.0),
            .leaseRelease(lease),
            .leaseQuery(key: unicode),
            .leaseResult(lease),
            .leaseResult(nil),
            .workerRegister(workerID: "worker-1", metadata: ["zone": "eu"], heartbeatSeconds: -1),
            .workerRegistered(generation: 3, worker: worker, replacedGeneration: 2, inventory: inventory),
            .workerRegistered(generation: .max, worker: worker, replacedGeneration: nil, inventory: .empty),
            .workerHeartbeat(workerID: "worker-1", generation: .max),
            .workerUnregister(workerID: "", generation: 0),
            .workerInventoryRequest,
            .workerInventory(inventory),
            .workerWatch,
        ]
    }

    /// Encodes with a fresh encoder.
    static func encode(
        _ message: WireMessage, threshold: Int = 4096, limits: WireLimits = WireLimits()
    ) throws(WireError)
        -> [UInt8]
    {
        var encoder = WireEncoder(compressionThreshold: threshold, limits: limits)
        return try encoder.encode(message)
    }

    /// Encodes and decodes with default settings.
    static func roundTrip(_ message: WireMessage, threshold: Int = 4096) throws(WireError) -> WireMessage {
        try WireDecoder().decode(frame: encode(message, threshold: threshold))
    }

    /// The error decoding `bytes` throws, or nil when it decodes.
    static func decodeError(_ bytes: [UInt8], limits: WireLimits = WireLimits()) -> WireError? {
        do {
            _ = try WireDecoder(limits: limits).decode(frame: bytes)
            return nil
        } catch {
            return error
        }
    }

    /// A frame header and body built by hand.
    static func frame(kind: UInt8, flags: UInt8 = 0, body: [UInt8], rawLength: Int? = nil) -> [UInt8] {
        var bytes: [UInt8] = [flags]
        bytes += varint(UInt64(kind))
        bytes += varint(UInt64(body.count))
        if let rawLength { bytes += varint(UInt64(rawLength)) }
        return bytes + body
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
        return bytes
    }

    static func string(_ text: String) -> [UInt8] { varint(UInt64(text.utf8.count)) + Array(text.utf8) }
}
