import Foundation
import StreamKitEngine
import StreamKitLogFiles

/// What `inspect --postgres` reports of one store: its head and rows, and each segment's sequences and times,
/// from the index a node builds when it opens the store (row summaries; no row body is read — `verify` reads
/// them all).
struct PostgresStoreSummary: Encodable {
    var id: String
    var database: String
    /// The last position (the store's head): positions are dense from 1, so it is also the number of entries.
    var lastPosition: UInt64
    /// Rows of `streamkit_batches` (each a group-committed database transaction).
    var rows: Int
    var spaces: Int
    var segments: [StoreSummary.Segment]
    /// Why the store could not be opened (rows that do not fit together), when it could not.
    var damage: [String]
    /// The store's own retention policy (`streamkit retention`); nil: the server's default applies.
    var retentionPolicy: PolicySummary?
    /// Deletions whose rows compaction has not rewritten yet (`streamkit_deletions`).
    var deletions: [StoreManifest.Deletion] = []
    /// Durable consumers with their lag.
    var consumers: [ConsumerSummary] = []

    /// Summarises an open store.
    init(store: Store, database: String) async {
        id = store.id.uuidString.lowercased()
        self.database = database
        let statistics = await store.statistics()
        lastPosition = statistics.visibleThrough
        rows = statistics.blocks
        damage = []
        var segments: [StoreSummary.Segment] = []
        let spaces = await store.spaces()
        self.spaces = spaces.count
        for space in spaces {
            for name in await store.segments(space: space) {
                guard let status = await store.status(space: space, segment: name) else { continue }
                segments.append(
                    StoreSummary.Segment(
                        space: space, segment: name, entries: Int(status.lastSequence - status.firstSequence + 1),
                        firstSequence: status.firstSequence, lastSequence: status.lastSequence,
                        firstTimestamp: status.firstTimestamp, lastTimestamp: status.lastTimestamp))
            }
        }
        self.segments = segments
        retentionPolicy = (try? await store.retentionPolicy())?.map(PolicySummary.init)
        deletions = (try? await store.pendingDeletions()) ?? []
        consumers = ((try? await store.consumerStatuses()) ?? []).map { ConsumerSummary($0.consumer, lag: $0.lag) }
    }

    /// A store that could not be opened.
    init(id: UUID, database: String, damage: String) {
        self.id = id.uuidString.lowercased()
        self.database = database
        lastPosition = 0
        rows = 0
        spaces = 0
        segments = []
        self.damage = [damage]
    }

    /// The text `inspect` prints.
    var lines: [String] {
        var lines = ["store \(id)  (\(database))"]
        guard damage.isEmpty || lastPosition > 0 else { return lines + damage.map { "  DAMAGE: \($0)" } }
        let positions = lastPosition > 0 ? "positions 1…\(lastPosition)" : "no entries"
        lines.append(
            "  \(positions), rows \(rows), entries \(lastPosition), spaces \(spaces), segments \(segments.count)")
        lines.append(
            "  retention: " + (retentionPolicy.map { "the store's own policy, \($0.text)" } ?? "the server's default"))
        if !deletions.isEmpty {
            lines.append("  deletions: \(deletions.count) (rows still holding their entries; compaction rewrites them)")
            for deletion in deletions {
                lines.append(
                    "    \(deletion.space)/\(deletion.segment): sequences before \(deletion.before), in positions up to \(deletion.through)"
                )
            }
        }
        lines += ConsumerSummary.lines(consumers)
        for problem in damage { lines.append("  DAMAGE: \(problem)") }
        return lines + StoreSummary.Segment.lines(segments)
    }
}
