import Foundation
import StreamKitClient

/// What one segment holds, read back through the server, compared with its ledger: every acknowledged sequence
/// present exactly once, sequences 1…head without a gap, and each record carrying the payload sent for its
/// sequence. Records beyond the acknowledged ones may be there (committed, but the acknowledgement was lost in
/// the crash); they must carry their payload too.
struct SegmentCheck: Sendable {
    var segment: String
    /// Entries read.
    var entries = 0
    /// The highest sequence read.
    var head: UInt64 = 0
    /// Acknowledged sequences that are missing.
    var lost = 0
    /// Reads of a sequence already read.
    var duplicated = 0
    /// Missing sequences between present ones that were never acknowledged (a hole all the same).
    var gaps = 0
    /// Entries whose payload is not the one sent for their sequence.
    var wrongPayload = 0
    /// Entries beyond anything ever sent.
    var phantom = 0
    /// The read failed or timed out.
    var readError: String?
    /// The first problems, described.
    var problems: [String] = []

    var passed: Bool {
        lost == 0 && duplicated == 0 && gaps == 0 && wrongPayload == 0 && phantom == 0 && readError == nil
    }

    init(segment: String) {
        self.segment = segment
    }

    private mutating func problem(_ text: String) {
        if problems.count < 5 { problems.append(text) }
    }

    /// Adds the next entry read (in the order read).
    mutating func add(sequence: UInt64, payload: [UInt8], seed: UInt64, acknowledged: UInt64, sent: UInt64) {
        entries += 1
        if sequence <= head {
            duplicated += 1
            problem("sequence \(sequence) read again after \(head)")
            return
        }
        if sequence > head + 1 {
            let missing = sequence - head - 1
            let upper = min(sequence - 1, acknowledged)
            let missingAcknowledged = upper > head ? Int(upper - head) : 0
            lost += missingAcknowledged
            gaps += Int(missing) - missingAcknowledged
            problem("sequences \(head + 1)…\(sequence - 1) missing (acknowledged through \(acknowledged))")
        }
        head = sequence
        if sequence > sent {
            phantom += 1
            problem("sequence \(sequence) was never sent (sent through \(sent))")
        }
        if payload != ExpectedPayload.bytes(seed: seed, segment: segment, sequence: sequence) {
            wrongPayload += 1
            problem("sequence \(sequence) has a payload of \(payload.count) bytes that was not sent for it")
        }
    }

    /// Ends the check: acknowledged sequences after the head are lost.
    mutating func finish(acknowledged: UInt64) {
        if acknowledged > head {
            lost += Int(acknowledged - head)
            problem("the segment ends at \(head), acknowledged through \(acknowledged)")
        }
    }

    /// Reads the whole segment through `client` and checks it against `ledger`; a read that fails or takes
    /// longer than `timeout` is a `readError`.
    static func read(
        _ client: StreamKitClient, store: UUID, space: String, ledger: SegmentLedger, seed: UInt64,
        timeout: Duration = .seconds(120)
    ) async -> SegmentCheck {
        let acknowledged = ledger.acknowledged
        let sent = ledger.sent
        let segment = ledger.segment
        let result = await withDeadline(timeout) { () -> SegmentCheck in
            var check = SegmentCheck(segment: segment)
            do {
                for try await entry in client.consumeSegment(store: store, space: space, segment: segment) {
                    check.add(
                        sequence: entry.sequence, payload: Array(entry.payload), seed: seed, acknowledged: acknowledged,
                        sent: sent)
                }
                check.finish(acknowledged: acknowledged)
            } catch {
                check.readError = "\(error)"
            }
            return check
        }
        guard let result else {
            var check = SegmentCheck(segment: segment)
            check.readError = "the read did not end within \(timeout)"
            return check
        }
        return result
    }
}
