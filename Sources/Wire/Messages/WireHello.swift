/// The first message each side sends on a connection: the protocol versions it speaks and the optional
/// features it supports.
///
/// Both sides send a hello without waiting and each computes the same result with
/// ``negotiate(local:remote:)``: the highest version both speak and the features both support. The hello's
/// layout is the same in every protocol version, so it can always be decoded.
public struct WireHello: Hashable, Sendable {
    /// The oldest version the sender speaks.
    public var minVersion: UInt32
    /// The newest version the sender speaks.
    public var maxVersion: UInt32
    /// Optional features the sender supports (free-form names, e.g. `"trace-context"`).
    public var features: [String]

    /// Creates a hello; by default, every version this build speaks.
    ///
    /// - Parameters:
    ///   - minVersion: The oldest version offered.
    ///   - maxVersion: The newest version offered.
    ///   - features: Supported optional features.
    public init(
        minVersion: UInt32 = WireVersion.oldest.rawValue, maxVersion: UInt32 = WireVersion.current.rawValue,
        features: [String] = []
    ) {
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.features = features
    }

    /// Agrees on a version and features from this side's hello and the peer's.
    ///
    /// The result is the same on both sides: the highest version within both ranges (and implemented by this
    /// build) and the features both list, sorted by UTF-8 bytes without duplicates.
    ///
    /// - Parameters:
    ///   - local: What this side sent.
    ///   - remote: What the peer sent.
    /// - Returns: The version and features to use.
    /// - Throws: ``WireError`` with code `unsupportedVersion` when the ranges do not overlap (or a range is empty).
    public static func negotiate(local: WireHello, remote: WireHello) throws(WireError) -> WireNegotiation {
        let low = max(local.minVersion, remote.minVersion, WireVersion.oldest.rawValue)
        let high = min(local.maxVersion, remote.maxVersion, WireVersion.current.rawValue)
        guard low <= high, let version = WireVersion(rawValue: high) else {
            throw WireError(
                code: .unsupportedVersion, offset: 0,
                message: "no common protocol version: local \(local.minVersion)…\(local.maxVersion), remote"
                    + " \(remote.minVersion)…\(remote.maxVersion), implemented \(WireVersion.oldest.rawValue)…"
                    + "\(WireVersion.current.rawValue)")
        }
        let theirs = Set(remote.features)
        let common = Set(local.features.filter { theirs.contains($0) })
        let features = common.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return WireNegotiation(version: version, features: features)
    }
}
