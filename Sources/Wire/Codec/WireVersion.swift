/// A protocol version this build implements.
///
/// Values exist only for supported versions (``oldest`` through ``current``), so an encoder or decoder can never be
/// set up for a version it cannot speak. Peers agree on one at connect with ``WireHello/negotiate(local:remote:)``.
public struct WireVersion: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The version number as sent in a ``WireHello``.
    public let rawValue: UInt32

    /// Version 1: the layout in `docs/protocol.md`.
    public static let v1 = WireVersion(uncheckedRawValue: 1)
    /// The newest version this build speaks.
    public static let current = v1
    /// The oldest version this build speaks.
    public static let oldest = v1

    /// Returns the version numbered `rawValue`, or nil when this build does not implement it.
    ///
    /// - Parameter rawValue: A version number.
    public init?(rawValue: UInt32) {
        guard (Self.oldest.rawValue...Self.current.rawValue).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(uncheckedRawValue: UInt32) { rawValue = uncheckedRawValue }

    public static func < (lhs: WireVersion, rhs: WireVersion) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "v\(rawValue)" }
}
