// libFuzzer entry point for the StreamKitWire decoder. Not part of any package target: scripts/fuzz-wire.sh
// compiles it together with Sources/Wire (instrumented with -sanitize=fuzzer,address) and links the
// already-built StreamKitEngine / StreamKitLogFiles objects. See docs/protocol.md, "Fuzzing".
//
// Invariants checked on every input:
//   1. decoding returns a message or throws a WireError (a trap or an ASan report is a finding);
//   2. a decoded message re-encodes, and that frame decodes to the same message (NaN lease TTLs aside);
//   3. the same bytes read as a mux frame (docs/protocol.md §7) give a frame or a WireError, and a decoded
//      mux frame re-encodes to a frame that decodes to the same frame.

import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let fuzzLimits = WireLimits(maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func wireDecodeFuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start.map { UnsafeRawPointer($0) }, count: start == nil ? 0 : count)
    let decoder = WireDecoder(limits: fuzzLimits)
    _ = try? decoder.frameSize(in: bytes)
    checkMuxFrame(bytes)
    guard let message = try? decoder.decode(frame: bytes), message == message else { return 0 }
    var encoder = WireEncoder(limits: fuzzLimits)
    let again: WireMessage
    do {
        again = try decoder.decode(frame: encoder.encode(message))
    } catch {
        preconditionFailure("a decoded \(message.kind) message does not re-encode: \(error)")
    }
    precondition(again == message, "a decoded \(message.kind) message changed when re-encoded")
    return 0
}

/// Writes a seed corpus (one valid frame per message kind) into `$WIRE_FUZZ_SEED_DIR` when it is set.
@_cdecl("LLVMFuzzerInitialize")
public func wireDecodeFuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>?,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    guard let directory = getenv("WIRE_FUZZ_SEED_DIR").map({ String(cString: $0) }) else { return 0 }
    var encoder = WireEncoder(compressionThreshold: 256, limits: fuzzLimits)
    for (index, message) in seedMessages().enumerated() {
        guard let frame = try? encoder.encode(message), let file = fopen("\(directory)/seed-\(index)", "wb") else {
            continue
        }
        _ = frame.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }
    return 0
}

private func seedMessages() -> [WireMessage] {
    let lease = Lease(key: "leader", holder: "node-1", fencingToken: 7, expiresAt: 1_000, ttl: 10)
    let worker = WorkerInfo(
        workerID: "w1", metadata: ["zone": "eu"], heartbeatInterval: 30, registeredAt: 1, lastSeenAt: 2)
    let inventory = WorkerInventory(workers: [worker], version: 3)
    let status = SegmentStatus(
        space: "orders", segment: "o-1", firstSequence: 1, firstTimestamp: -1, lastSequence: 9, lastTimestamp: 99)
    let transaction: uuid_t = (0xAB, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
    let entries: [Entry] = (0..<40).map { (index: Int) -> Entry in
        let number = UInt64(index + 1)
        let timestamp = Int64(index) * 1_000
        let text = "{\"order\":\(index),\"status\":\"shipped\",\"city\":\"Lisbon\"}"
        return Entry(
            position: number, space: index < 20 ? "orders" : "épicerie", segment: "o-\(index % 3)", sequence: number,
            timestamp: timestamp, transactionID: UUID(uuid: transaction), transactionNumber: number / 10,
            endsTransaction: index % 10 == 9, payload: Payload(Array(text.utf8)),
            metadata: index % 7 == 0 ? ["trace": "abc"] : [:])
    }
    return [
        .hello(WireHello(features: ["trace-context"])),
        .error(StreamKitError(code: .limitExceeded, message: "too big", limit: 10, value: 11)),
        .ack(true), .empty, .produceOpen(space: "orders", segment: "o-1"),
        .records(
            entries.prefix(5).map { Record(sequence: $0.sequence, payload: Array($0.payload), metadata: $0.metadata) }),
        .produceEnd, .status(status),
        .publish(space: "orders", segment: "o-1", payload: [1, 2, 3], metadata: ["a": "b"]),
        .peek(space: "orders", segment: "o-1"), .getStatus(space: "orders", segment: "o-1"),
        .consumeSegment(space: "orders", segment: "o-1", bounds: ReadBounds(minSequence: 1), limit: 10),
        .consumeSpace(space: "orders", offset: Offset(position: 5, timestamp: 6), bounds: .none, limit: 0),
        .consume(spaces: ["orders": .start], bounds: ReadBounds(maxTimestamp: 9), limit: 1),
        .entries(Array(entries.prefix(4))), .entries(entries), .spaces, .segments(space: "orders"),
        .names(["a", "b"]), .subscribe(space: "orders", segment: "*", heartbeatSeconds: 5),
        .leaseAcquire(key: "k", holder: "h", ttlSeconds: 1.5), .leaseRenew(lease, ttlSeconds: 2),
        .leaseRelease(lease), .leaseQuery(key: "k"), .leaseResult(lease),
        .workerRegister(workerID: "w1", metadata: ["zone": "eu"], heartbeatSeconds: 30),
        .workerRegistered(generation: 2, worker: worker, replacedGeneration: 1, inventory: inventory),
        .workerHeartbeat(workerID: "w1", generation: 2), .workerUnregister(workerID: "w1", generation: 2),
        .workerInventoryRequest, .workerInventory(inventory),
    ]
}

private let fuzzMuxLimits = MuxLimits(wire: fuzzLimits)

/// Invariant 3: mux frames decode or fail typed, and what decodes round-trips.
private func checkMuxFrame(_ bytes: UnsafeRawBufferPointer) {
    guard let frame = try? MuxFrame(decoding: bytes, limits: fuzzMuxLimits), frame == frame else { return }
    let again: MuxFrame
    do {
        again = try MuxFrame(decoding: frame.encoded(limits: fuzzMuxLimits), limits: fuzzMuxLimits)
    } catch {
        preconditionFailure("a decoded mux frame does not re-encode: \(error)")
    }
    precondition(again == frame, "a decoded mux frame changed when re-encoded")
}
