import StreamKitLogFiles
import Synchronization

/// The deletions whose entries may still be in the log (``Store/deleteSegment(space:segment:)``,
/// ``Store/truncateSegment(space:segment:before:)``): readers leave every entry they cover out. A deletion is
/// forgotten once the log starts after the last position it covers (retention dropped what it covered).
///
/// Reads past ``through`` (the common case: no deletion, or only old ones) pay one atomic load per batch.
final class DeletedEntries: Sendable {
    /// The deletions of a moment, by segment: what a read checks its entries against.
    struct Snapshot: Sendable {
        fileprivate(set) var bySegment: [SegmentKey: StoreManifest.Deletion] = [:]
        /// The last position any deletion covers (0: none).
        fileprivate(set) var through: UInt64 = 0

        /// Whether a deletion covers `entry`.
        @inline(__always)
        func hides(_ entry: Entry) -> Bool {
            guard entry.position <= through,
                let deletion = bySegment[SegmentKey(space: entry.space, segment: entry.segment)]
            else { return false }
            return deletion.hides(sequence: entry.sequence, position: entry.position)
        }

        /// The spaces with a deletion covering a position at or after `position`.
        func spaces(coveringFrom position: UInt64) -> Set<String> {
            Set(bySegment.values.lazy.filter { $0.through >= position }.map(\.space))
        }
    }

    private let state: Mutex<Snapshot>
    private let last: Atomic<UInt64>
    /// Deletions compaction finished (the files hold none of their entries) that the decoded tail may still hold
    /// entries of: forgotten once the tail starts after them (``prune(before:)``).
    private let finished = Mutex<[SegmentKey: StoreManifest.Deletion]>([:])

    init(_ deletions: [StoreManifest.Deletion] = []) {
        var snapshot = Snapshot()
        for deletion in deletions { Self.merge(deletion, into: &snapshot) }
        state = Mutex(snapshot)
        last = Atomic(snapshot.through)
    }

    /// The last position any deletion covers (0 when none does): entries after it are never hidden.
    var through: UInt64 { last.load(ordering: .acquiring) }

    /// The deletions now; nil when no deletion covers `position` or a later one (nothing to check from there).
    func snapshot(from position: UInt64) -> Snapshot? {
        guard position <= through else { return nil }
        return state.withLock { $0 }
    }

    /// Adds a deletion (merged with the segment's earlier one).
    func add(_ deletion: StoreManifest.Deletion) {
        state.withLock { snapshot in
            Self.merge(deletion, into: &snapshot)
            last.store(snapshot.through, ordering: .releasing)
        }
    }

    /// Forgets the deletions that cover nothing at or after `logStart`.
    func forget(before logStart: UInt64) {
        state.withLock { snapshot in
            snapshot.bySegment = snapshot.bySegment.filter { $0.value.through >= logStart }
            snapshot.through = snapshot.bySegment.values.map(\.through).max() ?? 0
            last.store(snapshot.through, ordering: .releasing)
        }
    }

    /// Forgets `done` deletions (compaction erased what they cover from the files) once the decoded tail, which
    /// starts at `tailStart`, holds none of their entries either; one merged into a later deletion of its
    /// segment since is kept.
    func forget(_ done: [StoreManifest.Deletion], tailStart: UInt64) {
        finished.withLock { finished in
            for deletion in done { finished[SegmentKey(space: deletion.space, segment: deletion.segment)] = deletion }
        }
        prune(before: tailStart)
    }

    /// Forgets the finished deletions (``forget(_:tailStart:)``) whose entries all lie before `tailStart`.
    func prune(before tailStart: UInt64) {
        let gone = finished.withLock { finished -> [SegmentKey: StoreManifest.Deletion] in
            let gone = finished.filter { $0.value.through < tailStart }
            for key in gone.keys { finished[key] = nil }
            return gone
        }
        guard !gone.isEmpty else { return }
        state.withLock { snapshot in
            for (key, deletion) in gone where snapshot.bySegment[key] == deletion { snapshot.bySegment[key] = nil }
            snapshot.through = snapshot.bySegment.values.map(\.through).max() ?? 0
            last.store(snapshot.through, ordering: .releasing)
        }
    }

    /// The deletion of `key`, if one is recorded.
    func deletion(of key: SegmentKey) -> StoreManifest.Deletion? { state.withLock { $0.bySegment[key] } }

    private static func merge(_ deletion: StoreManifest.Deletion, into snapshot: inout Snapshot) {
        let key = SegmentKey(space: deletion.space, segment: deletion.segment)
        var merged = deletion
        if let earlier = snapshot.bySegment[key] {
            merged.before = max(earlier.before, deletion.before)
            merged.through = max(earlier.through, deletion.through)
        }
        snapshot.bySegment[key] = merged
        snapshot.through = max(snapshot.through, merged.through)
    }
}
