import StreamKitLogFiles

/// Rebuilds segment heads and sparse indexes from what a storage holds (``StoredLog``): sealed blocks' segment
/// runs (nothing is read) and the unsealed tail.
struct IndexRebuilder {
    struct SegmentState {
        var head = Segment.Head()
        var index: [Segment.IndexRun] = []

        mutating func note(
            first: UInt64, firstTimestamp: Int64, last: UInt64, lastTimestamp: Int64, transaction: UInt64
        ) {
            if head.firstSequence == 0 {
                head.firstSequence = first
                head.firstTimestamp = firstTimestamp
            }
            head.lastSequence = last
            head.lastTimestamp = lastTimestamp
            head.lastTransactionNumber = transaction
        }
    }

    private(set) var segments: [SegmentKey: SegmentState] = [:]

    /// A sealed block: each run becomes a block-granular index entry.
    mutating func add(_ sealed: SealedBlock) {
        for run in sealed.runs where !run.space.isEmpty {  // (The empty names count erased records.)
            let key = SegmentKey(space: run.space, segment: run.segment)
            segments[key, default: SegmentState()].note(
                first: run.firstSequence, firstTimestamp: run.firstTimestamp, last: run.lastSequence,
                lastTimestamp: run.lastTimestamp, transaction: run.lastTransactionNumber)
            segments[key]?.index.append(
                Segment.IndexRun(
                    firstSequence: run.firstSequence, count: UInt32(run.count),
                    startPosition: sealed.block.firstPosition,
                    exact: false))
        }
    }

    /// Unsealed entries: exact index entries, merged while sequences and positions both continue.
    mutating func add(_ tail: [Entry]) {
        for entry in tail {
            let key = SegmentKey(space: entry.space, segment: entry.segment)
            var state = segments[key] ?? SegmentState()
            state.note(
                first: entry.sequence, firstTimestamp: entry.timestamp, last: entry.sequence,
                lastTimestamp: entry.timestamp,
                transaction: entry.transactionNumber)
            if let last = state.index.last, last.exact, last.lastSequence + 1 == entry.sequence,
                last.startPosition + UInt64(last.count) == entry.position
            {
                state.index[state.index.count - 1].count += 1
            } else {
                state.index.append(
                    Segment.IndexRun(
                        firstSequence: entry.sequence, count: 1, startPosition: entry.position, exact: true))
            }
            segments[key] = state
        }
    }
}
