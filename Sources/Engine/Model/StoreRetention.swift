public import StreamKitLogFiles

/// A store's retention as a caller sees it: the policy of its own, if any (``Store/setRetentionPolicy(_:)``), and
/// the default the server or registry is configured with, which applies when it has none.
public struct StoreRetention: Sendable, Hashable {
    /// The store's own policy; nil when it has none.
    public var own: LogRetention.Policy?
    /// The configured default (``RetentionConfiguration/policy``).
    public var configured: LogRetention.Policy

    /// The policy that applies: the store's own, whole, or else the default.
    public var effective: LogRetention.Policy { own ?? configured }

    /// Describes a store's retention.
    public init(own: LogRetention.Policy?, configured: LogRetention.Policy) {
        self.own = own
        self.configured = configured
    }
}
