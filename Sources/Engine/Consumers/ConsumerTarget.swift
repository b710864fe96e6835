/// What a durable consumer reads: one or several spaces merged in commit order, or one segment in sequence order.
public enum ConsumerTarget: Sendable, Hashable, CustomStringConvertible {
    /// Every segment of these spaces, merged in commit order (at least one space).
    case spaces([String])
    /// One segment, in sequence order.
    case segment(space: String, segment: String)

    /// The spaces the consumer reads (one for a segment consumer), sorted.
    public var spaces: [String] {
        switch self {
        case .spaces(let spaces): Array(Set(spaces)).sorted()
        case .segment(let space, _): [space]
        }
    }

    public var description: String {
        switch self {
        case .spaces(let spaces): "spaces " + spaces.sorted().joined(separator: ",")
        case .segment(let space, let segment): "segment \(space)/\(segment)"
        }
    }
}
