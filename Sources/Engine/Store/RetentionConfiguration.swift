public import StreamKitLogFiles

/// Retention run in the background while a store is open (``Store/applyRetention(_:)`` every ``interval``):
/// off unless ``policy`` has a bound. Only storages that drop entries (the file log) act on it.
public struct RetentionConfiguration: Sendable {
    /// What may go: entries older than `maxAge`, and the oldest log files while the log is over `maxBytes`.
    public var policy: LogRetention.Policy
    /// How often the policy is applied. Default 60 s.
    public var interval: Duration

    /// Creates a configuration; the default keeps everything.
    public init(policy: LogRetention.Policy = .init(), interval: Duration = .seconds(60)) {
        self.policy = policy
        self.interval = interval
    }

    /// Whether the background task runs: the policy has a bound and the interval is positive.
    public var isEnabled: Bool { (policy.maxAge != nil || policy.maxBytes != nil) && interval > .zero }
}
