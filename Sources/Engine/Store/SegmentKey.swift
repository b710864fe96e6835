/// A segment's identity within a store: its space and name.
struct SegmentKey: Hashable, Sendable, Comparable {
    var space: String
    var segment: String

    static func < (lhs: SegmentKey, rhs: SegmentKey) -> Bool {
        (lhs.space, lhs.segment) < (rhs.space, rhs.segment)
    }
}
