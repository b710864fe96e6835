/// What ``LogReader/verify(progress:)`` checked and found.
public struct VerificationReport: Sendable, Hashable {
    /// Log files checked.
    public var logFiles = 0
    /// Blocks checked (CRC, decompression, record framing, positions, timestamps).
    public var blocks = 0
    /// Entries in checked blocks.
    public var entries = 0
    /// Stored (compressed) block bytes.
    public var storedBytes: Int64 = 0
    /// Raw record bytes.
    public var rawBytes: Int64 = 0
    /// WAL files checked.
    public var walFiles = 0
    /// WAL frames (transactions) checked.
    public var walFrames = 0
    /// Every problem, in file order. Torn tails are listed too (`isTail`); open cuts those.
    public var problems: [ScanProblem] = []

    /// True when nothing at all is wrong.
    public var isClean: Bool { problems.isEmpty }
    /// True when the only problems are torn tails that open would cut (what a crash leaves).
    public var hasCorruption: Bool { problems.contains { !$0.isTail } }
    /// Raw bytes per stored byte.
    public var compressionRatio: Double { storedBytes > 0 ? Double(rawBytes) / Double(storedBytes) : 0 }
}
