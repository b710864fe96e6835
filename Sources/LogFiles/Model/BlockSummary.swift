/// What one sealed log block holds, without its records: enough for an index to know which blocks to read.
public struct BlockSummary: Sendable, Hashable {
    /// The block's header.
    public var header: BlockHeader
    /// First position of the log file holding the block (its name).
    public var fileFirstPosition: UInt64
    /// Byte offset of the block's header in that file.
    public var offset: Int64
    /// One run per (space, segment) present in the block, in order of first appearance.
    public var runs: [SegmentRun]

    /// Bytes the block occupies in its file (header + stored bytes).
    public var byteCount: Int { BlockHeader.size + header.storedLength }

    /// Creates a summary.
    public init(header: BlockHeader, fileFirstPosition: UInt64, offset: Int64, runs: [SegmentRun]) {
        self.header = header
        self.fileFirstPosition = fileFirstPosition
        self.offset = offset
        self.runs = runs
    }
}

/// The entries of one segment inside one block.
public struct SegmentRun: Sendable, Hashable {
    public var space: String
    public var segment: String
    /// Number of entries of the segment in the block.
    public var count: Int
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    public var firstTimestamp: Int64
    public var lastTimestamp: Int64
    /// Transaction number of the run's last entry.
    public var lastTransactionNumber: UInt64
    /// Whether the run's last entry is the last of its transaction.
    public var endsTransaction: Bool

    /// Creates a run.
    public init(
        space: String, segment: String, count: Int, firstSequence: UInt64, lastSequence: UInt64,
        firstTimestamp: Int64, lastTimestamp: Int64, lastTransactionNumber: UInt64, endsTransaction: Bool
    ) {
        self.space = space
        self.segment = segment
        self.count = count
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.lastTransactionNumber = lastTransactionNumber
        self.endsTransaction = endsTransaction
    }
}

/// Builds the runs of a block from its records, comparing names with the previous record's so that a run of
/// one segment costs a `memcmp` per record and no hashing.
struct RunBuilder {
    private(set) var runs: [SegmentRun] = []
    private var indexByName: [NameKey: Int] = [:]
    private var current = -1
    private var currentSpace: [UInt8] = []
    private var currentSegment: [UInt8] = []

    private struct NameKey: Hashable {
        var space: String
        var segment: String
    }

    mutating func add(_ r: RecordView) {
        let space = r.space
        let segment = r.segment
        if current < 0 || !Self.equal(space, currentSpace) || !Self.equal(segment, currentSegment) {
            currentSpace = Array(space)
            currentSegment = Array(segment)
            let key = NameKey(
                space: String(decoding: space, as: UTF8.self), segment: String(decoding: segment, as: UTF8.self))
            if let index = indexByName[key] {
                current = index
            } else {
                current = runs.count
                indexByName[key] = current
                runs.append(
                    SegmentRun(
                        space: key.space, segment: key.segment, count: 0, firstSequence: r.sequence,
                        lastSequence: r.sequence, firstTimestamp: r.timestamp, lastTimestamp: r.timestamp,
                        lastTransactionNumber: r.transactionNumber, endsTransaction: false))
            }
        }
        runs[current].count += 1
        runs[current].lastSequence = r.sequence
        runs[current].lastTimestamp = r.timestamp
        runs[current].lastTransactionNumber = r.transactionNumber
        runs[current].endsTransaction = r.endsTransaction
    }

    /// Adds `additional` records that follow the last one added in the same run (same names, later
    /// sequences), `last` being the final one: no name comparison.
    mutating func extend(by additional: Int, last r: RecordView) {
        runs[current].count += additional
        runs[current].lastSequence = r.sequence
        runs[current].lastTimestamp = r.timestamp
        runs[current].lastTransactionNumber = r.transactionNumber
        runs[current].endsTransaction = r.endsTransaction
    }

    mutating func reset() {
        runs.removeAll(keepingCapacity: true)
        indexByName.removeAll(keepingCapacity: true)
        current = -1
    }

    @inline(__always)
    private static func equal(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard a.count > 0 else { return true }
        return b.withUnsafeBytes { memcmp(a.baseAddress!, $0.baseAddress!, a.count) == 0 }
    }
}

#if canImport(Glibc)
import Glibc
#endif
