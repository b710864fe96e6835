public import StreamKitLogFiles

/// What retention and deletion changed in a log shared with other processes (``LogFollower/maintenance()``):
/// where the log starts now, and every deletion recorded.
public struct SharedMaintenance: Sendable, Hashable {
    /// The position of the log's first entry.
    public var logStart: UInt64
    /// Every deletion recorded (by any process).
    public var deletions: [StoreManifest.Deletion]

    /// Creates a state.
    public init(logStart: UInt64 = 1, deletions: [StoreManifest.Deletion] = []) {
        self.logStart = logStart
        self.deletions = deletions
    }
}
