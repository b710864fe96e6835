public import StreamKitLogFiles

/// A block a storage has sealed (it will not change), with what the store's index needs to know of it without
/// reading it: which segments have entries in it, and their sequences and timestamps.
public struct SealedBlock: Sendable, Hashable {
    /// The block.
    public var block: LogBlock
    /// One run per (space, segment) with entries in the block, in order of first appearance.
    public var runs: [SegmentRun]

    /// Creates a sealed block's summary.
    public init(block: LogBlock, runs: [SegmentRun]) {
        self.block = block
        self.runs = runs
    }

    /// Summarises `entries` (consecutive positions, log order, at least one) as one block.
    init(entries: some Collection<Entry>, storedBytes: Int = 0) {
        var runs: [SegmentRun] = []
        var index: [SegmentKey: Int] = [:]
        for entry in entries {
            let key = SegmentKey(space: entry.space, segment: entry.segment)
            if let i = index[key] {
                runs[i].count += 1
                runs[i].lastSequence = entry.sequence
                runs[i].lastTimestamp = entry.timestamp
                runs[i].lastTransactionNumber = entry.transactionNumber
                runs[i].endsTransaction = entry.endsTransaction
            } else {
                index[key] = runs.count
                runs.append(
                    SegmentRun(
                        space: entry.space, segment: entry.segment, count: 1, firstSequence: entry.sequence,
                        lastSequence: entry.sequence, firstTimestamp: entry.timestamp, lastTimestamp: entry.timestamp,
                        lastTransactionNumber: entry.transactionNumber, endsTransaction: entry.endsTransaction))
            }
        }
        let first = entries.first?.position ?? 1
        let block = LogBlock(
            firstPosition: first, lastPosition: first + UInt64(entries.count) - 1, storedBytes: storedBytes)
        self.init(block: block, runs: runs)
    }
}
