/// Damage a ``LogReader`` met in log order: where it is, why, and which positions it could not read.
public struct ReadDamage: Sendable, Hashable, CustomStringConvertible {
    /// The damaged bytes: file, offset and reason.
    public var problem: ScanProblem
    /// The positions skipped: from the first one not read to the next readable one. Empty when the damaged
    /// bytes hid no entry (the log holds the positions of a damaged WAL frame, or a damaged file header sits
    /// in front of readable blocks); nil when nothing readable follows, so how many positions the damage
    /// held is unknown.
    public var skipped: Range<UInt64>?

    public var description: String {
        let what: String
        switch skipped {
        case nil: what = "nothing readable after it"
        case let range? where range.isEmpty: what = "no entry skipped"
        case let range? where range.count == 1: what = "position \(range.lowerBound) skipped"
        case let range?: what = "positions \(range.lowerBound)…\(range.upperBound - 1) skipped (\(range.count) entries)"
        }
        return "\(problem.path) @\(problem.offset): \(problem.reason); \(what)"
    }
}
