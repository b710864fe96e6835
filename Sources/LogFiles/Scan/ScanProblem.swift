/// Invalid bytes a scan of a log or WAL file met.
public struct ScanProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// Byte offset of the first invalid byte, block or frame.
    public var offset: Int64
    /// What is wrong.
    public var reason: String
    /// True for what a crash mid-write leaves and open cuts without complaint (a torn last block or frame of
    /// the last file, with nothing valid after it); false for damage: valid data follows the bad bytes, or
    /// the bytes are a file header or a gap in positions. Open refuses damage unless told to truncate.
    public var isTail: Bool
    /// The position the bad bytes stand at in log order (the first one expected there), when known.
    public var position: UInt64?

    public var description: String {
        "\(path) @\(offset): \(reason)" + (isTail ? " (torn tail: open cuts it)" : " (damage)")
    }
}
