import StreamKitLogFiles
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The most recent committed transactions, kept as the records the producer sent (no per-entry copy at
/// commit): what readers get without touching the log. The store appends a chunk per visible transaction
/// and drops the oldest sealed chunks when the tail outgrows its memory budget. Readers build entries out
/// under a short lock.
final class TailBuffer: Sendable {
    /// One committed transaction.
    struct Chunk: Sendable {
        var space: String
        var segment: String
        var firstPosition: UInt64
        var firstTimestamp: Int64
        var transactionID: UUID
        var transactionNumber: UInt64
        var records: [Record]
        var cost: Int

        var endPosition: UInt64 { firstPosition + UInt64(records.count) }

        @inline(__always)
        func entry(_ i: Int) -> Entry {
            let record = records[i]
            return Entry(
                position: firstPosition + UInt64(i), space: space, segment: segment, sequence: record.sequence,
                timestamp: firstTimestamp + Int64(i), transactionID: transactionID,
                transactionNumber: transactionNumber,
                endsTransaction: i == records.count - 1, payload: Payload(record.payload), metadata: record.metadata)
        }
    }

    private struct State {
        var chunks: [Chunk] = []
        var head = 0
        var bytes = 0
        /// Position of the first entry held (or of the next entry to come when empty).
        var startPosition: UInt64 = 1
    }

    private let state = Mutex(State())

    init(startPosition: UInt64) {
        state.withLock { $0.startPosition = startPosition }
    }

    /// Position of the oldest entry held (or of the next entry when empty).
    var startPosition: UInt64 { state.withLock { $0.startPosition } }

    var byteCount: Int { state.withLock { $0.bytes } }

    static func cost(_ entry: Entry) -> Int {
        160 + entry.payload.count + entry.space.utf8.count + entry.segment.utf8.count
    }

    static func cost(records: [Record]) -> Int { records.reduce(96) { $0 + 64 + $1.payload.count } }

    /// Appends a transaction that continues the tail.
    func append(_ chunk: Chunk) {
        state.withLock { state in
            if state.head == state.chunks.count {
                state.chunks.removeAll(keepingCapacity: true)
                state.head = 0
                state.startPosition = chunk.firstPosition
            }
            state.chunks.append(chunk)
            state.bytes += chunk.cost
        }
    }

    /// Appends recovered entries (one chunk per run of entries of one transaction).
    func append(recovered entries: [Entry]) {
        var i = 0
        while i < entries.count {
            let first = entries[i]
            var records: [Record] = []
            var j = i
            while j < entries.count, entries[j].transactionID == first.transactionID,
                entries[j].segment == first.segment,
                entries[j].space == first.space, entries[j].position == first.position + UInt64(j - i),
                entries[j].timestamp == first.timestamp + Int64(j - i)
            {
                records.append(
                    Record(
                        sequence: entries[j].sequence, payload: entries[j].payload.bytes, metadata: entries[j].metadata)
                )
                j += 1
            }
            append(
                Chunk(
                    space: first.space, segment: first.segment, firstPosition: first.position,
                    firstTimestamp: first.timestamp,
                    transactionID: first.transactionID, transactionNumber: first.transactionNumber, records: records,
                    cost: Self.cost(records: records)))
            i = j
        }
    }

    /// Drops the oldest transactions while over `budget` bytes, but never past `sealedThrough` (entries not
    /// in a sealed block yet stay).
    func trim(toBudget budget: Int, sealedThrough: UInt64) {
        state.withLock { state in
            Self.dropOldest(&state, compactAfter: 256) { bytes, chunk in
                bytes > budget && chunk.endPosition - 1 <= sealedThrough
            }
        }
    }

    /// Drops the transactions that end before `position` (retention dropped the entries before it).
    func drop(before position: UInt64) {
        state.withLock { state in
            Self.dropOldest(&state, compactAfter: 0) { _, chunk in chunk.endPosition <= position }
        }
    }

    /// Drops the oldest transactions while `condition` (the bytes held, the oldest transaction) holds, then gives
    /// back the array's front once more than `compactAfter` dropped ones make up over half of it.
    private static func dropOldest(_ state: inout State, compactAfter: Int, while condition: (Int, Chunk) -> Bool) {
        while state.head < state.chunks.count, condition(state.bytes, state.chunks[state.head]) {
            state.bytes -= state.chunks[state.head].cost
            state.startPosition = state.chunks[state.head].endPosition
            state.head += 1
        }
        if state.head > compactAfter && state.head * 2 > state.chunks.count {
            state.chunks.removeFirst(state.head)
            state.head = 0
        }
    }

    /// Builds the entries with positions in `from...through` that `accept` takes, up to `max`; returns the
    /// position after the last one examined.
    func collect(
        from: UInt64, through: UInt64, max: Int, into out: inout [Entry], _ accept: (Entry) -> Bool
    ) -> UInt64 {
        state.withLock { state in
            guard from >= state.startPosition, state.head < state.chunks.count else { return from }
            // Chunks hold consecutive positions: find the one holding `from`.
            var next = from
            var c = state.chunks[state.head...].partitioningIndex { $0.endPosition > from }
            while c < state.chunks.count, next <= through, out.count < max {
                let chunk = state.chunks[c]
                var i = Int(next - chunk.firstPosition)
                while i < chunk.records.count, next <= through, out.count < max {
                    let entry = chunk.entry(i)
                    if accept(entry) { out.append(entry) }
                    i += 1
                    next += 1
                }
                c += 1
            }
            return next
        }
    }
}
