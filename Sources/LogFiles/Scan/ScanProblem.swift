/// The first invalid bytes a scan of a log or WAL file met.
public struct ScanProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// Byte offset of the first invalid block or frame.
    public var offset: Int64
    /// What is wrong.
    public var reason: String
    /// True when nothing valid follows (what a crash mid-write leaves: cut on open); false when valid data
    /// follows the bad bytes (damage in the middle of a file: open refuses unless told to truncate).
    public var isTail: Bool

    public var description: String {
        "\(path) @\(offset): \(reason)" + (isTail ? " (torn tail)" : " (valid data follows: corruption)")
    }
}
