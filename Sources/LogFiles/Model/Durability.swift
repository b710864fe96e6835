/// When an appended transaction counts as committed, and so when its acknowledgement is given.
public enum Durability: Sendable, Hashable, CustomStringConvertible {
    /// Acknowledged after the write-ahead file is `fdatasync`ed: survives power loss. Many concurrent
    /// transactions share one sync (group commit).
    case fsync
    /// Acknowledged after `write(2)`; the write-ahead file is synced at most every `milliseconds` (so at most
    /// that window of acknowledged data can be lost on power loss; nothing on a process crash).
    case interval(milliseconds: Int)
    /// Acknowledged after `write(2)`; never synced by the commit path. Survives a process crash, not power loss.
    case none

    public var description: String {
        switch self {
        case .fsync: "fsync"
        case .interval(let ms): "interval:\(ms)"
        case .none: "none"
        }
    }
}
