import Synchronization

/// What the harness sent to one segment and what the server acknowledged, updated by its publisher as acks
/// arrive (so nothing is lost when the publisher is cut off by a crash).
final class SegmentLedger: Sendable {
    private struct State {
        var acknowledged: UInt64 = 0
        var sent: UInt64 = 0
        var acknowledgedRecords = 0
        var foundThrough: UInt64 = 0
        var lastProgress = ContinuousClock.now
        var longestStall: Duration = .zero
    }

    /// The segment's name.
    let segment: String
    private let state = Mutex(State())

    init(segment: String) {
        self.segment = segment
    }

    /// The highest sequence acknowledged (every sequence up to it was, since sequences are contiguous).
    var acknowledged: UInt64 { state.withLock { $0.acknowledged } }
    /// The highest sequence ever sent.
    var sent: UInt64 { state.withLock { $0.sent } }
    /// Records acknowledged over the ledger's life.
    var acknowledgedRecords: Int { state.withLock { $0.acknowledgedRecords } }
    /// The longest time between two acknowledgements (or since the last one, now), since ``resetStall()``.
    var longestStall: Duration {
        state.withLock { max($0.longestStall, ContinuousClock.now - $0.lastProgress) }
    }

    func noteSent(through sequence: UInt64) {
        state.withLock { $0.sent = max($0.sent, sequence) }
    }

    func noteAcknowledged(through sequence: UInt64, records: Int) {
        state.withLock { state in
            state.acknowledged = max(state.acknowledged, sequence)
            state.acknowledgedRecords += records
            let now = ContinuousClock.now
            state.longestStall = max(state.longestStall, now - state.lastProgress)
            state.lastProgress = now
        }
    }

    /// Notes that a read found the segment ending at `head`; returns how many records beyond the acknowledged
    /// ones that read found for the first time (committed, but their acknowledgement was lost in a crash).
    func noteFound(head: UInt64) -> Int {
        state.withLock { state in
            let from = max(state.acknowledged, state.foundThrough)
            state.foundThrough = max(state.foundThrough, head)
            return head > from ? Int(head - from) : 0
        }
    }

    /// Starts measuring stalls afresh from now.
    func resetStall() {
        state.withLock {
            $0.lastProgress = ContinuousClock.now
            $0.longestStall = .zero
        }
    }
}
