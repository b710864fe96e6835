import Logging
import StreamKitClient

extension AggregateRepository {
    /// The metadata key of a snapshot's version.
    static var versionKey: String { "version" }

    /// The latest snapshot of the aggregate, if the repository keeps snapshots and it decodes; nil otherwise (an
    /// undecodable one is logged and ignored).
    func latestSnapshot(_ id: String) async throws -> (aggregate: A, version: UInt64)? {
        guard let snapshots,
            let entry = try await client.peek(store: store, space: snapshotSpace, segment: id)
        else { return nil }
        // UInt64.max cannot be a version that events follow.
        guard let text = entry.metadata[Self.versionKey], let version = UInt64(text), version < .max else {
            logger.warning(
                "ignoring a snapshot without a valid version",
                metadata: metadata(id, ["snapshot_sequence": "\(entry.sequence)"]))
            return nil
        }
        do {
            return (try snapshots.codec.decode(entry.payload), version)
        } catch {
            logger.warning(
                "ignoring a snapshot that does not decode; folding every event",
                metadata: metadata(id, ["version": "\(version)", "error": "\(error)"]))
            return nil
        }
    }

    /// Appends a snapshot of the aggregate at `version`, folded from the latest snapshot; does nothing when that
    /// one is as recent. Never throws: a failure is logged.
    func writeSnapshot(_ id: String, version: UInt64, policy: SnapshotPolicy<A>) async {
        do {
            var aggregate = A()
            var folded: UInt64 = 0
            if let latest = try await latestSnapshot(id) {
                guard latest.version < version else { return }  // a later save's snapshot came first
                (aggregate, folded) = latest
            }
            try await fold(id, into: &aggregate, version: &folded, through: version)
            guard folded == version else {
                logger.warning(
                    "snapshot not written: the events end before its version",
                    metadata: metadata(id, ["version": "\(version)", "folded": "\(folded)"]))
                return
            }
            let payload = try policy.codec.encode(aggregate)
            try await client.publish(
                store: store, space: snapshotSpace, segment: id, payload: payload,
                metadata: [Self.versionKey: "\(version)"])
        } catch {
            logger.warning(
                "snapshot not written (the save succeeded)",
                metadata: metadata(id, ["version": "\(version)", "error": "\(error)"]))
        }
    }
}
