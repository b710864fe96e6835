/// A stretch of consecutive log positions that a storage keeps and reads back as one piece: a block of the file
/// log, a row of the PostgreSQL log, a slice of the memory log. It is the unit readers cache and skip, and the
/// unit the background scrub checks. How it is kept (compression, checksums, files, rows) is the storage's
/// business.
public struct LogBlock: Sendable, Hashable {
    /// Position of the block's first entry.
    public var firstPosition: UInt64
    /// Position of the block's last entry.
    public var lastPosition: UInt64
    /// Bytes the block takes where it is kept (what a check of it reads); 0 when the storage keeps nothing
    /// that can rot.
    public var storedBytes: Int

    /// Creates the description of the block holding positions `firstPosition...lastPosition`.
    public init(firstPosition: UInt64, lastPosition: UInt64, storedBytes: Int = 0) {
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.storedBytes = storedBytes
    }
}
