/// What two peers agreed on at connect: see ``WireHello/negotiate(local:remote:)``.
public struct WireNegotiation: Hashable, Sendable {
    /// The protocol version both sides use from now on.
    public var version: WireVersion
    /// The optional features both sides support, sorted by UTF-8 bytes.
    public var features: [String]

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - version: The agreed version.
    ///   - features: The agreed features.
    public init(version: WireVersion, features: [String]) {
        self.version = version
        self.features = features
    }
}
