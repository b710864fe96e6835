import Foundation
import StreamKitClient
import StreamKitTestSupport

/// Produces batches with explicit, contiguous sequences and the expected payloads (``ExpectedPayload``) to one
/// segment, noting what is sent and each acknowledgement in the segment's ``SegmentLedger``, until stopped or a
/// produce fails.
struct SegmentPublisher: Sendable {
    let client: StreamKitClient
    let store: UUID
    let space: String
    let ledger: SegmentLedger
    let seed: UInt64
    /// Largest batch (records per produce call); each batch has 1…maxBatch records.
    let maxBatch: Int

    /// Publishes from sequence `next` on.
    ///
    /// - Parameters:
    ///   - next: The first sequence to send (the segment's last + 1).
    ///   - random: Batch sizes.
    ///   - stop: Ends the loop before the next batch.
    ///   - pause: A wait between batches (zero: none).
    /// - Returns: The failure that ended the loop, nil when it was stopped.
    func run(from next: UInt64, random: SplitMix64, stop: StopSignal, pause: Duration = .zero) async -> String? {
        var random = random
        var next = next
        while !stop.isSet && !Task.isCancelled {
            let count = UInt64.random(in: 1...UInt64(maxBatch), using: &random)
            let last = next + count - 1
            let records = (next...last).map {
                Record(sequence: $0, payload: ExpectedPayload.bytes(seed: seed, segment: ledger.segment, sequence: $0))
            }
            ledger.noteSent(through: last)
            do {
                let statuses = try await client.produce(
                    store: store, space: space, segment: ledger.segment, records: records)
                guard statuses.last?.lastSequence == last else {
                    return
                        "batch \(next)…\(last) acknowledged up to \(statuses.last.map { "\($0.lastSequence)" } ?? "nothing")"
                }
                ledger.noteAcknowledged(through: last, records: Int(count))
                next = last + 1
            } catch {
                return "batch \(next)…\(last): \(error)"
            }
            if pause > .zero { try? await Task.sleep(for: pause) }
        }
        return nil
    }
}
